"""The paper's numbers and trends against ours.

:func:`compare_value` puts a paper value beside ours (mean ± sd over seeds)
and says whether ours is within the paper's ± or by how much it is off.
Each function of :data:`CHECKS` tests one kind of trend the paper states
(a peak, an ordering, a spread, a sign) on a :class:`~.measure.ResultData`;
a result file names the check and gives its arguments.  A check returns an
:class:`Outcome`: whether the trend holds (None when a point it needs did not
run) and our numbers, in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .measure import ResultData, stats


@dataclass(frozen=True)
class Outcome:
    holds: bool | None
    ours: str


def pct(metric: str) -> bool:
    """Accuracies are shown in percent."""
    return "acc" in metric


def fmt(x, metric: str = "", sd=None, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    if pct(metric):
        s = f"{100 * x:.{digits}f}"
        return f"{s} ± {100 * sd:.{digits}f} %" if sd is not None else f"{s} %"
    s = f"{x:.{digits + 1}g}"
    return f"{s} ± {sd:.{digits}g}" if sd is not None else s


def diff(x, metric: str = "") -> str:
    """A difference: in points for accuracies."""
    if x is None:
        return "n/a"
    return f"{100 * x:.2f} points" if pct(metric) else f"{x:.3g}"


def compare_value(value, data: ResultData) -> dict:
    """A paper value beside ours: ``{what, paper, pm, ours, sd, n, within, off, status, text}``."""
    out = {"what": value.what, "metric": value.metric, "paper": value.value, "pm": value.pm, "source": value.source,
           "where": value.where, "ours": None, "sd": None, "n": 0, "within": None, "off": None}
    found = data.find(value.where)
    if len(found) != 1:
        out.update(status="no point", text=f"{len(found)} points match {value.where} at this scale")
        return out
    d = found[0]
    if not d.ran:
        out.update(status=d.status, text=d.status)
        return out
    st = d.stats(value.metric)
    tasks = d.point.experiment.tasks
    ours_data = (tasks.get(value.task) if value.task else next(iter(tasks.values()), None))
    if value.dataset and ours_data is not None and ours_data.dataset != value.dataset:
        out.update(ours=st["mean"], sd=st["sd"], n=st["n"], point=d.point.id, status="stand-in",
                   text=f"not compared: ours trains {ours_data.dataset} in place of {value.dataset} at this scale")
        return out
    out.update(ours=st["mean"], sd=st["sd"], n=st["n"], point=d.point.id, status="done")
    if st["mean"] is None:
        out.update(text="no value")
        return out
    off = st["mean"] - value.value
    out["off"] = off
    scale = 100 if pct(value.metric) else 1
    unit = " points" if pct(value.metric) else ""
    if value.pm is not None:
        out["within"] = abs(off) <= value.pm
        out["text"] = (f"within the paper's ±{scale * value.pm:.2f}" if out["within"] else
                       f"{scale * abs(off):.2f}{unit} {'above' if off > 0 else 'below'} "
                       f"(outside ±{scale * value.pm:.2f})")
    else:
        out["text"] = f"{scale * abs(off):.2f}{unit} {'above' if off > 0 else 'below'} (the paper gives no ±)"
    return out


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------
def _series(data, where, axis, metric):
    rows = data.series(where, axis, metric)
    return [(x, s["mean"]) for x, s in rows if s["mean"] is not None]


def _missing(data, where) -> Outcome | None:
    found = data.find(where)
    if not found:
        return Outcome(None, f"no point matches {where}")
    bad = [d for d in found if not d.ran]
    if bad:
        return Outcome(None, bad[0].status)
    return None


def peak_within(data: ResultData, where: dict, axis: str, metric: str, low: float, high: float) -> Outcome:
    """The axis value where ``metric`` is largest lies in [low, high]."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = _series(data, where, axis, metric)
    x, best = max(s, key=lambda r: r[1])
    return Outcome(low <= x <= high, f"peak {fmt(best, metric)} at {_short(axis)} = {x:g}; "
                   + ", ".join(f"{v:g}: {fmt(m, metric, digits=1)}" for v, m in s))


