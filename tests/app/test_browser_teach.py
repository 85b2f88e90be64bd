"""Teaching aids in a real browser: every keyboard shortcut, the shortcuts' popover, the
presenter layout at a projector's sizes, and the formula panel typeset offline beside the
error-flow player."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

#: every element matching a selector, inside every shadow root too (Panel renders into shadow roots)
DEEP = """(sel) => { const out = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.matches(sel)) out.push(el); if (el.shadowRoot) walk(el.shadowRoot) } };
  walk(document); return out }"""


def deep_count(pg, sel) -> int:
    return pg.js(f"(sel) => ({DEEP})(sel).length", sel)


def lit_terms(pg) -> list:
    """The keys of the formula rows highlighted now (class ap-term-on, key in ap-term-<key>)."""
    return sorted(pg.js(f"""() => ({DEEP})('.ap-term-on').map(e => [...e.classList]
        .find(c => c.startsWith('ap-term-') && c !== 'ap-term-on').slice(8))"""))


def press(pg, key):
    pg.page.keyboard.press(key)


def body_focus(pg):
    pg.js("() => document.activeElement && document.activeElement.blur()")


# ------------------------------------------------------------------ shortcuts
def test_space_starts_training_and_space_again_pauses(page):
    pg = page.open()
    body_focus(pg)
    press(pg, "Space")
    pg.wait_status(r"\(running\)")
    expect(pg.button("Pause")).to_be_enabled()
    press(pg, "Space")
    pg.wait_status(r"\(paused\)")
    expect(pg.button("Train")).to_be_enabled()


def test_right_arrow_steps_one_batch_when_paused(page):
    pg = page.open()
    body_focus(pg)
    press(pg, "ArrowRight")
    pg.wait_status(r"batch 1/.*\(paused\)")
    press(pg, "ArrowRight")
    pg.wait_status(r"batch 2/.*\(paused\)")
    time.sleep(1.0)  # one press, one batch: nothing more arrives later
    assert re.search(r"batch 2/", pg.status()), pg.status()


def test_r_resets_to_a_fresh_network(page):
    pg = page.open()
    body_focus(pg)
    press(pg, "ArrowRight")
    pg.wait_status(r"batch 1/")
    press(pg, "r")
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)")
    assert "batch" not in pg.status()


def test_question_mark_and_the_keys_button_open_the_shortcuts_popover(page):
    pg = page.open()
    popover = pg.page.locator(".ap-keys").first
    expect(popover).to_be_hidden()
    train_box = pg.button("Train").bounding_box()
    body_focus(pg)
    press(pg, "?")
    expect(popover).to_be_visible()
    for text in ("Train / Pause", "Step (one batch)", "Reset", "presenter layout", "show or hide this list"):
        expect(popover).to_contain_text(text)
    # a popover: it floats over the page and pushes nothing down
    assert pg.button("Train").bounding_box()["y"] == train_box["y"]
    assert popover.evaluate("e => getComputedStyle(e).position") == "absolute"
    press(pg, "Escape")
    expect(popover).to_be_hidden()
    pg.button("Keys").click()
    expect(popover).to_be_visible()
    pg.button("Keys").click()
    expect(popover).to_be_hidden()


def test_keys_typed_into_a_text_or_number_box_stay_there(page):
    pg = page.open()
    name = pg.page.get_by_placeholder("L3")
    name.click()
    pg.page.keyboard.type("a b r")
    press(pg, "ArrowRight")
    size = pg.field("Size")
    size.click()
    press(pg, "End")
    pg.page.keyboard.type(" ")
    time.sleep(1.5)  # a shortcut would have started training (or stepped) by now
    assert re.search(r"epoch 0/\d+ .*\(ready\)", pg.status()) and "batch" not in pg.status(), pg.status()
    expect(name).to_have_value("a b r")
    # the same key, with no text box focused, is a shortcut again
    body_focus(pg)
    press(pg, "Space")
    pg.wait_status(r"\(running\)")
    press(pg, "Space")
    pg.wait_status(r"\(paused\)")


# ------------------------------------------------------------------ presenter
def _plot_box(pg, title):
    """The bounding box of the drawn Bokeh figure titled ``title`` ('' for the network graph)."""
    return pg.js("""(title) => { for (const v of Bokeh.index.query(v => v.model instanceof Bokeh.Models.get('Plot'))) {
        const t = (v.model.title && v.model.title.text) || '';
        if (v.el.isConnected && v.bbox.width > 0 && t === title) { const r = v.el.getBoundingClientRect();
          return {top: r.top, bottom: r.bottom, left: r.left, right: r.right} } } return null }""", title)


def _axis_font(pg, title) -> float:
    """The size of the x axis's label text of the figure titled ``title`` (drawn by Bokeh on its canvas)."""
    return float(pg.js("""(title) => { for (const v of Bokeh.index.query(v => v.model instanceof Bokeh.Models.get('Plot')))
        if (v.model.title && v.model.title.text === title) return v.model.below[0].axis_label_text_font_size;
        return '0px' }""", title)[:-2])


