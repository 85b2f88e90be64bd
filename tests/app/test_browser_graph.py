"""The network graph and its table in a real browser: paths go round boxes, rows keep their
height as modules are added, and no cell of the table is cut."""

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


def _load_preset(pg, name):
    pg.page.get_by_label("Preset").select_option(name)
    pg.button("Load preset").click()
    pg.wait_js("() => { for (const m of Bokeh.documents[0]._all_models.values()) {"
               " const t = m.data && m.data.text; if (t && t.includes('output') && t.includes('L4')) return true; }"
               " return false; }")


def test_paths_that_skip_a_column_go_round_the_boxes_between(page):
    pg = page.open()
    _load_preset(pg, "fig5c")
    drawn = pg.js(DRAWN)
    assert drawn["edges"] and drawn["frames"]
    for path, xs, ys in drawn["edges"]:
        pts = list(zip(xs, ys))
        for module, x0, y0, x1, y1 in drawn["frames"]:
            assert not any(_crosses(p, q, (x0, y0, x1, y1)) for p, q in zip(pts, pts[1:])), \
                f"path {path} runs through module {module}"


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
    pg.page.wait_for_timeout(500)
    cut = pg.page.locator(".tabulator-cell").evaluate_all(
        "cs => cs.filter(c => c.offsetWidth > 0 && c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)")
    assert not cut, cut
    table = pg.page.locator(".tabulator").first.evaluate("t => [t.scrollWidth, t.clientWidth]")
    assert table[0] <= table[1] + 1, table  # nothing hidden to the right either
