"""From an :class:`~apexplorer.experiment.Experiment` to a ready :class:`~apexplorer.trainer.Trainer`.

:func:`build` loads the experiment's data, makes its wiring for the data's
sizes, draws the network (or a baseline learner) and returns the trainer,
which keeps the experiment (``trainer.experiment``) and writes it into every
checkpoint.  :func:`resume` continues a checkpoint with the changes a resume
may make.
"""

from __future__ import annotations

import itertools
import json
import time

from .data import fresh_2afc, load_2afc, load_dataset
from .toy import load_toy, toy_names
from .errors import ApexplorerError, choices
from .experiment import ALIASES, Experiment, ExperimentError
from .init import init_tensors
from .table import TABLE, resumable_keys, rows
from .trainer import Trainer
from .wiring import Wiring

#: What a resumed run may change: how long it trains and how it steps, not what it is (the table's resumable
#: keys), and its name and notes.
RESUMABLE = (*resumable_keys(), "name", "notes")
#: What a resume of a checkpoint from before experiments may change: the resumable keys that have a flag,
#: as Trainer.load's keywords (the device is where it loads).
LEGACY_RESUMABLE = {r.key: r.name for r in TABLE if r.resumable and r.flag and r.key != "train.device"}


def data_key(spec) -> str:
    """A task's key in the cache of loaded datasets (:func:`task_data`): its dataset, and its CSV label column."""
    return spec.dataset if spec.label is None else f"{spec.dataset}\0{spec.label}"


def task_data(spec, loaded: dict, data_dir=None, download: bool = False):
    """One task's Dataset (``spec``: its TaskSpec), cut to its subsets; ``loaded`` ({name: Dataset}) caches
    whole datasets by name.  A toy task draws ``train_size`` / ``test_size`` points at its ``noise``."""
    if spec.dataset in toy_names():
        return load_toy(spec.dataset, spec.noise, spec.train_size, spec.test_size)
    if spec.fresh:  # new images every epoch (validated: only 2afc)
        d = fresh_2afc(noise=spec.noise)
    elif spec.noise is not None:  # a generated 2afc set at one noise level (validated: only 2afc has one)
        d = load_2afc(noise=spec.noise)
    else:
        key = data_key(spec)
        if key not in loaded:
            loaded[key] = load_dataset(spec.dataset, data_dir, download, label=spec.label)
        d = loaded[key]
    if spec.train_size or spec.test_size:
        d = d.subset(spec.train_size, spec.test_size)
    return d


def load_data(exp: Experiment, data_dir=None, download: bool = False, datasets: dict | None = None) -> dict:
    """{task: Dataset} of the experiment's tasks, each cut to its subsets; ``datasets`` ({name: Dataset})
    supplies already loaded data by dataset name."""
    loaded = dict(datasets or {})
    return {t: task_data(spec, loaded, data_dir, download) for t, spec in exp.tasks.items()}


def record_files(exp: Experiment, data: dict) -> tuple:
    """``exp`` with each data file's SHA-256 recorded (``tasks.T.sha256``), and a note for each file whose
    content changed since the experiment recorded it (the run goes on, on the data as it is now)."""
    changes, notes = {}, []
    for t, spec in exp.tasks.items():
        d = data.get(t)
        digest = getattr(d, "sha256", None)
        if digest is None or spec.sha256 == digest:
            continue
        if spec.sha256 is not None:
            notes.append(f"the data file of task {t}, {d.name}, changed since this experiment was recorded "
                         f"(sha256 {spec.sha256[:12]}... then, {digest[:12]}... now); this run uses it as it is now")
        changes[f"tasks.{t}.sha256"] = digest
    return (exp.with_changes(changes) if changes else exp), notes


def make_wiring(exp: Experiment, data: dict) -> Wiring:
    """The experiment's wiring for the data's sizes, with every module's radius / rate where the experiment sets them."""
    from .presets import preset, preset_tasks

    if exp.wiring.inline is not None:
        wiring = exp.inline_wiring()
    else:
        names = preset_tasks(exp.wiring.preset)
        # a task that is not listed still needs sizes for its ports: those of a listed task (list it with
        # train = false to give its own, so that the draw does not depend on which tasks train)
        first = next(iter(data.values()))
        ds = [data.get(t, first) for t in names]
        n_in = [d.n_features for d in ds]
        n_out = [d.n_classes for d in ds]
        if len(names) == 1:
            n_in, n_out = n_in[0], n_out[0]
        try:
            wiring = preset(exp.wiring.preset, n_in, n_out, **exp.wiring.options)
        except (TypeError, ValueError) as e:
            raise ExperimentError(f"wiring.options of preset {exp.wiring.preset!r}: {e}") from None
    if exp.ap.spectral_radius is not None:
        wiring = wiring.with_spectral_radius(exp.ap.spectral_radius)
    if exp.ap.connection_rate is not None:
        wiring = wiring.with_connection_rate(exp.ap.connection_rate)
    return wiring


