"""Screenshots of the teaching aids: ``python -m tests.app.screenshots_teach [--out DIR] [--url URL]``.

Serves ``apps/explorer.py`` (as the browser tests do), trains the default network
for a few seconds and saves, into ``assets/`` by default:

* ``presenter-1280.png`` and ``presenter-1920.png``: the presenter layout at
  1280×720 and 1920×1080 (the network and the curves above the fold);
* ``formulas.png``: the Error flow tab at 1280×720 on a phase-1 frame, with the
  injected error and the relaxation highlighted in the formula panel.

Needs Debian's chromium at ``/usr/bin/chromium`` (Playwright drives it).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.app import shots
from tests.app.conftest import Page

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
    with Page(browser, url + "?presenter=1", viewport=size) as pg:
        pg.open()
        pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
        _train(pg, 3.0)
        time.sleep(1.0)
        path = out / f"presenter-{size[0]}.png"
        pg.page.screenshot(path=str(path))
        return path


def formulas(browser, url: str, out: Path) -> Path:
    with Page(browser, url + "?presenter=1", viewport=(1280, 720)) as pg:
        pg.open()
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


def shoot(browser, url: str, out: Path):
    for size in shots.SIZES:
        yield presenter(browser, url, size, out)
    yield formulas(browser, url, out)


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
