"""Live views of a training run: loss and accuracy curves, per-module error magnitude.

Every live view is a :class:`LiveView`: it consumes the runner's items
``(kind, payload)`` (``reset``, ``batch``, ``epoch``, ``probe``...) with
:meth:`LiveView.consume`, or single events and probes with
:meth:`LiveView.push`, and redraws once per call by swapping the data of
its own Bokeh sources (a hidden view keeps its data and skips the redraw).  Keeping data is bounded: curves and heatmap columns
are halved (averaged in pairs) when they pass their limit, so a long run
keeps its whole history at a coarser grain.

A notebook user can feed a view from their own loop (``view.push(event)``)
or let it follow a trainer in the background (``view.follow(trainer)``).
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, FactorRange, FixedTicker, LinearColorMapper, Range1d
from bokeh.palettes import Viridis256

from ..probe import Probe
from .plots import PALETTE, edits_models, hover, make_figure, place_legend, source


class LiveView(pn.viewable.Viewer):
    """Base of the live views: dispatch items to ``on_<kind>`` handlers, then ``flush``."""

    @edits_models
    def consume(self, items, draw: bool = True) -> None:
        """Take drained runner items, oldest first; keep them (``collect``) and redraw once.

        A hidden view passes ``draw=False``: it keeps its data at the same grain
        and redraws when it is shown again (:meth:`refresh`).
        """
        touched = False
        for kind, payload in items:
            fn = getattr(self, f"on_{kind}", None)
            if fn is not None:
                fn(payload)
                touched = True
        if touched:
            self.collect()
            if draw:
                self.flush()

    def collect(self) -> None:
        """Close the current tick's aggregate (subclasses that aggregate batches)."""

    @edits_models
    def refresh(self) -> None:
        """Redraw now (the view has just been shown)."""
        self.flush()

    def push(self, obj) -> None:
        """Feed one library event (BatchEvent, EpochEvent, StopEvent) or a Probe."""
        kind = "probe" if isinstance(obj, Probe) else getattr(obj, "kind", None)
        if kind:
            self.consume([(kind, obj)])

    def flush(self) -> None:
        """Redraw from the kept data (subclasses)."""

    def follow(self, source, period: int = 150):
        """Follow a :class:`Trainer` or a :class:`Runner` in the background; returns the runner.

        The runner's worker thread trains when you call ``runner.train()``; a periodic
        callback drains it into this view every ``period`` ms.
        """
        from .runner import Runner

        runner = source if isinstance(source, Runner) else Runner()
        if runner is not source:
            runner.attach(source)
        pn.state.add_periodic_callback(lambda: self.consume(runner.drain()), period=period)
        return runner


class Series:
    """A bounded (x, y) series that averages neighbouring points in pairs when full."""

    def __init__(self, limit: int = 1500):
        self.limit = limit
        self.x: list = []
        self.y: list = []

    def add(self, x: float, y: float) -> None:
        self.x.append(float(x))
        self.y.append(float(y))
        if len(self.x) > self.limit:
            n = len(self.x) // 2 * 2
            xs, ys = np.asarray(self.x[:n]), np.asarray(self.y[:n])
            self.x = list(xs.reshape(-1, 2).mean(1)) + self.x[n:]
            self.y = list(ys.reshape(-1, 2).mean(1)) + self.y[n:]

    def clear(self):
        self.x, self.y = [], []


def progress(ev) -> float:
    """Training progress of a batch event in epochs (epoch 1, batch 5 of 10 -> 0.5)."""
    return (ev.epoch - 1) + ev.batch / max(ev.n_batches, 1)


def batch_tasks(ev) -> dict:
    """{task: {loss, acc}} of a batch event (one task, or several trained together)."""
    per = getattr(ev, "tasks", None)
    if per:
        return per
    return {ev.task: {"loss": ev.loss, "acc": ev.acc}}


