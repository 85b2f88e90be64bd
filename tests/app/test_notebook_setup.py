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
