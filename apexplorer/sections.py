"""The sections of an experiment: groups of typed keys, each with its kind, bounds and choices.

One table of keys per section (``[ap]``, ``[train]``, ``[method]``, a task,
``[wiring]``), frozen dataclasses whose fields carry their own metadata, so
that reading a file, ``--set KEY=VALUE``, a sweep's grid and a URL all check a
value in one place, and a bad one is named with its key, its value and what
is valid (:class:`ExperimentError`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from .baselines import METHODS
from .data import dataset_names
from .userdata import is_file_name
from .dynamics import ACTIVATIONS
from .errors import ApexplorerError, choices, did_you_mean
from .network import MODES, PRECISIONS
from .optim import OPTIMIZERS
from .schedule import SCHEDULES

DATASETS = tuple(dataset_names())


class ExperimentError(ApexplorerError):
    """An experiment that does not validate: names the field, the value and the valid choices."""


# ---------------------------------------------------------------------------
# typed fields: one place that says what each key accepts
# ---------------------------------------------------------------------------
def _f(default, kind, *, choices=None, low=None, strict_low=False, optional=False, doc="", paths=False):
    """A field with its kind (``int``, ``float``, ``str``, ``bool``, ``ints``) and its bounds (``paths``: a
    string field whose value may also be a ``.csv`` / ``.npz`` file's path)."""
    meta = dict(kind=kind, choices=choices, low=low, strict_low=strict_low, optional=optional, doc=doc, paths=paths)
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


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
            if meta.get("paths") and is_file_name(value):
                return value
            also = ", or the path of a .csv or .npz file" if meta.get("paths") else ""
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
# sections
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class APSettings(_Section):
    """The two phases (APConfig) and the reservoirs' global knobs."""

    _name = "ap"
    t1: int = _f(8, "int", low=1, doc="iterations of the inference phase (T1)")
    t2: int = _f(8, "int", low=1, doc="iterations of the learning phase (T2)")
    mode: str = _f("ste", "str", choices=MODES, doc="STE restarts phase 1 from 0; EPE continues from z0")
    beta: float = _f(1.0, "float", low=0, strict_low=True,
                     doc="strength of the injected error (0 or less injects none: nothing learns)")
    activation: str = _f("tanh", "str", choices=tuple(ACTIVATIONS), doc="f of every module")
    precision: str = _f("fp32", "str", choices=PRECISIONS, doc="precision of the relax products")
    spectral_radius: float | None = _f(None, "float", low=0, optional=True,
                                       doc="spectral radius of every module (default: the wiring's)")
    connection_rate: float | None = _f(None, "float", low=0, strict_low=True, optional=True,
                                       doc="connection rate of every module (default: the wiring's)")
    f_prime: bool | None = _f(None, "bool", optional=True,
                              doc="multiply the local error by f'(z0) (1 - z0^2 for tanh); default false")

    def config(self):
        from .network import APConfig

        return APConfig(t1=self.t1, t2=self.t2, mode=self.mode, beta=self.beta, activation=self.activation,
                        precision=self.precision, f_prime=bool(self.f_prime)).validate()


@dataclass(frozen=True)
class TrainSettings(_Section):
    """The run: epochs, batches, optimiser, seeds, device and the multitask schedule."""

    _name = "train"
    epochs: int = _f(10, "int", low=1, doc="epochs (sequential: per task)")
    batch_size: int = _f(500, "int", low=1, doc="batch size (a task may set its own)")
    lr: float = _f(1e-3, "float", low=0, strict_low=True, doc="learning rate")
    optimizer: str = _f("adam", "str", choices=OPTIMIZERS, doc="optimiser of the learnable paths")
    seed: int = _f(0, "int", low=0, doc="seed of the tensors and the data order")
    seeds: int = _f(1, "int", low=1, doc="train seeds seed .. seed+K-1 as one batched ensemble")
    device: str = _f("auto", "str", doc="auto, cpu, cuda or cuda:N")
    schedule: str = _f("alternating", "str", choices=SCHEDULES, doc="how several tasks share training")
    early_stop: float = _f(0.9999, "float", low=0, strict_low=True,
                           doc="stop when train accuracy reaches this (above 1: never)")
    max_loss: float | None = _f(None, "float", low=0, strict_low=True, optional=True,
                                doc="divergence threshold (default 15 ln C)")
    eval_batch_size: int = _f(2000, "int", low=1, doc="batch size of evaluation")

    def config(self):
        from .devices import resolve_device
        from .trainer import TrainConfig

        resolve_device(self.device)
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                           seed=self.seed, device=self.device, early_stop=self.early_stop, max_loss=self.max_loss,
                           eval_batch_size=self.eval_batch_size, ensemble=self.seeds).validate()


