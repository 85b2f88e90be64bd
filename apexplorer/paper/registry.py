"""The paper's results as data: one TOML file per table or figure, read into frozen :class:`Result` objects.

A result file (``apexplorer/paper/results/<id>.toml``) holds

* ``id``, ``title``, ``figure`` (where it is in the paper), ``order`` and
  ``notes``: every choice the paper leaves open and which notebook decided it;
* ``[base]``: the experiment at the paper's scale (an :class:`Experiment` table);
* ``[[groups]]``: the points, each a ``label``, dotted changes ``set`` and a
  ``grid`` of dotted keys to values (their product), and optionally a
  ``probe`` (a measurement on the trained network, :mod:`.probes`);
* ``[scales.paper]`` and ``[scales.quick]``: ``seeds``, ``why`` (what the
  scale is), ``gap`` (why its numbers differ from the paper's), ``set``
  (changes to every point), ``grid`` (axis values that replace a group's),
  ``groups`` (the labels run at that scale; default all), ``group_set`` and
  ``group_grid`` ({label: changes or axis values} for one group) and
  ``analysis`` (options of the in-process analyses);
* ``[[values]]``: the paper's numbers (``what``, ``where``: a group and axis
  values, ``metric``, ``value``, ``pm``, ``source``);
* ``[[claims]]``: the trends, each a named check of :mod:`.checks` with its
  arguments and a ``kind``: ``paper`` (the paper's, counted), ``construction``
  (true by the wiring or the maths) or ``ours`` (our diagnostic);
* ``analyses`` (in-process measurements such as ``lyapunov``) and ``[plot]``
  (how :mod:`.figures` redraws it).

Everything is validated when read; an error names the file, the field and
the valid choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from ..errors import choices
from ..experiment import Experiment, ExperimentError
from .errors import PaperError

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

SCALES = ("paper", "quick")
TOP_KEYS = ("id", "title", "figure", "order", "notes", "base", "groups", "scales", "values", "claims", "analyses",
            "plot")


def _keys(d: dict, valid, where: str) -> None:
    if not isinstance(d, dict):
        raise PaperError(f"{where} must be a table, not {d!r}")
    bad = [k for k in d if k not in valid]
    if bad:
        raise PaperError(f"{where}: unknown key {bad[0]!r}; keys are {choices(valid)}")


def _str(d: dict, key: str, where: str, default=None) -> str:
    v = d.get(key, default)
    if not isinstance(v, str) or (default is None and not v):
        raise PaperError(f"{where}.{key} = {v!r} must be a non-empty string")
    return v


@dataclass(frozen=True)
class Group:
    """Points of a result: ``set`` changes to the base, then every combination of the ``grid`` axes.

    ``zip`` gives keys that change together (equal-length lists, one point per
    index; e.g. the SI and RI sizes of Fig. 4h); it varies fastest.
    """

    label: str
    set: dict = field(default_factory=dict)
    grid: tuple = ()  # ((dotted key, values), ...)
    probe: str | None = None
    zip: tuple = ()  # ((dotted key, values), ...), all of one length

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "Group":
        _keys(d, ("label", "set", "grid", "probe", "zip"), where)
        for what in ("grid", "zip"):
            g = d.get(what, {})
            if not isinstance(g, dict) or any(not isinstance(v, list) or not v for v in g.values()):
                raise PaperError(f"{where}.{what} must map keys to non-empty lists of values, not {g!r}")
        zipped = d.get("zip", {})
        if len({len(v) for v in zipped.values()}) > 1:
            raise PaperError(f"{where}.zip: the lists of {', '.join(zipped)} must have one length")
        probe = d.get("probe")
        if probe is not None and (not isinstance(probe, str) or ":" not in probe):
            raise PaperError(f"{where}.probe = {probe!r} must name a function as 'package.module:function'")
        return cls(_str(d, "label", where), dict(d.get("set", {})),
                   tuple((k, tuple(v)) for k, v in d.get("grid", {}).items()), probe,
                   tuple((k, tuple(v)) for k, v in zipped.items()))


@dataclass(frozen=True)
class Scale:
    """What a scale changes: seeds, every point's settings, axis values, the groups run, analysis options."""

    name: str
    seeds: int
    why: str
    gap: str = ""
    set: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    groups: tuple | None = None
    group_set: dict = field(default_factory=dict)
    analysis: dict = field(default_factory=dict)
    group_grid: dict = field(default_factory=dict)

    def axis_values(self, group: str, key: str, default: tuple) -> tuple:
        """The values of axis ``key`` in ``group`` at this scale: the group's own, the scale's, or the file's."""
        from ..sweep.grid import axis_key

        for table in (self.group_grid.get(group, {}), self.grid):
            for k, v in table.items():
                if k == key or axis_key(k) == axis_key(key):
                    return tuple(v)
        return tuple(default)

    @classmethod
    def from_dict(cls, name: str, d: dict, where: str) -> "Scale":
        _keys(d, ("seeds", "why", "gap", "set", "grid", "groups", "group_set", "group_grid", "analysis"), where)
        seeds = d.get("seeds")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise PaperError(f"{where}.seeds = {seeds!r} must be an integer >= 1")
        groups = d.get("groups")
        return cls(name, seeds, _str(d, "why", where), d.get("gap", ""), dict(d.get("set", {})),
                   {k: tuple(v) for k, v in d.get("grid", {}).items()}, None if groups is None else tuple(groups),
                   {k: dict(v) for k, v in d.get("group_set", {}).items()}, dict(d.get("analysis", {})),
                   {k: {kk: tuple(vv) for kk, vv in v.items()} for k, v in d.get("group_grid", {}).items()})