def below_peak(data: ResultData, where: dict, axis: str, metric: str, at: list, margin: float) -> Outcome:
    """At each axis value of ``at``, ``metric`` is below the series' peak by at least ``margin``."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = dict(_series(data, where, axis, metric))
    peak = max(s.values())
    gaps = {a: peak - s[a] for a in at if a in s}
    return Outcome(bool(gaps) and all(g >= margin for g in gaps.values()),
                   ", ".join(f"{_short(axis)} = {a:g}: {fmt(peak - g, metric)} ({diff(g, metric)} below the peak)"
                             for a, g in gaps.items()))


def spread_within(data: ResultData, where: dict, axis: str, metric: str, tol: float, exclude=()) -> Outcome:
    """Across the axis (its values in ``exclude`` left out), ``metric`` varies by at most ``tol`` (max - min)."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = [(x, m) for x, m in _series(data, where, axis, metric) if x not in exclude]
    vals = [m for _, m in s]
    spread = max(vals) - min(vals)
    return Outcome(spread <= tol, f"spread {diff(spread, metric)} over {_short(axis)} = "
                   + ", ".join(f"{v:g}: {fmt(m, metric, digits=1)}" for v, m in s))


def trend(data: ResultData, where: dict, axis: str, metric: str, direction: str = "increasing",
          tol: float = 0.0) -> Outcome:
    """``metric`` rises (or falls) along the axis: every step goes that way, or back by at most ``tol``,
    and the last value is beyond the first."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = _series(data, where, axis, metric)
    sign = 1 if direction == "increasing" else -1
    steps = [sign * (b[1] - a[1]) for a, b in zip(s, s[1:])]
    ok = all(d >= -tol for d in steps) and sign * (s[-1][1] - s[0][1]) > 0
    return Outcome(ok, ", ".join(f"{_short(axis)} = {v:g}: {fmt(m, metric)}" for v, m in s))


def ordered(data: ResultData, a: dict, b: dict, metric: str, margin: float = 0.0) -> Outcome:
    """``metric`` at ``a`` exceeds that at ``b`` by more than ``margin``."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric)["mean"]
    return Outcome(x - y > margin, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric)}")


def close(data: ResultData, a: dict, b: dict, metric: str, tol: float, metric_b: str | None = None) -> Outcome:
    """``metric`` at ``a`` is within ``tol`` of ``metric_b`` (default the same) at ``b``."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric_b or metric)["mean"]
    return Outcome(abs(x - y) <= tol, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric)} "
                   f"(difference {diff(x - y, metric)})")


def not_below(data: ResultData, a: dict, b: dict, metric: str, tol: float, metric_b: str | None = None) -> Outcome:
    """``metric`` at ``a`` is at most ``tol`` below ``metric_b`` (default the same) at ``b`` (a task sharing
    modules learns about as well as alone)."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric_b or metric)["mean"]
    return Outcome(x >= y - tol, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric)} "
                   f"(difference {diff(x - y, metric)})")


def rises(data: ResultData, where: dict, column: str = "test_acc", gain: float = 0.05) -> Outcome:
    """Over training, the mean of ``column`` gains at least ``gain`` from the first epoch to its best."""
    miss = _missing(data, where)
    if miss:
        return miss
    parts, ok = [], True
    for d in data.find(where):
        c = d.curve(column)
        g = max(c["mean"]) - c["mean"][0]
        ok &= g >= gain
        parts.append(f"{d.point.label()}: epoch 1 {fmt(c['mean'][0], column)}, best {fmt(max(c['mean']), column)}")
    return Outcome(ok, "; ".join(parts))


def stable(data: ResultData, where: dict, metric: str = "test_acc", tol: float = 0.01,
           expect: bool = True) -> Outcome:
    """The last epoch is within ``tol`` of the best (``expect=False``: it fell further, the run declined)."""
    miss = _missing(data, where)
    if miss:
        return miss
    d = data.one(where)
    best, final = d.stats(f"best_{metric}")["mean"], d.stats(f"final_{metric}")["mean"]
    held = best - final <= tol
    return Outcome(held == expect, f"best {fmt(best, metric)}, last epoch {fmt(final, metric)}")


