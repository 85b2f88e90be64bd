"""Each result's figure redrawn from our runs, with the paper's values over it (matplotlib, PNG).

:func:`draw` takes one result's block of the report's data (see
:func:`~apexplorer.paper.run.collect`) and writes ``<id>.png``; the result
file's ``[plot]`` says which kind:

* ``bars``: the best test accuracy of every point, the paper's value and ± as
  a black mark (Table 1);
* ``curves``: accuracy against epochs (and against training time with
  ``time``), the paper's values as dashed lines (Fig. 2a-b, 4a-c);
* ``axis``: a metric against an axis, one line per group (or per ``series``
  key), mean ± sd over seeds (Figs. 2c, 3c, 3f, 4d-i); with ``lyapunov`` a
  second panel of MLE and FTMLE;
* ``tasks``: each task's accuracy in each configuration beside its solo run
  (Fig. 5d-f);
* ``2afc``: accuracy against noise and the psychometric curves (Appendix 2);
* ``errors``: every SI neuron's mean |e|, by beta and by rho (Appendix 3);
* ``cosines``: the batch cosines over epochs (Appendix 4);
* ``states``: a reservoir's states over the iterations (Fig. 2d), ``pca``:
  the phases' trajectories after PCA (Fig. 3b, 3e), from in-process analyses;
* ``grid``: a heat map of accuracy over two axes, one per group (Appendix 3, Fig. 1).

matplotlib is needed only here; without it the report has no figures and says so.
"""

from __future__ import annotations

from pathlib import Path

PAPER = dict(color="black", marker="D", ms=6, ls="none", zorder=5, label="paper")
#: Legend text size: readable in the report at the figure's size (6 or 7 was too small to read).
LEGEND = 9


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _ran(block):
    return [p for p in block["points"] if p["status"] == "done"]


def _m(p, metric):
    s = p.get("metrics", {}).get(metric) or {}
    return s.get("mean"), s.get("sd")


def _x(p, axis, scale=None):
    keys = axis if isinstance(axis, list) else [axis]
    from ..sweep.grid import axis_key

    for k in keys:
        for cand in (k, axis_key(k)):
            if cand in p["axes"]:
                v = p["axes"][cand]
                v = len(v) if isinstance(v, list) else v
                return v * (scale or {}).get(p["group"], 1)
    return None


