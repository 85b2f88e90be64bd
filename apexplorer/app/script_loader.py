"""Load a JavaScript library into the page when a view first needs it.

The explorer's 3-D PCA view draws with Plotly, whose 4.7 MB script cost every
visitor a second of parsing before the first paint.  Served without
``pn.extension("plotly")``, the page loads it only when the 3-D tab is first
shown: a :class:`ScriptLoader` in that tab adds the script and reports back
``loaded``; the view builds its Plotly pane then.
"""

from __future__ import annotations

import panel as pn
import param
from panel.custom import JSComponent


class ScriptLoader(JSComponent):
    """An invisible component that loads ``src`` once per page and sets ``loaded`` when ``window[test]`` exists."""

    src = param.String(doc="URL of the script (relative to the page).")
    test = param.String(doc="The global the script defines (already there: nothing is loaded).")
    loaded = param.Boolean(False, doc="Set by the browser once the script has run.")

    _esm = """
    export function render({ model }) {
      const done = () => { model.loaded = true }
      if (window[model.test]) { done(); return }
      let s = document.querySelector(`script[data-ap-src="${model.src}"]`)
      if (!s) {
        s = document.createElement("script")
        s.src = model.src
        s.dataset.apSrc = model.src
        document.head.appendChild(s)
      }
      s.addEventListener("load", done)
      const poll = setInterval(() => { if (window[model.test]) { clearInterval(poll); done() } }, 200)
    }
    """


def plotly_loaded() -> bool:
    """Whether the page got Plotly's script with ``pn.extension("plotly")`` (a notebook, say)."""
    return "plotly" in getattr(pn.extension, "_loaded_extensions", []) or pn.state.curdoc is None or \
        pn.state.curdoc.session_context is None


def plotly_src() -> str:
    from panel.models.plotly import PlotlyPlot

    return PlotlyPlot.__javascript__[0]


__all__ = ["ScriptLoader", "plotly_loaded", "plotly_src"]
