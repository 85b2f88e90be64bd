"""Screenshots of the teaching aids: ``python -m tests.app.screenshots_teach [OUT_DIR]``.

Serves ``apps/explorer.py`` (as the browser tests do), trains the default network
for a few seconds and saves, into ``assets/`` by default:

* ``presenter-1280.png`` and ``presenter-1920.png``: the presenter layout at
  1280×720 and 1920×1080 (the network and the curves above the fold);
* ``formulas.png``: the Error flow tab at 1280×720 on a phase-1 frame, with the
  injected error and the relaxation highlighted in the formula panel.

Needs Debian's chromium at ``/usr/bin/chromium`` (Playwright drives it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.app.conftest import ARGS, CHROMIUM, ROOT, Page, Served

DEEP_LIT = """() => { const out = []; const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.matches('.ap-term-on'))
      out.push([...el.classList].find(c => c.startsWith('ap-term-') && c !== 'ap-term-on').slice(8));
    if (el.shadowRoot) walk(el.shadowRoot) } }; walk(document); return out.sort() }"""


def _train(pg: Page, seconds: float) -> None:
    pg.js("() => document.activeElement && document.activeElement.blur()")
    pg.page.keyboard.press("Space")
    pg.wait_status(r"\((running|finished)\)")
    time.sleep(seconds)
    if "(running)" in pg.status():
        pg.page.keyboard.press("Space")
    pg.wait_status(r"\((paused|finished)\)")


def presenter(browser, url: str, size: tuple, out: Path) -> Path:
    pg = Page(browser, url + "?presenter=1", viewport=size).open()
    try:
        pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
        _train(pg, 3.0)
        time.sleep(1.0)
        path = out / f"presenter-{size[0]}.png"
        pg.page.screenshot(path=str(path))
        return path
    finally:
        pg.close()


def formulas(browser, url: str, out: Path) -> Path:
    pg = Page(browser, url + "?presenter=1", viewport=(1280, 720)).open()
    try:
        _train(pg, 1.0)
        pg.tab("Error flow").click()
        pg.text("frame 1 of").wait_for()
        for _ in range(80):  # on to the first frame of phase 1
            if pg.js(DEEP_LIT) == ["inject", "relax"]:
                break
            pg.button("Next").click()
            time.sleep(0.2)
        else:
            raise RuntimeError(f"no phase-1 frame reached; lit: {pg.js(DEEP_LIT)}")
        time.sleep(1.0)
        pg.js("() => window.scrollTo(0, 0)")
        top = pg.tab("Error flow").bounding_box()["y"]
        pg.js(f"() => window.scrollTo(0, {max(0, top - 8)})")
        time.sleep(0.5)
        path = out / "formulas.png"
        pg.page.screenshot(path=str(path), full_page=False)
        return path
    finally:
        pg.close()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "assets"
    out.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.mkdtemp(prefix="apexplorer-shots-")) / "serve.log"
    served = Served(log)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for size in ((1280, 720), (1920, 1080)):
                    print(presenter(browser, served.url, size, out))
                print(formulas(browser, served.url, out))
            finally:
                browser.close()
    finally:
        served.stop()
    problems = served.problems()
    if problems:
        print(problems[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
