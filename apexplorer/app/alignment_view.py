"""AP-vs-BP alignment per path over training (``apexplorer.analysis.alignment``).

After every epoch the runner calls the analysis package's ``alignment`` on a
batch of test samples, on the worker thread, and sends ``("alignment",
{"epoch", "values"})`` with ``values = {path: {"cosine", "sign_agreement",
...}}``; this view draws each path's cosine against epochs.
"""

from __future__ import annotations

import panel as pn
import param
from bokeh.models import Range1d

from .compare import mean_sd
from .live import LiveView
from .plots import PALETTE, hover, make_figure, place_legend, source


def alignment_available() -> bool:
    try:
        from ..analysis import alignment  # noqa: F401 - only whether it is there
    except ImportError:
        return False
    return True


def per_path(values) -> dict:
    """{path: (cosine, sd)} from the analysis result ({path: {"cosine": ...}} or {path: float}); an
    ensemble's cosines (one per member) give their mean and sample sd, a single network's an sd of 0."""
    out = {}
    for k, v in (values or {}).items():
        if isinstance(v, dict):
            v = v.get("cosine")
        try:
            out[str(k)] = mean_sd(v) if isinstance(v, (list, tuple)) else (float(v), 0.0)
        except (TypeError, ValueError):
            continue
    return out


class AlignmentView(LiveView):
    """Cosine between AP's update and the backprop gradient, for every learnable path."""

    height = param.Integer(300)

    def __init__(self, **params):
        super().__init__(**params)
        self.history: dict = {}
        self.src = source(xs=[], ys=[], color=[], path=[])
        self.pts = source(x=[], y=[], lo=[], hi=[], color=[], path=[])
        self.pts.name = "alignment-points"
        f = make_figure("AP update vs backprop gradient, per learnable path (after each epoch)", "epoch",
                        "cosine(ΔA_AP, ∇_A loss)", self.height, y_range=Range1d(-1.05, 1.05))
        r = f.multi_line("xs", "ys", source=self.src, line_color="color", line_width=2, legend_field="path")
        f.scatter("x", "y", source=self.pts, color="color", size=6)
        f.segment("x", "lo", "x", "hi", source=self.pts, color="color", line_width=2)  # ± sd over an ensemble
        f.add_tools(hover([r], [("path", "@path")]))
        place_legend(f, "bottom_right")
        self.figure = f
        self.caption = pn.pane.Markdown(
            "1: AP's local update points exactly down the true gradient; 0: unrelated; below 0: uphill. "
            "Computed on 256 test samples of the task shown; an ensemble shows its members' mean ± sd.",
            margin=(0, 10))

    def on_reset(self, info):
        self.history = {}

    def on_alignment(self, item):
        for k, (v, sd) in per_path(item["values"]).items():
            xs, ys, sds = self.history.setdefault(k, ([], [], []))
            xs.append(item["epoch"])
            ys.append(v)
            sds.append(sd)

    def flush(self):
        d = {"xs": [], "ys": [], "color": [], "path": []}
        q = {"x": [], "y": [], "lo": [], "hi": [], "color": [], "path": []}
        for i, (k, (xs, ys, sds)) in enumerate(sorted(self.history.items())):
            c = PALETTE[i % len(PALETTE)]
            d["xs"].append(list(xs))
            d["ys"].append(list(ys))
            d["color"].append(c)
            d["path"].append(k)
            q["x"] += xs
            q["y"] += ys
            q["lo"] += [y - d for y, d in zip(ys, sds)]
            q["hi"] += [y + d for y, d in zip(ys, sds)]
            q["color"] += [c] * len(xs)
            q["path"] += [k] * len(xs)
        self.src.data = d
        self.pts.data = q

    def __panel__(self):
        return pn.Column(pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"), self.caption,
                         sizing_mode="stretch_width")
