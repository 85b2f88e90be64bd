"""The Sweeps tab in a real browser: the first load of a table draws what its widgets say."""

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def test_the_first_table_draws_what_the_widgets_say(page, sweep_table):
    pg = page.open()
    pg.tab("Sweeps").click()
    pg.page.locator("input[type=file][accept='.csv,.parquet']").set_input_files(str(sweep_table))
    expect(pg.text("sweep.csv: 24 rows")).to_be_visible()
    for label, value in (("X", "sr"), ("By", "lr"), ("Y", "lr")):
        assert pg.page.get_by_label(label, exact=True).input_value() == value, label
    for title in ("Accuracy vs ρ", "Heatmap", "Learning curves"):
        expect(pg.tab(title)).to_be_visible()
    titles = pg.js("() => [...Bokeh.documents[0]._all_models.values()].filter(m => m.type === 'Title')"
                   ".map(m => m.text)")
    assert any(t.startswith("test_acc against sr") for t in titles), titles
    pg.tab("Heatmap").click()
    expect(pg.tab("Heatmap")).to_have_class(__import__("re").compile("bk-active"))
