"""Live views of a training run: loss and accuracy curves, per-module error magnitude.

Every live view is a :class:`LiveView`: it consumes the runner's items
``(kind, payload)`` (``reset``, ``batch``, ``epoch``, ``probe``...) with
:meth:`LiveView.consume`, or single events and probes with
:meth:`LiveView.push`, and redraws once per call through its own
``hv.streams.Pipe``.  Keeping data is bounded: curves and heatmap columns
are halved (averaged in pairs) when they pass their limit, so a long run
keeps its whole history at a coarser grain.

A notebook user can feed a view from their own loop (``view.push(event)``)
or let it follow a trainer in the background (``view.follow(trainer)``).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..probe import Probe

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


class LiveView(pn.viewable.Viewer):
    """Base of the live views: dispatch items to ``on_<kind>`` handlers, then ``flush``."""

    def consume(self, items) -> None:
        """Take drained runner items, oldest first, and redraw once."""
        touched = False
        for kind, payload in items:
            fn = getattr(self, f"on_{kind}", None)
            if fn is not None:
                fn(payload)
                touched = True
        if touched:
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


EPOCH_DIM = hv.Dimension("epoch", label="epoch")
LOSS_DIM = hv.Dimension("loss", label="cross-entropy (nats)")
ACC_DIM = hv.Dimension("acc", label="accuracy (%)", range=(0, 100))


LOG_ERR = hv.Dimension("log_err", label="log₁₀ mean |e|")


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
    """Loss and accuracy against epochs, per task: batches (thin) and test set (dots)."""

    height = param.Integer(260)

    def __init__(self, **params):
        super().__init__(**params)
        self.tasks: list = []
        self.series: dict = {}
        self._tick: dict = {}
        self._pipe = hv.streams.Pipe(data={})
        self._row = pn.Row(sizing_mode="stretch_width")
        self._build(["main"])

    # ---------------------------------------------------------------- data
    def _build(self, tasks):
        self.tasks = list(tasks)
        self.series = {(q, kind, t): Series() for q in ("loss", "acc") for kind in ("train", "test")
                       for t in self.tasks}
        self._tick = {}
        self._pipe = hv.streams.Pipe(data={})
        loss = hv.DynamicMap(lambda data: self._overlay(data, "loss"), streams=[self._pipe])
        acc = hv.DynamicMap(lambda data: self._overlay(data, "acc"), streams=[self._pipe])
        common = dict(responsive=True, height=self.height, show_grid=True, legend_position="top_right",
                      toolbar="above", default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save", "hover"])
        self._row.objects = [
            pn.pane.HoloViews(loss.opts(hv.opts.Overlay(title="Loss (cross-entropy)", **common)),
                              sizing_mode="stretch_width"),
            pn.pane.HoloViews(acc.opts(hv.opts.Overlay(title="Accuracy", **common)), sizing_mode="stretch_width"),
        ]

    def _overlay(self, data, q):
        layers = {}
        for i, t in enumerate(self.tasks):
            color = PALETTE[i % len(PALETTE)]
            name = "" if len(self.tasks) == 1 else f" · {t}"
            xs, ys = data.get((q, "train", t), ([], []))
            if q == "acc":
                ys = [100 * y for y in ys]
            ylab = LOSS_DIM if q == "loss" else ACC_DIM
            layers[f"train batches{name}"] = hv.Curve((xs, ys), EPOCH_DIM, ylab).opts(color=color, alpha=0.55,
                                                                                     line_width=1.5)
            xs, ys = data.get((q, "test", t), ([], []))
            if q == "acc":
                ys = [100 * y for y in ys]
            layers[f"test set{name}"] = hv.Curve((xs, ys), EPOCH_DIM, ylab).opts(
                color=color, line_width=2.5, line_dash="dashed") * hv.Scatter((xs, ys), EPOCH_DIM, ylab).opts(
                color=color, size=6)
        return hv.Overlay([v.relabel(k) for k, v in layers.items()])

    # ------------------------------------------------------------- events
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
                self.series[("acc", "test", t)].add(d["epoch"], v["test_acc"])
                self.series[("loss", "test", t)].add(d["epoch"], v["test_loss"])

    def flush(self):
        for t, (loss, acc, n, x) in self._tick.items():
            if n and ("loss", "train", t) in self.series:
                self.series[("loss", "train", t)].add(x, loss / n)
                self.series[("acc", "train", t)].add(x, acc / n)
        self._tick = {}
        self._pipe.send({k: (list(s.x), list(s.y)) for k, s in self.series.items()})

    def n_points(self) -> int:
        return sum(len(s.x) for s in self.series.values())

    def __panel__(self):
        return self._row


class ErrorView(LiveView):
    """Per-module error magnitude mean |e|: bars now, and a heatmap over training."""

    height = param.Integer(250)
    columns = param.Integer(300, doc="Heatmap columns kept (older ones are merged in pairs).")

    def __init__(self, **params):
        super().__init__(**params)
        self.names: list = []
        self.xs: list = []
        self.cols: list = []  # one dict name -> mean |e| per column
        self.now: dict = {}
        self._tick: dict = {}
        self._tick_n = 0
        self._tick_x = 0.0
        self._bars = hv.streams.Pipe(data={})
        self._heat = hv.streams.Pipe(data=None)
        bars = hv.DynamicMap(self._bar_element, streams=[self._bars]).opts(
            hv.opts.Bars(responsive=True, height=self.height, title="Error magnitude now",
                         color="#d6604d", tools=["hover"], toolbar="above", show_grid=True))
        heat = hv.DynamicMap(self._heat_element, streams=[self._heat]).opts(
            hv.opts.QuadMesh(responsive=True, height=self.height, title="Error magnitude over training",
                             cmap="viridis", colorbar=True, tools=["hover"], toolbar="above",
                             clabel="log₁₀ mean |e|"))
        self._row = pn.Row(pn.pane.HoloViews(bars, sizing_mode="stretch_width"),
                           pn.pane.HoloViews(heat, sizing_mode="stretch_width"), sizing_mode="stretch_width")

    def _bar_element(self, data):
        items = [(k, v) for k, v in (data or {}).items()]
        return hv.Bars(items, hv.Dimension("module", label="module / output"),
                       hv.Dimension("err", label="mean |e| (state units)"))

    def _heat_element(self, data):
        if not data or not data["x"]:
            return hv.QuadMesh((np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.full((1, 1), np.nan)),
                               ["epoch", "module"], LOG_ERR).opts(yticks=[(0.5, "")], xlabel="epoch",
                                                                  ylabel="module / output")
        x = np.asarray(data["x"], dtype=float)
        edges = np.concatenate([[0.0 if len(x) == 1 else max(0.0, x[0] - (x[1] - x[0]))], x])
        names = data["names"]
        z = np.array([[c.get(n, np.nan) for c in data["cols"]] for n in names], dtype=float)
        z[~(z > 0)] = np.nan
        z = np.log10(z)
        y = np.arange(len(names) + 1, dtype=float)
        return hv.QuadMesh((edges, y, z), ["epoch", "module"], LOG_ERR).opts(
            yticks=[(i + 0.5, n) for i, n in enumerate(names)], ylabel="module / output", xlabel="epoch")

    def on_reset(self, info):
        self.names, self.xs, self.cols, self.now, self._tick, self._tick_n = [], [], [], {}, {}, 0

    def on_batch(self, ev):
        for k, v in ev.error.items():
            self._tick[k] = self._tick.get(k, 0.0) + v
            if k not in self.names:
                self.names.append(k)
        self._tick_n += 1
        self._tick_x = progress(ev)

    def on_probe(self, p: Probe):
        if not self._tick_n and not self.now:  # before any batch: show the recorded sample's errors
            self.now = p.error_magnitudes()

    def flush(self):
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
        self._bars.send(dict(self.now))
        self._heat.send({"x": list(self.xs), "cols": list(self.cols), "names": list(self.names)})

    def __panel__(self):
        return self._row
