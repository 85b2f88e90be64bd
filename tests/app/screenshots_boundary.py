"""Screenshot of the Boundary tab while AP trains moons:
``python -m tests.app.screenshots_boundary [--out DIR] [--url URL]``.

Serves ``apps/explorer.py`` (as the browser tests do), opens ``?preset=toy`` (moons), trains a few
epochs with the Boundary tab shown, scrolls to the plane and saves
``explorer-decision-plane.png`` at 1280x720 into ``assets/`` by default.  Needs Debian's chromium at
``/usr/bin/chromium``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.app import shots
from tests.app.conftest import Page


def decision_plane(browser, url: str, out: Path) -> Path:
    with Page(browser, f"{url}?preset=toy&train.epochs=4", viewport=(1280, 720)) as pg:
        pg.open()
        pg.tab("Boundary").click()
        pg.button("Train").click()
        pg.wait_status(r"epoch 4/4 .*test acc", timeout=180_000)
        time.sleep(1.5)  # the last frame drawn
        pg.text(re.compile("Classes:")).scroll_into_view_if_needed()
        pg.page.mouse.wheel(0, 120)
        time.sleep(1.0)
        path = out / "explorer-decision-plane.png"
        pg.page.screenshot(path=str(path))
        return path


def shoot(browser, url: str, out: Path):
    yield decision_plane(browser, url, out)


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
