"""The Curves view: loss and accuracy against epochs, for comparing runs on the same axes.

One figure for the loss and one for the accuracy, per task, of:

* the AP network: training batches (a thin line, the mean of each drain tick) and
  the test set after each epoch (dots); an ensemble of K seeds adds a ±sd band
  across its members and a faint line per member (test dots get ±sd whiskers);
* each baseline trained beside it (BP, FA, EP; the runner's ``baseline`` items), in
  its own colour, its legend entry telling its training speed;
* up to :data:`MAX_GHOSTS` previous runs ("ghosts"), faint and grey, each named
  after what differed (:func:`apexplorer.app.compare.ghost_label`) and removable
  with its × button.

New points reach the page with ``ColumnDataSource.stream`` (only the new rows);
the whole data is sent again only when a series is halved to stay bounded, or
cleared.  The figures are rebuilt only when what they show changes (tasks,
ensemble size, baselines, ghosts).
"""

from __future__ import annotations

import itertools
import time

import panel as pn
import param
from bokeh.core.properties import value
from bokeh.models import Legend, LegendItem, Range1d

from ..baseline_runs import BASELINE_NAMES
from .compare import Rate, ghost_label, mean_sd
from .live import LiveView, Series, batch_tasks, progress
from .plots import PALETTE, edits_models, hover, make_figure, source

#: Previous runs kept as ghosts (the oldest goes first).
MAX_GHOSTS = 5
#: Colours of the baselines (AP's tasks take the palette's first colours).
RUN_COLORS = {"bp": "#d62728", "fa": "#9467bd", "ep": "#8c564b"}
RUN_NAMES = {"ap": "AP", **BASELINE_NAMES}
GHOST_COLORS = ["#555555", "#777777", "#999999", "#aaaaaa", "#bbbbbb"]
GHOST_DASHES = ["dotted", "dotdash", "dashed", "dotted", "dotdash"]
#: What the page's one speed figure means (shown beside it; the status line shows no other).
SPEED_DEFINITION = ("samples/s: training samples a run's own steps take per second, smoothed over its recent "
                    "batches; evaluation, traces and pauses excluded; the seeds of an ensemble share each sample")
QUANTITIES = (("loss", "Loss", "cross-entropy (nats)"), ("acc", "Accuracy", "accuracy (%)"))


class Ghost:
    """A previous run's AP curves: {(q, kind, task): (xs, ys)} and what differed from the run after it."""

    _ids = itertools.count(1)

    def __init__(self, label: str, curves: dict):
        self.id = next(self._ids)
        self.label = label
        self.curves = curves


def _ghost_lines(f, ghosts, q) -> list:
    """Draw each ghost's curves of quantity ``q`` on figure ``f``; returns their legend items."""
    items = []
    for g_i, g in enumerate(ghosts):
        c, dash = GHOST_COLORS[g_i % len(GHOST_COLORS)], GHOST_DASHES[g_i % len(GHOST_DASHES)]
        rs = []
        for (gq, kind, t), (xs, ys) in g.curves.items():
            if gq != q or not xs:
                continue
            src = source(x=xs, y=ys)
            src.name = f"ghost-{g.id}-{q}-{kind}-{t}"
            rs.append(f.line("x", "y", source=src, color=c, alpha=0.55, line_width=1.5 if kind == "train" else 2,
                             line_dash=dash if kind == "train" else "dashed"))
        if rs:
            items.append(LegendItem(label=f"ghost: {g.label}", renderers=rs))
    return items


def ghost_buttons(ghosts, remove) -> list:
    """"Previous runs:" and a × button per ghost (``remove(ghost_id)`` drops it); none without ghosts."""
    buttons = []
    for g in ghosts:
        text = f"× ghost: {g.label}"
        b = pn.widgets.Button(label=text, variant="outline", height=30, margin=(2, 4), sizing_mode="fixed",
                              width=40 + 7 * len(text), description="Remove this previous run from the curves",
                              css_classes=["ap-ghost"])
        b.on_click(lambda e, gid=g.id: remove(gid))
        buttons.append(b)
    if buttons:
        buttons.insert(0, pn.pane.Markdown("Previous runs:", margin=(4, 5, 0, 10), sizing_mode="fixed",
                                           width=180, css_classes=["ap-ghost-label"],
                                           styles={"white-space": "nowrap"}))  # one line, any font
    return buttons


