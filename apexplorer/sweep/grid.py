"""A sweep as data: a base :class:`~apexplorer.experiment.Experiment`, grid axes of its keys, and the seeds.

An axis is any key of the experiment, dotted (``ap.spectral_radius``,
``train.lr``, ``tasks.B.batch_size``) or by its ``train`` flag's name (``sr``,
``lr``, ``steps``), with its values; the points are the axes' Cartesian
product, each a whole experiment.  A point's id is a hash of its experiment
(seeds, device, name and notes left out), which is how a rerun recognises
finished points.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field

from ..errors import ApexplorerError, choices
from ..experiment import ALIASES, MULTI, Experiment, ExperimentError, key_kind, parse_value

#: Keys that say where a point runs, not what it is: left out of its id.
PLACEMENT = ("train.device", "train.seed", "train.seeds", "name", "notes")
#: Grid axes that change the reservoirs' dynamics; with them, rows get an FTMLE.
STABILITY_AXES = ("ap.spectral_radius", "ap.connection_rate", "wiring.preset", "wiring.inline")
#: The column of a table that an axis fills: the train flag's short name where it has one.
COLUMNS = {v: k for k, v in ALIASES.items() if k not in ("seed", "seeds", "device", "method", "preset")}
COLUMNS.update({"method.name": "method", "wiring.preset": "preset"})


def axis_key(name: str) -> str:
    """The dotted key of an axis name (``sr`` -> ``ap.spectral_radius``; ``steps`` stays ``steps``)."""
    name = name.strip().lstrip("-")
    short = name.replace("-", "_")
    if short in ALIASES:
        return ALIASES[short]
    if short in MULTI or short == "dataset":
        return short
    return name


def column(key: str) -> str:
    """The results-table column of an axis key."""
    return COLUMNS.get(key, key)


def parse_axis(text: str) -> tuple:
    """Parse ``KEY=v1,v2,...`` into ``(key, values)``, each value parsed as the key's kind.

    ``KEY`` is a dotted key of the experiment or a ``train`` flag's name
    (``sr``, ``batch-size``).  Errors name the bad value and the valid choices.
    """
    if "=" not in text:
        raise ApexplorerError(f"grid axis {text!r} must look like KEY=v1,v2 (e.g. sr=0.1,0.25,0.5 or "
                              "ap.spectral_radius=0.1,0.25)")
    name, _, vals = text.partition("=")
    key = axis_key(name)
    if key in ("train.seed", "train.seeds"):
        raise ApexplorerError("seeds are not a grid axis: use --seeds K (seeds --seed ... --seed+K-1)")
    if key in PLACEMENT:
        raise ApexplorerError(f"{name.strip()!r} says where a point runs, not what it is; it cannot be a grid axis")
    try:
        meta = key_kind(key)
    except ExperimentError:
        meta = None
    if meta is None or (meta["kind"] == "str" and "." not in key and key not in ("dataset",)):
        names = sorted({*(k.replace("_", "-") for k in ALIASES if k not in ("seed", "seeds", "device")), "steps",
                        "dataset"})
        raise ApexplorerError(f"grid axis {name.strip()!r} is not a setting; settings are {choices(names)}, or any "
                              "dotted key of the experiment (ap.beta, train.lr, tasks.NAME.batch_size, ...)")
    raw = [v.strip() for v in vals.split(",")]
    if not vals.strip() or any(not v for v in raw):
        raise ApexplorerError(f"grid axis {name.strip()!r} has an empty value in {vals!r}")
    values = []
    for v in raw:
        try:
            x = parse_value(key, v)
        except ExperimentError as e:
            raise ApexplorerError(f"grid axis {name.strip()!r}: value {v!r}: {e}") from None
        if meta["choices"] is not None and x not in meta["choices"]:
            raise ApexplorerError(f"grid axis {name.strip()!r}: value {v!r} is not valid; "
                                  f"choices are {choices(meta['choices'])}")
        values.append(x)
    if len(set(values)) != len(values):
        raise ApexplorerError(f"grid axis {name.strip()!r} lists a value twice: {vals}")
    return key, tuple(values)


def ignores(method: str, key: str) -> bool:
    """Whether a point of ``method`` trains the same network whatever the axis ``key`` says: the baselines
    (bp, fa, ep) read neither AP's phases and reservoirs (``ap.*``, ``steps``), its wiring nor how it is drawn."""
    return method != "ap" and (key == "steps" or key.startswith(("ap.", "init.", "wiring.")))


