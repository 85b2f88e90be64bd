"""The sections of an experiment: groups of typed keys, each with its kind, bounds and choices.

One frozen dataclass per section (``[ap]``, ``[train]``, ``[method]``,
``[init]``, a task), built from the rows of the one table of settings
(:mod:`apexplorer.table`): its fields carry their row's metadata, so that
reading a file, ``--set KEY=VALUE``, a sweep's grid and a URL all check a value
in one place, and a bad one is named with its key, its value and what is
valid (:class:`ExperimentError`).  :func:`live_keys` and :func:`resumable_keys`
say which keys a running network and a resumed run may change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, make_dataclass

from .errors import ApexplorerError, choices, did_you_mean
from .userdata import is_file_name
from .table import DATASETS, TABLE, Setting, live_keys, resumable_keys, row, rows


class ExperimentError(ApexplorerError):
    """An experiment that does not validate: names the field, the value and the valid choices."""


# ---------------------------------------------------------------------------
# typed fields: one place that says what each key accepts
# ---------------------------------------------------------------------------
def shown(value) -> str:
    """A value as a file or a flag writes it (``true``, ``"adam"``, ``[1, 2]``), not as Python does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return repr(value)


def _describe(meta) -> str:
    kind = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
            "ints": "a list of positive integers"}[meta["kind"]]
    if meta["low"] is not None:
        kind += f" {'>' if meta['strict_low'] else '>='} {meta['low']}"
    if meta["optional"]:
        kind += " (or left out)"
    return kind


def coerce(key: str, value, meta):
    """``value`` as the field's kind, or an ExperimentError naming ``key``, the value and what is valid."""
    if value is None:
        if meta["optional"]:
            return None
        raise ExperimentError(f"{key} is missing; it must be {_describe(meta)}")
    kind = meta["kind"]
    bad = ExperimentError(f"{key} = {shown(value)} must be {_describe(meta)}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad
        if meta["choices"] is not None and value not in meta["choices"]:
            if meta.get("files") and is_file_name(value):
                return value
            also = ", or the path of your own .csv or .npz file" if meta.get("files") else ""
            raise ExperimentError(f"{key} = {shown(value)} is not valid; choices are {choices(meta['choices'])}{also}")
        return value
    if kind == "ints":
        if isinstance(value, (int,)) and not isinstance(value, bool):
            value = (value,)
        if not isinstance(value, (list, tuple)) or not value or any(
                not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in value):
            raise bad
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise bad
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise bad
    low = meta["low"]
    if low is not None and (value <= low if meta["strict_low"] else value < low):
        raise bad
    return value


def parse_text(key: str, text: str, meta):
    """A value typed as text (``--set``, a grid axis, a URL) parsed by the field's kind."""
    t = text.strip()
    if meta["optional"] and t.lower() in ("none", "null", ""):
        return None
    kind = meta["kind"]
    try:
        if kind == "int":
            try:
                return int(t)
            except ValueError:
                f = float(t)  # 1e3 is an integer too
                if not f.is_integer():
                    raise
                return int(f)
        if kind == "float":
            return float(t)
        if kind == "bool":
            low = t.lower()
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if kind == "ints":
            sep = "x" if "x" in t else ("+" if "+" in t else ",")
            if sep == "x":
                size, k = t.split("x")
                return (int(size),) * int(k)
            return tuple(int(p) for p in t.split(sep) if p.strip())
    except ValueError:
        raise ExperimentError(f"{key} = {text!r} is not {_describe(meta)}") from None
    return t


class _Section:
    """A frozen group of typed keys (a table of the file)."""

    _name = ""

    @classmethod
    def keys(cls) -> tuple:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def meta(cls, key: str) -> dict:
        for f in fields(cls):
            if f.name == key:
                return f.metadata
        hint = did_you_mean(f"{cls._name}.{key}", [f"{cls._name}.{k}" for k in cls.keys()])
        raise ExperimentError(f"unknown key {cls._name}.{key}{hint} Keys of [{cls._name}] are {choices(cls.keys())}"
                              if hint else f"unknown key {cls._name}.{key}; keys of [{cls._name}] are "
                              f"{choices(cls.keys())}")

    @classmethod
    def from_dict(cls, d, where: str | None = None) -> "_Section":
        where = where or cls._name
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise ExperimentError(f"[{where}] must be a table of keys, not {type(d).__name__} {d!r}")
        unknown = [k for k in d if k not in cls.keys()]
        if unknown:
            raise ExperimentError(f"unknown key {where}.{unknown[0]}; keys of [{where}] are {choices(cls.keys())}")
        return cls(**{k: coerce(f"{where}.{k}", v, cls.meta(k)) for k, v in d.items()})

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue  # TOML has no null: a key left out takes its default
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


# ---------------------------------------------------------------------------
# sections: their fields are the table's rows; their methods are written here
# ---------------------------------------------------------------------------
def _names(cls) -> tuple:
    """The field names of a dataclass (a config the section fills)."""
    return tuple(f.name for f in fields(cls))


_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "ints": tuple}


