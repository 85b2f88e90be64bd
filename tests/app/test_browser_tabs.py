"""Every tab of the served explorer draws in a real browser when first shown (tabs are built
on demand; the 3-D view loads Plotly's script then)."""

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def test_every_tab_draws_when_first_shown(page):
    pg = page.open()
    assert not pg.js("() => !!window.Plotly")  # not in the first paint
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
    for name in ("Trajectories", "Errors", "Error flow", "AP vs BP alignment", "Sweeps", "Curves"):
        pg.tab(name).click()
        expect(pg.tab(name)).to_have_class(__import__("re").compile("bk-active"))
    pg.tab("PCA 3-D").click()
    expect(pg.page.locator(".js-plotly-plot .main-svg").first).to_be_attached(timeout=30_000)
    expect(pg.text("explained variance")).to_be_visible()
    for name in ("Tasks", "Settings", "Network"):
        pg.tab(name).click()
    expect(pg.page.get_by_placeholder("L3")).to_be_visible()
