"""The network graph and its table in a real browser: paths go round boxes, rows keep their
height as modules are added, and no cell of the table is cut."""

import json

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium
from tests.app.test_browser_messages import _set_size
from tests.app.test_layout import _crosses

pytestmark = [pytest.mark.browser, needs_chromium]

DRAWN = """() => {
  const frames = [], edges = [];
  for (const m of Bokeh.documents[0]._all_models.values()) {
    const d = m.data;
    if (!d) continue;
    if (d.module && d.left) for (let i = 0; i < d.module.length; i++)
      frames.push([d.module[i], d.left[i], d.bottom[i], d.right[i], d.top[i]]);
    if (d.path && d.xs) for (let i = 0; i < d.path.length; i++)
      edges.push([d.path[i], Array.from(d.xs[i]), Array.from(d.ys[i])]);
  }
  return {frames, edges};
}"""


SKIPS = {  # x -> L1 -> L2 -> L3 -> y, and paths that skip columns both ways
    "name": "skips",
    "modules": [{"name": f"L{i}", "size": 64} for i in (1, 2, 3)],
    "inputs": [{"name": "x", "size": 64}], "outputs": [{"name": "y", "size": 10}],
    "feedforward": [{"source": "x", "target": "L1.RI"}, {"source": "L1.SI", "target": "L2.RI"},
                    {"source": "L2.SI", "target": "L3.RI"}, {"source": "L3.SI", "target": "y"},
                    {"source": "x", "target": "L3.RI", "name": "x->L3"},
                    {"source": "L1.SI", "target": "y", "name": "L1->y"}],
    "feedback": [{"source": "y", "target": "L3.RE"}, {"source": "L3.SE", "target": "L2.RE"},
                 {"source": "L2.SE", "target": "L1.RE"}, {"source": "y", "target": "L1.RE", "name": "y->L1"}],
    "tasks": [{"name": "main", "input": "x", "output": "y"}],
}


def _shows(pg, module):
    pg.wait_js("m => { for (const s of Bokeh.documents[0]._all_models.values()) {"
               " const t = s.data && s.data.text; if (t && t.includes('output') && t.includes(m)) return true; }"
               " return false; }", arg=module, timeout=60_000)


def _no_path_through_a_module(pg):
    drawn = pg.js(DRAWN)
    assert drawn["edges"] and drawn["frames"]
    for path, xs, ys in drawn["edges"]:
        pts = list(zip(xs, ys))
        for module, x0, y0, x1, y1 in drawn["frames"]:
            assert not any(_crosses(p, q, (x0, y0, x1, y1)) for p, q in zip(pts, pts[1:])), \
                f"path {path} runs through module {module}"


def test_paths_that_skip_a_column_go_round_the_boxes_between(page):
    pg = page.open()
    pg.text("Import / export wiring JSON").click()
    box = pg.page.get_by_label("Wiring JSON")
    box.fill(json.dumps(SKIPS))
    box.press("Tab")
    pg.page.wait_for_timeout(1000)  # unhurried: this test is about the drawing
    pg.button("Import JSON").click()
    _shows(pg, "L3")
    _no_path_through_a_module(pg)
    pg.page.get_by_label("Preset").select_option("fig5c")
    pg.page.wait_for_timeout(1000)
    pg.button("Load preset").click()
    _shows(pg, "L4")
    _no_path_through_a_module(pg)


def test_added_modules_keep_their_rows_readable(page):
    pg = page.open()
    for name in ("L3", "L4", "L5"):  # modules no path touches yet
        box = pg.page.get_by_placeholder("L3")
        box.fill(name)
        pg.button("Add module").click()
        expect(box).to_have_value("")
    pg.wait_js("() => { for (const m of Bokeh.documents[0]._all_models.values()) {"
               " const t = m.data && m.data.text; if (t && t.includes('output') && t.includes('L5')) return true; }"
               " return false; }")
    pg.page.wait_for_timeout(500)
    row_px = pg.js("""() => {  // the drawn graph: its frame's height in pixels over its y range
        const seen = new Set(), todo = [...Bokeh.index.roots];
        while (todo.length) {
          const v = todo.pop();
          if (!v || seen.has(v)) continue;
          seen.add(v);
          const m = v.model;
          if (m.type === 'Figure' && v.frame && m.renderers.some(r => r.data_source && r.data_source.data.module))
            return v.frame.bbox.height * 0.6 / (m.y_range.end - m.y_range.start);
          const cs = typeof v.children_views === 'function' ? v.children_views() : [];
          for (const c of cs) todo.push(c);
        }
        return null; }""")
    assert row_px is not None and row_px >= 17, row_px  # a block row holds its 11 px label


def test_no_cell_of_the_module_table_is_cut(page):
    pg = page.open()
    _set_size(pg, "L1", 100_000)
    expect(pg.page.locator(".tabulator-cell", has_text="100,000").first).to_be_visible()
    cells = pg.page.locator(".tabulator-cell, .tabulator-col-title")
    shown = "cs => cs.filter(c => c.innerText.trim() && c.clientWidth > 0)"
    cut = f"cs => ({shown})(cs).filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)"
    # the new value and the columns' new widths reach the table one after the other: wait for both, drawn
    try:
        pg.page.wait_for_function(f"() => {{ const cs = [...document.querySelectorAll('*')].flatMap(e => e.shadowRoot ?"
                                  f" [...e.shadowRoot.querySelectorAll('.tabulator-cell, .tabulator-col-title')] : []);"
                                  f" return ({shown})(cs).length > 0 && ({cut})(cs).length === 0; }}",
                                  timeout=10_000, polling=100)
    except Exception:  # noqa: BLE001 - say which cells are cut
        pass
    assert cells.evaluate_all(shown + ".length") > 0
    assert not cells.evaluate_all(cut), cells.evaluate_all(cut)
    table = pg.page.locator(".tabulator").first.evaluate("t => [t.scrollWidth, t.clientWidth]")
    assert table[0] <= table[1] + 1, table  # nothing hidden to the right either
