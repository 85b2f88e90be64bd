"""Screenshots of lesson 01 in a real JupyterLab: ``python -m tests.app.screenshots_jupyterlab [--out DIR]``.

Starts ``jupyter lab`` over a copy of ``notebooks/`` (as tests/app/test_browser_jupyterlab.py
does, offline, the lesson in its normal size) and opens lesson 01 in Chromium at 1280×720.
It runs the cells one by one down to the training monitors and saves, into ``assets/`` by
default:

* ``nb01-jupyterlab-player.png``: the error-flow player a few frames in, its formulas typeset;
* ``nb01-jupyterlab-training.png``: the loss and accuracy curves while the loop's cell trains
  (three epochs of ten in).

Needs Debian's chromium at ``/usr/bin/chromium`` and JupyterLab.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.app.conftest import ARGS, CHROMIUM, ROOT
from tests.app.test_browser_jupyterlab import POINTS, Lab, Notebook

LESSON = "01_adjoint_error_flow.ipynb"
PLAYER, MONITORS, LOOP = 6, 8, 9  # code cells: the player, the monitors shown, the training loop


def shoot(browser, lab: Lab, out: Path) -> list:
    nb = Notebook(browser, lab, LESSON)
    try:
        for i in range(MONITORS + 1):
            nb.select(i)
            nb.command("notebook:run-cell")
            nb.wait_cells(upto=i + 1, timeout=600)
        time.sleep(2.0)
        nb.command("application:toggle-left-area")  # the file browser aside: the lesson takes the width
        no_news = nb.page.get_by_role("button", name="No", exact=True)
        if no_news.count():  # JupyterLab asks whether to fetch its news: no
            no_news.first.click()
        cell = nb.page.locator(".jp-Cell").filter(has_text="player = ErrorFlowPlayer()").first
        out_el = cell.locator(".jp-OutputArea-output").last
        out_el.scroll_into_view_if_needed()
        for _ in range(9):
            out_el.get_by_role("button", name="Next ▶").click()
            time.sleep(0.3)
        time.sleep(1.5)
        nb.js("(el) => el.scrollIntoView({block: 'start'})", out_el.element_handle())
        time.sleep(1.0)
        player = out / "nb01-jupyterlab-player.png"
        nb.page.screenshot(path=str(player))

        nb.select(LOOP)
        nb.command("notebook:run-cell")
        nb.page.wait_for_function(f"() => ({POINTS})()['curve-acc-test-main'] >= 3", timeout=600_000, polling=500)
        nb.select(MONITORS)  # JupyterLab keeps the active cell in view: the monitors', not the loop's
        monitors = nb.page.locator(".jp-Cell").filter(has_text="pn.Column(curves, errors)").first
        nb.js("(el) => el.querySelector('.jp-OutputArea-output').scrollIntoView({block: 'start'})",
              monitors.element_handle())
        time.sleep(1.5)
        training = out / "nb01-jupyterlab-training.png"
        nb.page.screenshot(path=str(training))
        assert nb.cells()[LOOP][0] is None, "the loop ended before the screenshot: it shows no training"
        nb.command("notebook:interrupt-kernel")
        nb.check_console()
        return [player, training]
    finally:
        nb.close()


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets"), help="folder of the PNGs (default assets/)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lab = Lab(Path(tempfile.mkdtemp(prefix="apexplorer-lab-")), quick=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for path in shoot(browser, lab, out):
                    print(path)
            finally:
                browser.close()
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
