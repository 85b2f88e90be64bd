"""Screenshots of the Curves view comparing runs, for the README; needs /usr/bin/chromium.

    python -m tests.app.screenshots [--out assets] [--url URL]

A digits run of 4 seeds with BP beside it trains a few epochs; the spectral radius is then
changed to 0.5 and applied, so the first run stays as a ghost, and the second run trains as
long.  The Curves view is saved at 1280×720 and 1920×1080 (``compare-1280.png``,
``compare-1920.png``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.app.conftest import ARGS, CHROMIUM, Page, Served

SIZES = ((1280, 720), (1920, 1080))


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def _built(pg, members):
    pg.wait_js("k => { try { const d = Bokeh.documents[0];"
               " const s = d.get_model_by_name('curve-acc-train-main');"
               " return s && s.data['m' + (k - 1)] !== undefined && d.get_model_by_name('curve-bp-acc-train-main');"
               " } catch (e) { return false; } }", timeout=120_000, arg=members)
    pg.wait_status(r"\(ready\)", timeout=120_000)


def compare_screenshot(browser, url, path, size, epochs=6, members=4) -> Path:
    """Train the two runs in a fresh session at ``size`` and save the Curves view as ``path``."""
    pg = Page(browser, url, viewport=size)
    try:
        pg.open()
        pg.tab("Settings").click()
        _type(pg, "Seeds (ensemble)", members)
        _type(pg, "Epochs", epochs)
        pg.page.get_by_label("BP (backprop)").check()
        _built(pg, members)
        pg.button("Train").click()
        pg.wait_status(r"\(finished\)", timeout=300_000)
        _type(pg, "Spectral radius ρ", 0.5)
        pg.button("Reset and apply").click()
        pg.wait_js("() => { for (const m of Bokeh.documents[0]._all_models.values())"
                   " if (m.name && m.name.startsWith('ghost-')) return true; return false; }", timeout=120_000)
        _built(pg, members)
        pg.button("Train").click()
        pg.wait_status(r"\(finished\)", timeout=300_000)
        pg.page.wait_for_timeout(1500)  # the last tick and the speed line
        pg.page.locator(".bk-tab", has_text="Curves").first.scroll_into_view_if_needed()
        tabs = pg.page.locator(".bk-tab", has_text="Curves").first
        box = tabs.bounding_box()
        pg.page.mouse.wheel(0, box["y"] - 10)
        pg.page.wait_for_timeout(800)
        path.parent.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(path))
        assert not pg.errors, pg.errors
        return path
    finally:
        pg.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="assets")
    ap.add_argument("--url", help="use this served explorer instead of starting one")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    def shoot(url):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for w, h in SIZES:
                    print(compare_screenshot(browser, url, Path(args.out) / f"compare-{w}.png", (w, h)))
            finally:
                browser.close()

    if args.url:
        shoot(args.url)
        return
    with tempfile.TemporaryDirectory() as d:
        served = Served(Path(d) / "serve.log")
        try:
            shoot(served.url)
        finally:
            served.stop()


if __name__ == "__main__":
    main()