def _section(base: type, name: str) -> type:
    """The frozen dataclass ``name`` of ``base``'s section, one field per row of the table (in its order)."""
    fs = []
    for r in rows(base._name):
        kind = _TYPES[r.kind]
        fs.append((r.name, kind | None if r.optional else kind, field(default=r.default, metadata=r.meta())))
    return make_dataclass(name, fs, bases=(base,), frozen=True,
                          namespace={"__doc__": base.__doc__, "__module__": __name__})


class _AP(_Section):
    """The two phases (APConfig) and the reservoirs' global knobs."""

    _name = "ap"

    def config(self):
        """The network's APConfig: every key of the section that it has (the others set the modules)."""
        from .network import APConfig

        own = {k: getattr(self, k) for k in _names(APConfig) if k in self.keys()}
        return APConfig(**{**own, "f_prime": bool(self.f_prime)}).validate()


class _Train(_Section):
    """The run: epochs, batches, optimiser, seeds, device and the multitask schedule."""

    _name = "train"

    def config(self):
        from .devices import resolve_device
        from .trainer import TrainConfig

        resolve_device(self.device)
        own = {k: getattr(self, k) for k in _names(TrainConfig) if k in self.keys()}
        return TrainConfig(**own, ensemble=self.seeds).validate()  # seeds: one ensemble


class _Method(_Section):
    """The learning rule: AP, or a baseline (BP, FA, EP) with its layers and EP's options."""

    _name = "method"

    def ep_options(self) -> dict:
        return {k: getattr(self, k) for k in ("t1", "t2", "beta", "epsilon", "random_sign")
                if getattr(self, k) is not None}


class _Init(_Section):
    """How an AP network's paths are drawn (:class:`~apexplorer.init.Init`), and how its reservoirs' nonzeros
    are placed (``reservoir``)."""

    _name = "init"

    def config(self):
        from .init import Init

        return Init(self.scheme, self.forward_std, self.feedback_std, self.readout_bias,
                    self.reservoir or "exact").validate()

    @property
    def is_default(self) -> bool:
        return self == type(self)()


class _Task(_Section):
    """One task's data: a dataset, and optionally its own batch size and subsets."""

    _name = "task"

    def to_dict(self):
        d = super().to_dict()
        return d["dataset"] if len(d) == 1 else d


APSettings = _section(_AP, "APSettings")
TrainSettings = _section(_Train, "TrainSettings")
MethodSettings = _section(_Method, "MethodSettings")
InitSettings = _section(_Init, "InitSettings")
TaskSpec = _section(_Task, "TaskSpec")


@dataclass(frozen=True)
class WiringSpec:
    """A preset name with its options, or an inline wiring (its JSON dict)."""

    preset: str | None = row("wiring.preset").default
    options: dict = field(default_factory=dict)
    inline: dict | None = None

    def to_dict(self) -> dict:
        if self.inline is not None:
            return {"inline": self.inline}
        return {"preset": self.preset, **({"options": dict(self.options)} if self.options else {})}

    @classmethod
    def from_dict(cls, d) -> "WiringSpec":
        if d is None:
            return cls()
        if isinstance(d, str):
            return cls(preset=d)
        if not isinstance(d, dict):
            raise ExperimentError(f"[wiring] must be a table with preset or inline, not {d!r}")
        unknown = [k for k in d if k not in ("preset", "options", "inline")]
        if unknown:
            raise ExperimentError(f"unknown key wiring.{unknown[0]}; keys of [wiring] are preset, options, inline")
        if "inline" in d:
            if "preset" in d or "options" in d:
                raise ExperimentError("[wiring] has both inline and preset; give one of them")
            if not isinstance(d["inline"], dict):
                raise ExperimentError(f"wiring.inline must be a wiring table (its JSON), not {d['inline']!r}")
            return cls(preset=None, inline=d["inline"])
        options = d.get("options") or {}
        if not isinstance(options, dict):
            raise ExperimentError(f"wiring.options must be a table of the preset's options, not {options!r}")
        preset = d.get("preset", row("wiring.preset").default)
        if not isinstance(preset, str):
            raise ExperimentError(f"wiring.preset = {preset!r} must be a preset name")
        return cls(preset=preset, options=dict(options))


__all__ = ["APSettings", "DATASETS", "ExperimentError", "InitSettings", "MethodSettings", "Setting", "TABLE",
           "TaskSpec", "TrainSettings", "WiringSpec", "coerce", "live_keys", "parse_text", "resumable_keys", "row",
           "rows", "shown"]
