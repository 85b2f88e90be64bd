"""The Sweeps view: load a sweep's results table and show the paper's sweep plots.

The plots are :mod:`apexplorer.sweep.plots`, the functions a notebook calls;
this view only picks the table and the axes.  A table that a running sweep
is still writing can be followed (reloaded every few seconds).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import panel as pn
import param

from ..sweep import plots as sp
from ..errors import ApexplorerError
from ..sweep.table import FORMATS, load_results

METRICS = ("test_acc", "train_acc", "loss", "test_loss")
NONE = "(none)"


class SweepsView(pn.viewable.Viewer):
    """Load a results file of ``apexplorer sweep`` and show its plots.

    Parameters
    ----------
    path : str, optional
        A results table (.csv or .parquet) to load at once.
    """

    path = param.String(default="", doc="Results table of `apexplorer sweep` (.csv or .parquet)")
    metric = param.Selector(default="test_acc", objects=list(METRICS), doc="What the plots show")
    x = param.Selector(default=None, objects=[], allow_None=True, doc="Horizontal axis (a grid axis)")
    by = param.Selector(default=NONE, objects=[NONE], doc="One line per value of this axis")
    y = param.Selector(default=None, objects=[], allow_None=True, doc="The heatmap's vertical axis")
    band = param.Selector(default="sd", objects=["sd", "minmax"], doc="Band over seeds: mean ± sd, or min to max")
    follow = param.Boolean(default=False, doc="Reload the table every few seconds (a sweep still running)")

    def __init__(self, path: str = "", **params):
        super().__init__(**params)
        self.frame = None
        self._axes = None
        self._callback = None
        self._message = pn.pane.Alert("Load the results table of `apexplorer sweep --out FILE` (.csv or .parquet).",
                                      alert_type="info", sizing_mode="stretch_width")
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

    def load(self, path) -> bool:
        """Read ``path`` and redraw; a bad file shows a message, never a traceback."""
        try:
            df = load_results(path)
        except ApexplorerError as e:
            self._show_error(str(e))
            return False
        self._set_frame(df, Path(path).name)
        return True

    def _on_upload(self, event):
        if not event.new:
            return
        suffix = Path(self._upload.filename or "results.csv").suffix
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
            f.write(event.new)
        try:
            self.load(f.name)
        finally:
            Path(f.name).unlink(missing_ok=True)

    def _set_frame(self, df, name):
        self.frame = df
        runs = sp.final_rows(df)
        axes = sp.varying_axes(runs)
        if axes != self._axes:  # a new grid: fresh defaults (a reload of the same grid keeps the choices)
            self._axes = axes
            x = "sr" if "sr" in axes else (axes[0] if axes else None)
            other = next((a for a in axes if a != x), None)
            with param.parameterized.batch_call_watchers(self):
                # copies: a Selector that allows None appends None to the list it is given
                self.param.x.objects = list(axes)
                self.param.y.objects = list(axes)
                self.param.by.objects = [NONE, *axes]
                self.x, self.y, self.by = x, other, other or NONE
        n_runs = len(runs)
        n_err = int((df["status"] == "error").sum()) if "status" in df else 0
        statuses = runs["status"].value_counts().to_dict() if n_runs else {}
        text = (f"**{name}**: {len(df)} rows, {n_runs} finished runs "
                f"({', '.join(f'{v} {k}' for k, v in statuses.items()) or 'none'})"
                f"; grid axes: {', '.join(axes) or 'none'}" + (f"; {n_err} error rows" if n_err else ""))
        self._message.object, self._message.alert_type = text, "success"
        self._redraw()

    def _show_error(self, msg):
        self._message.object, self._message.alert_type = msg, "danger"

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
        try:
            plots = self.plots()
        except ApexplorerError as e:
            self._show_error(str(e))
            return
        active = self._plots.active
        self._plots.objects = [pn.pane.HoloViews(p, name=t, sizing_mode="stretch_width", backend="bokeh")
                               for t, p in plots.items()]
        if plots:
            self._plots.active = min(active, len(plots) - 1)

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

    def __panel__(self):
        controls = pn.Param(self.param, parameters=["path", "metric", "x", "by", "y", "band", "follow"],
                            widgets={"path": {"type": pn.widgets.TextInput, "placeholder": "results.csv"},
                                     "metric": pn.widgets.RadioButtonGroup, "band": pn.widgets.RadioButtonGroup},
                            show_name=False, width=300)
        side = pn.Column("### Sweep results", controls, pn.pane.Markdown("or upload a table:"), self._upload,
                         width=320)
        return pn.Row(side, pn.Column(self._message, self._plots, sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")
