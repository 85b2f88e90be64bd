"""The teaching notebooks (``notebooks/*.ipynb``) run top to bottom without an error.

Each notebook is executed headless with nbclient on a ``python3`` kernel of
this interpreter, with ``APEXPLORER_QUICK=1`` so that it does its smallest run.
A cell added at the end checks that every matplotlib plot has labelled axes and
a legend (images and colour bars need labels only).
"""

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

KEEP_FIGURES = "%config InlineBackend.close_figures = False"

CHECK_PLOTS = '''
import matplotlib.pyplot as plt
_bad = []
for _n in plt.get_fignums():
    for _ax in plt.figure(_n).axes:
        if getattr(_ax, "_colorbar", None) is not None:
            continue
        _where = f"figure {_n}, axes {_ax.get_title()!r}"
        if not (_ax.get_xlabel() and _ax.get_ylabel()):
            _bad.append(f"{_where}: an axis has no label")
        if not _ax.images and (_ax.lines or _ax.collections or _ax.patches) and _ax.get_legend() is None:
            _bad.append(f"{_where}: no legend")
assert plt.get_fignums(), "the notebook drew no plot"
assert not _bad, _bad
'''


def test_there_are_six_lessons():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_opens_with_its_lesson_and_a_full_size_flag(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# Lesson")
    assert "**What you learn:**" in first.source and "**Time:**" in first.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "FULL = False" in code and "quick_mode()" in code
    assert "from apexplorer.app import" in code, "a lesson embeds the explorer's components"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "save notebooks without outputs"


#: what a widget needs from notebook(): the player's formulas MathJax, the 3-D PCA view Plotly
EXTRA_OF = {"ErrorFlowPlayer": "mathjax", "PCAView": "plotly", "Explorer(": "mathjax", "NetworkEditor": "tabulator"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_loads_its_widgets_inline_with_the_extras_they_need(path):
    """A lesson sets Panel up with apexplorer.app.notebook (inline: works offline), asking for each extra its
    widgets need; a lesson that shows the player without MathJax left its formulas blank."""
    import re

    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "pn.extension(" not in code, "call apexplorer.app.notebook(), which loads the JavaScript inline"
    calls = re.findall(r"^notebook\((.*?)\)", code, re.M)
    assert len(calls) == 1, calls
    assert "cdn=True" not in calls[0]
    asked = set(re.findall(r'"(\w+)"', calls[0]))
    needed = {extra for widget, extra in EXTRA_OF.items() if widget in code}
    assert needed <= asked, f"{path.name} shows widgets that need {sorted(needed - asked)}"


@pytest.fixture
def python3_kernel(tmp_path, monkeypatch):
    """A kernelspec named python3 that runs this interpreter (first on JUPYTER_PATH)."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (apexplorer tests)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter") + os.pathsep + os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv("APEXPLORER_QUICK", "1")
    monkeypatch.delenv("APEXPLORER_ASSETS", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_in_quick_mode(path, python3_kernel, tmp_path):
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(KEEP_FIGURES))
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_PLOTS))
    work = tmp_path / "run"
    work.mkdir()
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name=python3_kernel,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    stderr = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.get("name") == "stderr")
    assert "was not imported on instantiation" not in stderr, stderr  # Panel: an extension is missing
