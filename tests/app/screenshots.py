"""Screenshots of the Curves view comparing runs, for the README; needs /usr/bin/chromium.

    python -m tests.app.screenshots [--out assets] [--url URL]

A digits run of 4 seeds with BP beside it trains a few epochs; the spectral radius is then
changed to 0.5 and applied, so the first run stays as a ghost, and the second run trains as
long.  The Curves view is saved at 1280×720 and 1920×1080 (``compare-1280.png``,
``compare-1920.png``).
"""

from __future__ import annotations

from pathlib import Path

from tests.app import shots
from tests.app.conftest import Page


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
    with Page(browser, url, viewport=size) as pg:
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
        return path


def shoot(browser, url: str, out: Path):
    for w, h in shots.SIZES:
        yield compare_screenshot(browser, url, out / f"compare-{w}.png", (w, h))


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
