"""The widgets in a real JupyterLab (the notebook tests run the kernel with nbclient, which renders nothing).

A module fixture starts ``jupyter lab`` on a free port, with a token, rooted at a
temporary copy of ``notebooks/`` (plus the README's notebook snippet as a
notebook).  This machine has no internet, so a widget that needs a CDN stays
empty here as it would on a laptop on a train.  Each test opens one notebook in
Chromium, runs its cells as a user would (Run All, or one cell after the other)
and checks the page: every Panel output drew its Bokeh root (a canvas or an SVG
of nonzero size), nothing was loaded from outside the Jupyter server, and the
console shows no error (a script that failed to load, ``Panel: ERROR``).
Lesson 01 is checked fully (its player steps with Next and redraws its plot, its
formulas are typeset, its loop cell warns when Run All leaves it no page to draw on);
lessons 02 (Plotly) to 05 are checked rendered; the README's snippet is run cell by cell and its curves must
gain points while the loop's cell is still running, and end with every epoch.
"""

import ast
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app.conftest import ROOT, free_port, needs_chromium

pytest.importorskip("jupyterlab")
pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

#: every element matching a selector under ``root``, inside every shadow root too (Bokeh and Panel draw there)
DEEP = """(root, sel) => { const out = [];
  const walk = (r) => { for (const el of r.querySelectorAll('*')) {
    if (el.matches(sel)) out.push(el); if (el.shadowRoot) walk(el.shadowRoot) } };
  walk(root); return out }"""

NB = "jupyterapp.shell.currentWidget"

#: the code cells of a notebook: [execution count or null, [output types], text of error and stream outputs]
CELLS = f"""() => {NB}.content.widgets.filter(c => c.model.type === 'code').map(c => {{
  const outs = c.model.outputs.toJSON();
  return [c.model.executionCount, outs.map(o => o.output_type),
          outs.map(o => o.output_type === 'error' ? o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n')
                        : (o.output_type === 'stream' ? o.text : '')).join('')] }})"""

#: every Panel output's root: [root id, its Bokeh model type, drawn canvases and SVGs of nonzero size]
ROOTS = f"""() => [...document.querySelectorAll('.jp-OutputArea-output [data-root-id]')].map(el => {{
  const id = el.dataset.rootId;
  const view = window.Bokeh && Bokeh.index && Bokeh.index[id];
  const drawn = ({DEEP})(el, 'canvas, svg').filter(e => {{ const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 }}).length;
  return [id, view ? view.model.type : null, drawn] }})"""

#: points of the curves' sources (CurvesView names them curve-<quantity>-<kind>-<task>), over every output
POINTS = """() => { const n = {}; for (const d of (window.Bokeh && Bokeh.documents) || [])
  for (const m of d._all_models.values()) if (m.name && m.name.startsWith('curve-')) n[m.name] = (n[m.name] || 0) + m.data.x.length;
  return n }"""

#: The lessons' widgets: how many Panel outputs each shows (a root each; Panel's BrowserInfo, drawing nothing, aside).
WIDGETS = {"01_adjoint_error_flow": 4, "02_ste_vs_epe": 1, "03_spectral_radius_stability": 1,
           "04_multitask_reuse": 2, "05_2afc_psychometrics": 2}

#: The README snippet's own run, replaced here by a small one whose events come slowly enough to watch.
SMALL_RUN = '''import time

import apexplorer as ap
from apexplorer.lessons import subset

data = subset(ap.load_dataset("digits"), 200, 100)


class SlowTrainer:
    """A small digits run whose events come 60 ms apart."""

    def __init__(self):
        self.trainer = ap.Trainer.create(ap.chain([32, 32], data.n_features, data.n_classes), data,
                                         config=ap.TrainConfig(epochs=4, batch_size=20, lr=5e-3))

    def train(self):
        for event in self.trainer.train():
            time.sleep(0.06)
            yield event


trainer = SlowTrainer()'''


