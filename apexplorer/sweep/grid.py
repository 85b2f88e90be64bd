"""A sweep as data: the ``train`` settings shared by every point, the grid axes and the seeds.

Any ``train`` setting can be an axis; values are parsed by the ``train``
options themselves (:func:`apexplorer.cli.add_model_args`), so a sweep never
re-lists settings.  A point's id is a hash of its settings, which is how a
rerun recognises finished points.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from dataclasses import dataclass, field

from ..errors import ApexplorerError, choices

PLACEMENT = ("device", "data_dir", "download")
#: Grid axes that change the reservoirs' dynamics; with them, rows get an FTMLE.
STABILITY_AXES = ("sr", "rate", "preset", "wiring")


# ---------------------------------------------------------------------------
# settings and grid axes
# ---------------------------------------------------------------------------
def settings_parser() -> argparse.ArgumentParser:
    """A parser with every ``train`` setting (:func:`apexplorer.cli.add_model_args`)."""
    from ..cli import add_model_args

    p = argparse.ArgumentParser(prog="apexplorer sweep", add_help=False)
    add_model_args(p)
    return p


def default_settings() -> dict:
    """Every ``train`` setting at its default, as a plain dict."""
    return vars(settings_parser().parse_args([]))


def _setting_actions(parser) -> dict:
    """dest -> argparse action for every setting that takes a value."""
    return {a.dest: a for a in parser._actions if a.option_strings and a.nargs != 0 and a.dest != "help"}


def parse_axis(text: str, parser: argparse.ArgumentParser | None = None) -> tuple:
    """Parse ``NAME=v1,v2,...`` into ``(dest, values)``, converting values as ``train`` would.

    ``NAME`` is a ``train`` option without its dashes (``sr``, ``batch-size``).
    Errors name the bad value and the valid choices.
    """
    parser = parser or settings_parser()
    actions = _setting_actions(parser)
    if "=" not in text:
        raise ApexplorerError(f"grid axis {text!r} must look like NAME=v1,v2 (e.g. sr=0.1,0.25,0.5)")
    name, _, vals = text.partition("=")
    dest = name.strip().lstrip("-").replace("-", "_")
    if dest in ("seed", "seeds"):
        raise ApexplorerError("seeds are not a grid axis: use --seeds K (seeds --seed ... --seed+K-1)")
    if dest not in actions:
        names = sorted(d.replace("_", "-") for d in actions if d not in ("seed", "download"))
        raise ApexplorerError(f"grid axis {name.strip()!r} is not a train setting; settings are {choices(names)}")
    action = actions[dest]
    raw = [v.strip() for v in vals.split(",")]
    if not vals.strip() or any(not v for v in raw):
        raise ApexplorerError(f"grid axis {name.strip()!r} has an empty value in {vals!r}")
    values = []
    for v in raw:
        try:
            x = action.type(v) if action.type else v
        except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
            raise ApexplorerError(f"grid axis {name.strip()!r}: value {v!r}: {e}") from None
        if action.choices is not None and x not in action.choices:
            raise ApexplorerError(
                f"grid axis {name.strip()!r}: value {v!r} is not valid; choices are {choices(action.choices)}"
            )
        values.append(x)
    if len(set(values)) != len(values):
        raise ApexplorerError(f"grid axis {name.strip()!r} lists a value twice: {vals}")
    return dest, tuple(values)


def point_id(settings: dict) -> str:
    """A short stable id for a point: a hash of its settings (``seed`` included), placement left out."""
    key = {k: v for k, v in sorted(settings.items()) if k not in PLACEMENT}
    return hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Point:
    """One grid point: its id, its full settings and its axis values."""

    id: str
    settings: dict = field(hash=False)
    axes: dict = field(hash=False)


@dataclass(frozen=True)
class Sweep:
    """A grid of ``train`` settings x seeds.

    Parameters
    ----------
    base : dict
        Settings shared by every point (defaults filled in by :meth:`create`).
    axes : tuple of (dest, values)
        Grid axes in order; points are their Cartesian product.
    seeds : tuple of int
    """

    base: dict
    axes: tuple = ()
    seeds: tuple = (0,)

    @classmethod
    def create(cls, settings: dict | None = None, grid: dict | None = None, seeds=None) -> "Sweep":
        """Build a sweep from plain values.

        ``settings`` overrides :func:`default_settings` (``{"dataset": "digits"}``),
        ``grid`` maps setting names to value lists (``{"sr": [0.1, 1]}``), and
        ``seeds`` is a count K (seeds ``seed .. seed + K - 1``; default the
        ``seeds`` setting, 1) or a list.
        """
        parser = settings_parser()
        base = vars(parser.parse_args([]))
        settings = {k.replace("-", "_"): v for k, v in (settings or {}).items()}
        unknown = set(settings) - set(base)
        if unknown:
            raise ApexplorerError(f"unknown setting(s) {sorted(unknown)}; settings are {choices(sorted(base))}")
        base.update(settings)
        seeds = base.pop("seeds", 1) if seeds is None else seeds
        base.pop("seeds", None)  # the seeds of a point are rows, not a setting of it
        axes = [parse_axis(f"{k}={','.join(str(v) for v in vals)}", parser) for k, vals in (grid or {}).items()]
        if isinstance(seeds, int):
            if seeds < 1:
                raise ApexplorerError(f"--seeds {seeds} must be >= 1")
            seeds = range(int(base["seed"]), int(base["seed"]) + seeds)
        return cls(base, tuple(axes), tuple(int(s) for s in seeds)).validate()

    def validate(self) -> "Sweep":
        """Check the axes against each other and the shared settings; errors say what to drop."""
        dests = [d for d, _ in self.axes]
        dup = {d for d in dests if dests.count(d) > 1}
        if dup:
            raise ApexplorerError(f"grid axis {sorted(dup)[0]!r} is given twice; give each axis once")
        if "wiring" in dests and (self.base.get("preset") or "preset" in dests):
            raise ApexplorerError("a wiring axis and a preset cannot be combined; drop --preset or the wiring axis")
        if "preset" in dests and self.base.get("wiring"):
            raise ApexplorerError("a preset axis and --wiring cannot be combined")
        defaults = default_settings()
        for d in dests:
            if d in self.base and self.base[d] != defaults.get(d):
                raise ApexplorerError(f"--{d.replace('_', '-')} is given and is also a grid axis; drop one of them")
        if "steps" in dests and (self.base.get("t1") or self.base.get("t2") or {"t1", "t2"} & set(dests)):
            raise ApexplorerError("the steps axis sets T1 = T2, but T1 or T2 is also given; drop one of them")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ApexplorerError(f"seeds {list(self.seeds)} must be distinct and at least one")
        # points train AP ensembles: a baseline method (or its layers) would be silently ignored
        if "method" in dests or "hidden" in dests or self.base.get("method", "ap") != "ap" or self.base.get("hidden"):
            raise ApexplorerError("sweeps train AP; --method and --hidden are not sweep settings "
                                  "(use apexplorer compare for the baselines)")
        return self

    @property
    def axis_names(self) -> tuple:
        return tuple(d for d, _ in self.axes)

    def points(self) -> list:
        """Every grid point, in grid order (the last axis varies fastest)."""
        out = []
        for combo in itertools.product(*(vals for _, vals in self.axes)):
            ax = dict(zip(self.axis_names, combo))
            s = {**self.base, **ax}
            out.append(Point(point_id(s), s, ax))
        return out

    def runs(self) -> list:
        """Every (point, seed) pair."""
        return [(p, s) for p in self.points() for s in self.seeds]

    def namespace(self, point: Point) -> argparse.Namespace:
        """The ``train`` arguments of a point (each of the sweep's seeds then draws its own network and data order)."""
        return argparse.Namespace(**point.settings)