def build(exp: Experiment, data_dir=None, download: bool = False, datasets: dict | None = None,
          data: dict | None = None, members=None, radii=None) -> Trainer:
    """The trainer of ``exp``: data loaded (``data_dir``, ``download``), network drawn on its device.

    ``datasets`` maps dataset names to loaded :class:`Dataset` objects (a cache);
    ``data`` gives the {task: Dataset} map itself (already cut to its subsets);
    ``members`` trains these seeds as one AP ensemble (default: ``train.seeds``
    seeds from ``train.seed``), ``radii`` (one per member) with each member's
    modules at its own spectral radius.
    """
    exp = Experiment.from_dict(exp) if isinstance(exp, dict) else exp
    data = data if data is not None else load_data(exp, data_dir, download, datasets)
    missing = [t for t in exp.tasks if t not in data]
    if missing:
        raise ApexplorerError(f"no data for task(s) {', '.join(missing)}; data is given for {choices(data)}")
    data = {t: data[t] for t in exp.tasks}
    exp, notes = record_files(exp, data)
    cfg = exp.train.config()
    batch_sizes = {t: s.batch_size for t, s in exp.tasks.items() if s.batch_size is not None}
    if exp.method.name == "ap":
        wiring = make_wiring(exp, data)  # every listed task sizes its ports, trained or not
        data = {t: d for t, d in data.items() if exp.tasks[t].train is not False}
        trainer = Trainer.create(wiring, data, exp.ap.config(), cfg, task=list(data), schedule=exp.train.schedule,
                                 batch_sizes=batch_sizes, seeds=None if members is None else tuple(members),
                                 radii=None if radii is None else tuple(float(r) for r in radii),
                                 init=exp.init.config())
    else:
        from .baselines import make_learner

        (task, d), = data.items()
        learner = make_learner(exp.method.name, d.n_features, d.n_classes, cfg, exp.method.hidden,
                               **exp.method.ep_options())
        trainer = Trainer(learner, data, cfg, task=[task], batch_sizes=batch_sizes)
    trainer.experiment = exp
    trainer.data_notes = notes
    return trainer


def checkpoint_experiment(state: dict, path=None) -> Experiment | None:
    """The experiment a checkpoint was trained from (None for a checkpoint written before experiments),
    checked against the learner the checkpoint holds (:func:`check_learner`)."""
    d = state.get("experiment")
    if d is None:
        return None
    exp = Experiment.from_dict(d)
    check_learner(state, exp, path)
    return exp


def experiment_of(wiring: Wiring, datasets: dict, ap: dict, train: dict, schedule: str = "alternating",
                  batch_sizes: dict | None = None) -> Experiment:
    """The experiment of an AP run made without one (a checkpoint saved before experiments, a notebook's
    trainer): its wiring inline, its tasks' datasets, its phases and its training."""
    bs = dict(batch_sizes or {})
    tasks = {t: ({"dataset": d, "batch_size": bs[t]} if t in bs else d) for t, d in datasets.items()}
    tr = {r.name: train[r.name] for r in rows("train") if train.get(r.name) is not None}  # TrainConfig's keys
    tr.update(seeds=int(train.get("ensemble", 1) or 1), schedule=schedule)
    # APConfig's keys; an optional one that is off (f_prime false) is left out, as a file leaves it out
    aps = {r.name: ap[r.name] for r in rows("ap") if r.name in ap and not (r.optional and not ap[r.name])}
    return Experiment.from_dict({"wiring": {"inline": wiring.to_dict()}, "tasks": tasks, "train": tr, "ap": aps})


def upgrade(state: dict, path=None) -> Experiment | None:
    """The one place a checkpoint becomes an experiment: the one it holds (checked, :func:`checkpoint_experiment`),
    or, written before experiments, the one its AP network was trained from (:func:`experiment_of`).

    None only for a baseline (BP, FA, EP) saved before experiments; such a run resumes as it was saved.
    Raises CheckpointError for a checkpoint that lacks the parts an upgrade reads.
    """
    from .checkpoint import CheckpointError

    exp = checkpoint_experiment(state, path)
    if exp is not None:
        return exp
    lw = state.get("learner") or {}
    if "wiring" not in lw:
        return None
    where = f"checkpoint {str(path)!r}" if path is not None else "the checkpoint"
    try:
        return experiment_of(Wiring.from_dict(lw["wiring"], warn=False), dict(state["datasets"]),
                             dict(lw.get("ap_config", {})), dict(state["train_config"]),
                             state.get("schedule", "alternating"), state.get("batch_sizes"))
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{where} was written before experiments and lacks {e}; it cannot be read") from None


