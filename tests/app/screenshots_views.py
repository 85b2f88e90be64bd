"""Screenshots of the keyboard-shortcut popover and of the Paper tab:
``python -m tests.app.screenshots_views [--out DIR] [--url URL]``.

Serves ``apps/explorer.py`` (as the browser tests do) and saves, into ``assets/`` by default,
``keys-1280.png`` (the shortcuts' popover over the page at 1280×720) and ``paper-1280.png`` /
``paper-1920.png`` (Fig. 5e's simultaneous point loaded from the Paper tab, the paper's values
and ours beside the network).  Needs Debian's chromium at ``/usr/bin/chromium``.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect

from tests.app import shots
from tests.app.conftest import Page


def keys(browser, url: str, out: Path) -> Path:
    with Page(browser, url, viewport=(1280, 720)) as pg:
        pg.open()
        pg.button("Keys").click()
        expect(pg.text("Train / Pause")).to_be_visible()
        time.sleep(0.5)
        path = out / "keys-1280.png"
        pg.page.screenshot(path=str(path))
        return path


def paper(browser, url: str, size: tuple, out: Path) -> Path:
    with Page(browser, url, viewport=size) as pg:
        pg.open()
        pg.load_paper("fig5e", "simultaneous")
        expect(pg.text("loaded the paper's experiment fig5e: simultaneous")).to_be_visible(timeout=60_000)
        pg.wait_status(r"\(ready\)", timeout=120_000)
        time.sleep(1.0)
        path = out / f"paper-{size[0]}.png"
        pg.page.screenshot(path=str(path))
        return path


def shoot(browser, url: str, out: Path):
    yield keys(browser, url, out)
    for size in shots.SIZES:
        yield paper(browser, url, size, out)


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
