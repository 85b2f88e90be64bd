"""From the results table to each point's numbers: per seed, then mean ± sd over seeds.

:class:`PointData` holds one point's rows, by seed and epoch, and turns them
into metrics:

* ``best_<column>`` / ``final_<column>``: the largest / last value over the
  epochs of a row column (``test_acc``, ``A_test_acc``, ...).  The authors'
  notebooks report the best epoch's test accuracy, averaged over seeds
  (AP_demo.ipynb cell 7, the Fig. 5 and 2AFC notebooks), so ``best_test_acc``
  is the paper's accuracy;
* ``seconds``: training time summed over the epochs;
* ``ftmle``: the reservoirs' finite-time MLE (a sweep column);
* ``probe.<key>``: a scalar a probe gave at the last epoch.

:class:`ResultData` holds every point of a result and the in-process
analyses, and finds points by group and axis values (``where``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from ..analysis.stats import mean_sd
from ..sweep.grid import axis_key
from .errors import PaperError


def stats(values) -> dict:
    """``{mean, sd, n, values}`` over the finite values (sd with n - 1; 0 for one value)."""
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    if not v:
        return {"mean": None, "sd": None, "n": 0, "values": []}
    m, sd = mean_sd(v)
    return {"mean": m, "sd": sd, "n": len(v), "values": v}


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass
class PointData:
    """One point's rows: ``runs`` maps each seed to its rows in epoch order.

    ``status`` is ``done`` (every seed finished), ``not run: ...`` (its data is
    missing here), ``error: ...`` or ``missing`` (not trained yet).
    """

    point: object  # PaperPoint
    status: str = "missing"
    runs: dict = field(default_factory=dict)

    @classmethod
    def from_rows(cls, point, rows, seeds, why: str | None = None) -> "PointData":
        if why:
            return cls(point, why)
        runs = {}
        for r in rows:
            runs.setdefault(int(r["seed"]), []).append(r)
        runs = {s: sorted(rs, key=lambda r: _num(r.get("epoch")) or 0) for s, rs in runs.items() if s in seeds}
        errors = [rs[0].get("message") for rs in runs.values() if rs and rs[0].get("status") == "error"]
        if errors:
            return cls(point, f"error: {errors[0]}", runs)
        status = "done" if runs and all(s in runs for s in seeds) else "missing"
        return cls(point, status, runs)

    @property
    def ran(self) -> bool:
        return self.status == "done"

    @property
    def diverged(self) -> list:
        """Seeds whose run diverged (their numbers are those of the last good weights)."""
        return [s for s, rs in self.runs.items() if rs and rs[-1].get("status") == "diverged"]

    def per_seed(self, metric: str) -> dict:
        """{seed: value} of ``metric`` (see the module's docstring)."""
        out = {}
        for s, rs in sorted(self.runs.items()):
            rs = [r for r in rs if _num(r.get("epoch")) is not None]
            if not rs:
                continue
            if metric == "seconds":
                out[s] = sum(_num(r.get("seconds")) or 0.0 for r in rs)
            elif metric == "epochs":
                out[s] = float(len(rs))
            elif metric.startswith("probe."):
                p = self.probes(s)
                v = p[-1].get(metric[6:]) if p else None
                out[s] = _num(v)
            elif metric.startswith(("best_", "final_")):
                agg, _, col = metric.partition("_")
                vals = [_num(r.get(col)) for r in rs]
                vals = [v for v in vals if v is not None]
                out[s] = (max(vals) if agg == "best" else vals[-1]) if vals else None
            else:
                out[s] = _num(rs[-1].get(metric))
        return out

    def stats(self, metric: str) -> dict:
        return stats(self.per_seed(metric).values())

    def curve(self, column: str) -> dict:
        """Mean ± sd over seeds of a column at each epoch: ``{epoch: [...], mean: [...], sd: [...]}``."""
        by_epoch = {}
        for rs in self.runs.values():
            for r in rs:
                e, v = _num(r.get("epoch")), _num(r.get(column))
                if e is not None and v is not None:
                    by_epoch.setdefault(int(e), []).append(v)
        epochs = sorted(by_epoch)
        st = [stats(by_epoch[e]) for e in epochs]
        return {"epoch": epochs, "mean": [s["mean"] for s in st], "sd": [s["sd"] for s in st]}

    def time_curve(self, column: str = "test_acc") -> dict:
        """Mean over seeds of a column against the mean training time so far (seconds)."""
        by_epoch = {}
        for rs in self.runs.values():
            t = 0.0
            for r in rs:
                e, v = _num(r.get("epoch")), _num(r.get(column))
                t += _num(r.get("seconds")) or 0.0
                if e is not None and v is not None:
                    by_epoch.setdefault(int(e), []).append((t, v))
        epochs = sorted(by_epoch)
        return {"seconds": [stats(x for x, _ in by_epoch[e])["mean"] for e in epochs],
                "mean": [stats(v for _, v in by_epoch[e])["mean"] for e in epochs]}

    def probes(self, seed: int) -> list:
        """The probe's dicts of one seed, in epoch order (epochs without one left out)."""
        out = []
        for r in self.runs.get(seed, []):
            raw = r.get("probe")
            if isinstance(raw, str) and raw.strip():
                out.append(json.loads(raw))
        return out

    def final_probes(self) -> dict:
        """{seed: the probe's dict at the last epoch that has one}."""
        out = {}
        for s in sorted(self.runs):
            p = self.probes(s)
            if p:
                out[s] = p[-1]
        return out


@dataclass
class ResultData:
    """Every point of a result (:class:`PointData`) and the outputs of its in-process analyses."""

    result: object  # Result
    scale: str
    seeds: tuple
    points: list
    analyses: dict = field(default_factory=dict)

    def find(self, where: dict) -> list:
        """The points whose group and axis values match ``where`` (keys: ``group`` or any axis or key)."""
        out = []
        for d in self.points:
            p = d.point
            ok = True
            for k, v in where.items():
                if k == "group":
                    ok = p.group == v
                else:
                    got = p.value(axis_key(k))
                    ok = _same(got, v)
                if not ok:
                    break
            if ok:
                out.append(d)
        return out

    def one(self, where: dict) -> PointData:
        found = self.find(where)
        if len(found) != 1:
            raise PaperError(f"result {self.result.id!r}: {where} matches {len(found)} points at scale {self.scale}; "
                             f"it must name one (points: {', '.join(d.point.label() for d in self.points)})")
        return found[0]

    def series(self, where: dict, axis: str, metric: str) -> list:
        """``[(axis value, stats)]`` over the matching points, sorted by the axis value."""
        rows = [(d.point.value(axis_key(axis)), d.stats(metric)) for d in self.find(where) if d.ran]
        return sorted(rows, key=lambda r: _sort_key(r[0]))


def _same(got, want) -> bool:
    if isinstance(want, list):
        want = tuple(want)
    if isinstance(got, (int, float)) and isinstance(want, (int, float)) and not isinstance(got, bool):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-12)
    return got == want


def _sort_key(v):
    if isinstance(v, (tuple, list)):
        return (len(v), tuple(v))
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


__all__ = ["PointData", "ResultData", "stats"]