def readme_cells() -> list:
    """The README's notebook snippet: its python blocks, one cell each, between 'In a notebook' and '## Notebooks'."""
    text = (ROOT / "README.md").read_text()
    start = text.index("In a notebook the same components render inline")
    section = text[start:text.index("\n## Notebooks", start)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


class Lab:
    """A running ``jupyter lab`` rooted at ``root``, with a token; its log at ``log``.

    ``quick``: the lessons do their smallest runs (``APEXPLORER_QUICK=1``, as the tests want).
    """

    def __init__(self, tmp: Path, quick: bool = True):
        self.root = tmp / "notebooks"
        shutil.copytree(ROOT / "notebooks", self.root)
        spec = tmp / "jupyter" / "kernels" / "python3"
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (apexplorer tests)", "language": "python"}))
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "lab.log"
        env = {k: v for k, v in os.environ.items() if k not in ("APEXPLORER_ASSETS", "JUPYTER_PATH")}
        env.update(JUPYTER_PATH=str(tmp / "jupyter"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                   IPYTHONDIR=str(tmp / "ipython"), APEXPLORER_QUICK="1" if quick else "0", PYTHONPATH=str(ROOT),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(self.port),
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True", "--allow-root"]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"jupyter lab did not start: {self.log.read_text()[-3000:]}")

    def api(self, method, path):
        req = urllib.request.Request(self.base + path, method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def url(self, name) -> str:
        return f"{self.base}/lab/tree/{name}?reset&token={self.token}"

    def shut_kernels(self):
        """Stop every kernel (each test's notebook starts its own)."""
        for k in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{k['id']}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``jupyter lab`` with a token on a free port, rooted at a temporary copy of notebooks/ and the README snippet."""
    import nbformat

    tmp = tmp_path_factory.mktemp("jupyterlab")
    server = Lab(tmp)
    cells = readme_cells()
    assert len(cells) == 4 and "notebook()" in cells[0] and "curves.push(event)" in cells[3], cells
    cells[1] = SMALL_RUN  # the user's own run: here a small one
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, server.root / "readme_snippet.ipynb")
    try:
        yield server
    finally:
        server.stop()


class Notebook:
    """One notebook open in JupyterLab: run its cells, wait for them, read its outputs and the console."""

    def __init__(self, browser, lab, name):
        self.context = browser.new_context(viewport={"width": 1280, "height": 720})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.console, self.failed = [], []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.lab = lab
        self.page.goto(lab.url(name), timeout=120_000)
        self.page.wait_for_function(f"""() => window.jupyterapp && {NB} && {NB}.sessionContext
            && {NB}.sessionContext.session && {NB}.sessionContext.session.kernel
            && {NB}.sessionContext.session.kernel.connectionStatus === 'connected'
            && {NB}.sessionContext.session.kernel.status === 'idle'""", timeout=180_000, polling=250)

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def command(self, name):
        """Run a JupyterLab command (as its menu item or shortcut would), without waiting for it."""
        self.js(f"() => {{ jupyterapp.commands.execute('{name}'); }}")

    def select(self, index):
        """Make code cell ``index`` (0-based among the code cells) the active cell."""
        self.js(f"""(i) => {{ const nb = {NB}.content;
            const all = nb.widgets.map((c, k) => [c, k]).filter(([c]) => c.model.type === 'code');
            nb.activeCellIndex = all[i][1]; }}""", index)

    def cells(self):
        return self.js(CELLS)

    def wait_cells(self, upto=None, timeout=400, tick=None):
        """Wait until code cells [0, upto) ran (all by default) and the kernel is idle; fail on an error output."""
        end = time.monotonic() + timeout
        while True:
            cells = self.cells()[:upto]
            errors = [text for _, kinds, text in cells if "error" in kinds]
            assert not errors, errors[0]
            status = self.js(f"() => {NB}.sessionContext.session.kernel.status")
            if all(n is not None for n, _, _ in cells) and status == "idle":
                return cells
            assert time.monotonic() < end, f"the cells did not finish: {cells}"
            if tick is not None:
                tick()
            time.sleep(0.1 if tick else 0.5)

    def run_all(self, timeout=400):
        self.command("notebook:run-all-cells")
        return self.wait_cells(timeout=timeout)

    def roots(self, expected):
        """Wait until ``expected`` Panel outputs drew their Bokeh root (each scrolled into view); their rows."""
        end = time.monotonic() + 120
        while True:
            self.js("""async () => { for (const el of document.querySelectorAll('.jp-OutputArea-output [data-root-id]')) {
                el.closest('.jp-OutputArea-output').scrollIntoView();
                await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))) } }""")
            rows = [r for r in self.js(ROOTS) if r[1] not in (None, "panel.models.browser.BrowserInfo")]
            if len(rows) == expected and all(drawn > 0 for _, _, drawn in rows):
                return rows
            assert time.monotonic() < end, f"Panel outputs not drawn (id, model, canvases+SVGs): {rows}"
            time.sleep(0.5)

    def check_console(self, known=None):
        """Nothing failed to load, nothing came from outside the server, no error and no ``Panel: ERROR``.

        ``known``: a pattern of console errors let through (a defect reported on its own)."""
        outside = self.js("() => performance.getEntriesByType('resource').map(r => r.name)"
                          ".filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'))")
        assert not outside, f"loaded from outside the Jupyter server: {outside}"
        assert not self.failed, f"requests that failed: {self.failed}"
        bad = [f"{t}: {m}" for t, m in self.console
               if t in ("error", "pageerror") or "Panel: ERROR" in m or "failed to load" in m]
        if known is not None:
            bad = [b for b in bad if "Panel: ERROR" in b or "failed to load" in b or not known.search(b)]
        assert not bad, bad

    def close(self):
        if self.context is not None:
            self.context.close()
            self.context = None
            self.lab.shut_kernels()


@pytest.fixture
def open_notebook(browser, lab):
    opened = []

    def open_(name):
        nb = Notebook(browser, lab, name)
        opened.append(nb)
        return nb

    yield open_
    for nb in opened:
        nb.close()


def stderr_of(cells) -> str:
    return "".join(text for _, _, text in cells)


# --------------------------------------------------------------------- lesson 01, fully
def test_lesson_01_renders_offline_its_player_typesets_and_its_loop_cell_says_when_it_cannot_draw(open_notebook):
    nb = open_notebook("01_adjoint_error_flow.ipynb")
    cells = nb.run_all()
    rows = nb.roots(WIDGETS["01_adjoint_error_flow"])
    assert all(drawn > 0 for _, _, drawn in rows), rows
    text = stderr_of(cells)
    assert "MathJax was not imported" not in text and "WARNING:param" not in text, text
    # Run All: the loop's cell ran before the page connected to the curves; it says so and what to do
    assert "the page has not connected to this view yet" in text and "follow(trainer)" in text, text
    # ... and once the cell ended, the curves got everything, the last epoch too (quick mode: one epoch)
    nb.page.wait_for_function(f"() => ({POINTS})()['curve-acc-test-main'] === 1", timeout=60_000)

    # the first player: its formulas typeset as SVG by the inlined MathJax, and Next steps a frame
    player = nb.page.locator(".jp-Cell").filter(has_text="player = ErrorFlowPlayer()").first
    player.scroll_into_view_if_needed()
    out = player.locator(".jp-OutputArea-output").last
    nb.page.wait_for_function(f"(el) => ({DEEP})(el, '.ap-formula')"
                              ".filter(e => e.shadowRoot && e.shadowRoot.querySelector('mjx-container svg')).length === 7",
                              arg=out.element_handle(), timeout=60_000)
    from playwright.sync_api import expect

    expect(out.get_by_text(re.compile(r"frame 1 of \d+"))).to_be_visible()
    time.sleep(1.0)
    nb.check_console()


#: what the kernel holds: ``user_expressions`` evaluated in the notebook's kernel (it runs nothing, records nothing)
KERNEL = f"""async (expr) => {{ const k = {NB}.sessionContext.session.kernel;
  const reply = await k.requestExecute({{code: '', silent: true, store_history: false,
                                        user_expressions: {{r: expr}}}}).done;
  const r = reply.content.user_expressions.r; return r.status === 'ok' ? r.data['text/plain'] : r.ename + ': ' + r.evalue }}"""

#: the player's state plot as the page has it: the y values of its source ``flow-state``, per Bokeh document
FLOW_STATE = """() => { const out = []; for (const d of (window.Bokeh && Bokeh.documents) || [])
  for (const m of d._all_models.values()) if (m.name === 'flow-state') out.push(Array.from(m.data.y || []));
  return out }"""


#: Each output's Panel comm manager in the page: events waiting, blocked for an answer, ms to its timeout.
COMM_MANAGERS = """() => Array.from((window.PyViz.shared_views || new Map()).values()).flat().map(v => ({
  waiting: v._event_buffer.length, blocked: v._blocked, timeout_in: v._timeout - Date.now(),
  reconnect: v._reconnect, connected: v._client_comm && v._client_comm.connected,
  active: v._client_comm && v._client_comm.active}))"""


def test_lesson_01_player_steps_with_next_and_redraws_its_plot_in_jupyterlab(open_notebook):
    """Next steps the frame, and each step redraws the states plot beside the graph.

    A click reaches the kernel inside Panel's handling of the page's message, with the
    document held: Panel sends its own panes' changes (the title), but the raw Bokeh
    edits made after the last of them (the plot's new states) were dropped when the
    message's hold ended, so from the second step on the plot stood still.

    Run after lesson 01's render test, the page is quick, and Next is clicked in the first
    seconds after the player appears: Panel's comm manager held that click back while it
    waited for the kernel's answer to an earlier message, and sent it only with a later
    event, so it never reached the kernel (notebook()'s script now sends it once the wait
    times out)."""
    nb = open_notebook("01_adjoint_error_flow.ipynb")
    nb.run_all()
    player = nb.page.locator(".jp-Cell").filter(has_text="player = ErrorFlowPlayer()").first
    player.scroll_into_view_if_needed()
    out = player.locator(".jp-OutputArea-output").last
    from playwright.sync_api import expect

    expect(out.get_by_text(re.compile(r"frame 1 of \d+"))).to_be_visible(timeout=60_000)
    step = out.get_by_role("button", name=re.compile("Next"))
    kernel_y = "repr([round(float(v), 6) for v in player.state_src.data['y']])"
    seen = []
    for frame in (2, 3, 4):  # phase 0 of L1, steps 1, 2 and 3: the same plot, new states each step
        step.click()
        try:
            expect(out.get_by_text(re.compile(rf"frame {frame} of \d+"))).to_be_visible(timeout=30_000)
        except AssertionError as e:
            raise AssertionError(f"Next did not reach frame {frame}; the kernel's player: "
                                 f"{nb.js(KERNEL, '(player.frame, player.title.object)')}; "
                                 f"the page's comm managers: {nb.js(COMM_MANAGERS)}") from e
        want = ast.literal_eval(ast.literal_eval(nb.js(KERNEL, kernel_y)))  # the repr of the list's text
        end = time.monotonic() + 20
        while True:  # the lesson's second player (at its last frame) draws no states
            page = [[round(float(v), 6) for v in ys] for ys in nb.js(FLOW_STATE)]
            if want in page:
                break
            assert time.monotonic() < end, (f"frame {frame}: the page's states plots {[p[:5] for p in page]}... "
                                            f"are not the kernel's {want[:5]}...")
            time.sleep(0.2)
        seen.append(tuple(want))
    assert len(set(seen)) == 3, "each step must show new states"
    nb.check_console()


# ------------------------------------------------------------ another lesson, rendered
def test_lesson_02_with_plotly_renders_offline(open_notebook):
    """Lesson 02's 3-D PCA view needs Plotly's 5 MB script: inline too.  (Lesson 05's player takes MathJax
    as lesson 01's does; tests/test_notebooks.py checks which extras each lesson asks for.)"""
    name = "02_ste_vs_epe"
    nb = open_notebook(f"{name}.ipynb")
    cells = nb.run_all()
    nb.roots(WIDGETS[name])
    text = stderr_of(cells)
    assert "MathJax was not imported" not in text and "WARNING:param" not in text, text
    nb.check_console()


#: the console error of a change that names a model the page does not have (see the test below)
UNKNOWN_REFERENCE = re.compile(r"reference \S+ isn't known")


def test_lessons_03_to_05_render_offline(open_notebook):
    """The other lessons' widgets (03's error view, 04's graphs and curves, 05's curves and player with
    MathJax) draw in JupyterLab too: one lesson after the other, each closed before the next opens."""
    for name in ("03_spectral_radius_stability", "04_multitask_reuse", "05_2afc_psychometrics"):
        nb = open_notebook(f"{name}.ipynb")
        cells = nb.run_all()
        nb.roots(WIDGETS[name])
        text = stderr_of(cells)
        assert "MathJax was not imported" not in text and "WARNING:param" not in text, (name, text)
        try:  # lesson 04's curves, reset for each of 3 networks while Run All runs, sometimes send a change
            # that names a model the page was never sent ("reference … isn't known"): a defect of its own
            nb.check_console(known=UNKNOWN_REFERENCE)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
        nb.close()


# ------------------------------------------------- the README's snippet, cell after cell
def test_readme_snippet_curves_move_while_the_loop_cell_runs_and_end_with_every_epoch(open_notebook):
    nb = open_notebook("readme_snippet.ipynb")
    for i in range(3):  # notebook() and Explorer(); the run; the curves shown
        nb.select(i)
        nb.command("notebook:run-cell")
        nb.wait_cells(upto=i + 1)
    nb.roots(2)  # the explorer and the curves
    time.sleep(2.0)  # a user reads the page before running the next cell: the page connects to the curves
    nb.select(3)
    seen = []

    def sample():
        if nb.cells()[3][0] is None:  # the loop's cell still runs
            seen.append(nb.js(POINTS).get("curve-acc-train-main", 0))

    nb.command("notebook:run-cell")
    cells = nb.wait_cells(tick=sample)
    grew = sorted(set(n for n in seen if n > 0))
    assert len(grew) >= 3, f"the curves did not move while the loop ran (train points seen: {seen})"
    assert "has not connected" not in stderr_of(cells), stderr_of(cells)
    # every batch of the 4 epochs (10 a epoch) and every epoch's test point reach the page
    end = time.monotonic() + 30
    while (n := nb.js(POINTS)).get("curve-acc-test-main") != 4 or n.get("curve-acc-train-main") != 40:
        assert time.monotonic() < end, f"the page did not get every point: {n}"
        time.sleep(0.2)
    nb.check_console()