class CurvesView(LiveView):
    """Loss and accuracy against epochs, per task: training batches (thin) and the test set (dots)."""

    height = param.Integer(260)

    def __init__(self, **params):
        super().__init__(**params)
        self.tasks: list = []
        self.series: dict = {}
        self.sources: dict = {}
        self._tick: dict = {}
        self._row = pn.Row(sizing_mode="stretch_width")
        self._build(["main"])

    def _build(self, tasks):
        """New figures for a set of tasks (one colour per task)."""
        self.tasks = list(tasks)
        self.series = {(q, kind, t): Series() for q in ("loss", "acc") for kind in ("train", "test")
                       for t in self.tasks}
        self.sources = {k: source(x=[], y=[]) for k in self.series}
        for (q, kind, t), src in self.sources.items():  # named, so a browser test can find them
            src.name = f"curve-{q}-{kind}-{t}"
        self._tick = {}
        figs = []
        for q, title, ylab in (("loss", "Loss", "cross-entropy (nats)"), ("acc", "Accuracy", "accuracy (%)")):
            f = make_figure(title, "epoch", ylab, self.height)
            if q == "acc":
                f.y_range = Range1d(0, 100)
            rs = []
            for i, t in enumerate(self.tasks):
                c = PALETTE[i % len(PALETTE)]
                name = "" if len(self.tasks) == 1 else f" · task {t}"
                r1 = f.line("x", "y", source=self.sources[(q, "train", t)], color=c, alpha=0.5, line_width=1.5,
                            legend_label=f"training batches{name}")
                r2 = f.line("x", "y", source=self.sources[(q, "test", t)], color=c, line_width=2.5,
                            line_dash="dashed", legend_label=f"test set{name}")
                f.scatter("x", "y", source=self.sources[(q, "test", t)], color=c, size=7,
                          legend_label=f"test set{name}")
                rs += [r1, r2]
            f.add_tools(hover(rs, [("epoch", "@x{0.00}"), (ylab, "@y{0.000}")]))
            place_legend(f, "top_right" if q == "loss" else "bottom_right")
            figs.append(pn.pane.Bokeh(f, sizing_mode="stretch_width"))
        self._row.objects = figs

    def on_reset(self, info):
        tasks = info.get("tasks") or ["main"]
        if list(tasks) != self.tasks:
            self._build(tasks)
        for s in self.series.values():
            s.clear()
        self._tick = {}
        for h in info.get("history") or []:
            self.on_epoch(h)

    def on_batch(self, ev):
        x = progress(ev)
        for t, v in batch_tasks(ev).items():
            acc = self._tick.setdefault(t, [0.0, 0.0, 0, 0.0])
            acc[0] += v["loss"]
            acc[1] += v["acc"]
            acc[2] += 1
            acc[3] = x

    def on_epoch(self, ev):
        d = ev if isinstance(ev, dict) else ev.to_dict()
        tasks = d.get("tasks") or {}
        if not tasks and self.tasks:
            tasks = {self.tasks[0]: {"test_acc": d["test_acc"], "test_loss": d["test_loss"]}}
        for t, v in tasks.items():
            if ("acc", "test", t) in self.series:
                self.series[("acc", "test", t)].add(d["epoch"], 100 * v["test_acc"])
                self.series[("loss", "test", t)].add(d["epoch"], v["test_loss"])

    def collect(self):
        for t, (loss, acc, n, x) in self._tick.items():
            if n and ("loss", "train", t) in self.series:
                self.series[("loss", "train", t)].add(x, loss / n)
                self.series[("acc", "train", t)].add(x, 100 * acc / n)
        self._tick = {}

    def flush(self):
        for k, s in self.series.items():
            if len(self.sources[k].data["x"]) != len(s.x) or (s.x and self.sources[k].data["x"][-1:] != s.x[-1:]):
                self.sources[k].data = {"x": list(s.x), "y": list(s.y)}

    def n_points(self) -> int:
        return sum(len(s.x) for s in self.series.values())

    def __panel__(self):
        return self._row


MOD_COLOR = "#d6604d"  # a module's local error e = z0 - z1
OUT_COLOR = "#fd8d3c"  # an output's error o - y


