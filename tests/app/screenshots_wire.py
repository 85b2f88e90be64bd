"""Screenshots of wiring on the network graph (issue 29), at 1280x720 in real Chromium.

    python -m tests.app.screenshots_wire [--out DIR] [--url URL]

Starts ``panel serve apps/explorer.py`` and writes, on the default network:

* ``wire-half-path-1280.png``: a module added by "+ module", a path started at L2.SI (outlined in green),
  the hint saying what the next click does;
* ``wire-selection-1280.png``: module L2 selected, its size, blocks, ρ and c in the panel beside the graph;
* ``wire-pending-1280.png``: the network trained for a few batches, then a new path x -> L2.RI (dashed,
  highlighted) and L2.SE -> L1.RE removed (crossed out), waiting for "Reset and apply".

Needs /usr/bin/chromium.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.app import shots
from tests.app import test_browser_wire_on_graph as W
from tests.app.conftest import Page


def _graph_in_view(pg):
    pg.page.locator(".ap-click-mode").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.5)


def _shoot(pg, path):
    """The graph in view, the pointer out of the way (no hover tooltip): a screenshot at ``path``."""
    _graph_in_view(pg)
    pg.page.mouse.move(5, 5)
    time.sleep(0.5)
    pg.page.screenshot(path=str(path))
    return path


def shoot(browser, url: str, out: Path):
    with Page(browser, url, viewport=(1280, 720)) as pg:
        pg.page.set_default_timeout(60_000)
        pg.open()
        pg.button(r"\+ module").click()
        W.wait_graph(pg, "(s) => Array.from(s.frames.module).includes('L3')")
        W.click(pg, W.block_at(pg, "L2.SI"))
        W.wait_graph(pg, "(s) => s.marks.color.includes('#1b9e77')")
        _graph_in_view(pg)
        pg.page.mouse.move(*W.block_at(pg, "L3.RI"))  # on its way to the receiving block
        time.sleep(0.8)
        pg.page.screenshot(path=str(out / "wire-half-path-1280.png"))
        yield out / "wire-half-path-1280.png"
        pg.page.keyboard.press("Escape")
        W.click(pg, W.title_at(pg, "L2"))
        W.wait_graph(pg, "(s) => s.marks.color.includes('#ffb000')")
        yield _shoot(pg, out / "wire-selection-1280.png")
    with Page(browser, url, viewport=(1280, 720)) as pg:
        pg.page.set_default_timeout(60_000)
        pg.open()
        for _ in range(3):
            pg.button("Step").click()
            time.sleep(0.3)
        pg.wait_status(r"batch 3/")
        W.join(pg, "x", "L2.RI")
        W.click(pg, W.path_at(pg, "L2.SE->L1.RE"))
        W.wait_graph(pg, "(s) => s.picked.xs.length === 1")
        pg.page.keyboard.press("Delete")
        W.wait_graph(pg, "(s) => Array.from(s.removed.path).includes('L2.SE->L1.RE')")
        yield _shoot(pg, out / "wire-pending-1280.png")


if __name__ == "__main__":
    raise SystemExit(shots.main(shoot, __doc__))
