"""Wiring on the network graph in a real browser (issue 29): paths made by clicks, refusals, deletes,
drags kept by the URL, undo and redo, a task's suppression toggled, a pending edit drawn, touch taps.

The clicks land where BokehJS draws a block, a path or a module's name (its own scales give the pixels)."""

import json
import re
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

#: (x, y) in the drawing's units -> page pixels, by the network figure's own scales
TO_PAGE = """([x, y]) => {
  const v = [...Bokeh.index.query((v) => v.model.name === "ap-network")].find((v) => v.el.isConnected);
  const r = v.canvas_view.el.getBoundingClientRect();
  return [r.left + v.frame.x_scale.compute(x), r.top + v.frame.y_scale.compute(y)];
}"""
SOURCE = """(name) => { for (const m of Bokeh.documents[0]._all_models.values())
  if (m.name === name && m.data) { const o = {}; for (const k in m.data) o[k] = Array.from(m.data[k], (v) =>
    v && v.length !== undefined && typeof v !== "string" ? Array.from(v) : v); return o; } return null; }"""


def data(pg, key):
    return pg.js(SOURCE, f"graph-{key}")


def paths(pg, *keys) -> set:
    keys = keys or ("ff_on", "fb_on", "ff_off", "fb_off")
    return {p for k in keys for p in data(pg, k)["path"]}


def modules(pg) -> list:
    return data(pg, "frames")["module"]


def block_at(pg, ref):
    b = data(pg, "blocks")
    i = b["ref"].index(ref)
    return pg.js(TO_PAGE, [(b["left"][i] + b["right"][i]) / 2, (b["bottom"][i] + b["top"][i]) / 2])


def title_at(pg, module):
    f = data(pg, "frames")
    i = f["module"].index(module)
    return pg.js(TO_PAGE, [(f["left"][i] + f["right"][i]) / 2, f["top"][i] + 0.2])


def path_at(pg, name):
    """A point of path ``name`` off every box and as far as can be from every other path."""
    drawn = {k: data(pg, k) for k in ("ff_on", "fb_on", "ff_off", "fb_off", "added", "removed")}
    b = data(pg, "blocks")
    f = data(pg, "frames")
    boxes = list(zip(b["left"], b["bottom"], b["right"], b["top"])) + \
        [(x0, y1, x1, y1 + 0.7) for x0, y1, x1 in zip(f["left"], f["top"], f["right"])]  # names above modules
    others = [(x, y) for d in drawn.values() for p, xs, ys in zip(d["path"], d["xs"], d["ys"]) if p != name
              for x, y in zip(xs, ys)]
    for d in drawn.values():
        if name in d["path"]:
            i = d["path"].index(name)
            pts = list(zip(d["xs"][i], d["ys"][i]))
            pts = pts[len(pts) // 6: len(pts) - len(pts) // 6]
            free = [(x, y) for x, y in pts
                    if not any(x0 - 0.15 <= x <= x1 + 0.15 and y0 - 0.15 <= y <= y1 + 0.15 for x0, y0, x1, y1 in boxes)]
            x, y = max(free or pts, key=lambda p: min(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 for q in others),
                                                       default=1.0))
            return pg.js(TO_PAGE, [x, y])
    raise AssertionError(f"path {name} is not drawn")


def click(pg, xy, touch=False):
    (pg.page.touchscreen.tap if touch else pg.page.mouse.click)(*xy)


def wait_graph(pg, expr, arg=None, timeout=30_000):
    """Wait until ``expr(sources, arg)`` holds for the graph's sources (a dict key -> columns)."""
    pg.wait_js("([expr, arg]) => { const s = {}; for (const m of Bokeh.documents[0]._all_models.values())"
               " if (m.name && m.name.startsWith('graph-') && m.data) s[m.name.slice(6)] = m.data;"
               " return (eval(expr))(s, arg); }", arg=[expr, arg], timeout=timeout)


def wait_path(pg, name, present=True):
    wait_graph(pg, "(s, n) => ['ff_on','fb_on','ff_off','fb_off','added'].some(k => Array.from(s[k].path)"
                   ".includes(n)) === " + ("true" if present else "false"), name)


def join(pg, source, target, touch=False):
    click(pg, block_at(pg, source), touch)
    wait_graph(pg, "(s) => s.marks.color.includes('#1b9e77')")  # the start is outlined
    click(pg, block_at(pg, target), touch)
    wait_path(pg, f"{source}->{target}")


def wiring_json(pg) -> dict:
    pg.text("Import / export wiring JSON").click()
    text = pg.page.get_by_label("Wiring JSON").input_value()
    pg.text("Import / export wiring JSON").click()
    return json.loads(text)


def shown(pg, css):
    return pg.page.locator(css).first


