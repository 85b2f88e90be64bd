"""The paper's numbers and trends against ours.

:func:`compare_value` puts a paper value beside ours (mean ± sd over seeds)
and says whether ours is within the paper's ± or by how much it is off.
Each function of :data:`CHECKS` tests one kind of trend the paper states
(a peak, an ordering, a spread, a sign) on a :class:`~.measure.ResultData`;
a result file names the check and gives its arguments.  A check returns an
:class:`Outcome`: whether our means go the claimed way (``holds``: the point
estimate; None when a point it needs did not run), our numbers in words, and
the verdict of a stated statistical test over the seeds (``verdict``:
``holds``, ``fails`` or ``not resolved``; ``test``: the test and its numbers).

The test: each check states its claim as one or more contrasts of point means
(a - b - margin > 0, a single mean against a value, ...), and Welch's t over
the seeds (unequal variances, Welch-Satterthwaite degrees of freedom,
one-sided at :data:`ALPHA`) decides each.  A claim *holds* when every
contrast it needs is significantly the right way, *fails* when one is
significantly the wrong way, and is *not resolved at this scale (n = k)*
otherwise (k the seeds per point): a difference inside the seed noise is
never called a trend.  With one seed there is no variance: nothing is
resolved.  Where a slack (``tol``, ``margin``) is part of the claim, the
outcome says what the check can detect.

Every claim also has a kind (:data:`KINDS`): ``paper`` (the paper states it,
and our run could contradict it), ``construction`` (true by the wiring or
the maths) or ``ours`` (our diagnostic).  Only ``paper`` claims count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..analysis.stats import mean_sd
from .errors import PaperError
from .measure import ResultData, stats


#: One-sided significance level of every test.
ALPHA = 0.05
#: The kinds of claim: only ``paper`` claims count in the report's summary.
KINDS = ("paper", "construction", "ours")
HOLDS, FAILS, UNRESOLVED, NOT_RUN = "holds", "fails", "not resolved", "not run"


@dataclass(frozen=True)
class Outcome:
    """``holds``: the point estimate (our means go the claimed way); ``verdict``: the test's decision
    (:data:`HOLDS`, :data:`FAILS` or :data:`UNRESOLVED`; None: the check has no test and the point estimate
    stands, said in ``test``); ``test``: the test, in words, with its numbers; ``n``: seeds per point."""

    holds: bool | None
    ours: str
    verdict: str | None = None
    test: str = ""
    n: int | None = None


# ---------------------------------------------------------------------------
# Welch's t over seeds
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Contrast:
    """``sum(c_i * mean_i) + offset`` over independent samples, its standard error and Welch's df."""

    est: float
    se: float
    df: float
    n: int  # the smallest sample

    @classmethod
    def of(cls, terms, offset: float = 0.0) -> "Contrast":
        """``terms``: [(coefficient, values over seeds)]."""
        est, var, den, n = offset, 0.0, 0.0, None
        for c, vals in terms:
            v = [float(x) for x in vals if x is not None and math.isfinite(float(x))]
            k = len(v)
            n = k if n is None else min(n, k)
            if k == 0:
                return cls(float("nan"), float("nan"), 0.0, 0)
            m, sd = mean_sd(v)
            est += c * m
            s2 = sd * sd if k > 1 else float("nan")
            part = c * c * s2 / k
            var += part
            den += part * part / (k - 1) if k > 1 else float("nan")
        se = math.sqrt(var) if var == var else float("nan")
        df = (var * var / den) if (den == den and den > 0) else (float("inf") if var == 0 else float("nan"))
        return cls(est, se, df, n or 0)

    def p_above(self) -> float:
        """One-sided p of ``est > 0`` (nan: no variance to test with)."""
        if self.n < 2 or self.est != self.est:
            return float("nan")
        if self.se == 0:
            return 0.0 if self.est > 0 else 1.0
        from scipy.stats import t

        return float(t.sf(self.est / self.se, self.df))

    def p_below(self) -> float:
        if self.n < 2 or self.est != self.est:
            return float("nan")
        if self.se == 0:
            return 0.0 if self.est < 0 else 1.0
        from scipy.stats import t

        return float(t.cdf(self.est / self.se, self.df))

    def above(self) -> bool:
        return self.p_above() < ALPHA

    def below(self) -> bool:
        return self.p_below() < ALPHA

    def t_crit(self) -> float:
        """The one-sided critical t at :data:`ALPHA` for this contrast's df."""
        if not (self.df == self.df) or self.df <= 0:
            return float("nan")
        from scipy.stats import t

        return float(t.ppf(1 - ALPHA, self.df))


