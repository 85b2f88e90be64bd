"""Live views of a training run: their base class, and the per-module error magnitude
(the loss and accuracy curves are in :mod:`apexplorer.app.curves`).

Every live view is a :class:`LiveView`: it consumes the runner's items
``(kind, payload)`` (``reset``, ``batch``, ``epoch``, ``trace``...) with
:meth:`LiveView.consume`, or single events and traces with
:meth:`LiveView.push`, and redraws once per call by changing the data of
its own Bokeh sources (a hidden view keeps its data and skips the redraw).
Keeping data is bounded: a :class:`Series` and the heatmap's columns are
halved (averaged in pairs) when they pass their limit, so a long run keeps
its whole history at a coarser grain.

A notebook user can feed a view from their own loop (``view.push(event)``)
or let it follow a trainer in the background (``view.follow(trainer)``).  In a
notebook a view sends what it drew to the page itself (Panel sends raw Bokeh
edits only with its own next change, so the last epoch of a loop stayed
unsent) after every redraw: edits left held between two sends were seen lost.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np
import panel as pn
import param
from bokeh.models import BasicTickFormatter, ColorBar, FactorRange, FixedTicker, LinearColorMapper, Whisker
from bokeh.palettes import Viridis256

from ..trace import Trace
from .notebook_setup import cell_running, notebook_roots
from .plots import edits_models, hover, make_figure, source


def not_ap(info: dict) -> str:
    """'' when the network of a ``reset`` item trains AP, else why a view of AP's phases shows nothing."""
    from ..baseline_runs import BASELINE_NAMES

    exp = (info.get("meta") or {}).get("experiment")
    method = getattr(getattr(exp, "method", None), "name", None) or "ap"
    if method == "ap":
        return ""
    return (f"This run trains {BASELINE_NAMES.get(method, method.upper())}, a layered network without AP's "
            "modules and phases: this view shows AP networks only.")


NOT_OPEN = ("{name}: the page has not connected to this view yet, so it shows nothing new until this cell "
            "ends. Jupyter connects a view between two cells: run the cell that shows the view on its own "
            "first (not in this cell, nor with Run All), or train in the background: "
            "runner = view.follow(trainer); runner.train()")


def caller_level() -> int:
    """``stacklevel`` of a warning that names the first caller outside this package (the user's cell)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


class LiveView(pn.viewable.Viewer):
    """Base of the live views: dispatch items to ``on_<kind>`` handlers, then ``flush``."""

    _told_not_open = False

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
                self.send()

    def send(self) -> None:
        """In a notebook, send the view's drawn changes to the page now.

        Panel sends a notebook output's raw Bokeh edits only along with its own next change.
        Called from a cell before the page has connected to the view (Jupyter connects it
        between cells), it warns once: the page then updates when the cell ends.
        """
        roots = notebook_roots(self.__panel__())
        if not roots:
            return
        from panel.io.notebook import push

        for doc, comm in roots:
            if comm._comm is None and cell_running() and not self._told_not_open:
                self._told_not_open = True
                warnings.warn(NOT_OPEN.format(name=type(self).__name__), stacklevel=caller_level())
            push(doc, comm)

    def collect(self) -> None:
        """Close the current tick's aggregate (subclasses that aggregate batches)."""

    @edits_models
    def refresh(self) -> None:
        """Redraw now (the view has just been shown)."""
        self.flush()

    def push(self, obj) -> None:
        """Feed one library event (BatchEvent, EpochEvent, StopEvent) or a Trace."""
        kind = "trace" if isinstance(obj, Trace) else getattr(obj, "kind", None)
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
    """A bounded series of points (``x`` and one or more y columns) that averages neighbouring
    points in pairs when full.

    ``gen`` counts the halvings and clears: a drawn copy with the same ``gen`` only
    lacks the newest points (stream them), any other must be replaced.
    """

    def __init__(self, limit: int = 1500, columns=("y",)):
        self.limit = limit
        self.cols = {"x": [], **{c: [] for c in columns}}
        self.gen = 0

    @property
    def x(self) -> list:
        return self.cols["x"]

    @property
    def y(self) -> list:
        return self.cols["y"]

    def __len__(self) -> int:
        return len(self.cols["x"])

    def add(self, x: float, y: float | None = None, **values) -> None:
        """Add a point: ``add(x, y)``, or one value per column (``add(x, y=1, lo=0.5, hi=1.5)``)."""
        if y is not None:
            values["y"] = y
        if set(values) != set(self.cols) - {"x"}:
            raise ValueError(f"a point needs the columns {sorted(set(self.cols) - {'x'})}, got {sorted(values)}")
        self.cols["x"].append(float(x))
        for c, v in values.items():
            self.cols[c].append(float(v))
        if len(self) > self.limit:
            n = len(self) // 2 * 2
            for c, v in self.cols.items():
                self.cols[c] = list(np.asarray(v[:n]).reshape(-1, 2).mean(1)) + v[n:]
            self.gen += 1

    def clear(self):
        self.cols = {c: [] for c in self.cols}
        self.gen += 1


