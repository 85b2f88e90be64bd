"""The Sweeps view: launch a small sweep of the page's experiment, or load a sweep's results table,
and show the paper's sweep plots and the table.

The plots are :mod:`apexplorer.sweep.plots`, the functions a notebook calls;
this view only picks the table and the axes.  A table that a running sweep
is still writing can be followed (reloaded every few seconds).

A table comes as an upload; a path is read as given in a notebook, and, when
served (``files``), only inside the folder the server's operator opened.
Given the page's experiment (``experiment``, a getter), the view also launches
sweeps of it (:class:`~apexplorer.app.sweep_launch.SweepLauncher`).
"""

from __future__ import annotations

from pathlib import Path

import panel as pn
import param

from ..sweep import plots as sp
from ..errors import ApexplorerError
from ..sweep.table import FORMATS, load_results
from .files import ServerFiles, Upload
from .safe import WRAP, escape

METRICS = ("test_acc", "train_acc", "loss", "test_loss")
NONE = "(none)"


class SweepsView(pn.viewable.Viewer):
    """Load a results file of ``apexplorer sweep`` and show its plots.

    Parameters
    ----------
    path : str, optional
        A results table (.csv or .parquet) to load at once.
    files : ServerFiles, optional
        Served: paths are names inside this folder (none without one; uploads only).
        None (a notebook): paths are read as given.
    experiment : callable, optional
        Returns the page's current Experiment: the view then launches sweeps of it.
    live : bool
        Follow a launched sweep with a periodic callback (tests pass False).
    """

    path = param.String(default="", doc="Results table of `apexplorer sweep` (.csv or .parquet)")
    metric = param.Selector(default="test_acc", objects=list(METRICS), doc="What the plots show")
    x = param.Selector(default=None, objects=[], allow_None=True, doc="Horizontal axis (a grid axis)")
    by = param.Selector(default=NONE, objects=[NONE], doc="One line per value of this axis")
    y = param.Selector(default=None, objects=[], allow_None=True, doc="The heatmap's vertical axis")
    band = param.Selector(default="sd", objects=["sd", "minmax"], doc="Band over seeds: mean ± sd, or min to max")
    follow = param.Boolean(default=False, doc="Reload the table every few seconds (a sweep still running)")

    def __init__(self, path: str = "", files: ServerFiles | None = None, experiment=None, live: bool = True,
                 **params):
        super().__init__(**params)
        self.files = files
        self.launcher = None
        if experiment is not None:
            from .sweep_launch import SweepLauncher

            self.launcher = SweepLauncher(experiment, self._set_frame, live=live)
        self._choosing = False
        self.frame = None
        self._axes = None
        self._callback = None
        self._message = pn.pane.Alert(("Run a sweep on the left, or load" if experiment is not None else "Load")
                                      + " the results table of `apexplorer sweep --out FILE` (.csv or .parquet).",
                                      alert_type="info", sizing_mode="stretch_width", disable_math=True,
                                      styles=dict(WRAP))
        self._plots = pn.Tabs(dynamic=True, sizing_mode="stretch_width")
        self._upload = pn.widgets.FileInput(accept=",".join(FORMATS), multiple=False)
        self._upload.param.watch(self._on_upload, "value")
        if path:
            self.path = str(path)

    # ------------------------------------------------------------- loading
    @param.depends("path", watch=True)
    def _load_path(self):
        if self.path:
            self.load(self.path)

    def load(self, path, name: str | None = None) -> bool:
        """Read ``path`` (served: a name in the server's folder) and redraw; a bad file shows a message."""
        try:
            if self.files is not None and name is None:
                path = self.files.path(path, must_exist=True)
            df = load_results(path)
        except ApexplorerError as e:
            self._show_error(str(e).replace(str(path), name or str(path)))
            return False
        self._set_frame(df, name or Path(path).name)
        return True

    def _on_upload(self, event):
        if not event.new:
            return
        data, name = event.new, self._upload.filename or "results.csv"
        self._upload.clear()
        with Upload(data, name) as path:
            self.load(path, name)

    def _set_frame(self, df, name):
        self.frame = df
        runs = sp.final_rows(df)
        axes = sp.varying_axes(runs)
        if axes != self._axes:  # a new grid: fresh defaults (a reload of the same grid keeps the choices)
            self._axes = axes
            x = "sr" if "sr" in axes else (axes[0] if axes else None)
            other = next((a for a in axes if a != x), None)
            self._choosing = True  # one redraw, below, once the choices are made
            try:
                # The choices first, then the values: a widget whose value is not among its new
                # options takes the first one and writes it back, so a batch that did both left
                # a widget showing y = lr over a param y = sr (a wrong plot, no heatmap).
                # Copies: a Selector that allows None appends None to the list it is given.
                self.param.x.objects = list(axes)
                self.param.y.objects = list(axes)
                self.param.by.objects = [NONE, *axes]
                self.param.update(x=x, y=other, by=other or NONE)
            finally:
                self._choosing = False
        n_runs = len(runs)
        n_err = int((df["status"] == "error").sum()) if "status" in df else 0
        statuses = runs["status"].value_counts().to_dict() if n_runs else {}
        text = (f"**{escape(name)}**: {len(df)} rows, {n_runs} finished runs "
                f"({escape(', '.join(f'{v} {k}' for k, v in statuses.items())) or 'none'})"
                f"; grid axes: {escape(', '.join(axes)) or 'none'}" + (f"; {n_err} error rows" if n_err else ""))
        self._message.object, self._message.alert_type = text, "success"
        self._redraw()

    def _show_error(self, msg):
        self._message.object, self._message.alert_type = escape(msg), "danger"

    # ---------------------------------------------------------------- plots
    def settings(self) -> dict:
        """The view's choices as plain settings (what the plotting functions are called with)."""
        return {"path": self.path, "metric": self.metric, "x": self.x, "y": self.y,
                "by": None if self.by == NONE else self.by, "band": self.band}

    def plots(self) -> dict:
        """The plots for the current table and choices, by tab title."""
        df = self.frame
        if df is None or not len(sp.final_rows(df)):
            return {}
        s = self.settings()
        by = s["by"] if s["by"] != s["x"] else None
        out = {}
        if s["x"] is not None:
            title = "Accuracy vs ρ" if s["x"] == "sr" else f"{s['metric']} vs {s['x']}"
            out[title] = sp.accuracy_vs_sr(df, x=s["x"], metric=s["metric"], by=by, band=s["band"])
        iters = [a for a in sp.ITERATION_AXES if a in (self.param.x.objects or [])]
        if iters:
            per = s["by"] if s["by"] not in (None, iters[0]) else ("sr" if "sr" in self.param.x.objects else None)
            out["Iterations"] = sp.accuracy_vs_iterations(df, x=iters[0], by=per, metric=s["metric"],
                                                          band=s["band"])
        if s["x"] is not None and s["y"] is not None and s["x"] != s["y"]:
            out["Heatmap"] = sp.heatmap(df, s["x"], s["y"], s["metric"])
        out["Learning curves"] = sp.learning_curves(df, by=by, metric=s["metric"])
        return out

    @param.depends("metric", "x", "y", "by", "band", watch=True)
    def _redraw(self):
        if self._choosing:
            return
        try:
            plots = self.plots()
        except ApexplorerError as e:
            self._show_error(str(e))
            return
        active = self._plots.active
        panes = [pn.pane.HoloViews(p, name=t, sizing_mode="stretch_width", backend="bokeh") for t, p in plots.items()]
        if plots:
            panes.append(self._table())
        self._plots.objects = panes
        if panes:
            self._plots.active = min(active, len(panes) - 1)

    def table(self):
        """The table of runs: one row per point and seed (its last epoch), grid axes first."""
        runs = sp.final_rows(self.frame)
        axes = list(self.param.x.objects or [])
        cols = [c for c in (*axes, "seed", "epoch", "test_acc", "train_acc", "status", "ftmle") if c in runs.columns]
        return runs[cols]

    def _table(self):
        table = pn.widgets.Tabulator(self.table(), disabled=True, show_index=False, height=360,
                                     sizing_mode="stretch_width", css_classes=["ap-sweep-table"],
                                     formatters={c: {"type": "money", "precision": 4}
                                                 for c in ("test_acc", "train_acc", "ftmle")})
        return pn.Column(table, name="Table", sizing_mode="stretch_width")

    @param.depends("follow", watch=True)
    def _follow(self):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        if self.follow:
            self._callback = pn.state.add_periodic_callback(self._reload, period=5000)

    def _reload(self):
        if self.path:
            self.load(self.path)

    def close(self) -> None:
        """Stop a launched sweep and the table's reloading."""
        if self.launcher is not None:
            self.launcher.close()
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def __panel__(self):
        served_only = self.files is not None and not self.files.enabled  # no server paths: uploads only
        names = [n for n in ("path", "metric", "x", "by", "y", "band", "follow") if not (served_only and
                                                                                      n in ("path", "follow"))]
        controls = pn.Param(self.param, parameters=names,
                            widgets={"path": {"type": pn.widgets.TextInput, "placeholder": "results.csv"},
                                     "metric": pn.widgets.RadioButtonGroup, "band": pn.widgets.RadioButtonGroup},
                            show_name=False, width=300)
        load = [pn.pane.Markdown("### Sweep results" if self.launcher is None else "### Or load a results table",
                                 margin=(0, 5)), pn.pane.Markdown("Upload a results table:"), self._upload]
        side = pn.Column(*load, controls, width=320)
        body = pn.Row(side, pn.Column(self._message, self._plots, sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")
        if self.launcher is None:
            return body
        return pn.Column(self.launcher, body, sizing_mode="stretch_width")