def _root_font(pg) -> float:
    return float(pg.js("() => getComputedStyle(document.documentElement).fontSize")[:-2])


def _text_font(pg, text) -> float:
    """The font size of the Markdown paragraph that contains ``text`` (shadow roots searched)."""
    return float(pg.js(f"""(text) => {{ const p = ({DEEP})('p').find(e => e.textContent.includes(text));
        return p ? getComputedStyle(p).fontSize : '0px' }}""", text)[:-2])


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_presenter_layout_fits_the_graph_and_the_curves_above_the_fold(browser, server, size):
    with Page(browser, server.url, viewport=size) as pg:
        pg.open()
        before_root, before_text = _root_font(pg), _text_font(pg, "a fresh network is ready")
        before_axis = _axis_font(pg, "Loss")
        expect(pg.text("Adjoint Propagation.*trains only")).to_be_visible()
        pg.button("Presenter").click()
        pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
        expect(pg.text("Adjoint Propagation.*trains only")).to_be_hidden()
        expect(pg.tab("Settings")).to_be_hidden()  # the setup tabs leave room for the run
        big = 18 if size[0] <= 1280 else 21  # the font grows with the screen
        assert _root_font(pg) >= big > before_root
        assert _text_font(pg, "a fresh network is ready") >= big > before_text
        assert _axis_font(pg, "Loss") >= 1.3 * before_axis > 0  # the figures' text grows too
        pg.wait_js("() => new URLSearchParams(location.search).get('presenter') === '1'")
        time.sleep(0.5)  # let the layout settle
        graph, loss, acc = _plot_box(pg, ""), _plot_box(pg, "Loss"), _plot_box(pg, "Accuracy")
        assert graph and loss and acc
        for box in (graph, loss, acc):
            assert 0 <= box["top"] and box["bottom"] <= size[1], (box, size)
            assert box["right"] <= size[0] + 1, (box, size)
        assert pg.js("() => document.scrollingElement.scrollTop") == 0
        last = pg.tab("Paper").bounding_box()  # every view's tab title is on the screen
        assert last["x"] + last["width"] <= size[0], last
        pg.button("Presenter").click()  # and back
        pg.wait_js("() => !document.documentElement.classList.contains('ap-presenter')")
        assert _root_font(pg) == before_root
        assert _axis_font(pg, "Loss") == before_axis
        expect(pg.text("Adjoint Propagation.*trains only")).to_be_visible()


def test_p_switches_the_presenter_layout_on_and_off(page):
    pg = page.open()
    body_focus(pg)
    press(pg, "p")
    pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
    expect(pg.text("Adjoint Propagation.*trains only")).to_be_hidden()
    press(pg, "P")
    pg.wait_js("() => !document.documentElement.classList.contains('ap-presenter')")
    expect(pg.text("Adjoint Propagation.*trains only")).to_be_visible()


def test_a_link_with_presenter_opens_the_presenter_layout(browser, server):
    with Page(browser, server.url + "?presenter=1", viewport=(1280, 720)) as pg:
        pg.open()
        pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
        assert _root_font(pg) >= 18
        expect(pg.text("Adjoint Propagation.*trains only")).to_be_hidden()
        assert "presenter=1" in pg.js("() => location.search")


# ------------------------------------------------------------------ formulas
def test_formula_panel_is_typeset_and_follows_the_player(page):
    pg = page.open()
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
    pg.tab("Error flow").click()
    pg.wait_js(f"() => ({DEEP})('.ap-term').length === 7")
    # MathJax typeset every formula as SVG (offline: Bokeh's own bokeh-mathjax.js); no raw TeX is left
    pg.wait_js(f"() => ({DEEP})('.ap-formula')"
               ".filter(e => e.shadowRoot.querySelector('mjx-container svg')).length === 7")
    raw = pg.js(f"() => ({DEEP})('.ap-formula').map(e => (e.shadowRoot || e).textContent)"
                ".filter(t => t.includes('$') || t.includes('\\\\frac') || t.includes('h_{'))")
    assert raw == [], raw
    assert not pg.js("() => performance.getEntriesByType('resource').map(r => r.name)"
                     ".filter(u => !u.startsWith(location.origin))")  # nothing came from a CDN
    expect(pg.text("frame 1 of")).to_be_visible()
    assert lit_terms(pg) == ["drive"]
    pg.button("Next").click()
    pg.wait_js(f"() => ({DEEP})('.ap-term-on').length === 2")
    assert lit_terms(pg) == ["drive", "relax"]  # phase 0: the drive and the relaxation
    for _ in range(60):  # on to phase 1
        if "inject" in lit_terms(pg) and "relax" in lit_terms(pg):
            break
        pg.button("Next").click()
        time.sleep(0.15)
    assert lit_terms(pg) == ["inject", "relax"]
    expect(pg.text("Phase 1 ·")).to_be_visible()
