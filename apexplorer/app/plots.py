"""Small helpers for the live plots, drawn with plain Bokeh.

The live views update ``ColumnDataSource.data`` several times a second while
a worker thread trains; re-rendering a HoloViews element for every update
cost seconds per tick on a busy 2-core machine, a data swap costs
milliseconds.  Each view builds its own figures, so no Bokeh model is ever
shared between two sessions.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

import panel as pn
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939"]
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def edits_models(method):
    """Run ``method`` with the document held (``pn.io.hold``): every Bokeh model it changes is safe to change.

    Panel runs a click's handler off the document lock when the click follows an edit
    that is still pending (typed text, then a click without Enter or Tab).  A raw Bokeh
    model changed there raises ("_pending_writes should be non-None ..."); inside
    ``hold`` Panel collects the changes and sends them itself.  Outside a server
    (notebooks, tests) ``hold`` does nothing.  Decorate every method that writes
    Bokeh models and may be called from a widget's callback.
    """

    @functools.wraps(method)
    def held(*args, **kwargs):
        with pn.io.hold():
            return method(*args, **kwargs)

    return held


@contextmanager
def held_by_bokeh(doc):
    """Collect the changes of a callback that holds the document lock and let Bokeh send them.

    For a periodic callback on a served document: Bokeh awaits its writes before it
    releases the lock and logs a closed tab's failed write as a warning (Panel's own
    hold writes straight to the socket, and a tab closed meanwhile leaves an
    unretrieved exception in the log).  Elsewhere (no session) it changes nothing.
    """
    if doc is None or doc.session_context is None or doc.callbacks.hold_value:
        yield
        return
    doc.hold("combine")
    try:
        yield
    finally:
        doc.unhold()


def make_figure(title: str, x_label: str, y_label: str, height: int = 260, **kw):
    """A stretch-width figure with labelled axes, a grid and the toolbar above."""
    f = figure(title=title, height=height, sizing_mode="stretch_width", tools=kw.pop("tools", TOOLS),
               toolbar_location="above", x_axis_label=x_label, y_axis_label=y_label, **kw)
    f.title.text_font_size = "13px"
    f.axis.axis_label_text_font_style = "normal"
    f.toolbar.logo = None
    return f


def source(**cols) -> ColumnDataSource:
    return ColumnDataSource(data={k: list(v) for k, v in cols.items()})


def hover(renderers, tooltips) -> HoverTool:
    return HoverTool(renderers=list(renderers), tooltips=tooltips)


def place_legend(f, location="top_right"):
    """Legend inside the plot, clickable to hide a series, drawn lightly over the data."""
    if f.legend:
        f.legend.location = location
        f.legend.click_policy = "hide"
        f.legend.background_fill_alpha = 0.7
        f.legend.label_text_font_size = "11px"
        f.legend.spacing = 0
        f.legend.padding = 4