def decide(right: list, wrong: list, n: int) -> str:
    """The verdict of a claim that needs every contrast of ``right`` significantly > 0, and fails when any of
    ``wrong`` is significantly > 0."""
    if any(c.above() for c in wrong):
        return FAILS
    if right and all(c.above() for c in right):
        return HOLDS
    return UNRESOLVED


def _pdesc(c: Contrast, metric: str = "") -> str:
    p = c.p_above()
    ps = "n/a" if p != p else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")
    return f"{diff(c.est, metric)} ± {diff(c.se, metric)} (df {c.df:.1f}, p {ps})" if c.se == c.se else \
        f"{diff(c.est, metric)} (no variance with n = {c.n})"


def _welch(what: str) -> str:
    return f"Welch's t over seeds, one-sided, alpha = {ALPHA}: {what}"


def _vals(data: ResultData, where: dict, metric: str) -> list:
    return data.one(where).stats(metric)["values"]


def _n(data: ResultData, wheres) -> int:
    return min((len(data.one(w).runs) for w in wheres), default=0)


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


def _points(data, where, axis):
    """[(axis value, PointData)] of the matching points that ran, sorted by the axis value."""
    from .measure import _sort_key
    from ..sweep.grid import axis_key

    rows = [(d.point.value(axis_key(axis)), d) for d in data.find(where) if d.ran]
    return sorted(rows, key=lambda r: _sort_key(r[0]))


def _resolution(verdict: str, n: int) -> str:
    return f"{verdict} at this scale (n = {n})" if verdict == UNRESOLVED else verdict


def peak_within(data: ResultData, where: dict, axis: str, metric: str, low: float, high: float) -> Outcome:
    """The axis value where ``metric`` is largest lies in [low, high].

    Test: the best point inside the range against the best outside it (Welch); holds when inside is
    significantly higher, fails when outside is."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = _series(data, where, axis, metric)
    x, best = max(s, key=lambda r: r[1])
    ours = (f"peak {fmt(best, metric)} at {_short(axis)} = {x:g}; "
            + ", ".join(f"{v:g}: {fmt(m, metric, digits=1)}" for v, m in s))
    pts = _points(data, where, axis)
    inside = [(v, d) for v, d in pts if low <= v <= high]
    outside = [(v, d) for v, d in pts if not low <= v <= high]
    n = min(len(d.runs) for _, d in pts)
    if not inside or not outside:
        return Outcome(low <= x <= high, ours, HOLDS if inside else FAILS,
                       "every point is " + ("inside" if inside else "outside") + " the range: no test needed", n)
    bi = max(inside, key=lambda r: r[1].stats(metric)["mean"])
    bo = max(outside, key=lambda r: r[1].stats(metric)["mean"])
    c = Contrast.of([(1, bi[1].stats(metric)["values"]), (-1, bo[1].stats(metric)["values"])])
    verdict = decide([c], [Contrast.of([(-1, bi[1].stats(metric)["values"]), (1, bo[1].stats(metric)["values"])])],
                     n)
    return Outcome(low <= x <= high, ours, verdict,
                   _welch(f"best inside ({_short(axis)} = {bi[0]:g}) minus best outside ({bo[0]:g}): "
                          f"{_pdesc(c, metric)}"), n)


def below_peak(data: ResultData, where: dict, axis: str, metric: str, at: list, margin: float) -> Outcome:
    """At each axis value of ``at``, ``metric`` is below the series' peak by at least ``margin``.

    Test: peak - point - margin > 0 for each (Welch)."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = dict(_series(data, where, axis, metric))
    peak = max(s.values())
    gaps = {a: peak - s[a] for a in at if a in s}
    ours = ", ".join(f"{_short(axis)} = {a:g}: {fmt(peak - g, metric)} ({diff(g, metric)} below the peak)"
                     for a, g in gaps.items())
    pts = dict(_points(data, where, axis))
    pk = max(pts.items(), key=lambda r: r[1].stats(metric)["mean"])
    n = min(len(d.runs) for d in pts.values())
    right, wrong, parts = [], [], []
    for a in gaps:
        pv, av = pk[1].stats(metric)["values"], pts[a].stats(metric)["values"]
        c = Contrast.of([(1, pv), (-1, av)], -margin)
        right.append(c)
        wrong.append(Contrast.of([(-1, pv), (1, av)], margin))
        parts.append(f"{_short(axis)} = {a:g}: {_pdesc(c, metric)}")
    return Outcome(bool(gaps) and all(g >= margin for g in gaps.values()), ours, decide(right, wrong, n),
                   _welch(f"peak minus point minus {diff(margin, metric)}: " + "; ".join(parts)), n)