def drop_compare(data: ResultData, a_first: dict, a_last: dict, b_first: dict, b_last: dict, metric: str,
                 margin: float = 0.0) -> Outcome:
    """``metric`` falls more from ``a_first`` to ``a_last`` than from ``b_first`` to ``b_last`` (by more than
    ``margin``): e.g. FA loses more with depth than AP (Fig. 4d)."""
    vals = {}
    for name, w in (("a_first", a_first), ("a_last", a_last), ("b_first", b_first), ("b_last", b_last)):
        miss = _missing(data, w)
        if miss:
            return miss
        vals[name] = data.one(w).stats(metric)["mean"]
    da, db = vals["a_first"] - vals["a_last"], vals["b_first"] - vals["b_last"]
    return Outcome(da - db > margin, f"{_name(a_first)} -> {_name(a_last)}: {fmt(vals['a_first'], metric)} -> "
                   f"{fmt(vals['a_last'], metric)} (drop {diff(da, metric)}); {_name(b_first)} -> {_name(b_last)}: "
                   f"{fmt(vals['b_first'], metric)} -> {fmt(vals['b_last'], metric)} (drop {diff(db, metric)})")


def at_least(data: ResultData, where: dict, metric: str, value: float) -> Outcome:
    """``metric`` at every matching point is at least ``value``."""
    miss = _missing(data, where)
    if miss:
        return miss
    got = [(d.point.label(), d.stats(metric)["mean"]) for d in data.find(where)]
    return Outcome(all(v is not None and v >= value for _, v in got),
                   ", ".join(f"{n}: {fmt(v, metric)}" for n, v in got))


def at_most(data: ResultData, where: dict, metric: str, value: float) -> Outcome:
    """``metric`` at every matching point is at most ``value``."""
    miss = _missing(data, where)
    if miss:
        return miss
    got = [(d.point.label(), d.stats(metric)["mean"]) for d in data.find(where)]
    return Outcome(all(v is not None and v <= value for _, v in got),
                   ", ".join(f"{n}: {fmt(v, metric)}" for n, v in got))


def faster_to(data: ResultData, a: dict, b: dict, level: float = 0.95, factor: float = 1.0) -> Outcome:
    """``a`` reaches ``level`` x the lower of the two best test accuracies in less than ``factor`` x the
    training time ``b`` needs (Fig. 4b-c: accuracy against time)."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    ca, cb = data.one(a).time_curve(), data.one(b).time_curve()
    target = level * min(max(ca["mean"]), max(cb["mean"]))

    def when(c):
        return next((t for t, m in zip(c["seconds"], c["mean"]) if m >= target), math.inf)

    ta, tb = when(ca), when(cb)
    return Outcome(ta < factor * tb, f"to {fmt(target, 'acc')}: {_name(a)} {ta:.1f} s, {_name(b)} {tb:.1f} s")


def analysis_compare(data: ResultData, analysis: str, key: str, op: str, value: float,
                     x_min: float = -math.inf, x_max: float = math.inf, x: str = "sr") -> Outcome:
    """In an analysis' rows with ``x`` in [x_min, x_max], ``key`` is ``op`` (``<`` or ``>``) ``value``."""
    rows = data.analyses.get(analysis)
    if not rows:
        return Outcome(None, f"the {analysis} analysis did not run")
    sel = [r for r in rows if x_min <= r[x] <= x_max]
    ok = all((r[key] < value) if op == "<" else (r[key] > value) for r in sel)
    return Outcome(bool(sel) and ok, ", ".join(f"{x} = {r[x]:g}: {r[key]:.2f}" for r in sel))


def analysis_close(data: ResultData, analysis: str, a: str, b: str, tol: float, x: str = "sr",
                   x_max: float = math.inf) -> Outcome:
    """In an analysis' rows (``x`` up to ``x_max``), columns ``a`` and ``b`` differ by at most ``tol``."""
    rows = [r for r in data.analyses.get(analysis) or [] if r[x] <= x_max]
    if not rows:
        return Outcome(None, f"the {analysis} analysis did not run")
    worst = max(abs(r[a] - r[b]) for r in rows)
    return Outcome(worst <= tol, f"largest |{a} - {b}| = {worst:.3f} over {x} = "
                   + ", ".join(f"{r[x]:g}" for r in rows))