@dataclass(frozen=True)
class PaperValue:
    """A number the paper (or, where it says so, an authors' notebook) gives, and where ours is found.

    ``dataset`` (and ``task``, for a multitask point) say on which data the
    paper measured it: where our point trains another dataset in its place
    (digits for MNIST at the quick scale) the numbers are not compared.
    """

    what: str
    where: dict
    metric: str
    value: float
    pm: float | None
    source: str
    dataset: str | None = None
    task: str | None = None

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "PaperValue":
        _keys(d, ("what", "where", "metric", "value", "pm", "source", "dataset", "task"), where)
        for k in ("value", "pm"):
            v = d.get(k)
            if (v is not None or k == "value") and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise PaperError(f"{where}.{k} = {v!r} must be a number")
        return cls(_str(d, "what", where), dict(d.get("where", {})), _str(d, "metric", where), float(d["value"]),
                   None if d.get("pm") is None else float(d["pm"]), _str(d, "source", where), d.get("dataset"),
                   d.get("task"))


@dataclass(frozen=True)
class Claim:
    """A trend, checked by the function ``check`` of :mod:`.checks` with ``args``.

    ``kind`` (:data:`~.checks.KINDS`): ``paper`` (the paper states it and our run could contradict it),
    ``construction`` (true by the wiring or the maths: shown, never counted) or ``ours`` (our diagnostic).
    Only ``paper`` claims count in the report's summary.  A claim that gives none is a ``paper`` claim.
    """

    what: str
    check: str
    args: dict
    source: str
    kind: str = "paper"

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "Claim":
        from .checks import CHECKS, KINDS

        if not isinstance(d, dict):
            raise PaperError(f"{where} must be a table, not {d!r}")
        check = _str(d, "check", where)
        if check not in CHECKS:
            raise PaperError(f"{where}.check = {check!r} is not a check; checks are {choices(CHECKS)}")
        kind = d.get("kind", "paper")
        if kind not in KINDS:
            raise PaperError(f"{where}.kind = {kind!r} is not a kind of claim; kinds are {choices(KINDS)}")
        args = {k: v for k, v in d.items() if k not in ("what", "check", "source", "kind")}
        return cls(_str(d, "what", where), check, args, _str(d, "source", where), kind)


