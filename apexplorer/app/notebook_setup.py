"""The explorer's widgets in a Jupyter notebook: one call sets them up, offline by default.

>>> from apexplorer.app import notebook
>>> notebook()                     # BokehJS, Panel, Plotly, Tabulator and MathJax from this machine

:func:`notebook` calls ``pn.extension`` with the extras the widgets need
(``plotly`` for the 3-D PCA view, ``tabulator`` for the wiring editor,
``mathjax`` for the error-flow player's formulas) and, unless ``cdn=True``, with
the JavaScript inline: the notebook then works without internet (a classroom
behind a firewall, a laptop on a train).  The price is the size of that
cell's output: about 3 MB of JavaScript for BokehJS and Panel, 1.8 MB more for
MathJax, 0.6 MB for Tabulator and 5 MB for Plotly, which Panel stores twice (for
JupyterLab and for the classic notebook).  A notebook saved with its outputs
grows by 6.1 MB with no extra, 9.7 MB with MathJax, 16 MB with Plotly and 21 MB
with all three (``cdn=True``: 0.06 MB).  Pass only the extras you use, clear
the outputs before saving, or load from the CDNs (``cdn=True``, needs internet).

It also works around Panel 1.9 sending a changed pane's stylesheets as CDN links
even with inline resources (a status line or a speed readout that changes while
it trains would ask the CDN for its CSS, and fail offline): with inline
resources every stylesheet Panel sends is inlined.

It also makes BokehJS's message receiver find its place again after a lost
fragment.  Panel sends a change to a notebook output as three comm messages
(header, metadata, content) and drops any that come before the output's view is
in the page's index; a change sent while the page still builds the view could
lose its header and keep the rest, and every later change to that output then
failed in the browser (``TypeError: s is not iterable``) and was lost.  With the
fix a receiver skips the tail of a message whose header it never saw and starts
afresh at every header (:data:`RESYNC_JS`).  The same script sends on a page event (a
click) that Panel's comm manager holds back while it waits for the kernel's answer to
an earlier message, once that wait has timed out: Panel sent held events only with
the next event after the timeout, so a click made in the first seconds after an
output appeared could wait for ever.

A live view fed from a loop in a cell (``view.push(event)``) sends what it drew
to the page as it goes (:meth:`LiveView.push`).  Jupyter opens a view's
connection to the page only between cells, so a view shown in the same cell
as the loop, or in a cell run together with it (Run All), updates when the
cell ends; :func:`cell_running` lets the view say so.
"""

from __future__ import annotations

import functools
import threading
import weakref

import panel as pn

#: The Panel extensions the widgets need: the 3-D PCA view, the wiring editor, the player's formulas.
EXTRAS = ("plotly", "tabulator", "mathjax")

_running = {"cell": False, "hooked": False}


def notebook(extras=EXTRAS, cdn: bool = False, **config) -> None:
    """Load Panel's notebook extension for the explorer's widgets (run it once, before showing any).

    Parameters
    ----------
    extras : sequence of str
        Any of ``"plotly"`` (:class:`PCAView`, the explorer), ``"tabulator"`` (:class:`NetworkEditor`,
        the explorer) and ``"mathjax"`` (:class:`ErrorFlowPlayer`, the explorer); all three by default.
    cdn : bool
        False (default): the JavaScript is put in the notebook, so it works offline (see the module
        for what that costs in size).  True: it is loaded from cdn.bokeh.org and cdn.holoviz.org.
    config
        More ``pn.extension`` settings (``sizing_mode="stretch_width"``...).
    """
    if isinstance(extras, str):
        extras = (extras,)
    extras = tuple(extras)
    bad = [e for e in extras if e not in EXTRAS]
    if bad:
        raise ValueError(f"unknown notebook extra {bad[0]!r}; choose among {', '.join(map(repr, EXTRAS))}")
    if not cdn:
        _inline_changed_stylesheets()
    _watch_cells()
    pn.extension(*extras, inline=not cdn, **config)
    _resync_receivers()


#: Patches ``Bokeh.protocol.Receiver`` (once Bokeh has loaded) so that a header fragment (JSON with
#: ``msgid`` and ``msgtype``) always starts a new message and a fragment waiting for a header that is
#: not one is skipped: a receiver that missed a message's first fragment no longer reads every later
#: message one fragment out of step.  ``window.apexplorerResynced`` counts the fragments skipped.
RESYNC_JS = r"""
(function resync(tries) {
  var B = window.Bokeh;
  if (!B || !B.protocol || !B.protocol.Receiver) {
    if (tries < 600) setTimeout(function () { resync(tries + 1); }, 100);
    return;
  }
  var R = B.protocol.Receiver.prototype;
  if (R.apexplorerResync) return;
  var consume = R.consume;
  function isHeader(fragment) {
    if (typeof fragment !== "string" || fragment.length > 4096 || fragment.charAt(0) !== "{") return false;
    try {
      var o = JSON.parse(fragment);
      return o !== null && typeof o === "object" && "msgid" in o && "msgtype" in o;
    } catch (e) {
      return false;
    }
  }
  R.consume = function (fragment) {
    if (isHeader(fragment)) {
      this._current_consumer = this._HEADER;
    } else if (this._current_consumer === this._HEADER) {
      window.apexplorerResynced = (window.apexplorerResynced || 0) + 1;
      return;
    }
    return consume.call(this, fragment);
  };
  R.apexplorerResync = true;
})(0);
(function flushStuck() {
  if (window.apexplorerFlush) return;
  window.apexplorerFlush = setInterval(function () {
    var views = window.PyViz && window.PyViz.shared_views;
    if (!views) return;
    views.forEach(function (list) {
      list.forEach(function (v) {
        if (v._blocked && v._event_buffer && v._event_buffer.length > 0 && Date.now() > v._timeout
            && typeof v.process_events === "function") {
          v._timeout = Date.now() + v.timeout;
          window.apexplorerFlushed = (window.apexplorerFlushed || 0) + 1;
          v.process_events();
        }
      });
    });
  }, 1000);
})();
"""


