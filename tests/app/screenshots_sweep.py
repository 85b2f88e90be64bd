"""Screenshots of the Sweeps tab after a sweep launched from the page has finished, in real Chromium.

    python -m tests.app.screenshots_sweep [--out DIR] [--url URL]

Starts ``panel serve apps/explorer.py``, opens the page at 1280x720 and at
1920x1080, runs a sweep of the digits network over ρ and the learning rate
(2 x 2 points, 1 epoch) from the Sweeps tab, waits until it has finished and
writes ``sweep-launch-1280.png`` and ``sweep-launch-1920.png``.  Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.app import shots
from tests.app.conftest import Page


def sweep_screenshot(browser, url: str, size: tuple, path: Path) -> Path:
    with Page(browser, url, viewport=size) as pg:
        pg.page.set_default_timeout(60_000)
        pg.open()
        page = pg.page
        pg.tab("Sweeps").click()
        page.get_by_label("Values (comma-separated)").fill("0.1, 0.5")
        page.get_by_label("Second setting").select_option("Learning rate")
        page.get_by_label("Its values").fill("2e-3, 2e-2")
        page.get_by_label("Its values").press("Enter")
        page.get_by_role("button", name="Run sweep").click()
        expect(page.get_by_text(re.compile("Finished: 4 of 4 points"))).to_be_visible(timeout=180_000)
        time.sleep(1.5)  # the plots' first draw
        # the tab bar at the top of the window: the launcher, its result and the plots in view
        pg.tab("Sweeps").evaluate("e => e.scrollIntoView({block: 'start'})")
        time.sleep(0.3)
        page.screenshot(path=str(path))
        return path


def shoot(browser, url: str, out: Path):
    for w, h in shots.SIZES:
        yield sweep_screenshot(browser, url, (w, h), out / f"sweep-launch-{w}.png")


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
