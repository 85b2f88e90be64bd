"""Trajectory views of the recorded sample (a :class:`Trace`).

* :class:`TrajectoryView`: chosen neurons of a chosen module across the
  iteration steps, inference phase and learning phase side by side.
* :class:`PCAView`: the module's states over both phases projected on their
  top three principal components (``analysis.trajectories.pca_trajectory``),
  with the error vectors ``z1_t - z0_t`` between them, in 3-D (plotly).  Served
  without ``pn.extension("plotly")``, it loads Plotly's script when first shown.
"""

from __future__ import annotations

import time

import numpy as np
import panel as pn
import param
from bokeh.models import Range1d

from ..trace import Trace
from .live import LiveView, not_ap
from .plots import PALETTE, edits_models, hover, make_figure, place_legend, source
from .safe import escape, escape_html
from .script_loader import ScriptLoader, plotly_loaded, plotly_src


def pick_neurons(p: Trace, module: str, block: str, count: int) -> list:
    """``count`` neurons spread evenly over ``block`` of ``module`` ('all' = the whole module)."""
    rows = dict((b, (s, e)) for b, s, e in p.blocks.get(module, ()))
    if block in rows:
        s, e = rows[block]
    else:
        n = (p.traj0.get(module) if module in p.traj0 else p.traj1[module]).shape[1]
        s, e = 0, n
    if e <= s:
        return []
    count = max(1, min(count, e - s))
    return sorted(set(int(round(v)) for v in np.linspace(s, e - 1, count)))


class TrajectoryView(LiveView):
    """Neurons of one module across the steps of phase 0 and phase 1 of the recorded sample."""

    module = param.Selector(default=None, objects=[], allow_None=True, label="Module")
    block = param.Selector(default="all", objects=["all"], label="Block")
    count = param.Integer(5, bounds=(1, 12), label="Neurons")
    every = param.Number(1.0, bounds=(0, None), doc="Seconds between two redraws while training.")
    height = param.Integer(270)

    def __init__(self, **params):
        super().__init__(**params)
        self.trace: Trace | None = None
        self._last = 0.0
        self.sources = [source(xs=[], ys=[], color=[], neuron=[]), source(xs=[], ys=[], color=[], neuron=[])]
        self.points = [source(x=[], y=[], color=[], neuron=[]), source(x=[], y=[], color=[], neuron=[])]
        self.y_range = Range1d(-1, 1)
        self.figures = []
        for i, title in enumerate(("Inference phase (phase 0)", "Learning phase (phase 1)")):
            f = make_figure(title, "iteration step t", "state h (tanh units)", self.height, y_range=self.y_range)
            r = f.multi_line("xs", "ys", source=self.sources[i], line_color="color", line_width=2,
                             legend_field="neuron")
            f.scatter("x", "y", source=self.points[i], color="color", size=5)
            f.add_tools(hover([r], [("", "@neuron")]))
            place_legend(f, "top_left")
            self.figures.append(f)
        self.caption = pn.pane.Markdown("Train or step to record a sample.", margin=(0, 10))
        self._controls = pn.Row(
            pn.widgets.Select.from_param(self.param.module, width=120),
            pn.widgets.Select.from_param(self.param.block, width=100),
            pn.widgets.IntSlider.from_param(self.param.count, width=180))
        self._row = pn.Row(*[pn.pane.Bokeh(f, sizing_mode="stretch_width") for f in self.figures],
                           sizing_mode="stretch_width")

    def on_reset(self, info):
        self.trace = None
        self._note = not_ap(info)
        self._fresh = True  # the last network's sample goes

    def on_trace(self, p: Trace):
        self.trace = p
        mods = [m for m in p.blocks if m in p.traj0 or m in p.traj1]
        if list(self.param.module.objects) != mods:
            self.param.module.objects = mods
        if self.module not in mods:
            self.module = mods[0] if mods else None
        self._fresh = True

    def flush(self):
        if getattr(self, "_fresh", False) and time.monotonic() - self._last >= self.every:
            self.redraw()

    def refresh(self):
        self.redraw()

    @param.depends("module", "block", "count", watch=True)
    @edits_models
    def redraw(self):
        self._last = time.monotonic()
        self._fresh = False
        p = self.trace
        if p is None or self.module is None:
            for s, q in zip(self.sources, self.points):
                s.data = {"xs": [], "ys": [], "color": [], "neuron": []}
                q.data = {"x": [], "y": [], "color": [], "neuron": []}
            self.caption.object = getattr(self, "_note", "") or "Train or step to record a sample."
            return
        m = self.module
        blocks = ["all"] + [b for b, s, e in p.blocks.get(m, ()) if e > s]
        if list(self.param.block.objects) != blocks:
            self.param.block.objects = blocks
        if self.block not in blocks:
            self.block = "all"
        neurons = pick_neurons(p, m, self.block, self.count)
        t0, t1 = p.traj0.get(m), p.traj1.get(m)
        lo, hi = 0.0, 0.0
        for i, traj in enumerate((t0, t1)):
            d = {"xs": [], "ys": [], "color": [], "neuron": []}
            q = {"x": [], "y": [], "color": [], "neuron": []}
            if traj is not None:
                steps = list(range(traj.shape[0]))
                for j, n in enumerate(neurons):
                    ys = [float(v) for v in traj[:, n]]
                    c = PALETTE[j % len(PALETTE)]
                    d["xs"].append(steps)
                    d["ys"].append(ys)
                    d["color"].append(c)
                    d["neuron"].append(f"neuron {n}")
                    q["x"] += steps
                    q["y"] += ys
                    q["color"] += [c] * len(steps)
                    q["neuron"] += [f"neuron {n}"] * len(steps)
                    lo, hi = min(lo, min(ys)), max(hi, max(ys))
            self.sources[i].data = d
            self.points[i].data = q
        pad = max(0.05, 0.1 * (hi - lo))
        self.y_range.start, self.y_range.end = lo - pad, hi + pad
        note = []
        if t0 is None:
            note.append(f"{escape(m)} is not in this task's inference: it stays at its initial state")
        if t1 is None:
            note.append(f"no error reaches {escape(m)}: it has no learning phase")
        start = "restarts from 0 (STE)" if p.mode == "ste" else "continues from the inference state (EPE)"
        self.caption.object = (f"Test sample of class {p.y} (the network says {p.predicted}) · module **{escape(m)}** · "
                               f"the learning phase {start} with −β·error injected (β = {p.beta:g}). "
                               + "; ".join(note))

    def __panel__(self):
        return pn.Column(self._controls, self._row, self.caption, sizing_mode="stretch_width")