def spread_within(data: ResultData, where: dict, axis: str, metric: str, tol: float, exclude=()) -> Outcome:
    """Across the axis (its values in ``exclude`` left out), ``metric`` varies by at most ``tol`` (max - min).

    Test: tol - (highest - lowest point) > 0 (Welch on those two points; holds needs it significant, so a
    spread is called small only when the seeds resolve it)."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = [(x, m) for x, m in _series(data, where, axis, metric) if x not in exclude]
    vals = [m for _, m in s]
    spread = max(vals) - min(vals)
    ours = (f"spread {diff(spread, metric)} over {_short(axis)} = "
            + ", ".join(f"{v:g}: {fmt(m, metric, digits=1)}" for v, m in s))
    pts = [(v, d) for v, d in _points(data, where, axis) if v not in exclude]
    hi = max(pts, key=lambda r: r[1].stats(metric)["mean"])[1].stats(metric)["values"]
    lo = min(pts, key=lambda r: r[1].stats(metric)["mean"])[1].stats(metric)["values"]
    n = min(len(d.runs) for _, d in pts)
    c = Contrast.of([(-1, hi), (1, lo)], tol)
    return Outcome(spread <= tol, ours, decide([c], [Contrast.of([(1, hi), (-1, lo)], -tol)], n),
                   _welch(f"{diff(tol, metric)} minus (highest - lowest): {_pdesc(c, metric)}"), n)


def trend(data: ResultData, where: dict, axis: str, metric: str, direction: str = "increasing",
          tol: float = 0.0) -> Outcome:
    """``metric`` rises (or falls) along the axis: every step goes that way, or back by at most ``tol``,
    and the last value is beyond the first.

    Test: last minus first significantly the claimed way, and no step significantly back by more than
    ``tol`` (Welch); fails when a step goes significantly back beyond ``tol`` or the last is significantly
    on the wrong side of the first."""
    miss = _missing(data, where)
    if miss:
        return miss
    s = _series(data, where, axis, metric)
    sign = 1 if direction == "increasing" else -1
    steps = [sign * (b[1] - a[1]) for a, b in zip(s, s[1:])]
    ok = all(d >= -tol for d in steps) and sign * (s[-1][1] - s[0][1]) > 0
    ours = ", ".join(f"{_short(axis)} = {v:g}: {fmt(m, metric)}" for v, m in s)
    pts = _points(data, where, axis)
    vals = [d.stats(metric)["values"] for _, d in pts]
    n = min(len(d.runs) for _, d in pts)
    if len(vals) < 2:
        return Outcome(ok, ours, UNRESOLVED, "one point: no trend to test", n)
    overall = Contrast.of([(sign, vals[-1]), (-sign, vals[0])])
    back = [Contrast.of([(-sign, b), (sign, a)], -tol) for a, b in zip(vals, vals[1:])]
    verdict = decide([overall], [Contrast.of([(-sign, vals[-1]), (sign, vals[0])])] + back, n)
    worst = max(back, key=lambda c: c.est)
    return Outcome(ok, ours, verdict,
                   _welch(f"last minus first ({direction}): {_pdesc(overall, metric)}; largest step back beyond "
                          f"{diff(tol, metric)}: {_pdesc(worst, metric)}"), n)


def _two(data, a, b, metric, metric_b=None):
    return _vals(data, a, metric), _vals(data, b, metric_b or metric), _n(data, (a, b))


def ordered(data: ResultData, a: dict, b: dict, metric: str, margin: float = 0.0) -> Outcome:
    """``metric`` at ``a`` exceeds that at ``b`` by more than ``margin``.  Test: a - b - margin > 0 (Welch)."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric)["mean"]
    va, vb, n = _two(data, a, b, metric)
    c = Contrast.of([(1, va), (-1, vb)], -margin)
    return Outcome(x - y > margin, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric)}",
                   decide([c], [Contrast.of([(-1, va), (1, vb)], margin)], n),
                   _welch(f"a - b - {diff(margin, metric)}: {_pdesc(c, metric)}"), n)


