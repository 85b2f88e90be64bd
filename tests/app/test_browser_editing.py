"""Editing the wiring in a real browser as a hurried person does: type, then click at once.

A click that follows an edit without Enter or Tab reaches the server while the edit is
still pending; Panel then runs the click's handler off the document lock.  Each test
types and clicks without waiting and checks the graph, the table and the messages.
"""

import copy
import json

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def test_typing_a_module_name_and_clicking_add_draws_the_module(page):
    pg = page.open()
    name = pg.page.get_by_placeholder("L3")
    for module in ("L3", "L4", "L5"):  # each: type, then click at once (no Enter, no Tab)
        name.click()
        pg.page.keyboard.type(module)
        pg.button("Add module").click()
        pg.wait_js("m => { for (const s of Bokeh.documents[0]._all_models.values()) {"
                   " const t = s.data && s.data.text; if (t && t.includes('output') && t.includes(m)) return true; }"
                   " return false; }", timeout=20_000, arg=module)
        expect(name).to_have_value("", timeout=10_000)  # cleared for the next module
        expect(pg.page.locator(".tabulator-cell", has_text=module).first).to_be_visible()


def _import(pg, text):
    box = pg.page.get_by_label("Wiring JSON")
    box.fill(text)
    pg.button("Import JSON").click()  # straight after typing
    return box


@pytest.mark.parametrize("change, words", [
    (lambda d: "{oops", "not valid JSON"),
    (lambda d: dict(d, feedforward=d["feedforward"] + [{"source": "L1.SI", "target": "L2.XX"}]),
     "module 'L2' has no block 'XX'"),
    (lambda d: dict(d, feedforward=d["feedforward"] + [{"source": "L2.SI", "target": "L1.RI"}]),
     "feedforward paths form a cycle"),
], ids=["broken-json", "missing-block", "cycle"])
def test_a_bad_import_says_why_and_keeps_the_users_text(page, change, words):
    pg = page.open()
    pg.text("Import / export wiring JSON").click()
    box = pg.page.get_by_label("Wiring JSON")
    spec = json.loads(box.input_value())
    bad = change(copy.deepcopy(spec))
    text = bad if isinstance(bad, str) else json.dumps(bad, indent=1)
    _import(pg, text)
    expect(pg.text(words)).to_be_visible(timeout=20_000)
    pg.page.wait_for_timeout(500)
    assert box.input_value() == text  # the user's edit is still there to fix
    assert pg.graph_titles().count("L1") == 1  # the old wiring is drawn


def test_a_valid_import_redraws_the_graph(page):
    pg = page.open()
    pg.text("Import / export wiring JSON").click()
    box = pg.page.get_by_label("Wiring JSON")
    spec = json.loads(box.input_value())
    spec["modules"].append(dict(spec["modules"][-1], name="L9"))
    spec["feedforward"] = [p for p in spec["feedforward"] if p["source"] != "L2.SI"] + [
        {"source": "L2.SI", "target": "L9.RI"}, {"source": "L9.SI", "target": "y"}]
    spec["feedback"] = [{"source": "y", "target": "L9.RE"}, {"source": "L9.SE", "target": "L2.RE"},
                        {"source": "L2.SE", "target": "L1.RE"}]
    _import(pg, json.dumps(spec))
    pg.wait_js("() => { for (const m of Bokeh.documents[0]._all_models.values()) {"
               " const t = m.data && m.data.text; if (t && t.includes('output') && t.includes('L9')) return true; }"
               " return false; }", timeout=20_000)
    expect(pg.page.locator(".tabulator-cell", has_text="L9").first).to_be_visible()