def _pca():
    try:
        from ..analysis.trajectories import pca_trajectory
    except ImportError:
        return None
    return pca_trajectory


class PCAView(LiveView):
    """3-D PCA trajectory of one module's states through both phases, with the error vectors."""

    module = param.Selector(default=None, objects=[], allow_None=True, label="Module")
    every = param.Number(2.0, bounds=(0, None), doc="Seconds between two redraws while training.")
    height = param.Integer(520)

    def __init__(self, **params):
        super().__init__(**params)
        self.trace: Trace | None = None
        self._last = 0.0
        self._fresh = False
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self.plot = None  # the Plotly pane: built when the page has Plotly's script
        self._holder = pn.Column(pn.pane.Markdown("Loading the 3-D view…", margin=(0, 10)), height=self.height,
                                 sizing_mode="stretch_width")
        self._loader = None

    def on_reset(self, info):
        self.trace = None
        self._note = not_ap(info)
        self._fresh = True

    def on_trace(self, p: Trace):
        self.trace = p
        mods = [m for m in p.blocks if m in p.traj0 and m in p.traj1]
        prev = self.module
        if list(self.param.module.objects) != mods:
            self.param.module.objects = mods
        if prev not in mods:  # the module nearest the output: its error is the largest
            self.module = mods[-1] if mods else None
        self._fresh = True

    def flush(self):
        if not self._fresh or time.monotonic() - self._last < self.every:
            return
        self.redraw()

    def refresh(self):
        self.redraw()

    @param.depends("module", watch=True)
    def redraw(self):
        self._last = time.monotonic()
        self._fresh = False
        if self.plot is not None:
            self.plot.object = self._figure(self.trace)

    def _build_plot(self, event=None):
        if self.plot is None and (event is None or event.new):
            self.plot = pn.pane.Plotly(self._figure(self.trace), sizing_mode="stretch_width", height=self.height)
            # Panel warns that pn.extension("plotly") was not called: the page has the script now
            with param.parameterized.logging_level("ERROR"):
                self._holder.objects = [self.plot]

    def _figure(self, p: Trace | None):
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.update_layout(margin=dict(l=0, r=0, t=40, b=0), height=self.height, legend=dict(x=0, y=0.95),
                          scene=dict(aspectmode="cube"),
                          uirevision="keep")
        pca = _pca()
        m = self.module
        if p is None or m is None or m not in p.traj0 or m not in p.traj1:
            note = getattr(self, "_note", "")
            fig.update_layout(title="PCA trajectory: " + ("not for this run" if note else
                                                          "train or step to record a sample"))
            self.caption.object = note
            return fig
        if pca is None:
            fig.update_layout(title="PCA trajectory needs apexplorer.analysis (not installed)")
            return fig
        res = pca(p.traj0[m], p.traj1[m], n_components=3)
        a, b, v = res.inference, res.learning, res.vectors
        k = a.shape[1]
        pad = lambda arr: np.pad(arr, ((0, 0), (0, 3 - k))) if k < 3 else arr  # noqa: E731
        a, b, v = pad(a), pad(b), pad(v)
        ratio = list(res.explained_variance_ratio) + [0.0] * (3 - k)
        steps0 = [f"phase 0, t={t}" for t in range(len(a))]
        steps1 = [f"phase 1, t={t}" for t in range(len(b))]
        fig.add_trace(go.Scatter3d(x=a[:, 0], y=a[:, 1], z=a[:, 2], mode="lines+markers", name="inference (z⁰)",
                                   text=steps0, line=dict(color="#2166ac", width=9), marker=dict(size=6),
                                   opacity=0.45))
        fig.add_trace(go.Scatter3d(x=b[:, 0], y=b[:, 1], z=b[:, 2], mode="lines+markers", name="learning (z¹)",
                                   text=steps1, line=dict(color="#d6604d", width=3), marker=dict(size=3)))
        xs, ys, zs = [], [], []
        for t in range(len(v)):  # each error vector z1_t - z0_t, drawn from z0_t
            xs += [a[t, 0], a[t, 0] + v[t, 0], None]
            ys += [a[t, 1], a[t, 1] + v[t, 1], None]
            zs += [a[t, 2], a[t, 2] + v[t, 2], None]
        label = "error vectors z¹ₜ − z⁰ₜ (STE)" if p.mode == "ste" else "error vectors z¹ₜ − z⁰ₜ"
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name=label,
                                   line=dict(color="#666666", width=2, dash="dash")))
        fig.add_trace(go.Scatter3d(x=[a[-1, 0]], y=[a[-1, 1]], z=[a[-1, 2]], mode="markers+text", text=["z⁰"],
                                   marker=dict(size=7, color="#2166ac", symbol="diamond"), showlegend=False))
        fig.add_trace(go.Scatter3d(x=[b[-1, 0]], y=[b[-1, 1]], z=[b[-1, 2]], mode="markers+text", text=["z¹"],
                                   marker=dict(size=7, color="#d6604d", symbol="diamond"), showlegend=False))
        fig.update_layout(
            title=f"Module {escape_html(m)}: states of both phases on their top principal components",
            scene=dict(xaxis_title=f"PC1 ({ratio[0]:.0%} var.)", yaxis_title=f"PC2 ({ratio[1]:.0%} var.)",
                       zaxis_title=f"PC3 ({ratio[2]:.0%} var.)"))
        mode = "STE: phase 1 restarts from 0" if p.mode == "ste" else "EPE: phase 1 continues from z⁰"
        self.caption.object = (f"Test sample of class {p.y} · {mode} · explained variance "
                               f"{sum(res.explained_variance_ratio):.0%} · the local error is e = z⁰ − z¹ "
                               "(the last dashed segment).")
        return fig

    def __panel__(self):
        parts = [pn.widgets.Select.from_param(self.param.module, width=140)]
        if plotly_loaded():
            self._build_plot()
        elif self._loader is None:  # the browser loads Plotly when this view is first shown
            self._loader = ScriptLoader(src=plotly_src(), test="Plotly", width=0, height=0, margin=0)
            self._loader.param.watch(self._build_plot, "loaded")
        if self._loader is not None:
            parts.append(self._loader)
        return pn.Column(*parts, self._holder, self.caption, sizing_mode="stretch_width")
