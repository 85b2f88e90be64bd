"""A result at a scale: its points (whole experiments), and which of them the data on this machine allows.

:func:`points` expands a result's groups at a scale into :class:`PaperPoint`
objects.  A point's id is the sweep's hash of its experiment (with the probe's
name when it has one), so the same experiment in two results is trained once,
and a rerun finds what a crashed run finished.  :func:`availability` says
which points cannot run here and why (a missing dataset's message says how to
get it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..errors import DataError
from ..experiment import ALIASES, Experiment
from ..sweep.grid import Point, axis_key, point_id


@dataclass(frozen=True)
class PaperPoint:
    """One point of a result: its group, its axis values, its experiment and its probe."""

    result: str
    group: str
    axes: dict
    experiment: Experiment
    probe: str | None = None

    @property
    def id(self) -> str:
        pid = point_id(self.experiment)
        return pid if self.probe is None else f"{pid}-{self.probe.rpartition(':')[2]}"

    def value(self, key: str):
        """The point's value of an axis or experiment key (``sr``, ``ap.t1``, ``dataset``...)."""
        key = axis_key(key)
        if key in self.axes:
            return self.axes[key]
        if key == "dataset":
            return ",".join(dict.fromkeys(s.dataset for s in self.experiment.tasks.values()))
        return self.experiment.get(ALIASES.get(key, key))

    def label(self) -> str:
        """``group key=value ...`` for tables and legends."""
        ax = " ".join(f"{short(k)}={_text(v)}" for k, v in self.axes.items())
        return f"{self.group} {ax}".strip()

    def sweep_point(self) -> Point:
        """The sweep's :class:`~apexplorer.sweep.grid.Point` (what the executor trains)."""
        axes = {"result": self.result, "group": self.group, **self.axes}
        return Point(self.id, self.experiment.to_dict(), axes, self.probe)


def short(key: str) -> str:
    """The short name of a dotted key (``ap.spectral_radius`` -> ``sr``) where it has one."""
    inverse = {v: k for k, v in ALIASES.items()}
    if key in inverse:
        return inverse[key]
    return key.rpartition(".")[2] if key.startswith(("wiring.options.", "tasks.", "method.")) else key


def _text(v) -> str:
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v)) if len(set(v)) > 1 else f"{v[0]}x{len(v)}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def points(result, scale: str) -> list:
    """Every point of ``result`` at ``scale``, group by group, in grid order (the last axis fastest).

    A point's experiment is the base, then the group's ``set``, then its axis
    values, then the scale's ``set`` and the scale's ``group_set`` for that group.
    """
    sc = result.scale(scale)
    base = Experiment.from_dict(result.base)
    out = []
    for g in result.groups:
        if sc.groups is not None and g.label not in sc.groups:
            continue
        start = base.with_changes(g.set) if g.set else base
        axes = [(axis_key(k), sc.axis_values(g.label, k, v)) for k, v in g.grid]
        zipped = [(axis_key(k), sc.axis_values(g.label, k, v)) for k, v in g.zip]
        together = list(zip(*(vals for _, vals in zipped))) if zipped else [()]
        for combo in itertools.product(*(vals for _, vals in axes), together):
            *grid_values, zip_values = combo
            ax = {k: _plain(v) for (k, _), v in zip(axes, grid_values)}
            ax.update({k: _plain(v) for (k, _), v in zip(zipped, zip_values)})
            exp = start.with_changes(ax) if ax else start
            late = {**sc.set, **sc.group_set.get(g.label, {})}
            exp = exp.with_changes(late) if late else exp
            name = f"{result.id}: {g.label} " + " ".join(f"{short(k)}={_text(v)}" for k, v in ax.items())
            exp = exp.with_changes({"name": name.strip(), "train.seeds": 1, "train.seed": 0})
            out.append(PaperPoint(result.id, g.label, ax, exp, g.probe))
    return out


def _plain(v):
    return tuple(v) if isinstance(v, list) else v


def availability(pts, data_dir=None, download: bool = False) -> dict:
    """{point id: the name of a dataset it needs that is not here} for the points that cannot run."""
    from ..data import load_dataset

    missing = set()
    for name in dict.fromkeys(s.dataset for p in pts for s in p.experiment.tasks.values() if s.noise is None):
        try:
            load_dataset(name, data_dir, download)
        except DataError:
            missing.add(name)
    out = {}
    for p in pts:
        bad = [s.dataset for s in p.experiment.tasks.values() if s.noise is None and s.dataset in missing]
        if bad:
            out[p.id] = bad[0]
    return out


def not_run(dataset: str) -> str:
    """A point's status when its data is missing."""
    return f"not run: {dataset} is not on this machine"


def how_to_get(dataset: str) -> str:
    """How to get a missing dataset (the loader's advice)."""
    from ..data import HOW_TO_GET

    return HOW_TO_GET.get(dataset, f"see apexplorer.data for where {dataset} is looked for")


__all__ = ["PaperPoint", "availability", "how_to_get", "not_run", "points", "short"]
