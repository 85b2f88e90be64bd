"""Plots of a sweep's results table in the paper's layouts (HoloViews, Bokeh backend).

* :func:`accuracy_vs_sr`: accuracy against the spectral radius with a band
  over seeds, and the FTMLE on a second axis (Fig. 2c).
* :func:`accuracy_vs_iterations`: accuracy against T1-T2, one line per rho
  (Fig. 3c/f).
* :func:`heatmap`: mean accuracy over two axes, e.g. beta x rho (Appendix 3).
* :func:`learning_curves`: accuracy against epoch, one line per point.

Each function takes the DataFrame of :func:`apexplorer.sweep.load_results`
and reduces it with :func:`final_rows` (each run's last epoch) and
:func:`seed_stats` (mean, sd, min, max over seeds).  The explorer's Sweeps
view and a notebook call the same functions.
"""

from __future__ import annotations

import math

from ..errors import ApexplorerError, choices
from .table import FINISHED, LEADING, METRICS

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")
#: Columns that are never grid axes of a plot.
NOT_AXES = set(LEADING) | set(METRICS) | {"device", "message", "experiment", "members"}
ITERATION_AXES = ("steps", "t1", "t2")


def _hv():
    import holoviews as hv

    if "bokeh" not in hv.Store.renderers:
        import holoviews.plotting.bokeh  # noqa: F401 - registers the backend without notebook output

        hv.Store.set_current_backend("bokeh")
    return hv


def _need(df, *cols):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ApexplorerError(f"the results table has no column(s) {choices(missing)}; "
                              f"its columns are {choices(df.columns)}")


def final_rows(df):
    """The last epoch of every finished run (error rows dropped): one row per point and seed."""
    _need(df, "point", "seed", "epoch", "status")
    done = df[df["status"].isin(FINISHED)]
    if not len(done):
        return done
    idx = done.groupby(["point", "seed"])["epoch"].idxmax()
    return done.loc[idx.values].reset_index(drop=True)


def varying_axes(df) -> list:
    """Settings columns that take more than one value in ``df``: the sweep's grid axes.

    A column that only mirrors an earlier one (t1 and t2 under a steps axis) is left out.
    """
    out = []
    for c in df.columns:
        if c in NOT_AXES or "_acc" in c or df[c].nunique(dropna=True) < 2:
            continue
        if not any(_mirrors(df, a, c) for a in out):
            out.append(c)
    return out


def _mirrors(df, a, b) -> bool:
    """True when columns a and b determine each other (a one-to-one map)."""
    pairs = df[[a, b]].astype(str).drop_duplicates()
    return len(pairs) == pairs[a].nunique() == pairs[b].nunique()


def seed_stats(df, by, metric: str = "test_acc"):
    """Mean, sd, min, max and count of ``metric`` over seeds, per combination of ``by`` columns.

    ``df`` holds one row per run (see :func:`final_rows`).  Returns a DataFrame
    with columns ``by + [mean, sd, lo_sd, hi_sd, min, max, n]``, sorted by ``by``.
    """
    by = [by] if isinstance(by, str) else list(by)
    _need(df, *by, metric)
    g = df.groupby(by, dropna=False)[metric]
    st = g.agg(["mean", "std", "min", "max", "count"]).reset_index()
    st = st.rename(columns={"std": "sd", "count": "n"})
    st["sd"] = st["sd"].fillna(0.0)
    st["lo_sd"], st["hi_sd"] = st["mean"] - st["sd"], st["mean"] + st["sd"]
    return st.sort_values(by).reset_index(drop=True)


def _groups(df, by):
    """(label, sub-frame) per value of ``by`` (one group, label '' when by is None)."""
    if by is None:
        return [("", df)]
    _need(df, by)
    return [(f"{by}={v}", df[df[by] == v]) for v in sorted(df[by].dropna().unique())]