def close(data: ResultData, a: dict, b: dict, metric: str, tol: float, metric_b: str | None = None) -> Outcome:
    """``metric`` at ``a`` is within ``tol`` of ``metric_b`` (default the same) at ``b``.

    Test: two one-sided tests (equivalence): holds when a - b is significantly above -tol and below +tol;
    fails when |a - b| is significantly above tol."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric_b or metric)["mean"]
    va, vb, n = _two(data, a, b, metric, metric_b)
    lo = Contrast.of([(1, va), (-1, vb)], tol)  # a - b + tol > 0
    hi = Contrast.of([(-1, va), (1, vb)], tol)  # tol - (a - b) > 0
    out_hi = Contrast.of([(1, va), (-1, vb)], -tol)
    out_lo = Contrast.of([(-1, va), (1, vb)], -tol)
    return Outcome(abs(x - y) <= tol, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric_b or metric)} "
                   f"(difference {diff(x - y, metric)})", decide([lo, hi], [out_hi, out_lo], n),
                   _welch(f"equivalence within ±{diff(tol, metric)} (two one-sided tests): a - b + tol: "
                          f"{_pdesc(lo, metric)}; tol - (a - b): {_pdesc(hi, metric)}"), n)


def not_below(data: ResultData, a: dict, b: dict, metric: str, tol: float, metric_b: str | None = None) -> Outcome:
    """``metric`` at ``a`` is at most ``tol`` below ``metric_b`` (default the same) at ``b`` (a task sharing
    modules learns about as well as alone).

    Test: a - b + tol > 0 (Welch; non-inferiority with margin ``tol``).  It can fail only on a shortfall of
    more than ``tol``: the outcome says the smallest shortfall these seeds could detect."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    x, y = data.one(a).stats(metric)["mean"], data.one(b).stats(metric_b or metric)["mean"]
    va, vb, n = _two(data, a, b, metric, metric_b)
    c = Contrast.of([(1, va), (-1, vb)], tol)
    detect = tol + c.t_crit() * c.se if c.se == c.se else float("nan")
    return Outcome(x >= y - tol, f"{_name(a)}: {fmt(x, metric)}, {_name(b)}: {fmt(y, metric_b or metric)} "
                   f"(difference {diff(x - y, metric)})",
                   decide([c], [Contrast.of([(-1, va), (1, vb)], -tol)], n),
                   _welch(f"a - b + {diff(tol, metric)}: {_pdesc(c, metric)}. With this slack the check can "
                          f"detect only a shortfall of more than {diff(tol, metric)}; with these seeds one of more "
                          f"than about {diff(detect, metric)} would be called a failure, and smaller differences "
                          f"(the paper's are 0.1-0.3 points) are not tested"), n)


def rises(data: ResultData, where: dict, column: str = "test_acc", gain: float = 0.05) -> Outcome:
    """Over training, the mean of ``column`` gains at least ``gain`` from the first epoch to its best.

    Test: per seed, best minus first epoch minus ``gain`` > 0 (one-sample t)."""
    miss = _missing(data, where)
    if miss:
        return miss
    parts, ok, right, wrong = [], True, [], []
    for d in data.find(where):
        c = d.curve(column)
        g = max(c["mean"]) - c["mean"][0]
        ok &= g >= gain
        parts.append(f"{d.point.label()}: epoch 1 {fmt(c['mean'][0], column)}, best {fmt(max(c['mean']), column)}")
        per = [max(v for v in (_f(r.get(column)) for r in rs) if v is not None)
               - next(v for v in (_f(r.get(column)) for r in rs) if v is not None) for rs in d.runs.values()]
        right.append(Contrast.of([(1, per)], -gain))
        wrong.append(Contrast.of([(-1, per)], gain))
    n = min(c.n for c in right)
    return Outcome(ok, "; ".join(parts), decide(right, wrong, n),
                   _welch(f"best minus first epoch minus {diff(gain, column)}: "
                          + "; ".join(_pdesc(c, column) for c in right)), n)


