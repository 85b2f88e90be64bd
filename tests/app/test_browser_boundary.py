"""The Boundary tab in a real browser: a two-feature task's decision over its input plane, and each
module's picture, redrawn while AP trains; a task without two features says so."""

import re

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

PLANE = ("() => { const s = Bokeh.documents[0].get_model_by_name('boundary-image');"
         " return s ? s.data.url.length : -1; }")
TITLES = ("() => [...Bokeh.documents[0]._all_models.values()].filter(m => typeof m.text === 'string' && "
          "(m.text.startsWith('Decision over the input plane, epoch') || /^L[12]: PC1/.test(m.text)))"
          ".map(m => m.text).sort()")


def frames_while_training(pg, tries: int, want: int = 3) -> set:
    """The distinct frames (plot titles: the plane's epoch and batch, the module pictures) seen while a run trains,
    polled every 250 ms up to ``tries`` times; fails unless ``want`` differ."""
    seen = set()
    for _ in range(tries):
        seen.add(tuple(pg.js(TITLES)))
        if len(seen) >= want:
            break
        pg.page.wait_for_timeout(250)
    assert len(seen) >= want, seen
    return seen


def test_the_decision_plane_draws_and_moves_while_ap_trains(browser, server):
    with Page(browser, f"{server.url}?preset=toy&train.epochs=500") as pg:  # trains while the frames are read
        pg.open()
        pg.tab("Boundary").click()
        pg.wait_js(f"() => ({PLANE})() > 0", timeout=60_000)  # the untrained network's plane, at once
        first = pg.js(TITLES)
        assert any(t.startswith("Decision over the input plane, epoch 0") for t in first), first
        assert any(t.startswith("L1: PC1") for t in first) and any(t.startswith("L2: PC1") for t in first), first
        expect(pg.text("upper moon")).to_be_visible()  # the classes, named in their colours
        pg.button("Train").dblclick()  # a hurried double click trains once
        pg.wait_status(r"batch \d+/")
        frames_while_training(pg, tries=60)  # the plane is redrawn while it trains: several different frames
        pg.button("Pause").click()
        expect(pg.text("Dots: training points")).to_be_visible()


def test_a_task_without_two_features_says_what_the_plane_needs(page):
    pg = page.open()  # digits: 64 features
    pg.tab("Boundary").click()
    expect(pg.text(re.compile("Train a task with two input features"))).to_be_visible()
    assert pg.js(PLANE) == 0
