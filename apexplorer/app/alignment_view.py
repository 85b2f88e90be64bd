"""AP-vs-BP alignment per path over training (where ``apexplorer.analysis.alignment`` exists).

The runner computes it on the worker thread after every epoch with the
analysis package's ``alignment`` function and sends ``("alignment", {"epoch",
"values"})``; this view draws the cosine of every path against epochs.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from .live import PALETTE, LiveView


def alignment_available() -> bool:
    try:
        from ..analysis import alignment as mod  # noqa: F401
    except ImportError:
        return False
    return hasattr(mod, "alignment")


def _per_path(values) -> dict:
    """{path: cosine} from the analysis result (a dict, or an object with a per-path dict)."""
    if isinstance(values, dict):
        out = {}
        for k, v in values.items():
            try:
                out[str(k)] = float(np.mean(np.asarray(v, dtype=float)))
            except (TypeError, ValueError):
                continue
        return out
    for attr in ("cosine", "per_path", "paths", "values"):
        if hasattr(values, attr):
            return _per_path(getattr(values, attr))
    return {}


class AlignmentView(LiveView):
    """Cosine between the AP update and the backprop gradient of every learnable path."""

    height = param.Integer(300)

    def __init__(self, **params):
        super().__init__(**params)
        self.history: dict = {}
        self._pipe = hv.streams.Pipe(data={})
        dmap = hv.DynamicMap(self._element, streams=[self._pipe])
        self._pane = pn.pane.HoloViews(dmap.opts(hv.opts.Overlay(
            responsive=True, height=self.height, show_grid=True, legend_position="right", toolbar="above",
            title="AP update vs backprop gradient, per path")), sizing_mode="stretch_width")

    def _element(self, data):
        ep = hv.Dimension("epoch", label="epoch")
        cos = hv.Dimension("cos", label="cosine(ΔA_AP, ΔA_BP)", range=(-1, 1))
        layers = [hv.Curve((xs, ys), ep, cos).relabel(k).opts(color=PALETTE[i % len(PALETTE)], line_width=2)
                  * hv.Scatter((xs, ys), ep, cos).relabel(k).opts(color=PALETTE[i % len(PALETTE)], size=6)
                  for i, (k, (xs, ys)) in enumerate(sorted(data.items()))]
        return hv.Overlay(layers or [hv.Curve([], ep, cos).relabel("computed after each epoch")])

    def on_reset(self, info):
        self.history = {}

    def on_alignment(self, item):
        for k, v in _per_path(item["values"]).items():
            xs, ys = self.history.setdefault(k, ([], []))
            xs.append(item["epoch"])
            ys.append(v)

    def flush(self):
        self._pipe.send({k: (list(x), list(y)) for k, (x, y) in self.history.items()})

    def __panel__(self):
        return pn.Column(self._pane, pn.pane.Markdown(
            "1 means AP's local update points where backpropagation's gradient points; 0 means unrelated.",
            margin=(0, 10)), sizing_mode="stretch_width")