def trainer_experiment(tr: Trainer) -> Experiment:
    """The experiment of a trainer: ``trainer.experiment``, or for an AP trainer made without one, the one
    written from its parts (:func:`experiment_of`)."""
    if getattr(tr, "experiment", None) is not None:
        return tr.experiment
    from dataclasses import asdict

    data = tr.data if isinstance(tr.data, dict) else {tr.task.name: tr.data}
    return experiment_of(tr.net.wiring, {n: d.name for n, d in data.items()}, asdict(tr.net.config),
                         asdict(tr.config), tr.schedule,
                         {n: b for n, b in tr.batch_sizes.items() if b != tr.config.batch_size})


def check_learner(state: dict, exp: Experiment, path=None) -> None:
    """Refuse a checkpoint whose learner is not the network its experiment describes (a learner swapped in
    from another run): the method, the phases, the seeds and, for AP, the whole wiring must agree."""
    from types import SimpleNamespace

    from .checkpoint import CheckpointError

    where = "the checkpoint" if path is None else f"checkpoint {str(path)!r}"
    lw = state.get("learner") or {}

    def refuse(what, saved, claimed):
        raise CheckpointError(f"{where}: its learner has {what} {saved!r}, but its experiment says {claimed!r}; "
                              "the learner is another run's (the file is damaged or mixes two runs)")

    kind = lw.get("kind")
    if kind != exp.method.name:
        refuse("method", kind, exp.method.name)
    if kind != "ap":
        cfg = lw.get("config") or {}
        if "seed" in cfg and cfg["seed"] != exp.train.seed:
            refuse("seed", cfg["seed"], exp.train.seed)
        if exp.method.hidden is not None and "hidden" in cfg and tuple(cfg["hidden"]) != tuple(exp.method.hidden):
            refuse("hidden layers", tuple(cfg["hidden"]), tuple(exp.method.hidden))
        return
    ap = lw.get("ap_config") or {}
    for k in ("t1", "t2", "mode", "beta", "activation", "precision"):
        if k in ap and ap[k] != getattr(exp.ap, k):
            refuse(f"ap.{k}", ap[k], getattr(exp.ap, k))
    seeds = lw.get("seeds")
    if seeds is None:
        if exp.train.seeds > 1:
            refuse("train.seeds", 1, exp.train.seeds)
        if lw.get("seed") != exp.train.seed:
            refuse("train.seed", lw.get("seed"), exp.train.seed)
    elif list(seeds) != list(range(exp.train.seed, exp.train.seed + exp.train.seeds)):
        refuse("seeds", list(seeds), list(range(exp.train.seed, exp.train.seed + exp.train.seeds)))
    try:
        saved = Wiring.from_dict(lw["wiring"], warn=False)
        ports = {p.name: p.size for p in saved.inputs + saved.outputs}
        sizes = {t.name: SimpleNamespace(n_features=ports[t.input], n_classes=ports[t.output]) for t in saved.tasks
                 if t.name in exp.tasks}
        claimed = make_wiring(exp, sizes) if sizes else None
    except (ApexplorerError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: its learner's wiring is damaged ({e})") from None
    if claimed is None or claimed.to_dict() != saved.to_dict():
        refuse("wiring", saved.name, "the wiring of " + (exp.wiring.preset or "its inline wiring"))
    _check_fixed(lw, saved, exp, where)


def _check_fixed(lw: dict, wiring: Wiring, exp: Experiment, where: str) -> None:
    """The tensors training never changes (the fixed feedback and readout bias, the reservoirs' pattern) must be
    those the experiment's seeds draw; a learner swapped in from another run's tensors fails here."""
    import torch

    from .checkpoint import CheckpointError

    seeds = lw.get("seeds")
    members = list(seeds) if seeds is not None else [lw.get("seed", exp.train.seed)]
    saved = lw.get("tensors") or {}
    for k, sd in enumerate(members):
        drawn = init_tensors(wiring, sd, exp.init.config(), scale=False)
        for group in ("feedback", "readout_bias", "reservoirs"):
            for name, want in drawn[group].items():
                got = (saved.get(group) or {}).get(name)
                if not isinstance(got, torch.Tensor):
                    continue  # shapes and presence are check_tensors' part
                got = got[k] if seeds is not None else got
                same = (torch.equal(got != 0, want != 0) if group == "reservoirs" else
                        got.shape == want.shape and torch.allclose(got.float(), want, rtol=1e-5, atol=1e-7))
                if not same:
                    raise CheckpointError(
                        f"{where}: its learner's fixed tensor {group}[{name!r}] is not the one seed {sd} of its "
                        "experiment draws; the learner is another run's (the file is damaged or mixes two runs)")


def resume(path, changes: dict | None = None, data_dir=None, download: bool = False,
           datasets: dict | None = None) -> Trainer:
    """Continue the checkpoint at ``path``; ``changes`` (dotted keys) may touch only :data:`RESUMABLE`.

    Changing anything else (the wiring, the data, the phases, the method) would
    make another run: that is refused with a message that names the keys.
    """
    from . import checkpoint

    st = checkpoint.load(path)
    exp = upgrade(st, path)
    changes = dict(changes or {})
    if exp is not None:
        new = exp.with_changes(changes) if changes else exp
        changed = list(exp.diff(new))
        refused = [k for k in changed if k not in RESUMABLE]
        if refused:
            raise ApexplorerError(
                f"a resumed run continues the same experiment: {', '.join(refused)} cannot change "
                f"(a resume may change {', '.join(k for k in RESUMABLE if k.startswith('train.'))}); "
                "start a new run for a different experiment")
        exp = new
        tasks = exp.tasks
        names = {t: s.dataset for t, s in tasks.items()}
    else:
        names = dict(st["datasets"])
        tasks = None
    loaded = dict(datasets or {})
    data = {}
    for t, name in names.items():
        if tasks is not None:
            data[t] = task_data(tasks[t], loaded, data_dir, download)
        else:
            if name not in loaded:
                loaded[name] = load_dataset(name, data_dir, download)
            data[t] = loaded[name]
    over = {}
    if exp is not None:
        # the resumable [train] keys, as TrainConfig's overrides (the device is where the trainer loads)
        over = {r.name: getattr(exp.train, r.name) for r in TABLE
                if r.resumable and r.section == "train" and r.key != "train.device"}
    else:
        for k, v in changes.items():
            key = ALIASES.get(k, k)
            if key == "train.device":
                continue
            if key not in LEGACY_RESUMABLE:
                allowed = [n.replace("_", " ") for n in [*LEGACY_RESUMABLE.values(), "device"]]
                raise ApexplorerError(f"this checkpoint predates experiments: a resume may change only "
                                      f"{', '.join(allowed[:-1])} and {allowed[-1]}, not {k}")
            over[LEGACY_RESUMABLE[key]] = v
    device = None if exp is None or exp.train.device == "auto" else exp.train.device
    for k in ("train.device", "device"):
        if changes.get(k) is not None:
            device = None if changes[k] == "auto" else changes[k]
    trainer = Trainer.load(path, data, device=device, **over)
    trainer.experiment = exp
    return trainer


_MEMBER_SECONDS: dict = {}  # a wiring's JSON -> (seconds to draw one member of it here, when it was timed)
_TIMINGS = itertools.count()
#: A timing is reused this long (seconds), then taken again: the machine's load changes.
TIMING_TTL = 60.0


def build_seconds(wiring, members: int = 1) -> float:
    """Estimated seconds to draw an ensemble of ``members`` networks of ``wiring`` on this machine.

    One member is drawn and timed (its reservoirs, their spectral radii, its paths: the
    build's costly part, repeated for every member), at most once per wiring every
    :data:`TIMING_TTL` seconds; the estimate is that time ``members`` times.  It follows the
    machine's load at that moment.
    """
    key = json.dumps(wiring.to_dict(), sort_keys=True)
    seen = _MEMBER_SECONDS.get(key)
    if seen is None or time.monotonic() - seen[1] > TIMING_TTL:
        t = time.perf_counter()
        init_tensors(wiring, seed=2_147_483_647 - next(_TIMINGS))  # seeds no run draws: never a cached radius
        _MEMBER_SECONDS.pop(key, None)
        _MEMBER_SECONDS[key] = seen = (time.perf_counter() - t, time.monotonic())
        if len(_MEMBER_SECONDS) > 64:
            _MEMBER_SECONDS.pop(next(iter(_MEMBER_SECONDS)))
    return seen[0] * max(int(members), 1)


__all__ = ["RESUMABLE", "build", "build_seconds", "checkpoint_experiment", "data_key", "experiment_of", "load_data",
           "make_wiring", "resume", "trainer_experiment", "upgrade"]