def _resync_receivers() -> None:
    """Put :data:`RESYNC_JS` in the notebook (only in IPython)."""
    try:
        from IPython import get_ipython
        from IPython.display import Javascript, display
    except ImportError:
        return
    if get_ipython() is None:
        return
    display(Javascript(RESYNC_JS))


def _inline_changed_stylesheets() -> None:
    """Make Panel inline the stylesheets it sends with a change, not only those of the first render.

    Panel inlines a notebook output's stylesheets when it renders it, but a pane that
    changes later (a Markdown pane's text, for one) sends its stylesheets again as links
    to cdn.holoviz.org.  Every ``_process_param_change`` (the one place both paths build
    them) then swaps the links to Panel's own files for the files' text, while
    ``pn.config.inline`` is on.  Within ``_get_properties(doc)`` (a pane's new text) a
    document reuses its own inline sheet for a file: a new sheet model on each change
    cost the page some of the raw Bokeh edits pushed along with it.
    """
    from panel.reactive import Reactive, Syncable

    original = Syncable._process_param_change
    if getattr(original, "_apexplorer_inline", False):
        return
    get_properties = Reactive._get_properties

    @functools.wraps(original)
    def process(self, params):
        props = original(self, params)
        sheets = props.get("stylesheets")
        if sheets and pn.config.inline:
            doc = getattr(_DOC, "doc", None)
            props["stylesheets"] = [inline_stylesheet(s, doc) for s in sheets]
        return props

    @functools.wraps(get_properties)
    def properties(self, doc):
        before = getattr(_DOC, "doc", None)
        _DOC.doc = doc
        try:
            return get_properties(self, doc)
        finally:
            _DOC.doc = before

    process._apexplorer_inline = True
    Syncable._process_param_change = process
    Reactive._get_properties = properties


_CSS: dict = {}
_DOC = threading.local()  # the document whose properties Panel is building now, if any
_SHEETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # document -> {file: its InlineStyleSheet}


def inline_stylesheet(sheet, doc=None):
    """An ``ImportedStyleSheet`` of one of Panel's own files (CDN or server link) as an ``InlineStyleSheet``.

    Anything else comes back as it is.  With ``doc``, one sheet per file and document (a Bokeh
    model belongs to one document); without, a new one.
    """
    from bokeh.models import ImportedStyleSheet, InlineStyleSheet
    from panel.io.resources import CDN_DIST, DIST_DIR, LOCAL_DIST

    if not isinstance(sheet, ImportedStyleSheet):
        return sheet
    url = str(sheet.url).split("?")[0]
    rel = next((url[len(p):] for p in (CDN_DIST, LOCAL_DIST, "/" + LOCAL_DIST) if url.startswith(p)), None)
    if rel is None:
        return sheet
    if rel not in _CSS:
        path = DIST_DIR / rel
        _CSS[rel] = path.read_text(encoding="utf-8") if path.is_file() else None
    if _CSS[rel] is None:
        return sheet
    if doc is None:
        return InlineStyleSheet(css=_CSS[rel])
    cache = _SHEETS.setdefault(doc, {})
    if rel not in cache:
        cache[rel] = InlineStyleSheet(css=_CSS[rel])
    return cache[rel]


def _watch_cells() -> None:
    """Follow IPython's cells starting and ending (for :func:`cell_running`); once, and only in IPython."""
    if _running["hooked"]:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "events"):
        return
    shell.events.register("pre_run_cell", lambda *a: _running.update(cell=True))
    shell.events.register("post_run_cell", lambda *a: _running.update(cell=False))
    _running["hooked"] = True


def cell_running() -> bool:
    """Whether a notebook cell is running now (False outside IPython, and before :func:`notebook`)."""
    _watch_cells()
    return _running["cell"]


def notebook_roots(viewable):
    """``(doc, comm)`` of every notebook output that shows ``viewable`` (a Panel object), over a Jupyter comm."""
    try:
        from pyviz_comms import JupyterComm
    except ImportError:
        return []
    out = []
    for ref in list(getattr(viewable, "_models", {})):
        view = pn.state._views.get(ref)
        if view is not None and isinstance(view[3], JupyterComm):
            out.append((view[2], view[3]))
    return out


__all__ = ["EXTRAS", "cell_running", "inline_stylesheet", "notebook", "notebook_roots"]