def progress(ev) -> float:
    """Training progress of a batch event in epochs (epoch 1, batch 5 of 10 -> 0.5)."""
    return (ev.epoch - 1) + ev.batch / max(ev.n_batches, 1)


def batch_tasks(ev) -> dict:
    """{task: {loss, acc}} of a batch event (one task, or several trained together)."""
    per = getattr(ev, "tasks", None)
    if per:
        return per
    return {ev.task: {"loss": ev.loss, "acc": ev.acc}}


MOD_COLOR = "#d6604d"  # a module's local error e = z0 - z1
OUT_COLOR = "#fd8d3c"  # an output's error o - y


BAR_TITLE = "Error magnitude now"
#: The bars' x axis says what e is (a title that said it was cut at 1280 pixels).
BAR_AXIS = "module (e = z⁰ − z¹) / output (o − y)"
SPREAD_SAMPLES = 32  # test samples of the runner's per-member errors (apexplorer.analysis.member_errors)


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
        self.spread: dict = {}  # an ensemble's latest {name: (mean, sd)} over its members
        self.spread_members = 0
        self.bar_source = source(name=[], err=[], color=[])
        self.whisker_source = source(name=[], lo=[], hi=[])
        self.whisker_source.name = "error-spread"
        self.heat_source = source(left=[], right=[], bottom=[], top=[], v=[], name=[], epoch=[], err=[])
        b = make_figure(BAR_TITLE, BAR_AXIS, "mean |e| (state units)", self.height, x_range=FactorRange())
        b.yaxis.formatter = BasicTickFormatter(use_scientific=False)  # 0.006, not 6.000e-3
        r = b.vbar(x="name", top="err", width=0.7, source=self.bar_source, color="color")
        b.add_tools(hover([r], [("", "@name"), ("mean |e|", "@err{0.0000}")]))
        b.add_layout(Whisker(base="name", lower="lo", upper="hi", source=self.whisker_source, line_width=1.5))
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
        self.spread = {}
        w = info.get("wiring")
        self.outputs = [o.name for o in w.outputs] if w is not None else []

    def on_batch(self, ev):
        for k, v in ev.error.items():
            self._tick[k] = self._tick.get(k, 0.0) + v
            if k not in self.names:
                self.names.append(k)
        self._tick_n += 1
        self._tick_x = progress(ev)

    def on_spread(self, values: dict):
        """An ensemble's mean |e| of every member ({name: [one per member]}): bars show mean ± sd."""
        from .compare import mean_sd

        self.spread = {k: mean_sd(v) for k, v in values.items() if len(v)}
        self.spread_members = max((len(v) for v in values.values()), default=0)
        for k in self.spread:
            if k not in self.names:
                self.names.append(k)

    def on_trace(self, p: Trace):
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
        names = [n for n in self.names if n in self.now or n in self.spread]
        if list(self.bars.x_range.factors) != names:
            self.bars.x_range.factors = names
        # an ensemble: the bars are its members' mean on a few test samples, the whiskers ± sd
        err = [self.spread[n][0] if n in self.spread else self.now[n] for n in names]
        self.bar_source.data = {"name": names, "err": err,
                                "color": [OUT_COLOR if n in self.outputs else MOD_COLOR for n in names]}
        w = [n for n in names if n in self.spread]
        spread = {"name": w, "lo": [self.spread[n][0] - self.spread[n][1] for n in w],
                  "hi": [self.spread[n][0] + self.spread[n][1] for n in w]}
        if self.whisker_source.data != spread:
            self.whisker_source.data = spread
        title = f"Error now: mean ± sd of {self.spread_members} seeds" if self.spread else BAR_TITLE
        ylab = (f"mean |e| on {SPREAD_SAMPLES} test samples" if self.spread else "mean |e| (state units)")
        if self.bars.yaxis[0].axis_label != ylab:
            self.bars.yaxis[0].axis_label = ylab
        if self.bars.title.text != title:
            self.bars.title.text = title
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