def psychometric(data: ResultData, where: dict, low: float = 0.2, high: float = 0.8) -> Outcome:
    """Each matching point's mean psychometric curve is below ``low`` at the leftmost tilt, above ``high``
    at the rightmost, and rises overall (an S from left to right)."""
    miss = _missing(data, where)
    if miss:
        return miss
    ok, parts = True, []
    for d in data.find(where):
        curves = [p["p_right"] for p in d.final_probes().values() if "p_right" in p]
        if not curves:
            return Outcome(None, "no psychometric curve was measured")
        mean = [stats(c[i] for c in curves)["mean"] for i in range(len(curves[0]))]
        ok &= mean[0] < low and mean[-1] > high and mean[-1] > mean[0]
        parts.append(f"{d.point.label()}: {mean[0]:.2f} at the left end, {mean[len(mean) // 2]:.2f} in the middle, "
                     f"{mean[-1]:.2f} at the right end")
    return Outcome(ok, "; ".join(parts))


def probe_values(d, key: str, which: str = "final") -> dict:
    """{name: stats over seeds} of a probe's dict ``key`` ({name: number}), at the last epoch or the mean
    (``which = "mean"``) or minimum (``"min"``) over the epochs."""
    per = {}
    for s in sorted(d.runs):
        ps = [p[key] for p in d.probes(s) if key in p]
        if not ps:
            continue
        for name in ps[-1]:
            vals = [p[name] for p in ps if name in p]
            v = vals[-1] if which == "final" else (sum(vals) / len(vals) if which == "mean" else min(vals))
            per.setdefault(name, []).append(v)
    return {k: stats(v) for k, v in per.items()}


def _probe_compare(data, where, key, names, value, which, above: bool, digits: int) -> Outcome:
    miss = _missing(data, where)
    if miss:
        return miss
    vals = probe_values(data.one(where), key, which)
    got = {n: vals[n]["mean"] for n in names if n in vals}
    ok = len(got) == len(names) and all((v >= value) if above else (v < value) for v in got.values())
    return Outcome(ok, ", ".join(f"{n}: {v:.{digits}f}" for n, v in got.items()) or f"no {key} measured")


def probe_at_least(data: ResultData, where: dict, key: str, names: list, value: float, which: str = "min") -> Outcome:
    """A probe's values ``key[name]`` (e.g. the cosines of Appendix 4) are at least ``value``."""
    return _probe_compare(data, where, key, names, value, which, True, 6)


def probe_below(data: ResultData, where: dict, key: str, names: list, value: float, which: str = "min") -> Outcome:
    """A probe's values ``key[name]`` are below ``value`` (they do change)."""
    return _probe_compare(data, where, key, names, value, which, False, 4)


def probe_trend(data: ResultData, where: dict, axis: str, key: str, direction: str = "increasing") -> Outcome:
    """A scalar probe value (its last epoch's ``key``) rises or falls along the axis."""
    return trend(data, where, axis, f"probe.{key}", direction)


def _short(key: str) -> str:
    from ..sweep.grid import axis_key
    from .plan import short

    return short(axis_key(key))


def _name(where: dict) -> str:
    from .plan import short
    from ..sweep.grid import axis_key

    def text(v):
        return "x".join(map(str, v)) if isinstance(v, (list, tuple)) else f"{v}"

    return " ".join(text(v) if k == "group" else f"{short(axis_key(k))}={text(v)}" for k, v in where.items())


CHECKS = {f.__name__: f for f in (peak_within, below_peak, spread_within, trend, ordered, close, not_below, rises,
                                   stable, drop_compare, at_least, at_most, faster_to, analysis_compare, analysis_close,
                                   psychometric, probe_at_least, probe_below, probe_trend)}


def run_check(claim, data: ResultData) -> dict:
    """``{what, check, source, holds, ours}`` of one claim; a check that cannot run says why."""
    try:
        o = CHECKS[claim.check](data, **claim.args)
    except (KeyError, ValueError, TypeError, ZeroDivisionError) as e:
        o = Outcome(None, f"could not check: {type(e).__name__}: {e}")
    return {"what": claim.what, "check": claim.check, "source": claim.source, "holds": o.holds, "ours": o.ours}


__all__ = ["CHECKS", "Outcome", "compare_value", "fmt", "probe_values", "run_check"]