class CurvesView(LiveView):
    """Loss and accuracy against epochs: AP (an ensemble's mean ± sd and members), baselines and ghosts."""

    height = param.Integer(250)
    stacked = param.Boolean(True, doc=(
        "Loss above accuracy, each as wide as the view with its legend beside it (many runs stay readable); "
        "False puts them side by side with their legends inside (the presenter layout: both above the fold)."))
    rate_every = param.Number(1.0, doc="Seconds between two updates of the samples/s shown.")

    def __init__(self, **params):
        super().__init__(**params)
        self.tasks: list = ["main"]
        self.runs: list = ["ap"]
        self.members = 1
        self.method = "ap"  # what the page's own network trains (a baseline loaded from the paper: bp, fa, ep)
        self.series: dict = {}
        self.sources: dict = {}
        self.ghosts: list = []
        self.rates: dict = {}
        self._sent: dict = {}
        self._tick: dict = {}
        self._legend_items: dict = {}
        self._labels: dict = {}
        self._rates_shown = 0.0
        self._rated: set = set()  # the runs whose speed is shown
        self._built = None  # the shape of the figures shown (_shape)
        self._run_info = None  # (experiment, wiring, baselines) of the run shown, for the next ghost's label
        self._panes = [pn.pane.Bokeh(sizing_mode="stretch_width") for _ in QUANTITIES]
        self.speed = pn.pane.Markdown("", css_classes=["ap-speed"], margin=(0, 10), visible=False,
                                      styles={"font-size": "12px"})
        # the buttons wrap onto more lines rather than widen the page
        self.ghost_bar = pn.FlexBox(flex_wrap="wrap", sizing_mode="stretch_width", visible=False, margin=(0, 5))
        # stacked, each as wide as the tab, its legend beside it: many runs stay readable
        self._figures = pn.Column(*self._panes, sizing_mode="stretch_width")
        self._layout = pn.Column(self._figures, self.speed, self.ghost_bar, sizing_mode="stretch_width")
        self._new_series()
        self._build()

    # ------------------------------------------------------------ structure
    def _key_name(self, key) -> str:
        run, q, kind, t = key
        return f"curve-{q}-{kind}-{t}" if run == "ap" else f"curve-{run}-{q}-{kind}-{t}"

    def _new_series(self):
        """Empty series for every run, quantity, kind and task (an ensemble's AP keeps its members too)."""
        cols = ("y", "lo", "hi")
        self.series = {}
        for run in self.runs:
            extra = tuple(f"m{i}" for i in range(self.members)) if run == "ap" and self.members > 1 else ()
            for q, _, _ in QUANTITIES:
                for kind in ("train", "test"):
                    for t in self.tasks:
                        self.series[(run, q, kind, t)] = Series(columns=cols + (extra if kind == "train" else ()))
        self._tick = {}
        self.rates = {run: Rate() for run in self.runs}
        self._rated = set()

    def _color(self, run, i):
        return PALETTE[i % len(PALETTE)] if run == "ap" else RUN_COLORS.get(run, PALETTE[(i + 3) % len(PALETTE)])

    def _shape(self) -> tuple:
        """What the figures draw, apart from the data: a change of it needs new figures."""
        return tuple(self.tasks), tuple(self.runs), self.members, tuple(g.id for g in self.ghosts), self.method

    def _build(self):
        """New figures and sources for the runs, tasks, ensemble size and ghosts shown now."""
        self._built = self._shape()
        self.sources = {}
        for key, s in self.series.items():
            self.sources[key] = src = source(**s.cols)
            src.name = self._key_name(key)
        self._sent = {key: (s.gen, len(s)) for key, s in self.series.items()}
        self._legend_items, self._labels = {}, {}
        for pane, (q, title, ylab) in zip(self._panes, QUANTITIES):
            pane.object = self._figure(q, title, ylab)
        self._show_ghost_bar()

    def _figure(self, q, title, ylab):
        f = make_figure(title, "epoch", ylab, self.height)
        f.name = f"ap-curve-{q}"  # the presenter layout fits these to the screen's height (bridge.py)
        if q == "acc":
            f.y_range = Range1d(0, 100)
        items, hovered = [], []
        K = self.members
        main = self._short("ap")
        items += _ghost_lines(f, self.ghosts, q)  # under the live curves
        for run in self.runs:
            for i, t in enumerate(self.tasks):
                c = self._color(run, i)
                task = "" if len(self.tasks) == 1 else f" · task {t}"
                train, test = self.sources[(run, q, "train", t)], self.sources[(run, q, "test", t)]
                if run == "ap":
                    if K > 1:
                        band = f.varea("x", "lo", "hi", source=train, fill_color=c, fill_alpha=0.2)
                        band.name = f"band-{q}-{t}"
                        members = [f.line("x", f"m{k}", source=train, color=c, alpha=0.18, line_width=1)
                                   for k in range(K)]
                        whisk = f.segment("x", "lo", "x", "hi", source=test, color=c, line_width=2)
                        items.append(LegendItem(label=f"{main} ± sd over {K} seeds{task}", renderers=[band, whisk]))
                        items.append(LegendItem(label=f"{main} each seed{task}", renderers=members))
                    r1 = f.line("x", "y", source=train, color=c, alpha=0.9 if K > 1 else 0.5,
                                line_width=2 if K > 1 else 1.5)
                    r2 = f.line("x", "y", source=test, color=c, line_width=2.5, line_dash="dashed")
                    r3 = f.scatter("x", "y", source=test, color=c, size=7)
                    items.append(LegendItem(label=f"{main} training batches{task}", renderers=[r1]))
                    items.append(LegendItem(label=f"{main} test set{task}", renderers=[r2, r3]))
                    hovered += [r1, r2]
                else:
                    r1 = f.line("x", "y", source=train, color=c, alpha=0.6, line_width=1.5)
                    r2 = f.line("x", "y", source=test, color=c, line_width=2.5, line_dash="dashed")
                    r3 = f.scatter("x", "y", source=test, color=c, size=7, marker="square")
                    item = LegendItem(label=self._run_label(run), renderers=[r1, r2, r3])
                    self._legend_items.setdefault(run, []).append(item)
                    items.append(item)
                    hovered += [r1, r2]
        f.add_tools(hover(hovered, [("epoch", "@x{0.00}"), (ylab, "@y{0.000}")]))
        legend = Legend(items=items, name=f"legend-{q}", location="top_left", click_policy="hide",
                        label_text_font_size="11px", spacing=0, padding=4, glyph_height=14, label_height=14,
                        border_line_alpha=0)
        if self.stacked:
            f.add_layout(legend, "right")
        else:  # inside, where the curve is not: loss falls, accuracy rises
            legend.location = "top_right" if q == "loss" else "bottom_right"
            legend.background_fill_alpha = 0.7
            f.add_layout(legend)
        return f

    def _run_label(self, run) -> str:
        return f"{self._name(run)} · {self.rates[run].text()}"

    def _name(self, run) -> str:
        """A run's name: the page's own network ("ap") by the method it trains."""
        name = self.method if run == "ap" else run
        return RUN_NAMES.get(name, name.upper())

    def _short(self, run) -> str:
        return self._name(run).split(" ")[0]

    def _show_ghost_bar(self):
        buttons = ghost_buttons(self.ghosts, self.remove_ghost)
        self.ghost_bar.objects = buttons
        self.ghost_bar.visible = bool(buttons)

    @param.depends("stacked", watch=True)
    @edits_models
    def _on_stacked(self):
        """Stack the figures or put them side by side (new figures: the legend moves)."""
        self._figures = (pn.Column if self.stacked else pn.Row)(*self._panes, sizing_mode="stretch_width")
        self._layout.objects = [self._figures, self.speed, self.ghost_bar]
        self._build()

    @edits_models
    def remove_ghost(self, ghost_id: int) -> None:
        """Drop a ghost (its × button)."""
        self.ghosts = [g for g in self.ghosts if g.id != ghost_id]
        self._build()

    # --------------------------------------------------------------- events
    def on_reset(self, info):
        meta = info.get("meta") or {}
        run_info = (meta.get("experiment"), meta.get("wiring"), tuple(info.get("baselines") or ()))
        self._keep_ghost(run_info, meta.get("previous"))
        self._run_info = run_info
        self.tasks = list(info.get("tasks") or ["main"])
        self.runs = ["ap", *(info.get("baselines") or ())]
        self.members = int(info.get("members") or 1)
        exp = meta.get("experiment")
        self.method = getattr(getattr(exp, "method", None), "name", None) or "ap"
        self._new_series()
        for h in info.get("history") or []:
            self.on_epoch(h)
        if self._shape() == self._built:  # the same figures: only their data starts again
            self._sent = {key: (None, 0) for key in self.series}
            self._labels = {}
        else:
            self._build()

    def _keep_ghost(self, run_info, trained=None):
        """The run shown so far becomes a ghost when it trained (the oldest of MAX_GHOSTS goes), named after what
        differs from the new run; ``trained``: its experiment as it trained (live changes included), when known."""
        curves = {(q, kind, t): (list(s.x), list(s.y)) for (run, q, kind, t), s in self.series.items()
                  if run == "ap" and len(s)}
        if not curves:
            return
        old, new = self._run_info, run_info
        if trained is not None and old is not None:
            old = (trained, *old[1:])
        if old is not None and old[0] is not None and new[0] is not None:
            label = ghost_label(old[0], new[0], old[1], new[1], old[2], new[2])
        else:
            label = "previous run"
        self.ghosts = (self.ghosts + [Ghost(label, curves)])[-MAX_GHOSTS:]

    def on_batch(self, ev, run="ap"):
        x = progress(ev)
        members = getattr(ev, "members", None) or {}
        for t, v in batch_tasks(ev).items():
            acc = self._tick.setdefault((run, t), {"loss": 0.0, "acc": 0.0, "n": 0, "x": x, "ml": None, "ma": None})
            acc["loss"] += v["loss"]
            acc["acc"] += v["acc"]
            acc["n"] += 1
            acc["x"] = x
            m = members.get(t)
            if m and run == "ap" and self.members > 1:
                acc["ml"] = [a + b for a, b in zip(acc["ml"] or [0.0] * len(m["loss"]), m["loss"])]
                acc["ma"] = [a + b for a, b in zip(acc["ma"] or [0.0] * len(m["acc"]), m["acc"])]
        if run in self.rates:
            self.rates[run].add(ev.samples_per_s)

    def on_epoch(self, ev, run="ap"):
        d = ev if isinstance(ev, dict) else ev.to_dict()
        tasks = d.get("tasks") or {}
        if not tasks and self.tasks:
            tasks = {self.tasks[0]: {"test_acc": d["test_acc"], "test_loss": d["test_loss"]}}
        members = d.get("members") or {}
        for t, v in tasks.items():
            if (run, "acc", "test", t) not in self.series:
                continue
            m = members.get(t) or {}
            for q, key, scale in (("acc", "test_acc", 100.0), ("loss", "test_loss", 1.0)):
                y = scale * v[key]
                lo = hi = y
                if len(m.get(key) or []) > 1:
                    mu, sd = mean_sd([scale * a for a in m[key]])
                    lo, hi = mu - sd, mu + sd
                self.series[(run, q, "test", t)].add(d["epoch"], y=y, lo=lo, hi=hi)

    def on_baseline(self, item):
        name, ev = item
        kind = getattr(ev, "kind", None)
        if kind == "batch":
            self.on_batch(ev, run=name)
        elif kind == "epoch":
            self.on_epoch(ev, run=name)

    def collect(self):
        for (run, t), a in self._tick.items():
            n = a["n"]
            if not n or (run, "loss", "train", t) not in self.series:
                continue
            for q, scale, total, per in (("loss", 1.0, a["loss"], a["ml"]), ("acc", 100.0, a["acc"], a["ma"])):
                y = scale * total / n
                cols = {"y": y, "lo": y, "hi": y}
                if per:
                    vals = [scale * p / n for p in per]
                    mu, sd = mean_sd(vals)
                    cols.update(lo=mu - sd, hi=mu + sd, **{f"m{k}": v for k, v in enumerate(vals)})
                s = self.series[(run, q, "train", t)]
                if set(s.cols) - {"x"} <= set(cols):
                    s.add(a["x"], **cols)
        self._tick = {}

    # ----------------------------------------------------------------- draw
    def flush(self):
        for key, s in self.series.items():
            src = self.sources.get(key)
            if src is None:
                continue
            gen, n = self._sent.get(key, (None, 0))
            if gen == s.gen and n == len(s):
                continue
            if gen == s.gen and n < len(s):
                src.stream({c: v[n:] for c, v in s.cols.items()})
            else:
                src.data = {c: list(v) for c, v in s.cols.items()}
            self._sent[key] = (s.gen, len(s))
        now = time.monotonic()
        known = {r for r in self.runs if self.rates[r].value is not None}
        if now - self._rates_shown >= self.rate_every or known - self._rated:  # a run's first speed at once
            self._rates_shown = now
            self._show_rates()

    def _show_rates(self):
        known = [r for r in self.runs if self.rates[r].value is not None]
        self._rated = set(known)
        for run, items in self._legend_items.items():
            label = self._run_label(run)
            if self._labels.get(run) != label:
                self._labels[run] = label
                for it in items:
                    it.label = value(label)
        text = f"**Training speed** ({SPEED_DEFINITION}) · " + " · ".join(f"{self._short(r)} {self.rates[r].text()}"
                                                    for r in known) if known else ""
        if self.speed.object != text:
            self.speed.object = text
        self.speed.visible = bool(known)

    def n_points(self) -> int:
        return sum(len(s) for s in self.series.values())

    def __panel__(self):
        return self._layout


__all__ = ["CurvesView", "Ghost", "MAX_GHOSTS", "ghost_buttons"]
