"""Screenshot of the Boundary tab while AP trains moons:
``python -m tests.app.screenshots_boundary [--out DIR] [--url URL]``.

Serves ``apps/explorer.py`` (as the browser tests do), opens ``?preset=toy`` (moons), trains a few
epochs with the Boundary tab shown, scrolls to the plane and saves
``explorer-decision-plane.png`` at 1280x720 into ``assets/`` by default; then uploads a CSV of two
crescents with string labels on the Tasks tab, trains it and saves the per-module pictures under its
plane, ``explorer-module-pictures.png`` at 1280x720.  Needs Debian's chromium at ``/usr/bin/chromium``.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from tests.app import shots
from tests.app.conftest import Page


def _train_and_shoot(pg, epochs: int, anchor: str, wheel: int, path: Path) -> Path:
    """Train to the end on the Boundary tab, scroll to the text ``anchor`` and ``wheel`` pixels on, shoot."""
    pg.tab("Boundary").click()
    pg.button("Train").click()
    pg.wait_status(rf"epoch {epochs}/{epochs} .*test acc", timeout=180_000)
    time.sleep(1.5)  # the last frame drawn
    pg.text(re.compile(anchor)).scroll_into_view_if_needed()
    pg.page.mouse.wheel(0, wheel)
    time.sleep(1.0)
    pg.page.screenshot(path=str(path))
    return path


def decision_plane(browser, url: str, out: Path) -> Path:
    with Page(browser, f"{url}?preset=toy&train.epochs=4", viewport=(1280, 720)) as pg:
        pg.open()
        return _train_and_shoot(pg, 4, "Classes:", 120, out / "explorer-decision-plane.png")


def module_pictures(browser, url: str, out: Path) -> Path:
    """An uploaded CSV (its classes named by the file) trained a few epochs: the plane's lower half and, under it,
    each module's first principal component over the same plane."""
    from tests.app.test_browser_upload import _moons_csv

    csv = _moons_csv(Path(tempfile.mkdtemp(prefix="apexplorer-shots-")) / "lab crescents.csv", n=400)
    with Page(browser, f"{url}?preset=toy&train.epochs=6", viewport=(1280, 720)) as pg:
        pg.open()
        pg.tab("Tasks").click()
        pg.page.get_by_placeholder("the last column").fill("kind")
        pg.page.locator("input[type=file][accept='.csv,.npz']").set_input_files(str(csv))
        pg.page.locator(".ap-upload-info").filter(has_text="trains on it").wait_for()
        pg.wait_status(r"\(ready\)")
        return _train_and_shoot(pg, 6, "Dots: training points", 170, out / "explorer-module-pictures.png")


def shoot(browser, url: str, out: Path):
    yield decision_plane(browser, url, out)
    yield module_pictures(browser, url, out)


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