@dataclass(frozen=True)
class MethodSettings(_Section):
    """The learning rule: AP, or a baseline (BP, FA, EP) with its layers and EP's options."""

    _name = "method"
    name: str = _f("ap", "str", choices=METHODS, doc="ap, or a baseline: bp, fa, ep")
    hidden: tuple | None = _f(None, "ints", optional=True, doc="hidden layers of bp/fa/ep (default 256 / 256,256)")
    t1: int | None = _f(None, "int", low=1, optional=True, doc="EP: free-phase steps (default 100)")
    t2: int | None = _f(None, "int", low=1, optional=True, doc="EP: clamped-phase steps (default 20)")
    beta: float | None = _f(None, "float", optional=True, doc="EP: clamping strength (default 1)")
    epsilon: float | None = _f(None, "float", low=0, strict_low=True, optional=True, doc="EP: Euler step (default 0.5)")
    random_sign: bool | None = _f(None, "bool", optional=True, doc="EP: random sign of beta per batch")

    def ep_options(self) -> dict:
        return {k: getattr(self, k) for k in ("t1", "t2", "beta", "epsilon", "random_sign")
                if getattr(self, k) is not None}


@dataclass(frozen=True)
class InitSettings(_Section):
    """How an AP network's paths are drawn (:class:`~apexplorer.network.Init`), and how its reservoirs' nonzeros
    are placed (``reservoir``)."""

    _name = "init"
    scheme: str = _f("uniform", "str", choices=("uniform", "gaussian"),
                     doc="uniform: the paper's U(-1,1)/sqrt(n); gaussian: N(0, std^2) as in the Fig. 5 notebooks")
    forward_std: float = _f(0.1, "float", low=0, strict_low=True, doc="gaussian: s.d. of every feedforward weight")
    feedback_std: float = _f(0.5, "float", low=0, strict_low=True, doc="gaussian: s.d. of every feedback weight")
    readout_bias: str | None = _f(None, "str", choices=("uniform", "zero"), optional=True,
                                  doc="the fixed readout bias (default: uniform, or zero for gaussian)")
    reservoir: str | None = _f(None, "str", choices=("exact", "authors"), optional=True,
                               doc="reservoir nonzeros: exact (the rate c exactly; default) or authors "
                                   "(c n^2 places drawn with replacement, repeats added: ~22 % at c = 0.25)")

    def config(self):
        from .network import Init

        return Init(self.scheme, self.forward_std, self.feedback_std, self.readout_bias,
                    self.reservoir or "exact").validate()

    @property
    def is_default(self) -> bool:
        return self == InitSettings()


@dataclass(frozen=True)
class TaskSpec(_Section):
    """One task's data: a dataset, and optionally its own batch size and subsets."""

    _name = "task"
    dataset: str = _f("digits", "str", choices=DATASETS, paths=True,
                      doc="the task's dataset: a built-in one, or your own .csv or .npz file")
    batch_size: int | None = _f(None, "int", low=1, optional=True, doc="this task's batch size")
    train_size: int | None = _f(None, "int", low=1, optional=True, doc="train on the first n of a fixed shuffle")
    test_size: int | None = _f(None, "int", low=1, optional=True, doc="test on the first n of a fixed shuffle")
    noise: float | None = _f(None, "float", low=0, optional=True,
                             doc="2afc: one pixel-noise s.d. for every image (default: the mix 0, 0.2, 1, 2, 4)")
    train: bool | None = _f(None, "bool", optional=True,
                            doc="false: not trained; its data only sizes its ports (a task alone on a multitask "
                                "wiring, drawn as when every task trains)")
    fresh: bool | None = _f(None, "bool", optional=True,
                            doc="2afc: new training and test images every epoch, drawn from the run's seed "
                                "(as the authors' notebook's dataset, which draws on every access)")
    label: str | None = _f(None, "str", optional=True, doc="a .csv dataset: its label column (default the last)")
    sha256: str | None = _f(None, "str", optional=True,
                            doc="a dataset file's SHA-256, recorded when the run starts (a rerun on changed data "
                                "says so)")

    def to_dict(self):
        d = super().to_dict()
        return d["dataset"] if len(d) == 1 else d


@dataclass(frozen=True)
class WiringSpec:
    """A preset name with its options, or an inline wiring (its JSON dict)."""

    preset: str | None = "digits"
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
        preset = d.get("preset", "digits")
        if not isinstance(preset, str):
            raise ExperimentError(f"wiring.preset = {preset!r} must be a preset name")
        return cls(preset=preset, options=dict(options))