def _f(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def stable(data: ResultData, where: dict, metric: str = "test_acc", tol: float = 0.01,
           expect: bool = True) -> Outcome:
    """The last epoch is within ``tol`` of the best (``expect=False``: it fell further, the run declined).

    Test: per seed, tol - (best - last) > 0 (or < 0 with ``expect=False``; one-sample t)."""
    miss = _missing(data, where)
    if miss:
        return miss
    d = data.one(where)
    best, final = d.stats(f"best_{metric}")["mean"], d.stats(f"final_{metric}")["mean"]
    held = best - final <= tol
    b, f = d.per_seed(f"best_{metric}"), d.per_seed(f"final_{metric}")
    drop = [b[s] - f[s] for s in b if b[s] is not None and f.get(s) is not None]
    kept = Contrast.of([(-1, drop)], tol)
    fell = Contrast.of([(1, drop)], -tol)
    right, wrong = ([kept], [fell]) if expect else ([fell], [kept])
    return Outcome(held == expect, f"best {fmt(best, metric)}, last epoch {fmt(final, metric)}",
                   decide(right, wrong, len(drop)),
                   _welch(f"{diff(tol, metric)} minus (best - last) over seeds: {_pdesc(kept, metric)}"), len(drop))


def drop_compare(data: ResultData, a_first: dict, a_last: dict, b_first: dict, b_last: dict, metric: str,
                 margin: float = 0.0) -> Outcome:
    """``metric`` falls more from ``a_first`` to ``a_last`` than from ``b_first`` to ``b_last`` (by more than
    ``margin``): e.g. FA loses more with depth than AP (Fig. 4d).  Test: the contrast
    (a_first - a_last) - (b_first - b_last) - margin > 0 over four independent points (Welch)."""
    vals = {}
    for name, w in (("a_first", a_first), ("a_last", a_last), ("b_first", b_first), ("b_last", b_last)):
        miss = _missing(data, w)
        if miss:
            return miss
        vals[name] = data.one(w).stats(metric)["mean"]
    da, db = vals["a_first"] - vals["a_last"], vals["b_first"] - vals["b_last"]
    v = [_vals(data, w, metric) for w in (a_first, a_last, b_first, b_last)]
    n = _n(data, (a_first, a_last, b_first, b_last))
    c = Contrast.of([(1, v[0]), (-1, v[1]), (-1, v[2]), (1, v[3])], -margin)
    w = Contrast.of([(-1, v[0]), (1, v[1]), (1, v[2]), (-1, v[3])], margin)
    return Outcome(da - db > margin, f"{_name(a_first)} -> {_name(a_last)}: {fmt(vals['a_first'], metric)} -> "
                   f"{fmt(vals['a_last'], metric)} (drop {diff(da, metric)}); {_name(b_first)} -> {_name(b_last)}: "
                   f"{fmt(vals['b_first'], metric)} -> {fmt(vals['b_last'], metric)} (drop {diff(db, metric)})",
                   decide([c], [w], n), _welch(f"difference of the drops minus {diff(margin, metric)}: "
                                               f"{_pdesc(c, metric)}"), n)


def _each_vs(data, where, metric, value, above: bool):
    right, wrong = [], []
    for d in data.find(where):
        v = d.stats(metric)["values"]
        right.append(Contrast.of([(1 if above else -1, v)], -value if above else value))
        wrong.append(Contrast.of([(-1 if above else 1, v)], value if above else -value))
    n = min((c.n for c in right), default=0)
    return decide(right, wrong, n), right, n


def at_least(data: ResultData, where: dict, metric: str, value: float) -> Outcome:
    """``metric`` at every matching point is at least ``value``.  Test: mean - value > 0 at each (one-sample t)."""
    miss = _missing(data, where)
    if miss:
        return miss
    got = [(d.point.label(), d.stats(metric)["mean"]) for d in data.find(where)]
    verdict, cs, n = _each_vs(data, where, metric, value, True)
    return Outcome(all(v is not None and v >= value for _, v in got),
                   ", ".join(f"{n_}: {fmt(v, metric)}" for n_, v in got), verdict,
                   _welch(f"mean minus {fmt(value, metric)}: " + "; ".join(_pdesc(c, metric) for c in cs)), n)


def at_most(data: ResultData, where: dict, metric: str, value: float) -> Outcome:
    """``metric`` at every matching point is at most ``value``.  Test: value - mean > 0 at each (one-sample t)."""
    miss = _missing(data, where)
    if miss:
        return miss
    got = [(d.point.label(), d.stats(metric)["mean"]) for d in data.find(where)]
    verdict, cs, n = _each_vs(data, where, metric, value, False)
    return Outcome(all(v is not None and v <= value for _, v in got),
                   ", ".join(f"{n_}: {fmt(v, metric)}" for n_, v in got), verdict,
                   _welch(f"{fmt(value, metric)} minus mean: " + "; ".join(_pdesc(c, metric) for c in cs)), n)


def faster_to(data: ResultData, a: dict, b: dict, level: float = 0.95, factor: float = 1.0) -> Outcome:
    """``a`` reaches ``level`` x the lower of the two best test accuracies in less than ``factor`` x the
    training time ``b`` needs (Fig. 4b-c: accuracy against time).

    Test: per seed, the time each run first reaches the target; factor x t_b - t_a > 0 (Welch; a seed that
    never reaches it counts as its whole training time)."""
    for w in (a, b):
        miss = _missing(data, w)
        if miss:
            return miss
    ca, cb = data.one(a).time_curve(), data.one(b).time_curve()
    target = level * min(max(ca["mean"]), max(cb["mean"]))

    def when(c):
        return next((t for t, m in zip(c["seconds"], c["mean"]) if m >= target), math.inf)

    def per_seed(d):
        out = []
        for rs in d.runs.values():
            t, hit = 0.0, None
            for r in rs:
                t += _f(r.get("seconds")) or 0.0
                v = _f(r.get("test_acc"))
                if hit is None and v is not None and v >= target:
                    hit = t
            out.append(hit if hit is not None else t)
        return out

    ta, tb = when(ca), when(cb)
    sa, sb = per_seed(data.one(a)), per_seed(data.one(b))
    n = min(len(sa), len(sb))
    c = Contrast.of([(factor, sb), (-1, sa)])
    return Outcome(ta < factor * tb, f"to {fmt(target, 'acc')}: {_name(a)} {ta:.1f} s, {_name(b)} {tb:.1f} s",
                   decide([c], [Contrast.of([(-factor, sb), (1, sa)])], n),
                   _welch(f"{factor:g} x time of b minus time of a, in seconds: {_pdesc(c)}"), n)


def analysis_compare(data: ResultData, analysis: str, key: str, op: str, value: float,
                     x_min: float = -math.inf, x_max: float = math.inf, x: str = "sr") -> Outcome:
    """In an analysis' rows with ``x`` in [x_min, x_max], ``key`` is ``op`` (``<`` or ``>``) ``value``.

    No test over seeds: the analysis is one computation (its own trials averaged); the point estimate
    decides, and the outcome says so."""
    rows = data.analyses.get(analysis)
    if not rows:
        return Outcome(None, f"the {analysis} analysis did not run")
    sel = [r for r in rows if x_min <= r[x] <= x_max]
    ok = bool(sel) and all((r[key] < value) if op == "<" else (r[key] > value) for r in sel)
    return Outcome(ok, ", ".join(f"{x} = {r[x]:g}: {r[key]:.2f}" for r in sel), None,
                   f"no test over seeds: one computation of the {analysis} analysis decides")


def analysis_close(data: ResultData, analysis: str, a: str, b: str, tol: float, x: str = "sr",
                   x_max: float = math.inf) -> Outcome:
    """In an analysis' rows (``x`` up to ``x_max``), columns ``a`` and ``b`` differ by at most ``tol``.

    No test over seeds (see :func:`analysis_compare`)."""
    rows = [r for r in data.analyses.get(analysis) or [] if r[x] <= x_max]
    if not rows:
        return Outcome(None, f"the {analysis} analysis did not run")
    worst = max(abs(r[a] - r[b]) for r in rows)
    return Outcome(worst <= tol, f"largest |{a} - {b}| = {worst:.3f} over {x} = "
                   + ", ".join(f"{r[x]:g}" for r in rows), None,
                   f"no test over seeds: one computation of the {analysis} analysis decides")


def _rows(data, analysis, rows):
    out = data.analyses.get(analysis)
    if isinstance(out, dict):
        out = out.get(rows)
    return out or None


def analysis_seeds(data: ResultData, analysis: str, rows: str, key: str, op: str, value: float,
                   x: str | None = None, x_min: float = -math.inf, x_max: float = math.inf) -> Outcome:
    """In an analysis' ``rows`` (one per seed, and per value of ``x``), ``key`` is ``op`` (``<``, ``>``)
    ``value`` at every ``x`` in [x_min, x_max].  Test: one-sample t over the seeds at each ``x``."""
    got = _rows(data, analysis, rows)
    if not got:
        return Outcome(None, f"the {analysis} analysis did not run")
    xs = sorted({r[x] for r in got if x_min <= r[x] <= x_max}) if x else [None]
    above = op == ">"
    right, wrong, parts, ok = [], [], [], True
    for xv in xs:
        vals = [r[key] for r in got if x is None or r[x] == xv]
        m = sum(vals) / len(vals)
        ok &= (m > value) if above else (m < value)
        sg = 1 if above else -1
        right.append(Contrast.of([(sg, vals)], -sg * value))
        wrong.append(Contrast.of([(-sg, vals)], sg * value))
        parts.append((f"{x} = {xv:g}: " if x else "") + f"{m:.3g}")
    n = min(c.n for c in right)
    return Outcome(bool(xs) and ok, ", ".join(parts) + f" ({key}, mean over {n} seeds)", decide(right, wrong, n),
                   _welch(f"{key} {op} {value:g} at each {x or 'point'}: "
                          + "; ".join(_pdesc(c) for c in right)), n)


def analysis_seed_trend(data: ResultData, analysis: str, rows: str, key: str, x: str,
                        direction: str = "increasing") -> Outcome:
    """In an analysis' ``rows`` (one per seed and ``x``), ``key`` rises (falls) from the first ``x`` to the last.
    Test: Welch over seeds on last minus first."""
    got = _rows(data, analysis, rows)
    if not got:
        return Outcome(None, f"the {analysis} analysis did not run")
    xs = sorted({r[x] for r in got})
    by = {xv: [r[key] for r in got if r[x] == xv] for xv in xs}
    sign = 1 if direction == "increasing" else -1
    means = [(xv, sum(v) / len(v)) for xv, v in by.items()]
    ok = sign * (means[-1][1] - means[0][1]) > 0
    c = Contrast.of([(sign, by[xs[-1]]), (-sign, by[xs[0]])])
    n = c.n
    return Outcome(ok, ", ".join(f"{x} = {xv:g}: {m:.3f}" for xv, m in means),
                   decide([c], [Contrast.of([(-sign, by[xs[-1]]), (sign, by[xs[0]])])], n),
                   _welch(f"last minus first ({direction}): {_pdesc(c)}"), n)


def near_best_share(data: ResultData, groups: list, metric: str = "best_test_acc", margin: float = 0.05) -> Outcome:
    """The share of a group's points within ``margin`` of that group's best falls from the first group of
    ``groups`` to the last (fewer settings learn well).  Per seed: the share among that seed's runs.
    Test: Welch over seeds on first share minus last share."""
    shares, parts = {}, []
    for g in groups:
        miss = _missing(data, {"group": g})
        if miss:
            return miss
        pts = data.find({"group": g})
        per = [d.per_seed(metric) for d in pts]
        seeds = sorted(set.intersection(*(set(p) for p in per)))
        sh = []
        for s in seeds:
            v = [p[s] for p in per if p[s] is not None]
            sh.append(sum(x >= max(v) - margin for x in v) / len(v))
        shares[g] = sh
        parts.append(f"{g}: {100 * sum(sh) / len(sh):.0f} % of {len(pts)} points")
    a, b = shares[groups[0]], shares[groups[-1]]
    c = Contrast.of([(1, a), (-1, b)])
    return Outcome(sum(a) / len(a) > sum(b) / len(b), ", ".join(parts) + f" within {diff(margin, metric)} of the best",
                   decide([c], [Contrast.of([(-1, a), (1, b)])], c.n),
                   _welch(f"share at {groups[0]} minus share at {groups[-1]}: {_pdesc(c)}"), c.n)


def psychometric(data: ResultData, where: dict, low: float = 0.2, high: float = 0.8) -> Outcome:
    """Each matching point's mean psychometric curve is below ``low`` at the leftmost tilt, above ``high``
    at the rightmost, and rises overall (an S from left to right).

    Test: over seeds, low - left end > 0 and right end - high > 0 at each point (one-sample t)."""
    miss = _missing(data, where)
    if miss:
        return miss
    ok, parts, right, wrong = True, [], [], []
    for d in data.find(where):
        curves = [p["p_right"] for p in d.final_probes().values() if "p_right" in p]
        if not curves:
            return Outcome(None, "no psychometric curve was measured")
        mean = [stats(c[i] for c in curves)["mean"] for i in range(len(curves[0]))]
        ok &= mean[0] < low and mean[-1] > high and mean[-1] > mean[0]
        parts.append(f"{d.point.label()}: {mean[0]:.2f} at the left end, {mean[len(mean) // 2]:.2f} in the middle, "
                     f"{mean[-1]:.2f} at the right end")
        left, rgt = [c[0] for c in curves], [c[-1] for c in curves]
        right += [Contrast.of([(-1, left)], low), Contrast.of([(1, rgt)], -high)]
        wrong += [Contrast.of([(1, left)], -low), Contrast.of([(-1, rgt)], high)]
    n = min(c.n for c in right)
    return Outcome(ok, "; ".join(parts), decide(right, wrong, n),
                   _welch(f"left end below {low:g} and right end above {high:g} at each point"), n)


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
    sg = 1 if above else -1
    right = [Contrast.of([(sg, vals[n]["values"])], -sg * value) for n in got]
    wrong = [Contrast.of([(-sg, vals[n]["values"])], sg * value) for n in got]
    n = min((c.n for c in right), default=0)
    verdict = decide(right, wrong, n) if len(got) == len(names) else UNRESOLVED
    if above:  # "at least": a value equal to the bound in every seed (an exact cosine of 1) holds
        exact = [c for c in right if c.se == 0 and c.est == 0]
        if got and len(got) == len(names) and all(c.above() or c in exact for c in right):
            verdict = HOLDS
    return Outcome(ok, ", ".join(f"{n}: {v:.{digits}f}" for n, v in got.items()) or f"no {key} measured", verdict,
                   _welch(f"{'mean - ' if above else ''}{value:g}{'' if above else ' - mean'} per probe value"), n)


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
                                   psychometric, probe_at_least, probe_below, probe_trend, analysis_seeds,
                                   analysis_seed_trend, near_best_share)}