def _log_x(ax, ticks):
    """A log x axis with the data's values as its plain tick labels."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks], rotation=45)
    ax.xaxis.set_minor_formatter(NullFormatter())


def _title(ax, block):
    ax.set_title(f"{block['figure']}: ours ({block['scale']} scale)", fontsize=9)


def bars(block, fig):
    ax = fig.add_subplot(111)
    metric = block["plot"].get("metric", "best_test_acc")
    pts = block["points"]
    labels, ours, sds, marks = [], [], [], []
    for v in block["values"]:
        labels.append(v["what"])
        ours.append(100 * v["ours"] if v["ours"] is not None and v["status"] == "done" else float("nan"))
        sds.append(100 * (v["sd"] or 0) if v["ours"] is not None and v["status"] == "done" else 0)
        marks.append((100 * v["paper"], 100 * (v["pm"] or 0)))
    if not labels:  # no paper values: every point that ran
        for p in pts:
            m, s = _m(p, metric)
            labels.append(p["label"])
            ours.append(100 * m if m is not None else float("nan"))
            sds.append(100 * (s or 0))
    xs = range(len(labels))
    ax.bar(xs, ours, yerr=sds, color="#4c72b0", capsize=3, label="ours (mean ± sd)")
    if marks:
        ax.errorbar(xs, [m for m, _ in marks], yerr=[e for _, e in marks], capsize=3, **PAPER)
    for x, o in zip(xs, ours):
        if o != o:
            ax.text(x, 1, "not run", rotation=90, ha="center", va="bottom", fontsize=7, color="grey")
    ax.set_xticks(list(xs), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("best test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=LEGEND, loc="lower right")
    _title(ax, block)


def curves(block, fig):
    cols = block["plot"].get("columns", ["test_acc"])
    with_time = block["plot"].get("time", False)
    ax = fig.add_subplot(1, 2 if with_time else 1, 1)
    for i, p in enumerate(_ran(block)):
        for c in cols:
            cv = p["curves"].get(c)
            if not cv:
                continue
            m = [100 * v for v in cv["mean"]]
            s = [100 * (v or 0) for v in cv["sd"]]
            ls = "-" if c.startswith("test") else ":"
            line, = ax.plot(cv["epoch"], m, ls, color=f"C{i}", label=f"{p['label']} {c.replace('_', ' ')}")
            ax.fill_between(cv["epoch"], [a - b for a, b in zip(m, s)], [a + b for a, b in zip(m, s)],
                            color=line.get_color(), alpha=0.15)
    for v in block["values"]:
        ax.axhline(100 * v["paper"], color="black", ls="--", lw=0.8)
        ax.text(ax.get_xlim()[0], 100 * v["paper"], f" paper: {v['what']}", fontsize=8, va="bottom")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=LEGEND)
    _title(ax, block)
    if with_time:
        ax2 = fig.add_subplot(1, 2, 2)
        for i, p in enumerate(_ran(block)):
            tc = p.get("time_curve") or {}
            if tc.get("seconds"):
                ax2.plot(tc["seconds"], [100 * v for v in tc["mean"]], "o-", ms=3, color=f"C{i}", label=p["label"])
        ax2.set_xlabel("training time (s, this machine)")
        ax2.set_ylabel("test accuracy (%)")
        ax2.legend(fontsize=LEGEND)


def axis(block, fig):
    plot = block["plot"]
    metric = plot.get("metric", "best_test_acc")
    key, series = plot.get("axis"), plot.get("series")
    with_lyap = plot.get("lyapunov") and block["analyses"].get("lyapunov")
    ax = fig.add_subplot(1, 2 if with_lyap else 1, 1)
    lines = {}
    for p in _ran(block):
        name = p["group"] if series is None else f"{series} = {_x(p, series)}"
        if plot.get("split") and _x(p, plot["split"]) is not None:  # one line per group and value of a key
            name += f", {plot['split'].rpartition('.')[2]} = {_x(p, plot['split'])}"
        x = _x(p, key, plot.get("block_scale"))
        m, s = _m(p, metric)
        if x is None or m is None:
            continue
        lines.setdefault(name, []).append((x, 100 * m, 100 * (s or 0)))
    for i, (name, pts) in enumerate(lines.items()):
        pts.sort()
        ax.errorbar([a for a, _, _ in pts], [b for _, b, _ in pts], yerr=[c for _, _, c in pts], marker="o", ms=4,
                    capsize=3, color=f"C{i}", label=name)
    _paper_over_axis(ax, block, key, plot.get("block_scale"))
    if plot.get("log_x"):
        _log_x(ax, sorted({x for pts in lines.values() for x, _, _ in pts}))
    ax.set_xlabel(plot.get("xlabel") or (key if isinstance(key, str) else key[0]))
    ax.set_ylabel("best test accuracy (%)" if "acc" in metric else metric)
    ax.legend(fontsize=LEGEND)
    _title(ax, block)
    if with_lyap:
        import math

        rows = block["analyses"]["lyapunov"]
        ax2 = fig.add_subplot(1, 2, 2)
        xs = [r["sr"] for r in rows]
        ax2.plot(xs, [r["mle"] for r in rows], "o-", label="MLE (1000 steps)")
        ax2.plot(xs, [r["ftmle"] for r in rows], "s--", label="FTMLE (8 steps)")
        ax2.plot(xs, [math.log(x) for x in xs], ":", color="grey", label="log rho")
        ax2.axhline(0, color="black", lw=0.6)
        _log_x(ax2, xs)
        ax2.set_xlabel("spectral radius")
        ax2.set_ylabel("exponent")
        ax2.legend(fontsize=LEGEND)
        ax2.set_title("reservoirs of 1024 (tanh, no input)", fontsize=9)


def _paper_over_axis(ax, block, key, scale=None) -> None:
    """The paper's values over an axis plot: a point (with its ±) where the value names its place on the axis,
    else a dashed line across, each in the legend."""
    keys = key if isinstance(key, list) else [key]
    from ..sweep.grid import axis_key

    shown = False
    for v in block["values"]:
        where = v.get("where") or {}
        x = next((where[c] for k in keys for c in (k, axis_key(k)) if c in where), None)
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            x = x * (scale or {}).get(where.get("group"), 1)
            ax.errorbar([x], [100 * v["paper"]], yerr=[100 * (v["pm"] or 0)], capsize=3,
                        **{**PAPER, "label": None if shown else "paper"})
            shown = True
        else:
            ax.axhline(100 * v["paper"], color="black", ls="--", lw=0.8, label=f"paper: {v['what']}")


def tasks(block, fig):
    ax = fig.add_subplot(111)
    groups = [p for p in block["points"]]
    xs, labels = [], []
    for i, p in enumerate(groups):
        for j, t in enumerate(("A", "B")):
            m = _m(p, f"best_{t}_test_acc")
            if m[0] is None:
                alone = p["group"] == f"{t} alone"
                m = _m(p, "best_test_acc") if alone else (None, None)
            if m[0] is None:
                continue
            x = i + (j - 0.5) * 0.38
            ax.bar(x, 100 * m[0], 0.36, yerr=100 * (m[1] or 0), capsize=3, color=f"C{j}",
                   label=f"task {t}" if f"task {t}" not in labels else None)
            labels.append(f"task {t}")
        xs.append(p["label"])
    for v in block["values"]:
        i = next((k for k, p in enumerate(groups) if p["group"] == v["where"].get("group")), None)
        if i is None:
            continue
        j = 0 if v["metric"].startswith("best_A") else 1
        ax.errorbar(i + (j - 0.5) * 0.38, 100 * v["paper"], yerr=100 * (v["pm"] or 0),
                    **{**PAPER, "label": "paper" if "paper" not in labels else None})
        labels.append("paper")
    ax.set_xticks(range(len(xs)), xs, fontsize=8)
    ax.set_ylabel("best test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=LEGEND, loc="lower right")
    _title(ax, block)


def afc(block, fig):
    ax = fig.add_subplot(1, 2, 1)
    key = block["plot"].get("axis", "tasks.main.noise")
    pts = sorted(_ran(block), key=lambda p: _x(p, key))
    xs = [_x(p, key) for p in pts]
    ms = [_m(p, "best_test_acc") for p in pts]
    ax.errorbar(xs, [100 * m for m, _ in ms], yerr=[100 * (s or 0) for _, s in ms], marker="o", capsize=3,
                label="ours (mean ± sd)")
    vals = block["values"]
    ax.errorbar([v["where"][key] for v in vals], [100 * v["paper"] for v in vals],
                yerr=[100 * (v["pm"] or 0) for v in vals], capsize=3, **{**PAPER, "label": "authors' notebook"})
    ax.set_xlabel("pixel noise s.d.")
    ax.set_ylabel("best test accuracy (%)")
    ax.legend(fontsize=LEGEND)
    _title(ax, block)
    ax2 = fig.add_subplot(1, 2, 2)
    for i, p in enumerate(pts):
        curves = [c["p_right"] for c in (p.get("probes") or {}).values() if "p_right" in c]
        if not curves:
            continue
        tilt = next(iter(p["probes"].values()))["tilt"]
        mean = [sum(c[k] for c in curves) / len(curves) for k in range(len(tilt))]
        ax2.plot(tilt, mean, "o-", ms=3, color=f"C{i}", label=f"noise {_x(p, key):g}")
    ax2.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax2.set_xlabel("tilt (degrees)")
    ax2.set_ylabel("mean output for 'right'")
    ax2.set_title("psychometric curves (one model per noise level)", fontsize=9)
    ax2.legend(fontsize=LEGEND)


def errors(block, fig):
    groups = {}
    for p in _ran(block):
        groups.setdefault(p["group"], []).append(p)
    for k, (g, pts) in enumerate(groups.items(), 1):
        ax = fig.add_subplot(1, len(groups), k)
        for i, p in enumerate(pts):
            probes = list((p.get("probes") or {}).values())
            neurons = [pr["neurons"] for pr in probes if "neurons" in pr]
            if not neurons:
                continue
            mods = list(neurons[0])
            flat = [[v for m in mods for v in n[m]] for n in neurons]
            mean = [sum(col) / len(col) for col in zip(*flat)]
            ax.plot(range(len(mean)), mean, lw=0.8, color=f"C{i}", label=p["label"])
        ax.set_yscale("log")
        ax.set_xlabel("SI neuron (input side -> output side)")
        ax.set_ylabel("mean |e|")
        ax.legend(fontsize=LEGEND)
        ax.set_title(f"{block['figure']}: by {g} ({block['scale']} scale)", fontsize=9)


def cosines(block, fig):
    pts = _ran(block)
    for k, p in enumerate(pts, 1):
        ax = fig.add_subplot(1, len(pts), k)
        per_seed = list((p.get("probe_epochs") or {}).values())
        if not per_seed or not per_seed[0]:
            continue
        for what, ls in (("error", "-"), ("update", "--")):
            names = list(per_seed[0][0][what])
            for i, n in enumerate(names):
                series = [[e[what][n] for e in s] for s in per_seed]
                mean = [sum(c) / len(c) for c in zip(*series)]
                ax.plot(range(1, len(mean) + 1), mean, ls, marker=".", color=f"C{i % 10}", label=f"{what} {n}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("batch cosine, A alone vs with B")
        ax.set_title(f"{p['label']} ({block['scale']} scale)", fontsize=9)
        ax.legend(fontsize=LEGEND - 2)  # one entry per path and kind: many


def states(block, fig):
    """Fig. 2d: states (top) and one-step differences (bottom) over the iterations, one column per radius."""
    tr = block["analyses"]["states"]["traces"]
    radii = list(tr)
    for i, sr in enumerate(radii):
        for row, key in enumerate(("states", "diffs")):
            ax = fig.add_subplot(2, len(radii), row * len(radii) + i + 1)
            ax.plot(tr[sr][key], lw=0.8)
            ax.tick_params(labelsize=6)
            if row == 0:
                ax.set_title(f"SR = {sr}", fontsize=8)
            else:
                ax.set_xlabel("iteration", fontsize=7)
            if i == 0:
                ax.set_ylabel("state" if row == 0 else "one-step difference", fontsize=7)
    fig.suptitle(f"{block['figure']}: ours ({block['scale']} scale)", fontsize=9)


def pca(block, fig):
    """Fig. 3b, 3e: the first module's trajectories of both phases after PCA (3 components), STE and EPE."""
    p = block["analyses"]["phase_pca"]["pca"]
    for i, (key, title) in enumerate((("ste", "STE (Fig. 3b)"), ("epe", "EPE (Fig. 3e)"))):
        if key not in p:
            continue
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        a, b = p[key]["inference"], p[key]["learning"]
        ax.plot(*zip(*[q[:3] for q in a]), "o-", color="C0", ms=3, label="inference")
        ax.plot(*zip(*[q[:3] for q in b]), "o-", color="C3", ms=3, label="learning")
        off = p[key].get("inject", 0)
        for s_, q in enumerate(b):  # the error vectors between states of one step
            r = a[min(s_ + off, len(a) - 1)]
            ax.plot([r[0], q[0]], [r[1], q[1]], [r[2], q[2]], color="grey", lw=0.6)
        ax.set_title(title + (f", injected after {off} steps" if off else ""), fontsize=8)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=7)
    fig.suptitle(f"{block['figure']}: ours ({block['scale']} scale)", fontsize=9)