def test_a_chain_of_three_modules_is_made_by_clicks_then_edited_undone_and_trained(page):
    """From the default x -> L1 -> L2 -> y: + module, four paths by clicks, a refused pair, the old output
    paths deleted, a module deleted and back by undo; 10 edits undone to the start's JSON and redone;
    then it trains and the curves move."""
    pg = page.open()
    start = wiring_json(pg)
    assert modules(pg) == ["L1", "L2"]
    pg.button(r"\+ module").click()
    wait_graph(pg, "(s) => Array.from(s.frames.module).includes('L3')")
    expect(shown(pg, ".ap-wire-panel")).to_contain_text("Module L3")  # the new module is selected
    for s, t in (("L2.SI", "L3.RI"), ("L3.SI", "y"), ("y", "L3.RE"), ("L3.SE", "L2.RE")):
        join(pg, s, t)
    # a refused pair: the library's message beside the graph, nothing added
    click(pg, block_at(pg, "L1.SI"))
    wait_graph(pg, "(s) => s.marks.color.includes('#1b9e77')")
    click(pg, block_at(pg, "L3.RE"))
    expect(shown(pg, ".ap-wire-refusal")).to_contain_text("L1.SI sends inference, but L3.RE receives error")
    assert "L1.SI->L3.RE" not in paths(pg)
    pg.page.keyboard.press("Escape")  # nothing half-made is left
    wait_graph(pg, "(s) => !s.marks.color.includes('#1b9e77')")
    # the old output paths: selected by a click, removed by Delete and Backspace
    for name, key in (("L2.SI->y", "Delete"), ("y->L2.RE", "Backspace")):
        click(pg, path_at(pg, name))
        wait_graph(pg, "(s) => s.picked.xs.length === 1")
        expect(shown(pg, ".ap-wire-panel")).to_contain_text(f"Path {name}")
        pg.page.keyboard.press(key)
        wait_path(pg, name, present=False)
    chain = {"x->L1.RI", "L1.SI->L2.RI", "L2.SI->L3.RI", "L3.SI->y", "y->L3.RE", "L3.SE->L2.RE", "L2.SE->L1.RE"}
    assert paths(pg, "ff_on", "fb_on") == chain
    # a module deleted with its paths (the page says how many), then back
    click(pg, title_at(pg, "L3"))
    expect(shown(pg, ".ap-wire-panel")).to_contain_text("Module L3")
    pg.button("Delete").click()
    wait_graph(pg, "(s) => !Array.from(s.frames.module).includes('L3')")
    expect(shown(pg, ".ap-wire-done")).to_contain_text("removed module L3 and its 4 paths")
    pg.page.keyboard.press("Control+z")
    wait_graph(pg, "(s) => Array.from(s.frames.module).includes('L3')")
    assert paths(pg, "ff_on", "fb_on") == chain
    # L3's rho in the panel beside the graph
    click(pg, title_at(pg, "L3"))
    expect(shown(pg, ".ap-wire-panel")).to_contain_text("Module L3")
    rho = pg.page.locator(".ap-wire-panel").get_by_label("ρ")
    rho.fill("0.6")
    rho.press("Enter")
    pg.page.wait_for_function("() => true")
    # a drag moves L3: its position is a layout hint (the paths follow)
    before = data(pg, "frames")
    x, y = title_at(pg, "L3")
    pg.page.mouse.move(x, y)
    pg.page.mouse.down()
    for i in range(1, 9):
        pg.page.mouse.move(x - 4 * i, y + 12 * i)
    pg.page.mouse.up()
    i = before["module"].index("L3")
    wait_graph(pg, "(s, [l, i]) => Math.abs(s.frames.left[i] - l) > 0.3", [before["left"][i], i])
    # suppress the feedback path into L1 in task main (a click with the task chosen)
    pg.page.locator(".ap-click-mode select").select_option("a click on a path toggles it in task main")
    expect(shown(pg, ".ap-wire-hint")).to_contain_text("suppressed, or active again, in task main")
    click(pg, path_at(pg, "L2.SE->L1.RE"))
    wait_graph(pg, "(s) => Array.from(s.fb_off.path).includes('L2.SE->L1.RE')")
    pg.page.locator(".ap-click-mode select").select_option("a click on a path selects it")
    # the Tasks tab, hidden through these edits (it is sent nothing meanwhile), shows them once it is opened
    pg.tab("Tasks").click()
    expect(pg.page.get_by_label("L3.SE->L2.RE", exact=True)).to_be_checked()
    expect(pg.page.get_by_label("L2.SE->L1.RE", exact=True)).not_to_be_checked()
    pg.tab("Network").click()
    edited = wiring_json(pg)
    assert edited["modules"][2]["spectral_radius"] == 0.6 and "L3" in edited["layout"]
    assert edited["tasks"][0]["paths"] and "L2.SE->L1.RE" not in edited["tasks"][0]["paths"]
    # 10 edits since the page opened (+ module, 4 joins, 2 deletes, rho, a drag, a suppression; the module
    # deleted and undone is history's): undone to the start, the wiring JSON identical; then redone
    for _ in range(10):
        pg.button("Undo").click()
        pg.page.wait_for_timeout(50)
    wait_graph(pg, "(s) => !Array.from(s.frames.module).includes('L3')")
    expect(pg.button("Undo")).to_be_disabled()
    assert wiring_json(pg) == start
    for _ in range(10):
        pg.page.keyboard.press("Control+Shift+z")
        pg.page.wait_for_timeout(50)
    wait_graph(pg, "(s) => Array.from(s.fb_off.path).includes('L2.SE->L1.RE')")
    expect(pg.button("Redo")).to_be_disabled()
    assert wiring_json(pg) == edited
    # the URL keeps the drawing: a page opened on it draws L3 where it was dragged
    frames = data(pg, "frames")
    with Page(pg.page.context.browser, pg.page.url) as again:
        again.open()
        assert data(again, "frames") == frames
    # trains: the curves move
    pg.wait_status(r"\(ready\)")
    pg.button("Train").click()
    pg.wait_js("() => { for (const m of Bokeh.documents[0]._all_models.values())"
               " if (m.name === 'curve-acc-train-main' && m.data.y.length >= 2) return true; return false; }",
               timeout=120_000)