def run_check(claim, data: ResultData) -> dict:
    """``{what, check, kind, source, holds, verdict, test, estimate, ours, n}`` of one claim; a check that cannot
    run says why.

    ``verdict`` is the test's (see the module's docstring): ``holds``, ``fails``, ``not resolved at this scale
    (n = k)`` or ``not run``; ``holds`` is True / False / None with it; ``estimate`` says whether our means
    alone go the claimed way (what ``holds`` meant before the tests)."""
    try:
        o = CHECKS[claim.check](data, **claim.args)
    except (KeyError, ValueError, TypeError, ZeroDivisionError, PaperError) as e:
        o = Outcome(None, f"could not check: {type(e).__name__}: {e}")
    if o.holds is None:
        verdict = NOT_RUN
    elif o.verdict is None:  # no test: the point estimate stands (said in o.test)
        verdict = HOLDS if o.holds else FAILS
    else:
        verdict = o.verdict
    return {"what": claim.what, "check": claim.check, "kind": getattr(claim, "kind", "paper"),
            "source": claim.source, "holds": {HOLDS: True, FAILS: False}.get(verdict),
            "verdict": _resolution(verdict, o.n or 0) if verdict == UNRESOLVED else verdict,
            "test": o.test, "estimate": o.holds, "ours": o.ours, "n": o.n}


__all__ = ["ALPHA", "CHECKS", "Contrast", "KINDS", "Outcome", "compare_value", "decide", "fmt", "probe_values",
           "run_check"]
