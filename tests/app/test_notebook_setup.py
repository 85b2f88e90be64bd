"""apexplorer.app.notebook (no browser): its choices, and the stylesheets Panel sends with a change inlined."""

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ImportedStyleSheet, InlineStyleSheet
from pyviz_comms import Comm

from apexplorer.app import notebook
from apexplorer.app.notebook_setup import _inline_changed_stylesheets, inline_stylesheet


def test_an_unknown_extra_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown notebook extra 'mathjx'; choose among 'plotly', 'tabulator', 'mathjax'"):
        notebook(["mathjax", "mathjx"])


def test_panel_s_own_stylesheets_are_inlined_and_others_kept():
    from panel.io.resources import CDN_DIST, DIST_DIR

    for url in (f"{CDN_DIST}css/markdown.css", "static/extensions/panel/css/loading.css?v=1"):
        sheet = inline_stylesheet(ImportedStyleSheet(url=url))
        assert isinstance(sheet, InlineStyleSheet)
        assert sheet.css == (DIST_DIR / "css" / url.split("/css/")[1].split("?")[0]).read_text(encoding="utf-8")
    other = ImportedStyleSheet(url="https://example.org/site.css")
    assert inline_stylesheet(other) is other
    assert inline_stylesheet(".a { color: red }") == ".a { color: red }"


def test_a_pane_changed_after_it_was_shown_sends_its_stylesheets_inline():
    """Panel 1.9 re-sends a changed Markdown pane's stylesheets as CDN links even with inline resources."""
    _inline_changed_stylesheets()
    with pn.config.set(inline=True):
        md = pn.pane.Markdown("")
        root = pn.Column(md).get_root(Document(), Comm())
        md.object = "**training speed** 1,000 samples/s"
        model = md._models[root.ref["id"]][0]
        links = [s.url for s in model.stylesheets if isinstance(s, ImportedStyleSheet)]
    assert links == []
    from panel.io.resources import DIST_DIR

    markdown_css = (DIST_DIR / "css" / "markdown.css").read_text(encoding="utf-8")
    assert any(isinstance(s, InlineStyleSheet) and s.css == markdown_css for s in model.stylesheets)


def test_a_receiver_that_missed_a_header_reads_the_next_message_whole(browser):
    """Panel drops a notebook change's first fragments while the page still builds the output's view; the
    receiver then read every later change one fragment out of step (``s is not iterable``, and lost)."""
    import json
    from pathlib import Path

    import bokeh

    from apexplorer.app.notebook_setup import RESYNC_JS

    page = browser.new_page()
    try:
        page.add_script_tag(path=str(Path(bokeh.__file__).parent / "server/static/js/bokeh.min.js"))
        page.evaluate(RESYNC_JS)
        page.wait_for_function("() => Bokeh.protocol.Receiver.prototype.apexplorerResync === true")

        def header(i, buffers=0):
            h = {"msgid": str(i), "msgtype": "PATCH-DOC"}
            return json.dumps({**h, "num_buffers": buffers} if buffers else h)

        content = json.dumps({"events": [{"kind": "TitleChanged", "title": "x"}]})
        read = page.evaluate("""(fragments) => {
            const r = new Bokeh.protocol.Receiver();
            const out = [];
            for (const f of fragments) {
                try {
                    r.consume(f === null ? new ArrayBuffer(8) : f);  // null: a binary buffer
                } catch (e) {
                    out.push(["error", false, 0]);
                }
                if (r.message !== null && !out.includes(r.message)) out.push(r.message);
            }
            return out.map(m => Array.isArray(m) ? m : [m.header.msgid, Array.isArray(m.content.events), m.buffers.size]);
        }""", [
            "{}", content,  # the tail of message 1: its header was dropped
            header(2), "{}", content,  # a whole message
            header(3, 1), "{}", content, json.dumps({"id": "b1"}), None,  # one with a binary buffer
            header(4), "{}",  # cut short: the next header starts afresh
            header(5), "{}", content,
        ])
        skipped = page.evaluate("() => window.apexplorerResynced")
    finally:
        page.close()
    assert [m[0] for m in read] == ["2", "3", "5"] and all(m[1] for m in read), read
    assert read[1][2] == 1  # the buffer reached its message
    assert skipped == 2  # the two fragments of the message whose header was lost