@dataclass(frozen=True)
class Result:
    """One table or figure of the paper: its experiments at each scale, its values and its claims."""

    id: str
    title: str
    figure: str
    order: int
    notes: str
    base: dict
    groups: tuple
    scales: dict
    values: tuple = ()
    claims: tuple = ()
    analyses: tuple = ()
    plot: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict, where: str = "result") -> "Result":
        _keys(d, TOP_KEYS, where)
        rid = _str(d, "id", where)
        where = f"result {rid!r}"
        groups = d.get("groups") or []
        if not groups and not d.get("analyses"):
            raise PaperError(f"{where} has no [[groups]]; give at least one group of points (or analyses)")
        gs = tuple(Group.from_dict(g, f"{where}.groups[{i}]") for i, g in enumerate(groups))
        labels = [g.label for g in gs]
        if len(set(labels)) != len(labels):
            raise PaperError(f"{where}: group labels {labels} must be distinct")
        scales = d.get("scales", {})
        missing = [s for s in SCALES if s not in scales]
        if missing:
            raise PaperError(f"{where} has no [scales.{missing[0]}]; every result gives {choices(SCALES)}")
        _keys(scales, SCALES, f"{where}.scales")
        sc = {s: Scale.from_dict(s, scales[s], f"{where}.scales.{s}") for s in SCALES}
        for s in sc.values():
            for lab in (s.groups or ()) + tuple(s.group_set) + tuple(s.group_grid):
                if lab not in labels:
                    raise PaperError(f"{where}.scales.{s.name}: group {lab!r} does not exist; groups are "
                                     f"{choices(labels)}")
        from .analyses import ANALYSES

        analyses = tuple(d.get("analyses", ()))
        for a in analyses:
            if a not in ANALYSES:
                raise PaperError(f"{where}.analyses: {a!r} is not an analysis; analyses are {choices(ANALYSES)}")
        r = cls(rid, _str(d, "title", where), _str(d, "figure", where), int(d.get("order", 0)),
                d.get("notes", "").strip(), dict(d.get("base", {})), gs, sc,
                tuple(PaperValue.from_dict(v, f"{where}.values[{i}]") for i, v in enumerate(d.get("values", []))),
                tuple(Claim.from_dict(c, f"{where}.claims[{i}]") for i, c in enumerate(d.get("claims", []))),
                analyses, dict(d.get("plot", {})))
        r.check()
        return r

    def check(self) -> None:
        """Every point of every scale must be a valid experiment (said when the file is read)."""
        from .plan import points

        for s in SCALES:
            try:
                points(self, s)
            except ExperimentError as e:
                raise PaperError(f"result {self.id!r} at scale {s}: {e}") from None

    def scale(self, name: str) -> Scale:
        if name not in self.scales:
            raise PaperError(f"unknown scale {name!r}; scales are {choices(SCALES)}")
        return self.scales[name]

    def experiment(self, scale: str = "paper", group: str | None = None, **axes) -> Experiment:
        """The experiment of one point (default: the first point of the first group run at ``scale``)."""
        from .plan import points

        pts = [p for p in points(self, scale) if group is None or p.group == group]
        for k, v in axes.items():
            pts = [p for p in pts if p.value(k) == v]
        if not pts:
            raise PaperError(f"result {self.id!r} has no point {group or ''} {axes or ''} at scale {scale}")
        return pts[0].experiment


def load_text(text: str, where: str = "result") -> Result:
    """A result from the text of its TOML file."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PaperError(f"{where} is not valid TOML: {e}") from None
    return Result.from_dict(d, where)


@lru_cache(maxsize=1)
def _all() -> tuple:
    folder = resources.files(__package__) / "results"
    out = [load_text(f.read_text(), f"results/{f.name}") for f in folder.iterdir() if f.name.endswith(".toml")]
    return tuple(sorted(out, key=lambda r: (r.order, r.id)))


def results() -> list:
    """Every result of the paper, in the paper's order."""
    return list(_all())


def result(rid: str) -> Result:
    """The result ``rid`` (e.g. ``"fig2c"``)."""
    for r in _all():
        if r.id == rid:
            return r
    raise PaperError(f"unknown result {rid!r}; results are {choices(r.id for r in _all())}")


def select(ids=None) -> list:
    """The results named by ``ids`` (all when empty), in the paper's order; an unknown id is an error.

    An item may also be a :class:`Result` itself (e.g. one read with :func:`load_text`).
    """
    if not ids:
        return results()
    wanted = {}
    for i in ids:
        r = i if isinstance(i, Result) else result(i)
        wanted.setdefault(r.id, r)
    return sorted(wanted.values(), key=lambda r: (r.order, r.id))


__all__ = ["Claim", "Group", "PaperError", "PaperValue", "Result", "SCALES", "Scale", "load_text",
           "result", "results", "select"]
