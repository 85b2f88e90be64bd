"""An experiment: one frozen, validated description of a run, the same everywhere.

The CLI, the explorer, sweeps, notebooks and the paper's reproductions all
translate into an :class:`Experiment` and :func:`build` turns it into a
:class:`~apexplorer.trainer.Trainer`.  It round-trips through JSON and TOML and
through a dict of dotted keys (``train.lr``, ``ap.spectral_radius``), which is
what ``--set``, sweep grids and the explorer's URL use.

>>> exp = Experiment.from_preset("digits")              # the preset's own settings
>>> exp = exp.with_changes({"train.lr": 1e-2, "ap.t1": 4})
>>> exp.save("digits.toml"); Experiment.load("digits.toml") == exp
True
>>> trainer = build(exp)                                 # loads the data, draws the network

Sections and their keys (every one optional in a file; missing keys take
their defaults, unknown keys are refused):

* ``wiring``: ``preset`` (a name) with ``options`` (the preset's keyword
  options, e.g. ``size``), or ``inline`` (a whole wiring, as its JSON).
* ``tasks``: task name -> dataset name, or a table ``{dataset, batch_size,
  train_size, test_size, noise}`` (a task's own batch size; the first n samples
  of a fixed shuffle of the data; ``noise``: the one pixel-noise level of a
  generated 2afc dataset).  The tasks listed are the tasks trained, in order
  (alternating training takes them in this order).
* ``ap``: the phases (``t1``, ``t2``, ``mode``, ``beta``, ``activation``,
  ``precision``) and every module's ``spectral_radius`` / ``connection_rate``
  where given (else the wiring's own).
* ``train``: ``epochs``, ``batch_size``, ``lr``, ``optimizer``, ``seed``,
  ``seeds`` (K seeds as one batched ensemble), ``device``, ``schedule``,
  ``early_stop``, ``max_loss``, ``eval_batch_size``.
* ``method``: ``name`` (ap, bp, fa, ep), ``hidden`` (the baselines' layers)
  and EP's ``t1``, ``t2``, ``beta``, ``epsilon``, ``random_sign``.
* ``init``: how an AP network's paths are drawn: ``scheme`` (``uniform``, the
  paper's, or ``gaussian``, the Fig. 5 notebooks'), ``forward_std``,
  ``feedback_std`` and ``readout_bias`` (``uniform`` or ``zero``).  Written
  only when it differs from the default.
* ``name``, ``notes`` (free text) and ``schema`` (the format's version).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ApexplorerError, choices

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

SCHEMA = 1

DATASETS = ("digits", "2afc", "fashion-mnist", "mnist", "cifar10")
METHODS = ("ap", "bp", "fa", "ep")
SCHEDULES = ("alternating", "simultaneous", "sequential")


class ExperimentError(ApexplorerError):
    """An experiment that does not validate: names the field, the value and the valid choices."""


# ---------------------------------------------------------------------------
# typed fields: one place that says what each key accepts
# ---------------------------------------------------------------------------
def _f(default, kind, *, choices=None, low=None, strict_low=False, optional=False, doc=""):
    """A field with its kind (``int``, ``float``, ``str``, ``bool``, ``ints``) and its bounds."""
    meta = dict(kind=kind, choices=choices, low=low, strict_low=strict_low, optional=optional, doc=doc)
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _describe(meta) -> str:
    kind = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
            "ints": "a list of positive integers"}[meta["kind"]]
    if meta["low"] is not None:
        kind += f" {'>' if meta['strict_low'] else '>='} {meta['low']}"
    if meta["optional"]:
        kind += " (or left out)"
    return kind


def _coerce(key: str, value, meta):
    """``value`` as the field's kind, or an ExperimentError naming ``key``, the value and what is valid."""
    if value is None:
        if meta["optional"]:
            return None
        raise ExperimentError(f"{key} is missing; it must be {_describe(meta)}")
    kind = meta["kind"]
    bad = ExperimentError(f"{key} = {value!r} must be {_describe(meta)}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ExperimentError(f"{key} = {value!r} is not valid; choices are {choices(meta['choices'])}")
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


def _parse_text(key: str, text: str, meta):
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
        raise ExperimentError(f"unknown key {cls._name}.{key}; keys of [{cls._name}] are {choices(cls.keys())}")

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
        return cls(**{k: _coerce(f"{where}.{k}", v, cls.meta(k)) for k, v in d.items()})

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
    mode: str = _f("ste", "str", choices=("ste", "epe"), doc="STE restarts phase 1 from 0; EPE continues from z0")
    beta: float = _f(1.0, "float", doc="strength of the injected error")
    activation: str = _f("tanh", "str", choices=("tanh", "relu", "sigmoid", "linear"), doc="f of every module")
    precision: str = _f("fp32", "str", choices=("fp32", "tf32", "bf16"), doc="precision of the relax products")
    spectral_radius: float | None = _f(None, "float", low=0, optional=True,
                                       doc="spectral radius of every module (default: the wiring's)")
    connection_rate: float | None = _f(None, "float", low=0, strict_low=True, optional=True,
                                       doc="connection rate of every module (default: the wiring's)")

    def config(self):
        from .network import APConfig

        return APConfig(t1=self.t1, t2=self.t2, mode=self.mode, beta=self.beta, activation=self.activation,
                        precision=self.precision).validate()


@dataclass(frozen=True)
class TrainSettings(_Section):
    """The run: epochs, batches, optimiser, seeds, device and the multitask schedule."""

    _name = "train"
    epochs: int = _f(10, "int", low=0, doc="epochs (sequential: per task)")
    batch_size: int = _f(500, "int", low=1, doc="batch size (a task may set its own)")
    lr: float = _f(1e-3, "float", low=0, strict_low=True, doc="learning rate")
    optimizer: str = _f("adam", "str", choices=("adam", "sgd"), doc="optimiser of the learnable paths")
    seed: int = _f(0, "int", low=0, doc="seed of the tensors and the data order")
    seeds: int = _f(1, "int", low=1, doc="train seeds seed .. seed+K-1 as one batched ensemble")
    device: str = _f("auto", "str", doc="auto, cpu, cuda or cuda:N")
    schedule: str = _f("alternating", "str", choices=SCHEDULES, doc="how several tasks share training")
    early_stop: float = _f(0.9999, "float", low=0, doc="stop when train accuracy reaches this")
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
    """How an AP network's paths are drawn (:class:`~apexplorer.network.Init`); the reservoirs never change."""

    _name = "init"
    scheme: str = _f("uniform", "str", choices=("uniform", "gaussian"),
                     doc="uniform: the paper's U(-1,1)/sqrt(n); gaussian: N(0, std^2) as in the Fig. 5 notebooks")
    forward_std: float = _f(0.1, "float", low=0, strict_low=True, doc="gaussian: s.d. of every feedforward weight")
    feedback_std: float = _f(0.5, "float", low=0, strict_low=True, doc="gaussian: s.d. of every feedback weight")
    readout_bias: str | None = _f(None, "str", choices=("uniform", "zero"), optional=True,
                                  doc="the fixed readout bias (default: uniform, or zero for gaussian)")

    def config(self):
        from .network import Init

        return Init(self.scheme, self.forward_std, self.feedback_std, self.readout_bias).validate()

    @property
    def is_default(self) -> bool:
        return self == InitSettings()


@dataclass(frozen=True)
class TaskSpec(_Section):
    """One task's data: a dataset, and optionally its own batch size and subsets."""

    _name = "task"
    dataset: str = _f("digits", "str", choices=DATASETS, doc="the task's dataset")
    batch_size: int | None = _f(None, "int", low=1, optional=True, doc="this task's batch size")
    train_size: int | None = _f(None, "int", low=1, optional=True, doc="train on the first n of a fixed shuffle")
    test_size: int | None = _f(None, "int", low=1, optional=True, doc="test on the first n of a fixed shuffle")
    noise: float | None = _f(None, "float", low=0, optional=True,
                             doc="2afc: one pixel-noise s.d. for every image (default: the mix 0, 0.2, 1, 2, 4)")

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


# ---------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------
SECTIONS = {"ap": APSettings, "train": TrainSettings, "method": MethodSettings, "init": InitSettings}
TOP = ("schema", "name", "notes", "wiring", "tasks", "ap", "train", "method", "init")

#: Short names accepted wherever a dotted key is (``--set lr=...``, sweep grids): the ``train`` flags.
ALIASES = {
    "sr": "ap.spectral_radius", "rate": "ap.connection_rate", "t1": "ap.t1", "t2": "ap.t2", "mode": "ap.mode",
    "beta": "ap.beta", "precision": "ap.precision", "activation": "ap.activation",
    "epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr", "optimizer": "train.optimizer",
    "seed": "train.seed", "seeds": "train.seeds", "device": "train.device", "schedule": "train.schedule",
    "method": "method.name", "hidden": "method.hidden", "preset": "wiring.preset",
}
#: Keys that set several: ``steps`` is T1 = T2, ``dataset`` every task's dataset.
MULTI = {"steps": ("ap.t1", "ap.t2")}


@dataclass(frozen=True)
class Experiment:
    """One run, described completely: wiring, tasks and data, phases, training and method.

    Build one with :meth:`from_preset` (the preset's recommended settings
    filled in), :meth:`load` (JSON or TOML) or :meth:`from_dict`; change it
    with :meth:`with_changes`; run it with :func:`build`.  Every constructor
    validates, and a bad field raises :class:`ExperimentError` naming the
    field, the value and the valid choices.
    """

    wiring: WiringSpec = field(default_factory=WiringSpec)
    tasks: dict = field(default_factory=lambda: {"main": TaskSpec("digits")})
    ap: APSettings = field(default_factory=APSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    method: MethodSettings = field(default_factory=MethodSettings)
    init: InitSettings = field(default_factory=InitSettings)
    name: str = ""
    notes: str = ""
    schema: int = SCHEMA

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------ creating
    @classmethod
    def from_preset(cls, preset: str = "digits", datasets=None, **sections) -> "Experiment":
        """The preset with its recommended settings (``presets.SETTINGS``) and data.

        ``datasets``: one name (every task), a list (one per task, in the
        wiring's order) or a dict {task: name}; default the preset's own data.
        ``sections`` are dicts of changes per section, e.g. ``train={"lr": 1e-2}``.
        """
        from .presets import PRESET_DATA, SETTINGS, preset_names, preset_tasks

        if preset not in preset_names():
            raise ExperimentError(f"wiring.preset = {preset!r} is not a preset; presets are {choices(preset_names())}")
        names = preset_tasks(preset)
        if datasets is None:
            datasets = PRESET_DATA.get(preset, "fashion-mnist")
        if isinstance(datasets, str):
            datasets = [datasets] * len(names)
        if isinstance(datasets, (list, tuple)):
            if len(datasets) != len(names):
                raise ExperimentError(f"preset {preset!r} has {len(names)} task(s) ({', '.join(names)}), but "
                                      f"{len(datasets)} dataset(s) were given ({', '.join(map(str, datasets))})")
            datasets = dict(zip(names, datasets))
        rec = dict(SETTINGS.get(preset, {}))
        ap = {k: rec[k] for k in APSettings.keys() if k in rec}
        train = {k: rec[k] for k in TrainSettings.keys() if k in rec}
        init = {**rec.get("init", {}), **sections.pop("init", {})}
        d = {"wiring": {"preset": preset}, "tasks": datasets, "ap": {**ap, **sections.pop("ap", {})},
             "train": {**train, **sections.pop("train", {})}, **({"init": init} if init else {}), **sections}
        return cls.from_dict(d)

    @classmethod
    def from_settings(cls, settings: dict | None = None) -> "Experiment":
        """From flat settings, as a notebook writes them: ``preset``, ``dataset`` (every task) or
        ``datasets`` (a list or {task: name}), ``wiring`` (a Wiring, its dict or a JSON file), and any
        dotted key or alias (``{"preset": "digits", "epochs": 5, "sr": 0.5, "train.lr": 1e-2}``).
        Without a wiring the preset's own settings are the base."""
        s = dict(settings or {})
        wiring = s.pop("wiring", None)
        datasets = s.pop("datasets", None)
        dataset = s.pop("dataset", None)
        preset = s.pop("preset", None)
        if wiring is not None:
            if preset is not None:
                raise ExperimentError("give a preset or a wiring, not both")
            from .wiring import Wiring

            w = wiring if isinstance(wiring, Wiring) else (
                Wiring.from_dict(wiring, warn=False) if isinstance(wiring, dict) else Wiring.from_json(wiring, warn=False))
            names = [t.name for t in w.tasks]
            ds = datasets or [dataset or "digits"] * len(names)
            tasks = ds if isinstance(ds, dict) else dict(zip(names, ds))
            base = cls.from_dict({"wiring": {"inline": w.to_dict()}, "tasks": tasks})
        else:
            from .presets import DEFAULT_PRESET

            preset = preset or DEFAULT_PRESET.get(dataset or "digits", "paper-2layer")
            base = cls.from_preset(preset, datasets or dataset)
        return base.with_changes(s) if s else base

    @classmethod
    def from_dict(cls, d: dict) -> "Experiment":
        """From the dict of a file (``to_dict``'s form); unknown keys and bad values are refused."""
        if isinstance(d, Experiment):
            return d
        if not isinstance(d, dict):
            raise ExperimentError(f"an experiment must be a table of sections, not {type(d).__name__}")
        unknown = [k for k in d if k not in TOP]
        if unknown:
            raise ExperimentError(f"unknown key {unknown[0]!r}; an experiment has {choices(TOP)}")
        schema = d.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise ExperimentError(f"schema = {schema!r}: this apexplorer reads experiments of schema {SCHEMA}")
        for k in ("name", "notes"):
            if not isinstance(d.get(k, ""), str):
                raise ExperimentError(f"{k} = {d[k]!r} must be a string")
        tasks = d.get("tasks", {"main": "digits"})
        if not isinstance(tasks, dict) or not tasks:
            raise ExperimentError(f"[tasks] must map task names to datasets, e.g. main = \"digits\"; got {tasks!r}")
        specs = {}
        for t, v in tasks.items():
            specs[str(t)] = TaskSpec(dataset=v) if isinstance(v, str) else TaskSpec.from_dict(v, f"tasks.{t}")
            _coerce(f"tasks.{t}.dataset", specs[str(t)].dataset, TaskSpec.meta("dataset"))
        return cls(wiring=WiringSpec.from_dict(d.get("wiring")), tasks=specs,
                   ap=APSettings.from_dict(d.get("ap")), train=TrainSettings.from_dict(d.get("train")),
                   method=MethodSettings.from_dict(d.get("method")), init=InitSettings.from_dict(d.get("init")),
                   name=d.get("name", ""),
                   notes=d.get("notes", ""), schema=schema)

    # ------------------------------------------------------------ checking
    def validate(self) -> "Experiment":
        """Check every section and how they fit together (tasks against the wiring, method against tasks)."""
        for key, cls in SECTIONS.items():
            sec = getattr(self, key)
            if not isinstance(sec, cls):
                raise ExperimentError(f"[{key}] must be a {cls.__name__}, not {type(sec).__name__}")
            for k in cls.keys():
                _coerce(f"{key}.{k}", getattr(sec, k), cls.meta(k))
        for t, spec in self.tasks.items():
            _coerce(f"tasks.{t}.dataset", spec.dataset, TaskSpec.meta("dataset"))
            if spec.noise is not None and spec.dataset != "2afc":
                raise ExperimentError(f"tasks.{t}.noise = {spec.noise!r}: a noise level is for the generated 2afc "
                                      f"dataset, not {spec.dataset!r}")
        wiring_tasks = self.wiring_tasks()
        for t in self.tasks:
            if t not in wiring_tasks:
                raise ExperimentError(f"task {t!r} is not a task of the wiring; its tasks are {choices(wiring_tasks)}")
        m = self.method
        if m.name != "ap":
            if len(self.tasks) > 1:
                raise ExperimentError(f"method.name = {m.name!r} trains one task; the experiment has tasks "
                                      f"{', '.join(self.tasks)} (keep one)")
            if self.train.seeds > 1:
                raise ExperimentError(f"train.seeds = {self.train.seeds}: seeds as one ensemble are for AP; "
                                      f"method {m.name!r} runs one seed at a time")
        else:
            extra = [k for k in ("hidden", *m.ep_options()) if getattr(m, k) is not None]
            if extra:
                raise ExperimentError(f"method.{extra[0]} is an option of the baselines (bp, fa, ep); method.name is 'ap'")
        if m.name != "ap" and not self.init.is_default:
            raise ExperimentError(f"[init] draws an AP network's paths; method.name = {m.name!r} draws its own "
                                  "(leave [init] out)")
        if m.name in ("bp", "fa") and m.ep_options():
            raise ExperimentError(f"method.{next(iter(m.ep_options()))} is an option of ep, not {m.name}")
        sizes = {t: s.batch_size for t, s in self.tasks.items() if s.batch_size is not None}
        if sizes and self.train.schedule == "simultaneous" and len(self.tasks) > 1:
            raise ExperimentError("tasks trained simultaneously present their samples in pairs, so they share "
                                  f"train.batch_size; drop the per-task batch size of {', '.join(sizes)}")
        if self.train.device not in ("auto", "cpu", "cuda") and not (
                self.train.device.startswith("cuda:") and self.train.device[5:].isdigit()):
            raise ExperimentError(f"train.device = {self.train.device!r} is not valid; choices are auto, cpu, "
                                  "cuda, cuda:N")
        return self

    def wiring_tasks(self) -> tuple:
        """The task names of the wiring (of the preset, or of the inline wiring)."""
        if self.wiring.inline is not None:
            return tuple(t.name for t in self.inline_wiring().tasks)
        from .presets import preset_names, preset_options, preset_tasks

        if self.wiring.preset not in preset_names():
            raise ExperimentError(f"wiring.preset = {self.wiring.preset!r} is not a preset; presets are "
                                  f"{choices(preset_names())}")
        valid = preset_options(self.wiring.preset)
        for k in self.wiring.options:
            if k not in valid:
                raise ExperimentError(f"wiring.options.{k} is not an option of preset {self.wiring.preset!r}; "
                                      f"its options are {choices(valid)}")
        return preset_tasks(self.wiring.preset)

    def inline_wiring(self):
        from .wiring import Wiring

        try:
            return Wiring.from_dict(self.wiring.inline, warn=False)
        except ApexplorerError as e:
            raise ExperimentError(f"wiring.inline: {e}") from None

    # ------------------------------------------------------------ dicts and files
    def to_dict(self) -> dict:
        """The file's form: plain values, None left out (TOML has no null)."""
        d = {"schema": self.schema}
        if self.name:
            d["name"] = self.name
        if self.notes:
            d["notes"] = self.notes
        d["wiring"] = self.wiring.to_dict()
        d["tasks"] = {t: s.to_dict() for t, s in self.tasks.items()}
        d["ap"] = self.ap.to_dict()
        d["train"] = self.train.to_dict()
        d["method"] = self.method.to_dict()
        if not self.init.is_default:
            d["init"] = self.init.to_dict()
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Experiment":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ExperimentError(f"the experiment is not valid JSON: {e}") from None
        return cls.from_dict(d)

    @classmethod
    def from_toml(cls, text: str) -> "Experiment":
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ExperimentError(f"the experiment is not valid TOML: {e}") from None
        return cls.from_dict(d)

    def save(self, path) -> Path:
        """Write ``.toml`` or ``.json`` (by the suffix; TOML otherwise)."""
        path = Path(path)
        text = self.to_json() + "\n" if path.suffix.lower() == ".json" else self.to_toml()
        try:
            path.write_text(text)
        except OSError as e:
            raise ExperimentError(f"cannot write the experiment to {str(path)!r}: {e.strerror or e}") from None
        return path

    @classmethod
    def load(cls, path) -> "Experiment":
        """Read a ``.toml`` or ``.json`` experiment file (a checkpoint's experiment: :func:`read_checkpoint`)."""
        path = Path(path)
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not there"
            raise ExperimentError(f"experiment file {str(path)!r} is {what}; give a .toml or .json file")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ExperimentError(f"cannot read the experiment file {str(path)!r}: {e}") from None
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            return cls.from_json(text)
        return cls.from_toml(text)

    # ------------------------------------------------------------ dotted keys
    def flat(self) -> dict:
        """Every key as ``section.key`` -> value (tasks as ``tasks.A.dataset``; wiring as one or more keys)."""
        out = {"name": self.name, "notes": self.notes}
        if self.wiring.inline is not None:
            out["wiring.inline"] = json.dumps(self.wiring.inline, sort_keys=True)
        else:
            out["wiring.preset"] = self.wiring.preset
            for k, v in sorted(self.wiring.options.items()):
                out[f"wiring.options.{k}"] = v
        for t, s in self.tasks.items():
            for k in TaskSpec.keys():
                if k == "noise" and s.noise is None:
                    continue  # a key added later: left out when unset, so older points keep their ids
                out[f"tasks.{t}.{k}"] = getattr(s, k)
        for sec in SECTIONS:
            if sec == "init" and self.init.is_default:
                continue  # as in the file: a default init is not written (and older points keep their ids)
            for k in SECTIONS[sec].keys():
                out[f"{sec}.{k}"] = getattr(getattr(self, sec), k)
        return out

    def get(self, key: str):
        """The value of a dotted key (or alias, e.g. ``lr``)."""
        key = ALIASES.get(key, key)
        flat = self.flat()
        if key not in flat:
            raise ExperimentError(f"unknown key {key!r}; keys are {choices(sorted(flat))}")
        return flat[key]

    def with_changes(self, changes: dict | None = None, **kw) -> "Experiment":
        """A new experiment with dotted keys (or aliases) changed; values may be text (parsed by the key's kind).

        ``dataset`` sets every task's dataset, ``steps`` both T1 and T2,
        ``tasks`` a whole new task map.  The result is validated as a whole.
        """
        changes = {**(changes or {}), **kw}
        d = self.to_dict()
        d.setdefault("method", {})
        for raw, value in changes.items():
            for key in MULTI.get(raw, (ALIASES.get(raw, raw),)):
                _set(d, key, value, self)
        return Experiment.from_dict(d)

    def diff(self, other: "Experiment") -> dict:
        """``{dotted key: (self's value, other's value)}`` for every key that differs."""
        a, b = self.flat(), other.flat()
        return {k: (a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)}

    # ------------------------------------------------------------ sharing
    def preset_base(self) -> "Experiment | None":
        """The preset's own experiment with this one's datasets (what a URL's changes are relative to)."""
        if self.wiring.inline is not None:
            return None
        try:
            base = Experiment.from_preset(self.wiring.preset)
        except ExperimentError:
            return None
        return base

    def to_query(self) -> dict:
        """A compact URL query: ``{preset: name, key: value, ...}`` for the keys that differ from the
        preset's own experiment, or ``{x: <base64 of the zipped JSON>}`` when that is shorter or not possible."""
        packed = {"x": base64.urlsafe_b64encode(zlib.compress(self.to_json(None).encode(), 9)).decode().rstrip("=")}
        base = self.preset_base()
        if base is None:
            return packed
        q = {"preset": self.wiring.preset}
        for k, (mine, _) in self.diff(base).items():
            if k == "wiring.preset":
                continue
            if k.startswith("tasks.") and k.split(".")[1] not in self.tasks:
                return packed  # a task dropped: only the whole JSON says so
            q[k] = _text(mine)
        try:
            if Experiment.from_query(q) != self:
                return packed
        except ExperimentError:
            return packed
        return q if len(json.dumps(q)) <= len(json.dumps(packed)) else packed

    @classmethod
    def from_query(cls, query: dict) -> "Experiment":
        """The experiment of a URL query written by :meth:`to_query` (values are text)."""
        q = {k: (v[0] if isinstance(v, (list, tuple)) else v) for k, v in query.items()}
        q = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in q.items()}
        if "x" in q:
            raw = q["x"] + "=" * (-len(q["x"]) % 4)
            try:
                text = zlib.decompress(base64.urlsafe_b64decode(raw)).decode()
            except (ValueError, zlib.error, UnicodeDecodeError):
                raise ExperimentError("the link's experiment (x=...) is damaged; copy the whole link again") from None
            return cls.from_json(text)
        preset = q.pop("preset", "digits")
        base = cls.from_preset(preset)
        return base.with_changes(q) if q else base

    def command(self, file: str = "EXPERIMENT.toml") -> str:
        """The shell command of this run: ``apexplorer train ...`` where its flags say it all, else
        ``apexplorer run FILE`` (save the experiment there first)."""
        args = self.train_args()
        return "apexplorer " + (" ".join(["train", *args]) if args is not None else f"run {file}")

    def train_args(self) -> list | None:
        """``apexplorer train`` flags that give exactly this experiment (only those that differ from the
        preset's own settings), or None where flags cannot say it (an inline wiring, task options...)."""
        from .presets import preset_tasks

        if self.wiring.inline is not None or self.wiring.options or self.name or self.notes:
            return None
        if not self.init.is_default:
            return None
        if any(s.batch_size or s.train_size or s.test_size or s.noise is not None for s in self.tasks.values()):
            return None
        a, t, m = self.ap, self.train, self.method
        if a.activation != "tanh" or t.early_stop != 0.9999 or t.max_loss is not None or t.eval_batch_size != 2000:
            return None
        if m.ep_options():
            return None  # EP's options share AP's flags (--t1, --beta); a file says which is which
        names = preset_tasks(self.wiring.preset)
        if len(names) == 1:
            datasets = [self.tasks[names[0]].dataset]
            args = ["--dataset", datasets[0]]
        else:
            if len(self.tasks) not in (1, len(names)):
                return None
            fill = next(iter(self.tasks.values())).dataset
            datasets = [self.tasks[n].dataset if n in self.tasks else fill for n in names]
            args = ["--tasks", ",".join(datasets)]
            if len(self.tasks) == 1 and len(names) > 1:
                args += ["--only", next(iter(self.tasks))]
        base = Experiment.from_preset(self.wiring.preset, datasets)
        args = ["--preset", self.wiring.preset, *args]
        flags = [("--epochs", "train.epochs"), ("--batch-size", "train.batch_size"), ("--lr", "train.lr"),
                 ("--optimizer", "train.optimizer"), ("--t1", "ap.t1"), ("--t2", "ap.t2"), ("--mode", "ap.mode"),
                 ("--beta", "ap.beta"), ("--precision", "ap.precision"), ("--sr", "ap.spectral_radius"),
                 ("--rate", "ap.connection_rate"), ("--seed", "train.seed"), ("--seeds", "train.seeds"),
                 ("--device", "train.device"), ("--schedule", "train.schedule"), ("--method", "method.name"),
                 ("--hidden", "method.hidden")]
        mine, theirs = self.flat(), base.flat()
        for flag, key in flags:
            if mine[key] != theirs[key] and mine[key] is not None:
                args += [flag, _text(mine[key])]
        return args


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _set(d: dict, key: str, value, exp: Experiment) -> None:
    """Set dotted ``key`` in the file dict ``d``; text values are parsed by the key's kind."""
    parts = key.split(".")
    head = parts[0]
    if key in ("name", "notes"):
        if not isinstance(value, str):
            raise ExperimentError(f"{key} = {value!r} must be a string")
        d[key] = value
        return
    if key == "dataset":
        for t in d["tasks"]:
            _set(d, f"tasks.{t}.dataset", value, exp)
        return
    if head in SECTIONS and len(parts) == 2:
        meta = SECTIONS[head].meta(parts[1])
        if isinstance(value, str) and meta["kind"] != "str":
            value = _parse_text(key, value, meta)
        sec = d.setdefault(head, {})
        if value is None:
            sec.pop(parts[1], None)
        else:
            sec[parts[1]] = list(value) if isinstance(value, tuple) else value
        return
    if head == "tasks":
        if len(parts) == 1:
            d["tasks"] = value
            return
        if len(parts) != 3:
            raise ExperimentError(f"unknown key {key!r}; a task's keys look like tasks.NAME.dataset")
        t, k = parts[1], parts[2]
        meta = TaskSpec.meta(k)
        if isinstance(value, str) and meta["kind"] != "str":
            value = _parse_text(key, value, meta)
        cur = d["tasks"].get(t)
        if cur is None:
            raise ExperimentError(f"task {t!r} is not in the experiment; its tasks are {choices(d['tasks'])}")
        cur = {"dataset": cur} if isinstance(cur, str) else dict(cur)
        if value is None:
            cur.pop(k, None)
        else:
            cur[k] = value
        d["tasks"][t] = cur
        return
    if head == "wiring":
        w = d["wiring"]
        if key == "wiring.preset":
            d["wiring"] = {"preset": value}
        elif key == "wiring.inline":
            d["wiring"] = {"inline": json.loads(value) if isinstance(value, str) else value}
        elif len(parts) == 3 and parts[1] == "options":
            opts = dict(w.get("options", {}))
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            if value is None:
                opts.pop(parts[2], None)
            else:
                opts[parts[2]] = value
            d["wiring"] = {**{k: v for k, v in w.items() if k != "options"}, "options": opts}
        else:
            raise ExperimentError(f"unknown key {key!r}; wiring keys are wiring.preset, wiring.options.NAME, "
                                  "wiring.inline")
        return
    keys = sorted([*ALIASES, *MULTI, "dataset", "name", "notes", "wiring.preset", "wiring.options.NAME",
                   "tasks.NAME.dataset"] + [f"{s}.{k}" for s, c in SECTIONS.items() for k in c.keys()])
    raise ExperimentError(f"unknown key {key!r}; keys are {choices(keys)}")


def parse_assignment(text: str) -> tuple:
    """``KEY=VALUE`` (``--set``) -> (key, value text)."""
    if "=" not in text:
        raise ExperimentError(f"{text!r} must look like KEY=VALUE, e.g. train.lr=1e-3")
    k, _, v = text.partition("=")
    k = k.strip().lstrip("-").replace("-", "_") if k.strip().lstrip("-").replace("-", "_") in ALIASES else k.strip()
    return k, v.strip()


def key_kind(key: str) -> dict:
    """The field metadata of a dotted key or alias (its kind, choices and bounds)."""
    key = ALIASES.get(key, key)
    parts = key.split(".")
    if parts[0] in SECTIONS and len(parts) == 2:
        return SECTIONS[parts[0]].meta(parts[1])
    if parts[0] == "tasks" and len(parts) == 3:
        return TaskSpec.meta(parts[2])
    if key in MULTI:
        return APSettings.meta("t1")
    if key in ("dataset",):
        return TaskSpec.meta("dataset")
    return dict(kind="str", choices=None, low=None, strict_low=False, optional=False, doc="")


def parse_value(key: str, text: str):
    """A value typed as text for ``key``, as that key's kind and within its bounds."""
    meta = key_kind(key)
    value = _parse_text(key, text, meta) if meta["kind"] != "str" else text
    return _coerce(ALIASES.get(key, key), value, meta)


__all__ = ["ALIASES", "APSettings", "Experiment", "ExperimentError", "InitSettings", "MethodSettings", "SCHEMA",
           "TaskSpec", "TrainSettings", "WiringSpec", "key_kind", "parse_assignment", "parse_value"]