def _band_and_line(hv, st, x, metric, label, color, band):
    lo, hi = ("min", "max") if band == "minmax" else ("lo_sd", "hi_sd")
    # The band's lower edge carries the metric's name so that it shares the metric's y axis.
    area = hv.Area(st, kdims=[x], vdims=[lo, hi]).redim(**{lo: metric}).opts(color=color, alpha=0.2, line_alpha=0)
    line = hv.Curve(st, kdims=[x], vdims=["mean", "sd", "n"], label=label).redim(mean=metric)
    return area * line.opts(color=color, line_width=2, tools=["hover"]) * hv.Scatter(
        st, kdims=[x], vdims=["mean"]).redim(mean=metric).opts(color=color, size=5)


def _check_band(band):
    if band not in ("sd", "minmax"):
        raise ApexplorerError(f"unknown band {band!r}; choices are sd, minmax")


def accuracy_vs_sr(df, x: str = "sr", metric: str = "test_acc", by: str | None = None, ftmle: bool = True,
                   band: str = "sd", logx: bool | None = None):
    """Fig. 2c: final ``metric`` against the spectral radius, a band over seeds, FTMLE on a second axis.

    Parameters
    ----------
    df : DataFrame
        A results table (all epochs; each run's last epoch is used).
    x : str
        The axis on the horizontal (default ``sr``).
    by : str, optional
        Another axis: one line per value (e.g. ``steps``).
    ftmle : bool
        Draw the mean FTMLE over seeds on a right-hand axis, where the table has it.
    band : ``"sd"`` (mean +- sd) or ``"minmax"``.
    logx : bool, optional
        A log horizontal axis; default when ``x`` is positive and spans more than a decade.
    """
    hv = _hv()
    _check_band(band)
    runs = final_rows(df)
    _need(runs, x, metric)
    if logx is None:
        logx = _spans_decades(runs[x])
    layers = []
    for i, (label, sub) in enumerate(_groups(runs, by)):
        st = seed_stats(sub, [x], metric)
        layers.append(_band_and_line(hv, st, x, metric, label or metric, COLORS[i % len(COLORS)], band))
    if ftmle and "ftmle" in runs.columns and runs["ftmle"].notna().any():
        lam = seed_stats(runs[runs["ftmle"].notna()], [x], "ftmle")
        layers.append(hv.Curve(lam, kdims=[x], vdims=["mean"], label="FTMLE").redim(mean="ftmle").opts(
            color="black", line_dash="dashed", line_width=2, tools=["hover"]))
    plot = hv.Overlay(layers).opts(
        logx=logx, width=640, height=380, padding=0.05, legend_position="right", show_grid=True,
        title=f"{metric} against {x}" + (" (mean ± sd over seeds)" if band == "sd" else " (min–max over seeds)"))
    if len(layers) > 1 and layers[-1].label == "FTMLE":
        plot = plot.opts(multi_y=True)
    return plot


def accuracy_vs_iterations(df, x: str | None = None, by: str | None = "sr", metric: str = "test_acc",
                           band: str = "sd"):
    """Fig. 3c/f: final ``metric`` against the iteration count ``x``, one line per value of ``by``.

    ``x`` defaults to the first of steps, t1, t2 that varies in the table.
    """
    hv = _hv()
    _check_band(band)
    runs = final_rows(df)
    if x is None:
        vary = [a for a in ITERATION_AXES if a in runs.columns and runs[a].nunique() > 1]
        if not vary:
            raise ApexplorerError("the table has no varying iteration axis (steps, t1 or t2); "
                                  f"its grid axes are {choices(varying_axes(runs))}")
        x = vary[0]
    if by is not None and (by not in runs.columns or runs[by].nunique() < 2):
        by = None
    _need(runs, x, metric)
    layers = [_band_and_line(hv, seed_stats(sub, [x], metric), x, metric, label or metric,
                             COLORS[i % len(COLORS)], band)
              for i, (label, sub) in enumerate(_groups(runs, by))]
    xlabel = {"steps": "T1 = T2", "t1": "T1", "t2": "T2"}.get(x, x)
    return hv.Overlay(layers).opts(width=640, height=380, padding=0.05, legend_position="right", show_grid=True,
                                   xlabel=xlabel, title=f"{metric} against {xlabel}" + (f", per {by}" if by else ""))


