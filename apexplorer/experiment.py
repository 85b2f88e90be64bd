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
  generated 2afc dataset; ``fresh``: a generated dataset draws new training
  and test images every epoch, from the run's seed; ``train = false``: the task
  is not trained, its data only sizes its ports, so that one task trained alone
  on a multitask wiring gets the same draw as when all train).  The tasks
  listed are the tasks trained (but those with ``train = false``), in order
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
  only when it differs from the default; the baselines draw their own.
* ``name``, ``notes`` (free text) and ``schema`` (the format's version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import share
from .errors import ApexplorerError, choices, did_you_mean, plural
from .sections import (APSettings, ExperimentError, InitSettings, MethodSettings, TaskSpec, TrainSettings,
                       WiringSpec, coerce, parse_text)
from .table import EP_LR, aliases
from .toy import toy_names

__all__ = ["ALIASES", "APSettings", "Experiment", "ExperimentError", "InitSettings", "MethodSettings", "SCHEMA",
           "TaskSpec", "TrainSettings", "WiringSpec", "key_kind", "parse_assignment", "parse_value"]

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

SCHEMA = 1

# ---------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------
SECTIONS = {"ap": APSettings, "train": TrainSettings, "method": MethodSettings, "init": InitSettings}
TOP = ("schema", "name", "notes", "wiring", "tasks", "ap", "train", "method", "init")

#: Short names accepted wherever a dotted key is (``--set lr=...``, sweep grids): the table's aliases.
ALIASES = aliases()
#: Keys added after experiments were first hashed: left out of :meth:`Experiment.flat` while unset, so that
#: a point's id (a hash of it) does not change for experiments that do not use them.
LATER_KEYS = frozenset({"ap.f_prime", "init.reservoir"})
LATER_TASK_KEYS = frozenset({"noise", "fresh", "train", "label", "sha256"})
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
                raise ExperimentError(f"preset {preset!r} has {plural(len(names), 'task')} ({', '.join(names)}), but "
                                      f"{plural(len(datasets), 'dataset')} given ({', '.join(map(str, datasets))})")
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
            from .presets import default_preset

            preset = preset or default_preset(dataset)
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
            coerce(f"tasks.{t}.dataset", specs[str(t)].dataset, TaskSpec.meta("dataset"))
        d = _preset_settings(d, WiringSpec.from_dict(d.get("wiring")))
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
                coerce(f"{key}.{k}", getattr(sec, k), cls.meta(k))
        _check_tasks(self)
        wiring_tasks = self.wiring_tasks()
        for t in self.tasks:
            if t not in wiring_tasks:
                raise ExperimentError(f"task {t!r} is not a task of the wiring; its tasks are {choices(wiring_tasks)}")
        _check_method(self)
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
        if not self.init.is_default or "init" in _recommended(self.wiring):
            d["init"] = self.init.to_dict()  # a preset that draws its own way: said, so a file keeps the choice
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
        """Read a ``.toml`` or ``.json`` experiment file (a checkpoint's: :func:`apexplorer.build.checkpoint_experiment`)."""
        path = Path(path)
        text = _read_text(path)
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
                if k in LATER_TASK_KEYS and getattr(s, k) is None:
                    continue  # a key added later: left out when unset, so older points keep their ids
                out[f"tasks.{t}.{k}"] = getattr(s, k)
        for sec in SECTIONS:
            if sec == "init" and self.init.is_default:
                continue  # as in the file: a default init is not written (and older points keep their ids)
            for k in SECTIONS[sec].keys():
                v = getattr(getattr(self, sec), k)
                if v is None and f"{sec}.{k}" in LATER_KEYS:
                    continue
                out[f"{sec}.{k}"] = v
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

    def method_lr(self, method: str | None = None, lr: float | None = None) -> float:
        """The learning rate that a run of ``method`` (default: this experiment's) takes from this experiment's
        ``train.lr`` (or from ``lr``): EP's is at most :data:`~apexplorer.table.EP_LR`, since its hard-sigmoid
        units saturate at the presets' larger rates; every other method's is the rate itself."""
        method = self.method.name if method is None else method
        lr = self.train.lr if lr is None else lr
        return min(lr, EP_LR) if method == "ep" else lr

    def diff(self, other: "Experiment") -> dict:
        """``{dotted key: (self's value, other's value)}`` for every key that differs."""
        a, b = self.flat(), other.flat()
        return {k: (a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)}

    # ------------------------------------------------------------ sharing
    def to_query(self) -> dict:
        """A compact URL query that opens this experiment again (:func:`apexplorer.share.to_query`)."""
        return share.to_query(self)

    @classmethod
    def from_query(cls, query: dict) -> "Experiment":
        """The experiment of a URL query written by :meth:`to_query`."""
        return share.from_query(cls, query)

    def command(self, file: str = "EXPERIMENT.toml") -> str:
        """The shell command of this run (:func:`apexplorer.share.command`)."""
        return share.command(self, file)

    def train_args(self) -> list | None:
        """``apexplorer train`` flags that give exactly this experiment, or None."""
        return share.train_args(self)


def _read_text(path: Path) -> str:
    """The text of an experiment file, or an ExperimentError saying why it cannot be one."""
    if not path.is_file():
        what = "a folder" if path.is_dir() else ("not a regular file (a pipe or a device)" if path.exists()
                                                 else "not there")
        raise ExperimentError(f"experiment file {str(path)!r} is {what}; give a .toml or .json file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ExperimentError(f"cannot read the experiment file {str(path)!r}: {e.strerror or e}") from None
    if not raw.strip():
        raise ExperimentError(f"experiment file {str(path)!r} is empty; {EXPERIMENT_IS}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExperimentError(f"experiment file {str(path)!r} is not a text file; {EXPERIMENT_IS}") from None


def _check_tasks(exp: "Experiment") -> None:
    """Each task's dataset and the keys that only some datasets take (noise, label, fresh), and one task trained."""
    for t, spec in exp.tasks.items():
        coerce(f"tasks.{t}.dataset", spec.dataset, TaskSpec.meta("dataset"))
        if spec.noise is not None and spec.dataset not in ("2afc", *toy_names()):
            raise ExperimentError(f"tasks.{t}.noise = {spec.noise!r}: a noise level is for the generated "
                                  f"datasets (2afc, {', '.join(toy_names())}), not {spec.dataset!r}")
        if spec.label is not None and not spec.dataset.lower().endswith(".csv"):
            raise ExperimentError(f"tasks.{t}.label = {spec.label!r} names a CSV file's label column; the "
                                  f"task's dataset is {spec.dataset!r}")
        if spec.train is False and all(s.train is False for s in exp.tasks.values()):
            raise ExperimentError(f"tasks.{t}.train = false: every task is left untrained; train at least one")
        if spec.fresh and spec.dataset != "2afc":
            raise ExperimentError(f"tasks.{t}.fresh = true: fresh samples are for the generated 2afc dataset, "
                                  f"not {spec.dataset!r}")


def _check_method(exp: "Experiment") -> None:
    """The method against the tasks and seeds, and the options that belong to another method."""
    m = exp.method
    if m.name != "ap":
        if len(exp.tasks) > 1:
            raise ExperimentError(f"method.name = {m.name!r} trains one task; the experiment has tasks "
                                  f"{', '.join(exp.tasks)} (keep one)")
        if exp.train.seeds > 1:
            raise ExperimentError(f"train.seeds = {exp.train.seeds}: seeds as one ensemble are for AP; "
                                  f"method {m.name!r} runs one seed at a time")
    else:
        extra = [k for k in ("hidden", *m.ep_options()) if getattr(m, k) is not None]
        if extra:
            raise ExperimentError(f"method.{extra[0]} is an option of the baselines (bp, fa, ep); method.name is 'ap'")
    if m.name in ("bp", "fa") and m.ep_options():
        raise ExperimentError(f"method.{next(iter(m.ep_options()))} is an option of ep, not {m.name}")


def _recommended(wiring: WiringSpec) -> dict:
    """The preset's own settings (``presets.SETTINGS``); none for an inline wiring."""
    from .presets import SETTINGS

    return {} if wiring.inline is not None else SETTINGS.get(wiring.preset, {})


def _preset_settings(d: dict, wiring: WiringSpec) -> dict:
    """``d`` with the keys it leaves out of [ap], [train] and [init] taken from its preset's own settings, so
    that a file naming ``preset = "digits"`` trains as ``apexplorer train --dataset digits`` and a URL with
    ``?preset=digits`` do (the global defaults are for keys no preset sets)."""
    rec = _recommended(wiring)
    if not rec:
        return d
    d = dict(d)
    for name, cls in (("ap", APSettings), ("train", TrainSettings)):
        sec = d.get(name)
        if sec is None or isinstance(sec, dict):  # anything else is refused by the section, as before
            own = {k: rec[k] for k in cls.keys() if k in rec}
            d[name] = {**own, **(sec or {})}
    if "init" in rec and d.get("init") is None:
        d["init"] = dict(rec["init"])
    return d


#: what an experiment file is, for messages about a file that is not one
EXPERIMENT_IS = ("an experiment file is the .toml (or .json) that the explorer's \"Download experiment.toml\" or "
                 "Experiment.save writes, e.g. [wiring] preset = \"digits\" and [tasks] main = \"digits\"")


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
            value = parse_text(key, value, meta)
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
            value = parse_text(key, value, meta)
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
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as e:
                    short = value if len(value) <= 40 else value[:37] + "..."
                    raise ExperimentError(f"wiring.inline = {short!r} is not valid JSON ({e.msg} at character "
                                          f"{e.pos}); give a whole wiring as JSON, or a wiring file with "
                                          "--wiring FILE.json") from None
            if not isinstance(value, dict):
                raise ExperimentError(f"wiring.inline must be a wiring (a JSON object), not {type(value).__name__}")
            d["wiring"] = {"inline": value}
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
    hint = did_you_mean(key, keys)
    if hint:
        raise ExperimentError(f"unknown key {key!r}{hint} (apexplorer run --help lists every key)")
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
    value = parse_text(key, text, meta) if meta["kind"] != "str" else text
    return coerce(ALIASES.get(key, key), value, meta)
