"""The state of one explorer session (no Panel): its experiment, the network built from it, the runner.

:class:`ExplorerState` holds one :class:`~apexplorer.experiment.Experiment`, the only
description of the run the page shows: wiring, tasks and their data, the phases,
the training, the method and the initialisation.  The widgets are views of it:
:class:`Settings` and the Tasks panel write their changes into it
(``Experiment.with_changes``) and follow it whenever it is replaced (a preset, a
session, an experiment file, a link, a figure of the paper), so a widget can never
show another run than the one that trains.  The network editor's
:class:`WiringModel` shows its wiring; an edit there makes the wiring inline.

The network is built from the experiment with :func:`apexplorer.build.build`
(its ``[init]``, task batch sizes and subsets included); ``built`` is the
experiment of the network that runs.  What differs structurally between the two
(``built.diff(experiment)``) waits for a fresh network (``pending``), and the
app asks before it throws a trained one away; T1, T2, mode, β, learning rate
and epochs apply to the running network between two batches.  Datasets are
cached for the whole process: they are read-only tensors, never Bokeh objects.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from pathlib import Path

import param

from ..build import build, build_seconds, checkpoint_experiment, make_wiring, resume
from ..checkpoint import load as load_checkpoint
from ..data import dataset_names, load_dataset
from ..devices import device_choices
from ..errors import ApexplorerError, WiringWarning
from ..experiment import Experiment
from ..memory import check_memory, format_bytes
from ..presets import MULTITASK, preset_tasks
from ..side_by_side import BASELINES, companions
from ..trainer import Trainer, resolve_device
from ..wiring import Wiring
from .files import Upload
from .runner import Runner, apply_live
from .settings import KEYS, LIVE_KEYS, Settings
from .status import Progress, clock, status_line
from .wiring_model import WiringModel

_DATA = {}
_DATA_LOCK = threading.Lock()


def get_dataset(name: str):
    """Load a dataset once per process (datasets are shared read-only between sessions)."""
    with _DATA_LOCK:
        if name not in _DATA:
            _DATA[name] = load_dataset(name)
        return _DATA[name]


def available(name: str) -> bool:
    try:
        get_dataset(name)
    except ApexplorerError:
        return False
    return True


#: Ensembles of this many seeds or more are timed before they are built (:func:`apexplorer.build.build_seconds`).
ENSEMBLE_CHECK = 8
#: The longest build the page starts (seconds); ``APEXPLORER_BUILD_LIMIT`` sets another.
BUILD_LIMIT_S = float(os.environ.get("APEXPLORER_BUILD_LIMIT") or 20.0)

#: A dotted key -> the name a pending change goes by ("spectral radius", "wiring", "tasks").
_NAMES = {k: n for n, k in KEYS.items()}


def pending_names(diff: dict) -> list:
    """What of ``diff`` ({key: (built, now)}) needs a fresh network, in words of the Settings tab."""
    out = []
    for k in diff:
        if k in LIVE_KEYS or k in ("name", "notes"):
            continue
        if k in _NAMES:
            name = _NAMES[k]
        elif k.startswith("wiring."):
            name = "wiring"
        elif k.startswith("tasks.") or k == "train.schedule":
            name = "tasks"
        else:
            name = k.split(".")[0] if k.startswith(("init.", "method.")) else k.split(".")[-1]
        if name not in out:
            out.append(name)
    return out


def gui_words(message: str) -> str:
    """A library message as a page visitor reads it (the page has menus, not flags)."""
    return message.replace("use --device cpu or auto", "choose auto or cpu under Settings → Device")


def experiment_of(wiring: Wiring, datasets: dict, ap: dict, train: dict, schedule: str = "alternating",
                  batch_sizes: dict | None = None) -> Experiment:
    """The experiment of a run made without one (a session saved before experiments, a notebook's trainer)."""
    bs = dict(batch_sizes or {})
    tasks = {t: ({"dataset": d, "batch_size": bs[t]} if t in bs else d) for t, d in datasets.items()}
    keys = ("epochs", "batch_size", "lr", "optimizer", "seed", "device", "early_stop", "max_loss", "eval_batch_size")
    tr = {k: train[k] for k in keys if train.get(k) is not None}
    tr.update(seeds=int(train.get("ensemble", 1) or 1), schedule=schedule)
    return Experiment.from_dict({"wiring": {"inline": wiring.to_dict()}, "tasks": tasks, "train": tr,
                                 "ap": {k: ap[k] for k in ("t1", "t2", "mode", "beta", "activation", "precision")
                                        if k in ap}})


def checkpoint_or_legacy(st: dict) -> Experiment:
    """The experiment a checkpoint holds, or the one it was trained from when it predates experiments."""
    exp = checkpoint_experiment(st)
    if exp is not None:
        return exp
    lw = st["learner"]
    return experiment_of(Wiring.from_dict(lw["wiring"], warn=False), dict(st["datasets"]),
                         dict(lw.get("ap_config", {})), dict(st["train_config"]), st.get("schedule", "alternating"),
                         st.get("batch_sizes"))


def trainer_experiment(tr: Trainer) -> Experiment:
    """The experiment of a trainer (``trainer.experiment``, or one written from its parts)."""
    if getattr(tr, "experiment", None) is not None:
        return tr.experiment
    from dataclasses import asdict

    data = tr.data if isinstance(tr.data, dict) else {tr.task.name: tr.data}
    return experiment_of(tr.net.wiring, {n: d.name for n, d in data.items()}, asdict(tr.net.config),
                         asdict(tr.config), tr.schedule,
                         {n: b for n, b in tr.batch_sizes.items() if b != tr.config.batch_size})


class ExplorerState(param.Parameterized):
    """Everything one explorer session knows, apart from its views."""

    experiment = param.ClassSelector(class_=Experiment, doc="The run the page describes (the one source of truth).")
    built = param.ClassSelector(class_=Experiment, default=None, allow_None=True,
                                doc="The experiment of the network that runs (None before the first build).")
    baselines = param.ListSelector(default=[], objects=list(BASELINES),
                                   doc="Baselines trained beside AP: the same layer sizes, seed and batches.")
    built_baselines = param.List(default=[], doc="The baselines that train beside the network that runs.")
    task = param.String(default="main", doc="The task shown on the graph and recorded by the probes.")
    message = param.String(default="", doc="The latest error, in the library's words.")
    info = param.String(default="", doc="The latest notice (saved, loaded, settings applied).")
    pending = param.List(default=[], doc="Changed structural settings awaiting confirmation.")
    status = param.String(default="no network yet: press Train")
    build_limit_s = param.Number(default=BUILD_LIMIT_S, bounds=(0, None), doc=(
        "The longest build of an ensemble the page starts, in seconds (estimated first); a larger one is refused."))

    def __init__(self, dataset: str = "digits", preset_name: str | None = None, runner: Runner | None = None,
                 experiment: Experiment | None = None, **params):
        super().__init__(**params)
        self.settings = Settings()
        self.wiring = WiringModel()
        self.runner = runner or Runner()
        self.progress = Progress()
        self._last = {}
        self._segments = []  # the passes of an epoch [(task, batches)], from the network's reset event
        self._loading = False
        self._shown = None  # the wiring dict the experiment gives (what the editor started from)
        self._problem = ""  # the shown message, when it is a problem that stops building (kept true)
        self._ready_note = False  # the notice says the network is ready or loaded (gone once it trains)
        self._keep_note = False  # the notice says what this machine changed in the experiment
        self._fresh = False  # a network was just built (changes made meanwhile are caught up with)
        self._lead = ""  # a notice that stays in front of "a fresh network is ready"
        if experiment is not None:
            if not self.set_experiment(experiment):
                raise ApexplorerError(self.message)
        else:
            self.load_preset(preset_name or ("digits" if dataset == "digits" else "paper-2layer"), [dataset])
        self.settings.param.watch(self._on_settings, list(self.settings.values()))
        self.wiring.param.watch(self._on_wiring, "spec")
        self.param.watch(lambda e: self._update_pending(), "baselines")

    # ------------------------------------------------------------ views of the experiment
    @property
    def datasets(self) -> dict:
        """{task: dataset name} of the experiment."""
        return {t: s.dataset for t, s in self.experiment.tasks.items()}

    @property
    def schedule(self) -> str:
        return self.experiment.train.schedule

    def task_names(self) -> list:
        """The tasks of the wiring (the experiment may train some of them)."""
        return self.wiring.task_names or list(self.experiment.tasks)

    def wiring_of(self, exp: Experiment) -> Wiring:
        """The wiring ``exp`` builds, sized for its data (raises ApexplorerError)."""
        data = {t: get_dataset(s.dataset) for t, s in exp.tasks.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WiringWarning)
            return make_wiring(exp, data)

    # ------------------------------------------------------------ replacing the experiment
    def fit_machine(self, exp: Experiment, data: bool = True) -> tuple:
        """(``exp`` as this machine can run it, notes): a missing dataset becomes digits (``data``), a missing
        GPU becomes auto."""
        notes, changes = [], {}
        if exp.train.device not in device_choices():
            changes["train.device"] = "auto"
            notes.append(f"this experiment asks for device {exp.train.device}, which this machine lacks, so it "
                         "trains on auto (the CPU here)")
        if data:
            swapped = {t: s.dataset for t, s in exp.tasks.items() if not available(s.dataset)}
            for t in swapped:
                changes[f"tasks.{t}.dataset"] = "digits"
            if swapped:
                notes.append(f"{', '.join(dict.fromkeys(swapped.values()))} is not on this machine, so "
                             + ", ".join(f"task {t} uses digits" for t in swapped) + " (choose on the Tasks tab)")
        return (exp.with_changes(changes) if changes else exp), notes

    def set_experiment(self, exp: Experiment, note: str = "", lasting: bool = False) -> bool:
        """Show ``exp`` (every widget follows); the network follows as :meth:`_update_pending` decides.

        ``note`` tells what happened; a ``lasting`` one (a file, a link, a figure) stays in front of
        "a fresh network is ready"."""
        try:
            exp, notes = self.fit_machine(exp)
            w = self.wiring_of(exp)
        except ApexplorerError as e:
            self.message = gui_words(str(e))
            return False
        self._show(exp, w)
        self.message = self._problem = ""
        if self.built is not None and not pending_names(self.built.diff(exp)):
            self._apply_live(list(self.built.diff(exp)))  # the same network: its live settings follow
        self._update_pending()
        if notes:
            self._note("; ".join([note, *notes] if lasting and note else notes), keep=True)
        elif note:
            self._note(note, about_state=True)
            self._lead = note if lasting else ""
        return True

    def _show(self, exp: Experiment, wiring: Wiring) -> None:
        self._loading = True  # the views follow; nothing is applied to the running network here
        try:
            self.experiment = exp
            self._shown = wiring.to_dict()
            if self.wiring.wiring is None or self.wiring.wiring.to_dict() != self._shown:
                self.wiring.set_wiring(wiring)
            self.settings.follow(exp, wiring)
            names = self.task_names()
            if self.task not in names:
                self.task = names[0]
        finally:
            self._loading = False

    def load_preset(self, name: str, datasets: list | None = None) -> bool:
        """Load a preset for the given datasets (one per task), with its recommended settings."""
        try:
            n_tasks = len(preset_tasks(name))
            if datasets is None or len(datasets) != n_tasks:
                datasets = self._default_datasets(name, n_tasks)
            exp = Experiment.from_preset(name, datasets)
        except ApexplorerError as e:
            self.message = str(e)
            return False
        return self.set_experiment(exp, f"loaded preset {name}")

    def _default_datasets(self, name, n_tasks):
        wanted = list(MULTITASK.get(name, ()))
        cur = list(self.datasets.values()) if self.experiment is not None else []
        if not wanted:  # a preset named after a dataset (digits, 2afc) goes with it
            return [name if name in dataset_names() else (cur[0] if cur else "digits")]
        return wanted  # the paper's pair; fit_machine swaps what this machine lacks

    # ------------------------------------------------------------ changing it
    def change(self, changes: dict, from_editor: bool = False) -> bool:
        """Write dotted-key ``changes`` into the experiment; a refused value shows the library's message."""
        try:
            new = self._normalise(self.experiment.with_changes(changes))
        except ApexplorerError as e:
            self._show_problem(gui_words(str(e)))
            return False
        old = self.experiment
        if new == old:
            self._update_pending()
            return True
        diff = old.diff(new)
        if from_editor:
            self._loading = True
            try:
                self.experiment = new
                self._shown = self.wiring.wiring.to_dict()
                self.settings.follow(new, self.wiring.wiring)
            finally:
                self._loading = False
        else:
            try:
                w = self.wiring_of(new)
            except ApexplorerError as e:
                self._show_problem(gui_words(str(e)))
                return False
            self._show(new, w)
        self._apply_live(list(diff))
        self._update_pending()
        return True

    def _normalise(self, exp: Experiment) -> Experiment:
        """rho or c equal to what every module has anyway is left to the wiring (no change to ask about)."""
        changes = {}
        for key in ("ap.spectral_radius", "ap.connection_rate"):
            v = exp.get(key)
            if v is None:
                continue
            base = self.wiring_of(exp.with_changes({key: None}))
            if base.modules and all(getattr(m, key[3:]) == v for m in base.modules):
                changes[key] = None
        return exp.with_changes(changes) if changes else exp

    def set_dataset(self, task: str, name: str) -> None:
        """Give ``task`` a dataset; the ports fit it (an inline wiring's ports are resized)."""
        try:
            d = get_dataset(name)
        except ApexplorerError as e:
            self.message = str(e)
            return
        changes = {f"tasks.{task}.dataset": name}
        if self.experiment.wiring.inline is not None:
            m = WiringModel(Wiring.from_dict(self.experiment.wiring.inline, warn=False))
            m.fit_ports(task, d.n_features, d.n_classes)
            changes["wiring.inline"] = m.spec
        self.message = ""
        self.change(changes)

    def set_schedule(self, schedule: str) -> None:
        self.change({"train.schedule": schedule})

    def _on_wiring(self, event):
        """An edit in the network editor (or the Tasks tab's paths): the wiring becomes inline."""
        if self._loading:
            return
        names = self.wiring.task_names
        if names and self.task not in names:
            self.task = names[0]
        w = self.wiring.wiring
        if w is not None and w.to_dict() != self._shown:
            exp = self.experiment
            tasks = {t: s.to_dict() for t, s in exp.tasks.items()}
            names = [t.name for t in w.tasks]
            if not set(tasks) <= set(names):  # an imported wiring with other tasks: each gets the first's data
                first = next(iter(tasks.values()))
                tasks = {t: tasks.get(t, first) for t in names}
            self.change({"wiring.inline": w.to_dict(), "tasks": tasks, "ap.spectral_radius": None,
                         "ap.connection_rate": None}, from_editor=True)
        else:
            self._update_pending()
        self._recheck()

    def _on_settings(self, *events):
        if self._loading:
            return
        err = self.settings.check()
        if err:
            self._show_problem(err)
            return
        self._recheck()
        changes = self.settings.changes(self.experiment, self.wiring.wiring)
        if self.wiring.wiring is None:  # a wiring being edited keeps its edit: rho and c go into it
            for k in ("ap.spectral_radius", "ap.connection_rate"):
                if k in changes:
                    self.wiring.set_all_modules(k[3:], changes[k])
        self.change(changes)

    def _apply_live(self, keys: list) -> None:
        """Apply the live keys among ``keys`` to the running network (and note them in ``built``)."""
        b, tr = self.built, self.runner.trainer
        if b is None or tr is None:
            return
        live = {k: self.experiment.get(k) for k in keys if k in LIVE_KEYS and b.get(k) != self.experiment.get(k)}
        if not live:
            return
        ap = {k[3:]: v for k, v in live.items() if k.startswith("ap.")}
        lr, epochs = live.get("train.lr"), live.get("train.epochs")

        def fn(trainer):
            from dataclasses import replace

            from ..baselines import EP_LR

            apply_live(trainer, ap=replace(trainer.net.config, **ap) if ap and trainer.net is not None else None,
                       lr=lr, epochs=epochs)
            if trainer.experiment is not None:
                trainer.experiment = trainer.experiment.with_changes(live)
            for name, tr in self.runner.side.items():  # the baselines beside it train as long, at the same rate
                apply_live(tr, lr=None if lr is None else (min(lr, EP_LR) if name == "ep" else lr), epochs=epochs)

        names = ", ".join(_NAMES[k] for k in live)
        self.runner.call(fn, f"applied {names} to the running network")
        self.built = b.with_changes(live)

    def _update_pending(self):
        """Structural changes since the network was built (they need a fresh network)."""
        b = self.built
        if self._loading:
            return
        if b is None:
            self.pending = []
            return
        out = pending_names(b.diff(self.experiment))
        if self.wiring.wiring is None and "wiring" not in out:  # an edit that is not a wiring yet
            out.append("wiring")
        if sorted(self.baselines) != sorted(self.built_baselines):
            out.append("baselines")
        gone = self.runner.state == "empty"  # dropped, or its build failed: build again once it can be built
        if (out or gone) and self.runner.state in ("ready", "empty"):  # nothing trained: nothing to lose, no question
            err = self.problems()
            if not err:
                self.reset()
                return
            if self.runner.trainer is not None:
                # the shown network is not the one the page describes, and that one cannot be built
                self._show_problem(err)
                self.runner.discard()
        self.pending = out

    def structural_changes(self) -> list:
        self._update_pending()
        return list(self.pending)

    def revert(self) -> None:
        """Keep the trained network: the page shows its experiment again."""
        if self.built is None:
            return
        self._show(self.built, self.wiring_of(self.built))
        self.baselines = list(self.built_baselines)
        self.message = self._problem = ""
        self._update_pending()

    # ---------------------------------------------------------------- run
    def problems(self) -> str:
        """What stops a network from being built ('' when nothing): the wiring, the settings, or
        the memory it needs (checked before anything is allocated)."""
        err = self.wiring.error or self.settings.check()
        if err:
            return err
        exp = self.experiment
        try:
            if self.baselines:
                companions(exp, self.baselines, self.wiring.wiring)
            sizes = [s.batch_size or exp.train.batch_size for s in exp.tasks.values()]
            need = check_memory(self.wiring.wiring, batch_size=max(sizes), members=exp.train.seeds,
                                precision=exp.ap.precision, device=resolve_device(exp.train.device))
        except ApexplorerError as e:
            return gui_words(str(e))
        return self._too_slow(exp, need)

    def _too_slow(self, exp: Experiment, need) -> str:
        """Why an ensemble is refused ('' when not): it would take longer than :attr:`build_limit_s` to build."""
        seeds = exp.train.seeds
        if seeds < ENSEMBLE_CHECK:
            return ""
        secs = build_seconds(self.wiring.wiring, seeds)
        if secs <= self.build_limit_s:
            return ""
        most = max(1, int(self.build_limit_s / (secs / seeds)))
        return (f"seeds {seeds}: an ensemble of {seeds} networks would take about {clock(secs)} to build here and "
                f"hold about {format_bytes(need.total)}; the page builds ensembles of up to {clock(self.build_limit_s)} "
                f"(about {most} seeds of this network): choose fewer seeds, or train this one from the command line "
                "(the Experiment card gives it)")

    def blocker(self) -> str:
        """Why Train cannot start now ('' when it can): with no network, the problem that stops building one."""
        if self.runner.trainer is not None or self.runner.state == "building":
            return ""
        return self.wiring.error or (self._problem if self._problem and self.message == self._problem else "")

    def _show_problem(self, err: str) -> None:
        self._problem = self.message = err

    def _recheck(self) -> None:
        """A shown problem stays true: it goes when fixed (Keep the trained network, an edit), or changes."""
        if self._problem and self.message == self._problem:
            self._show_problem(self.problems())

    def _note(self, text: str, about_state: bool = False, keep: bool = False) -> None:
        """Show a notice; ``about_state``: it says the network is ready (gone once it trains); ``keep``: it
        says what this machine changed (a fresh network does not replace it)."""
        self.info = text
        self._ready_note = about_state
        self._keep_note = keep

    def reset(self) -> bool:
        """Build a fresh network from the experiment (:func:`apexplorer.build.build`)."""
        err = self.problems()
        if err:
            self._show_problem(err)
            return False
        exp = self.experiment
        try:
            cache = {s.dataset: get_dataset(s.dataset) for s in exp.tasks.values()}
        except ApexplorerError as e:
            self.message = str(e)
            return False

        side = companions(exp, self.baselines, self.wiring.wiring) if self.baselines else {}

        def factory():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WiringWarning)
                tr = build(exp, datasets=cache)
            return (tr, {m: build(e, datasets=cache) for m, e in side.items()}) if side else tr

        self.built = exp
        self.built_baselines = list(self.baselines)
        self.pending = []
        self.message = ""
        self._last = {}
        self.runner.build(factory, {"experiment": exp, "wiring": self.wiring.wiring})
        return True

    def train(self) -> bool:
        """Train, building a network first when there is none; a finished run goes on only
        when Epochs was raised (Reset starts a fresh one)."""
        r = self.runner
        if r.trainer is None and r.state != "building":
            if not self.reset():
                return False
        elif self.structural_changes():
            return False  # the app asks first
        tr = r.trainer
        total = getattr(tr, "total_epochs", None)
        if r.state == "finished" and tr is not None and total is not None and tr.epoch >= total:
            self._note(f"the run is complete ({tr.epoch}/{total} epochs): raise Epochs on the Settings tab to go "
                       "on, or press Reset for a fresh network")
            return False
        self.message = ""  # a new run: the last one's error is history
        r.train()
        return True

    def pause(self):
        self.runner.pause()

    def cancel_build(self) -> None:
        """Stop the network being built (an ensemble is drawn member by member); the page keeps its settings."""
        if self.runner.state == "building":
            self.runner.cancel_build()

    def step(self) -> bool:
        if self.runner.trainer is None and self.runner.state != "building":
            if not self.reset():
                return False
        self.runner.step(1)
        return True

    # ------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the session (its experiment, weights, optimiser, position) as an atomic checkpoint."""
        self.runner.call(lambda tr: tr.save(path) and None, f"saved the session as {Path(path).name}")

    def session_bytes(self) -> bytes:
        """The session as checkpoint bytes, for a download (waits for the worker between two batches)."""
        with tempfile.TemporaryDirectory(prefix="apexplorer-") as d:
            path = Path(d) / "session.pt"
            self.runner.ask(lambda tr: tr.save(path))
            return path.read_bytes()

    def experiment_text(self) -> str:
        """The experiment as a TOML file (``apexplorer run FILE`` trains it)."""
        return self.experiment.to_toml()

    def load_experiment_upload(self, data: bytes, filename: str) -> bool:
        """Open an uploaded experiment file (.toml or .json)."""
        with Upload(data, filename) as path:
            try:
                exp = Experiment.load(path)
            except ApexplorerError as e:
                self.message = str(e).replace(str(path), Path(filename).name)
                return False
        return self.set_experiment(exp, f"opened the experiment {Path(filename).name}", lasting=True)

    def load_upload(self, data: bytes, filename: str) -> bool:
        """Restore a session from an uploaded file's bytes; the temporary copy is removed once read."""
        up = Upload(data, filename, ".pt")
        return self.load(up.path, up.name, done=up.remove)

    def load(self, path, name: str | None = None, done=None) -> bool:
        """Restore a saved session: its experiment (every widget shows it) and its trained network.

        ``name`` is what messages call the file, and ``done()`` is called once the
        file has been read (or refused).
        """
        name = name or Path(path).name  # a visitor never sees server paths
        say = lambda e: gui_words(str(e).replace(str(path), name))  # noqa: E731 - messages name the user's file

        def refuse(text):
            self.message = text
            if done is not None:
                done()
            return False

        try:
            st = load_checkpoint(path)
            exp = checkpoint_or_legacy(st)
            if exp.method.name != "ap":
                return refuse(f"{name!r} trained {exp.method.name.upper()}; the explorer shows AP runs")
            exp, notes = self.fit_machine(exp, data=False)
            cache = {s.dataset: get_dataset(s.dataset) for s in exp.tasks.values()}
            wiring = self.wiring_of(exp)
        except (ApexplorerError, KeyError, TypeError, AttributeError) as e:
            return refuse(say(e) if isinstance(e, ApexplorerError) else f"cannot load {name!r}: it lacks {e}")
        self._show(exp, wiring)
        self.built = exp
        self.baselines = self.built_baselines = []
        self.pending = []
        self.message = self.settings.check()
        if notes:
            self._note("; ".join(notes), keep=True)
        device = exp.train.device
        has_experiment = st.get("experiment") is not None

        def factory():
            try:
                if has_experiment:
                    return resume(path, {"train.device": device}, datasets=cache)
                tr = Trainer.load(path, {t: cache[s.dataset] for t, s in exp.tasks.items()}, device=device)
                tr.experiment = exp
                return tr
            except ApexplorerError as e:
                raise type(e)(say(e)) from None
            finally:
                if done is not None:
                    done()

        self.runner.build(factory, {"experiment": exp, "wiring": wiring, "loaded": name})
        return True

    def close(self):
        self.runner.close()

    # -------------------------------------------------------------- status
    def observe(self, items) -> None:
        """Update the status line and messages from drained runner items."""
        built = False
        for kind, ev in items:
            if kind == "reset":
                self._last = {"epochs": ev["epochs"], "epoch": ev["epoch"]}
                self._segments = ev.get("segments") or []
                self.progress.clear()
                if ev.get("batch"):  # a session saved in the middle of an epoch
                    self._last.update(epoch=ev["epoch"] + 1, batch=ev["batch"], n_batches=ev["n_batches"])
                if ev["history"]:
                    self._last["test_acc"] = ev["history"][-1]["test_acc"]
                self.message = self._problem = ""
                built = True
                loaded = (ev.get("meta") or {}).get("loaded")
                if loaded or not self._keep_note:
                    lead = f"{self._lead}: " if self._lead and self._ready_note else ""
                    self._note(f"loaded the session {loaded}" if loaded else f"{lead}a fresh network is ready",
                               about_state=True)
                self._lead = ""
            elif kind == "cancelled":
                self._last = {}
                self._note(f"{ev}: change the settings (fewer seeds?) or press Train to build it again")
            elif kind == "discard":
                self._last = {}
                if self._ready_note:
                    self._note("")
            elif kind == "batch":
                if self._ready_note:  # it trains: "ready" is no longer news
                    self._note("")
                self.progress.add(ev)
                self._last.update(epoch=ev.epoch, batch=ev.batch, n_batches=ev.n_batches)
            elif kind == "epoch":
                self._last.update(test_acc=ev.test_acc, epochs=ev.epochs, tasks=ev.tasks)
            elif kind == "stop":
                if ev.reason == "diverged":
                    self.message = ev.message
                else:
                    self._note(ev.message)
            elif kind == "error":
                self.message = gui_words(ev)
            elif kind in ("info", "loaded") and ev and not ev.startswith("Traceback"):
                self._note(ev if kind == "info" else f"loaded {ev}")
        self._fresh = self._fresh or built
        if self._fresh and self.runner.state != "building":
            self._fresh = False
            if self.built is not None and self.runner.state == "ready" and self.built != self.experiment:
                # what changed while the network was being built: live settings now, the rest with a fresh one
                self._apply_live(list(self.built.diff(self.experiment)))
                self._update_pending()
        state = self.runner.state
        if state == "empty":
            self.status = ("no network: Train is off until the problem below is fixed" if self.blocker() else
                           "no network: see the message below" if self.message else "no network yet: press Train")
        else:
            self.status = status_line(self._last, state, getattr(self.runner.trainer, "total_epochs", None),
                                      self.progress, self._segments)


__all__ = ["ExplorerState", "available", "checkpoint_or_legacy", "dataset_names", "experiment_of", "get_dataset",
           "gui_words", "pending_names", "status_line", "trainer_experiment"]