def test_taps_keys_a_pending_edit_and_a_tasks_suppression(browser, server):
    """On a touch screen (Chromium's touch emulation): a trained network's edit, made by the keyboard and by
    taps, is drawn pending (new path dashed, removed one crossed out), the URL unchanged; Keep discards it,
    Reset and apply applies it (and the URL carries it).  Then fig5b: a tap on a path with task A chosen
    suppresses it in A."""
    with Page(browser, server.url, touch=True) as pg:
        pg.open()
        query = pg.page.url
        for _ in range(2):
            pg.button("Step").click()
            pg.page.wait_for_timeout(300)
        pg.wait_status(r"batch 2/")
        # the keyboard: Tab reaches the drawing, then goes through its blocks; Enter clicks the one outlined
        pg.wait_js("() => [...Bokeh.index.query((v) => v.model.name === 'ap-network')].some(v => v.el.tabIndex === 0)")
        pg.js("() => [...Bokeh.index.query((v) => v.model.name === 'ap-network')].find(v => v.el.isConnected)"
              ".el.focus()")
        pg.page.keyboard.press("Tab")
        wait_graph(pg, "(s) => s.marks.dash.includes('dashed')")  # the keyboard's block: x
        pg.page.keyboard.press("Enter")
        wait_graph(pg, "(s) => s.marks.color.includes('#1b9e77')")
        for _ in range(5):
            pg.page.keyboard.press("Tab")
        pg.page.keyboard.press("Enter")
        wait_graph(pg, "(s) => Array.from(s.added.path).includes('x->L2.RI')")  # pending: dashed, highlighted
        expect(pg.button("Reset and apply")).to_be_visible()
        # a tap selects a path, Delete removes it: crossed out while pending
        click(pg, path_at(pg, "L2.SE->L1.RE"), touch=True)
        wait_graph(pg, "(s) => s.picked.xs.length === 1")
        pg.page.keyboard.press("Delete")
        wait_graph(pg, "(s) => Array.from(s.removed.path).includes('L2.SE->L1.RE') && s.crosses.xs.length >= 2")
        assert pg.page.url == query  # the pending set is carried once applied
        pg.button("Keep the trained network").click()
        wait_graph(pg, "(s) => s.added.path.length === 0 && s.removed.path.length === 0")
        assert "x->L2.RI" not in paths(pg) and "L2.SE->L1.RE" in paths(pg, "fb_on")
        # again by taps, then applied
        join(pg, "x", "L2.RI", touch=True)
        wait_graph(pg, "(s) => Array.from(s.added.path).includes('x->L2.RI')")
        pg.button("Reset and apply").click()
        wait_graph(pg, "(s) => s.added.path.length === 0 && Array.from(s.ff_on.path).includes('x->L2.RI')")
        pg.page.wait_for_function("q => location.href !== q", arg=query)
        opened = Page(browser, pg.page.url)
        # fig5b: with task A chosen, a tap on A's feedback path into L4 suppresses it in A
        pg.page.get_by_label("Preset").select_option("fig5b")
        pg.page.wait_for_timeout(500)
        pg.button("Load preset").click()
        wait_graph(pg, "(s) => Array.from(s.frames.module).includes('L4')")
        pg.page.locator(".ap-click-mode select").select_option("a click on a path toggles it in task A")
        expect(shown(pg, ".ap-wire-hint")).to_contain_text("suppressed, or active again, in task A")
        click(pg, path_at(pg, "yA->L4.RE2"), touch=True)
        wait_graph(pg, "(s) => Array.from(s.fb_off.path).includes('yA->L4.RE2')")
        expect(shown(pg, ".ap-wire-done")).to_contain_text("suppressed in task A")
        assert "yA->L4.RE2" not in wiring_json(pg)["tasks"][0]["paths"]
    with opened:  # the applied edit's link opens it
        opened.open()
        assert "x->L2.RI" in paths(opened, "ff_on")