class ErrorView(LiveView):
    """Per-module error magnitude mean |e|: bars now, and a heatmap over training."""

    height = param.Integer(260)
    columns = param.Integer(300, doc="Heatmap columns kept (older ones are merged in pairs).")

    def __init__(self, **params):
        super().__init__(**params)
        self.names: list = []
        self.outputs: list = []
        self.xs: list = []
        self.cols: list = []  # one dict name -> mean |e| per column
        self.now: dict = {}
        self._tick: dict = {}
        self._tick_n = 0
        self._tick_x = 0.0
        self.bar_source = source(name=[], err=[], color=[])
        self.heat_source = source(left=[], right=[], bottom=[], top=[], v=[], name=[], epoch=[], err=[])
        b = make_figure("Error magnitude now (modules: e = z⁰ − z¹; outputs: o − y)", "module / output",
                        "mean |e| (state units)", self.height, x_range=FactorRange())
        r = b.vbar(x="name", top="err", width=0.7, source=self.bar_source, color="color")
        b.add_tools(hover([r], [("", "@name"), ("mean |e|", "@err{0.0000}")]))
        b.y_range.start = 0
        self.bars = b
        h = make_figure("Error magnitude over training", "epoch", "module / output", self.height)
        self.mapper = LinearColorMapper(palette=Viridis256, low=-3, high=0, nan_color="#f0f0f0")
        r = h.quad(left="left", right="right", bottom="bottom", top="top", source=self.heat_source,
                   fill_color={"field": "v", "transform": self.mapper}, line_color=None)
        h.add_tools(hover([r], [("", "@name"), ("epoch", "@epoch{0.00}"), ("mean |e|", "@err{0.0000}")]))
        h.add_layout(ColorBar(color_mapper=self.mapper, title="log₁₀ mean |e|", width=10), "right")
        h.yaxis.ticker = FixedTicker(ticks=[])
        self.heat = h
        self._row = pn.Row(pn.pane.Bokeh(b, sizing_mode="stretch_width"),
                           pn.pane.Bokeh(h, sizing_mode="stretch_width"), sizing_mode="stretch_width")

    def on_reset(self, info):
        self.names, self.xs, self.cols, self.now, self._tick, self._tick_n = [], [], [], {}, {}, 0
        w = info.get("wiring")
        self.outputs = [o.name for o in w.outputs] if w is not None else []

    def on_batch(self, ev):
        for k, v in ev.error.items():
            self._tick[k] = self._tick.get(k, 0.0) + v
            if k not in self.names:
                self.names.append(k)
        self._tick_n += 1
        self._tick_x = progress(ev)

    def on_probe(self, p: Probe):
        if not self._tick_n and not self.cols:  # before any batch: the recorded sample's errors
            self.now = p.error_magnitudes()
            for k in self.now:
                if k not in self.names:
                    self.names.append(k)

    def collect(self):
        if self._tick_n:
            col = {k: v / self._tick_n for k, v in self._tick.items()}
            self.now = col
            self.xs.append(self._tick_x)
            self.cols.append(col)
            if len(self.xs) > self.columns:
                n = len(self.xs) // 2 * 2
                xs, cols = [], []
                for i in range(0, n, 2):
                    xs.append(self.xs[i + 1])
                    a, b = self.cols[i], self.cols[i + 1]
                    cols.append({k: (a.get(k, b.get(k)) + b.get(k, a.get(k))) / 2 for k in set(a) | set(b)})
                self.xs, self.cols = xs + self.xs[n:], cols + self.cols[n:]
            self._tick, self._tick_n = {}, 0

    def flush(self):
        names = [n for n in self.names if n in self.now]
        if list(self.bars.x_range.factors) != names:
            self.bars.x_range.factors = names
        self.bar_source.data = {"name": names, "err": [self.now[n] for n in names],
                                "color": [OUT_COLOR if n in self.outputs else MOD_COLOR for n in names]}
        self._draw_heat()

    def _draw_heat(self):
        names, xs = self.names, self.xs
        d = {k: [] for k in ("left", "right", "bottom", "top", "v", "name", "epoch", "err")}
        vals = []
        for j, x in enumerate(xs):
            left = 0.0 if j == 0 else xs[j - 1]
            for i, n in enumerate(names):
                e = self.cols[j].get(n)
                if e is None:
                    continue
                v = math.log10(e) if e > 0 else float("nan")
                for k, val in zip(d, (left, x, i, i + 1, v, n, x, e)):
                    d[k].append(val)
                if v == v:
                    vals.append(v)
        self.heat_source.data = d
        if vals:
            lo, hi = min(vals), max(vals)
            self.mapper.low, self.mapper.high = lo, hi if hi > lo else lo + 1e-6
        self.heat.yaxis.ticker = FixedTicker(ticks=[i + 0.5 for i in range(len(names))])
        self.heat.yaxis.major_label_overrides = {i + 0.5: n for i, n in enumerate(names)}

    def __panel__(self):
        return self._row