def point_id(exp: Experiment) -> str:
    """A short stable id for a point: a hash of its experiment, placement (seeds, device) left out."""
    key = {k: v for k, v in sorted(exp.flat().items()) if k not in PLACEMENT}
    return hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Point:
    """One grid point: its id, its whole experiment (as a dict: plain data for Dask) and its axis values.

    ``probe`` optionally names a measurement taken on the trained network
    (:func:`~apexplorer.sweep.point.train_point`).
    """

    id: str
    experiment: dict = field(hash=False)
    axes: dict = field(hash=False)
    probe: str | None = None

    @property
    def columns(self) -> dict:
        """The axis values under their table columns (``steps`` also fills t1 and t2)."""
        return {column(k): v for k, v in self.axes.items()}


@dataclass(frozen=True)
class Sweep:
    """A grid of experiment keys x seeds over a base experiment.

    Parameters
    ----------
    base : Experiment
        What every point shares.
    axes : tuple of (key, values)
        Grid axes in order; points are their Cartesian product.
    seeds : tuple of int
    data_dir, download : where the points' data is (placement, not part of a point)
    """

    base: Experiment
    axes: tuple = ()
    seeds: tuple = (0,)
    data_dir: str | None = None
    download: bool = False

    @classmethod
    def create(cls, base=None, grid: dict | None = None, seeds=None, data_dir=None, download=False) -> "Sweep":
        """Build a sweep from plain values.

        ``base`` is an Experiment, or flat settings for :meth:`Experiment.from_settings`
        (``{"dataset": "digits", "epochs": 5}``); ``grid`` maps keys (dotted or a
        flag's name) to value lists (``{"sr": [0.1, 1]}``); ``seeds`` is a count K
        (seeds ``seed .. seed + K - 1``; default the base's ``train.seeds``) or a list.
        """
        exp = base if isinstance(base, Experiment) else Experiment.from_settings(base)
        axes = [parse_axis(f"{k}={','.join(_text(v) for v in vals)}") for k, vals in (grid or {}).items()]
        if seeds is None:
            seeds = exp.train.seeds
        if isinstance(seeds, int):
            if seeds < 1:
                raise ApexplorerError(f"--seeds {seeds} must be >= 1")
            seeds = range(exp.train.seed, exp.train.seed + seeds)
        return cls(exp, tuple(axes), tuple(int(s) for s in seeds), data_dir, download).validate()

    def validate(self) -> "Sweep":
        """Check the axes against each other, and every point as a whole experiment."""
        keys = [k for k, _ in self.axes]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ApexplorerError(f"grid axis {sorted(dup)[0]!r} is given twice; give each axis once")
        if "steps" in keys and {"ap.t1", "ap.t2"} & set(keys):
            raise ApexplorerError("the steps axis sets T1 = T2, but T1 or T2 is also an axis; drop one of them")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ApexplorerError(f"seeds {list(self.seeds)} must be distinct and at least one")
        self.points()  # every combination must be a valid experiment: said now, not after hours of training
        return self

    @property
    def axis_names(self) -> tuple:
        return tuple(k for k, _ in self.axes)

    def points(self) -> list:
        """Every grid point, in grid order (the last axis varies fastest), less those :meth:`skipped` names."""
        return self._grid()[0]

    def skipped(self) -> list:
        """Why grid points are not trained: one line per method and axis it ignores (a baseline ignores AP's
        keys, so its points along such an axis would train the same network again)."""
        return self._grid()[1]

    def _grid(self) -> tuple:
        out, left = [], {}
        for combo in itertools.product(*(vals for _, vals in self.axes)):
            ax = dict(zip(self.axis_names, combo))
            try:
                exp = self.base.with_changes(ax) if ax else self.base
            except ExperimentError as e:
                what = ", ".join(f"{k}={_text(v)}" for k, v in ax.items())
                raise ApexplorerError(f"grid point {what}: {e}") from None
            ignored = [k for k, vals in self.axes if ignores(exp.method.name, k) and ax[k] != vals[0]]
            if ignored:
                for k in ignored:
                    left.setdefault((exp.method.name, k), set()).add(ax[k])
                continue
            out.append(Point(point_id(exp), exp.to_dict(), ax))
        first = dict(self.axes)
        why = [f"method {m} ignores {column(k)}: its points at {column(k)}="
               f"{', '.join(_text(v) for v in sorted(vals, key=str))} are skipped (trained once, at "
               f"{column(k)}={_text(first[k][0])})" for (m, k), vals in left.items()]
        return out, why

    def runs(self) -> list:
        """Every (point, seed) pair."""
        return [(p, s) for p in self.points() for s in self.seeds]


def _text(v) -> str:
    if isinstance(v, (tuple, list)):
        return "+".join(map(str, v))
    return str(v)