def grid(block, fig):
    """Appendix 3, Fig. 1: test accuracy over beta x spectral radius, one heat map per group (depth)."""
    plot = block["plot"]
    xk, yk, metric = plot["x"], plot["y"], plot.get("metric", "best_test_acc")
    groups = list(dict.fromkeys(p["group"] for p in block["points"]))
    for i, g in enumerate(groups):
        pts = [p for p in _ran(block) if p["group"] == g]
        xs = sorted({_x(p, xk) for p in pts})
        ys = sorted({_x(p, yk) for p in pts})
        import numpy as np

        Z = np.full((len(ys), len(xs)), np.nan)
        for p in pts:
            m = _m(p, metric)[0]
            if m is not None:
                Z[ys.index(_x(p, yk)), xs.index(_x(p, xk))] = 100 * m
        ax = fig.add_subplot(1, len(groups), i + 1)
        im = ax.imshow(Z, origin="lower", aspect="auto", vmin=10, vmax=100, cmap="viridis")
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs], fontsize=7)
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys], fontsize=7)
        ax.set_xlabel(plot.get("xlabel", xk), fontsize=8)
        if i == 0:
            ax.set_ylabel(plot.get("ylabel", yk), fontsize=8)
        ax.set_title(g, fontsize=8)
        for (r, c), v in np.ndenumerate(Z):
            if v == v:
                ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(im, ax=fig.axes, shrink=0.8, label="best test accuracy (%)")
    fig.suptitle(f"{block['figure']}: ours ({block['scale']} scale)", fontsize=9)


KINDS = {"bars": bars, "curves": curves, "axis": axis, "tasks": tasks, "2afc": afc, "errors": errors,
         "cosines": cosines, "states": states, "pca": pca, "grid": grid}


def draw(block: dict, folder) -> Path | None:
    """Draw one result's figure into ``folder/<id>.png``; None when nothing of it ran (or no matplotlib)."""
    if not available() or not (any(p["status"] == "done" for p in block["points"]) or
                               (not block["points"] and block.get("analyses"))):
        return None
    plt = _plt()
    kind = block["plot"].get("kind", "axis")
    wide = kind in ("curves", "errors", "cosines", "2afc", "states", "pca", "grid") or block["plot"].get("lyapunov")
    fig = plt.figure(figsize=(10 if wide else 6.5, 4.2), dpi=80)
    try:
        KINDS[kind](block, fig)
        if kind not in ("pca", "grid"):  # 3-D axes and a shared colour bar lay themselves out
            fig.tight_layout()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{block['id']}.png"
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


__all__ = ["KINDS", "available", "draw"]