def heatmap(df, x: str = "sr", y: str = "beta", metric: str = "test_acc"):
    """Appendix 3: the mean final ``metric`` over seeds on a grid of two axes."""
    hv = _hv()
    runs = final_rows(df)
    _need(runs, x, y, metric)
    st = seed_stats(runs, [x, y], metric)
    # Categorical axes keep uneven grids (0.01, 0.1, 1) evenly spaced, as in the paper.
    st[x], st[y] = st[x].map(_fmt), st[y].map(_fmt)
    hm = hv.HeatMap(st, kdims=[x, y], vdims=["mean", "sd", "n"]).redim(mean=metric)
    labels = hv.Labels(st.assign(text=st["mean"].map(lambda v: f"{v:.2f}" if v == v else "")),
                       kdims=[x, y], vdims=["text"])
    return (hm.opts(cmap="viridis", colorbar=True, tools=["hover"], width=560, height=420,
                    title=f"mean {metric} over seeds") * labels.opts(text_color="white", text_font_size="9pt"))


def learning_curves(df, by: str | None = None, metric: str = "test_acc"):
    """``metric`` against epoch (mean over seeds), one line per value of ``by`` (default: each point)."""
    hv = _hv()
    _need(df, "epoch", metric, "status")
    done = df[df["status"].isin(FINISHED)]
    if by is None:  # one line per point, labelled and ordered by its grid values
        axes = varying_axes(done)
        firsts = done.groupby("point").first()
        order = sorted(firsts.index, key=lambda p: tuple(_sort_key(firsts.at[p, a]) for a in axes))
        groups = [(" ".join(f"{a}={firsts.at[p, a]}" for a in axes) or p, done[done["point"] == p]) for p in order]
    else:
        groups = _groups(done, by)
    layers = []
    for i, (label, sub) in enumerate(groups):
        st = seed_stats(sub, ["epoch"], metric)
        layers.append(hv.Curve(st, kdims=["epoch"], vdims=["mean"], label=label).redim(mean=metric).opts(
            color=COLORS[i % len(COLORS)], tools=["hover"]))
    return hv.Overlay(layers).opts(width=640, height=380, padding=0.05, show_grid=True, legend_position="right",
                                   title=f"{metric} against epoch (mean over seeds)")


def sweep_plots(df) -> dict:
    """The plots that fit the table's grid axes, by name (for a quick look or the Sweeps view)."""
    axes = varying_axes(final_rows(df))
    out = {}
    if "sr" in axes:
        others = [a for a in axes if a != "sr"]
        out["accuracy vs spectral radius"] = accuracy_vs_sr(df, by=others[0] if len(others) == 1 else None)
    if any(a in axes for a in ITERATION_AXES):
        out["accuracy vs iterations"] = accuracy_vs_iterations(df)
    if len(axes) >= 2:
        out["heatmap"] = heatmap(df, axes[0], axes[1])
    out["learning curves"] = learning_curves(df)
    return out


def _spans_decades(values) -> bool:
    """True for positive numbers whose largest is more than 10 times the smallest."""
    import pandas as pd

    v = pd.to_numeric(values, errors="coerce")
    return bool(v.notna().all() and (v > 0).all() and v.max() > 10 * v.min())


def _sort_key(v):
    """Numbers before text, each in their natural order."""
    return (0, float(v), "") if isinstance(v, (int, float)) and v == v else (1, 0.0, str(v))


def _fmt(v):
    if isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 1e6:
        return str(int(v)) if abs(v) >= 1 else f"{v:g}"
    return f"{v:g}" if isinstance(v, float) else str(v)
