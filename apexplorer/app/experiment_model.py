"""The page's experiment (no Panel): what it describes, what waits for a fresh network, apply and revert.

:class:`ExperimentModel` holds one :class:`~apexplorer.experiment.Experiment`, the only
description of the run the page shows: wiring, tasks and their data, the phases,
the training, the method and the initialisation.  The widgets are views of it:
:class:`Settings` and the Tasks panel write their changes into it
(``Experiment.with_changes``) and follow it whenever it is replaced (a preset, a
session, an experiment file, a link, a figure of the paper), so a widget can never
show another run than the one that trains.  The network editor's
:class:`WiringModel` shows its wiring; an edit there makes the wiring inline.

The network is built from the experiment with :func:`apexplorer.build.build`; its
experiment is :attr:`ExperimentModel.built`, held once, by the trainer
(``runner.experiment``).  What differs structurally between the two waits for a
fresh network (:attr:`~ExperimentModel.pending`, :meth:`~ExperimentModel.reset`
applies it, :meth:`~ExperimentModel.revert` drops it), and the app asks before it
throws a trained one away; the live settings (:data:`apexplorer.trainer.LIVE_KEYS`)
apply to the running network between two batches (:meth:`Trainer.update`).
"""

from __future__ import annotations

import os
import warnings

import param

from ..build import build, build_seconds, data_key, make_wiring
from ..data import cached_dataset, dataset_names
from ..userdata import is_file_name
from ..devices import device_choices
from ..errors import ApexplorerError, WiringWarning
from ..experiment import Experiment
from ..memory import check_memory, format_bytes
from ..presets import MULTITASK, preset_tasks
from ..baseline_runs import BASELINES, baseline_experiments
from ..trainer import LIVE_KEYS, resolve_device
from ..wiring import Wiring
from .notices import Notices, gui_words
from .runner import Runner
from .session_data import NOT_UPLOADED, SessionData
from .settings import KEYS, Settings
from .status import clock
from .wiring_model import WiringModel

__all__ = ["BUILD_LIMIT_S", "ENSEMBLE_CHECK", "ExperimentModel", "NOT_UPLOADED", "available", "get_dataset",
           "pending_names"]


def get_dataset(name: str):
    """A dataset, read once per process (:func:`apexplorer.data.cached_dataset`; sessions share it read-only)."""
    return cached_dataset(name)


def available(name: str, dataset=get_dataset) -> bool:
    try:
        dataset(name)
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


def wiring_of(exp: Experiment, dataset=get_dataset) -> Wiring:
    """The wiring ``exp`` builds, sized for its data (``dataset(name)`` reads it; raises ApexplorerError)."""
    data = {t: dataset(s.dataset) for t, s in exp.tasks.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WiringWarning)
        return make_wiring(exp, data)


def fit_machine(exp: Experiment, data: bool = True, dataset=get_dataset) -> tuple:
    """(``exp`` as this machine can run it, notes): a missing dataset becomes digits (``data``), a missing
    GPU becomes auto; a visitor's data file that was not uploaded in this session is named as such."""
    notes, changes = [], {}
    if exp.train.device not in device_choices():
        changes["train.device"] = "auto"
        notes.append(f"this experiment asks for device {exp.train.device}, which this machine lacks, so it "
                     "trains on auto (the CPU here)")
    if data:
        swapped = {t: s.dataset for t, s in exp.tasks.items() if not available(s.dataset, dataset)}
        for t in swapped:
            changes[f"tasks.{t}.dataset"] = "digits"
            changes[f"tasks.{t}.label"] = changes[f"tasks.{t}.sha256"] = None
        files = {t: n for t, n in swapped.items() if is_file_name(n)}
        others = {t: n for t, n in swapped.items() if t not in files}
        if others:
            notes.append(f"{', '.join(dict.fromkeys(others.values()))} is not on this machine, so "
                         + ", ".join(f"task {t} uses digits" for t in others) + " (choose on the Tasks tab)")
        for n in dict.fromkeys(files.values()):
            tasks = [t for t, v in files.items() if v == n]
            notes.append(NOT_UPLOADED.format(name=n) + "; until then " + ", ".join(f"task {t}" for t in tasks)
                         + " uses digits")
    return (exp.with_changes(changes) if changes else exp), notes


def normalise(exp: Experiment, dataset=get_dataset) -> Experiment:
    """rho or c equal to what every module has anyway is left to the wiring (no change to ask about)."""
    changes = {}
    for key in ("ap.spectral_radius", "ap.connection_rate"):
        v = exp.get(key)
        if v is None:
            continue
        base = wiring_of(exp.with_changes({key: None}), dataset)
        if base.modules and all(getattr(m, key[3:]) == v for m in base.modules):
            changes[key] = None
    return exp.with_changes(changes) if changes else exp


def default_datasets(name: str, current: list) -> list:
    """The datasets a preset loads with (one per task)."""
    wanted = list(MULTITASK.get(name, ()))
    cur = current
    if not wanted:  # a preset named after a dataset (digits, 2afc) goes with it
        return [name if name in dataset_names() else (cur[0] if cur else "digits")]
    return wanted  # the paper's pair; fit_machine swaps what this machine lacks


def too_slow(exp: Experiment, wiring, need, limit_s: float) -> str:
    """Why an ensemble is refused ('' when not): it would take longer than ``limit_s`` seconds to build."""
    seeds = exp.train.seeds
    if seeds < ENSEMBLE_CHECK:
        return ""
    secs = build_seconds(wiring, seeds)
    if secs <= limit_s:
        return ""
    most = max(1, int(limit_s / (secs / seeds)))
    return (f"seeds {seeds}: an ensemble of {seeds} networks would take about {clock(secs)} to build here and "
            f"hold about {format_bytes(need.total)}; the page builds ensembles of up to {clock(limit_s)} "
            f"(about {most} seeds of this network): choose fewer seeds, or train this one from the command line "
            "(the Experiment card gives it)")


def machine_problems(exp: Experiment, wiring: Wiring, baselines: list, limit_s: float) -> str:
    """What stops this machine from building ``exp`` on ``wiring`` with ``baselines`` beside it ('' when nothing):
    a baseline that cannot be made, the memory it needs (checked before anything is allocated), or its time."""
    try:
        if baselines:
            baseline_experiments(exp, baselines, wiring)
        sizes = [s.batch_size or exp.train.batch_size for s in exp.tasks.values()]
        need = check_memory(wiring, batch_size=max(sizes), members=exp.train.seeds,
                            precision=exp.ap.precision, device=resolve_device(exp.train.device))
    except ApexplorerError as e:
        return gui_words(str(e))
    return too_slow(exp, wiring, need, limit_s)


def live_call(runner: Runner, built: Experiment, exp: Experiment, keys: list) -> None:
    """Ask ``runner`` to apply ``exp``'s live keys among ``keys`` that differ from the ``built`` network's, between
    two batches; the baselines beside it take the training keys (each method's own learning rate)."""
    live = {k: exp.get(k) for k in keys if k in LIVE_KEYS and built.get(k) != exp.get(k)}
    if not live:
        return
    baselines = {k: v for k, v in live.items() if k.startswith("train.")}

    def fn(trainer, beside):
        trainer.update(live)
        for name, tr in beside.items():  # the baselines beside it train as long, at the same rate
            mine = dict(baselines, **({"train.lr": exp.method_lr(name, baselines["train.lr"])} if "train.lr" in baselines
                                 else {}))
            if mine:
                tr.update(mine)

    runner.call(fn, f"applied {', '.join(_NAMES[k] for k in live)} to the running network", baselines=True)


def inline_changes(exp: Experiment, w: Wiring) -> dict:
    """The changes that make the network editor's wiring ``w`` ``exp``'s own (inline), its modules' rho and c
    left to the wiring; an imported wiring with other tasks gives each of them the first task's data."""
    tasks = {t: s.to_dict() for t, s in exp.tasks.items()}
    names = [t.name for t in w.tasks]
    if not set(tasks) <= set(names):
        first = next(iter(tasks.values()))
        tasks = {t: tasks.get(t, first) for t in names}
    return {"wiring.inline": w.to_dict(), "tasks": tasks, "ap.spectral_radius": None, "ap.connection_rate": None}


def with_wiring_of(built: Experiment, exp: Experiment) -> Experiment:
    """``built`` with ``exp``'s wiring, rho and c (which build the same network, its modules drawn elsewhere);
    raises ApexplorerError when that is not an experiment."""
    d, mine = built.to_dict(), exp.to_dict()
    d["wiring"] = mine["wiring"]
    ap = {k: v for k, v in d.get("ap", {}).items() if k not in ("spectral_radius", "connection_rate")}
    ap.update({k: v for k, v in mine.get("ap", {}).items() if k in ("spectral_radius", "connection_rate")})
    d["ap"] = ap
    return Experiment.from_dict(d)


class TaskData:
    """The session's datasets as the experiment's tasks use them (a part of :class:`ExperimentModel`): reading
    one (a visitor's uploads, the built-in ones, local files in a notebook), the wiring they size, and giving a
    task a dataset or an upload.  It uses the model's ``data`` (:class:`SessionData`), ``experiment``,
    ``notices``, ``task`` and :meth:`~ExperimentModel.change`."""

    @property
    def datasets(self) -> dict:
        """{task: dataset name} of the experiment."""
        return {t: s.dataset for t, s in self.experiment.tasks.items()}

    def dataset(self, name: str):
        """Dataset ``name`` as this session reads it (:meth:`SessionData.get`)."""
        return self.data.get(name)

    def dataset_choices(self) -> list:
        return self.data.choices(dataset_names())

    def wiring_of(self, exp: Experiment) -> Wiring:
        return wiring_of(exp, self.dataset)

    def fit_machine(self, exp: Experiment, data: bool = True) -> tuple:
        return fit_machine(exp, data, self.dataset)

    def data_cache(self, exp: Experiment) -> dict:
        """The datasets of ``exp``'s tasks, loaded, keyed as :func:`apexplorer.build.task_data` looks them up."""
        return {data_key(s): self.dataset(s.dataset) for s in exp.tasks.values()}

    def add_upload(self, data: bytes, name: str, task: str | None = None, label: str | None = None) -> str:
        """Read a visitor's uploaded ``.csv`` / ``.npz`` (whole or not at all) and give it to ``task`` (default:
        the task shown); returns its name, or raises DataError (naming the visitor's file, never a server path)."""
        return self.use_upload(self.data.read(data, name, label), task, label)

    def use_upload(self, d, task: str | None = None, label: str | None = None) -> str:
        """Give ``task`` an uploaded dataset ``d`` already read (with CSV label column ``label``); returns its name."""
        name = self.data.keep(d, label)
        self.set_dataset(task or self.task, name)
        return name

    def set_dataset(self, task: str, name: str) -> None:
        """Give ``task`` a dataset; the ports fit it (an inline wiring's ports are resized).  A data file's
        content hash and label column go into the experiment, as a command-line run records them."""
        try:
            d = self.dataset(name)
        except ApexplorerError as e:
            self.notices.error(str(e))
            return
        changes = self.data.recorded(task, name, d, self.experiment.tasks[task].dataset)
        if self.experiment.wiring.inline is not None:
            m = WiringModel(Wiring.from_dict(self.experiment.wiring.inline, warn=False))
            m.fit_ports(task, d.n_features, d.n_classes)
            changes["wiring.inline"] = m.spec
        self.notices.error("")
        self.change(changes)


class ExperimentModel(TaskData, param.Parameterized):
    """The page's experiment, its pending changes, apply (a fresh network) and revert, and its widgets' models."""

    experiment = param.ClassSelector(class_=Experiment, doc="The run the page describes (the one source of truth).")
    baselines = param.ListSelector(default=[], objects=list(BASELINES),
                                   doc="Baselines trained beside AP: the same layer sizes, seed and batches.")
    built_baselines = param.List(default=[], doc="The baselines that train beside the network that runs.")
    task = param.String(default="main", doc="The task shown on the graph and recorded by the traces.")
    pending = param.List(default=[], doc="Changed structural settings awaiting confirmation.")
    build_limit_s = param.Number(default=BUILD_LIMIT_S, bounds=(0, None), doc=(
        "The longest build of an ensemble the page starts, in seconds (estimated first); a larger one is refused."))
    following = param.Boolean(default=False, doc=(
        "The widgets are following a replaced experiment: their changes are not edits (nothing is applied)."))
    shown = param.Dict(default=None, allow_None=True, doc="The wiring the experiment gives (what the editor started "
                                                          "from): an editor's wiring that differs is an edit.")
    asked = param.Boolean(default=False, doc=(
        "A network was asked for: one that failed to build, or was dropped, is built again once it can be."))

    def __init__(self, runner: Runner, notices: Notices, local_files: bool = True, limits=None, **params):
        super().__init__(**params)
        self.runner, self.notices = runner, notices
        #: the operator's :class:`~apexplorer.app.limits.Limits` of a served page (None: no caps)
        self.limits = limits
        self.settings = Settings()
        self.wiring = WiringModel()
        #: the datasets this session may use: its uploads, the built-in ones, local files in a notebook
        self.data = SessionData(get_dataset, local_files)

    def watch_widgets(self) -> None:
        """Edits in the Settings widgets and the network editor change the experiment from now on."""
        self.settings.param.watch(self._on_settings, list(self.settings.values()))
        self.wiring.param.watch(self._on_wiring, "spec")
        self.param.watch(lambda e: self.update_pending(), "baselines")

    # ------------------------------------------------------------ views of the experiment
    @property
    def built(self) -> Experiment | None:
        """The experiment of the network that runs, or is being built (None without one): the trainer's own."""
        return self.runner.experiment

    def over_limit(self, exp: Experiment, wiring: Wiring | None) -> str:
        """Why ``exp`` on ``wiring`` is over the operator's limits ('' when it is not, or none are set)."""
        return self.limits.refusal(exp, wiring) if self.limits is not None else ""

    @property
    def schedule(self) -> str:
        return self.experiment.train.schedule

    def task_names(self) -> list:
        """The tasks of the wiring (the experiment may train some of them)."""
        return self.wiring.task_names or list(self.experiment.tasks)

    # ------------------------------------------------------------ replacing the experiment
    def set_experiment(self, exp: Experiment, note: str = "", lasting: bool = False) -> bool:
        """Show ``exp`` (every widget follows); the network follows as :meth:`update_pending` decides.

        ``note`` tells what happened; a ``lasting`` one (a file, a link, a figure) stays in front of
        "a fresh network is ready"."""
        try:
            exp, notes = self.fit_machine(exp)
            w = self.wiring_of(exp)
        except ApexplorerError as e:
            self.notices.error(gui_words(str(e)))
            return False
        refused = self.over_limit(exp, w)
        if refused:
            self.notices.error(refused)
            return False
        self.show(exp, w)
        self.notices.clear()
        if self.built is not None and not pending_names(self.built.diff(exp)):
            self.apply_live(list(self.built.diff(exp)))  # the same network: its live settings follow
        self.update_pending()
        self.notices.opened(note, notes, lasting)
        return True

    def show(self, exp: Experiment, wiring: Wiring) -> None:
        """Every widget shows ``exp`` (built for ``wiring``); nothing is applied to the running network here."""
        self.following = True
        try:
            self.experiment = exp
            self.shown = wiring.to_dict()
            if self.wiring.wiring is None or self.wiring.wiring.to_dict() != self.shown:
                self.wiring.set_wiring(wiring)
            self.settings.follow(exp, wiring)
            names = self.task_names()
            if self.task not in names:
                self.task = names[0]
        finally:
            self.following = False

    def load_preset(self, name: str, datasets: list | None = None) -> bool:
        """Load a preset for the given datasets (one per task), with its recommended settings."""
        try:
            n_tasks = len(preset_tasks(name))
            if datasets is None or len(datasets) != n_tasks:
                datasets = default_datasets(name, list(self.datasets.values()) if self.experiment is not None else [])
            exp = Experiment.from_preset(name, datasets)
        except ApexplorerError as e:
            self.notices.error(str(e))
            return False
        return self.set_experiment(exp, f"loaded preset {name}")

    # ------------------------------------------------------------ changing it
    def change(self, changes: dict, from_editor: bool = False) -> bool:
        """Write dotted-key ``changes`` into the experiment; a refused value shows the library's message."""
        try:
            new = normalise(self.experiment.with_changes(changes), self.dataset)
        except ApexplorerError as e:
            self.notices.show_problem(gui_words(str(e)))
            return False
        old = self.experiment
        if new == old:
            self.update_pending()
            return True
        refused = self.over_limit(new, self.wiring.wiring if from_editor else None)
        if refused:  # the running network keeps its settings (a live change over a limit is not applied)
            self.notices.show_problem(refused)
            return False
        if from_editor:
            self.following = True
            try:
                self.experiment = new
                self.shown = self.wiring.wiring.to_dict()
                self.settings.follow(new, self.wiring.wiring)
            finally:
                self.following = False
        else:
            try:
                w = self.wiring_of(new)
            except ApexplorerError as e:
                self.notices.show_problem(gui_words(str(e)))
                return False
            refused = self.over_limit(new, w)
            if refused:
                self.notices.show_problem(refused)
                return False
            self.show(new, w)
        self.apply_live(list(old.diff(new)))
        self.update_pending()
        return True

    def set_schedule(self, schedule: str) -> None:
        self.change({"train.schedule": schedule})

    def _on_wiring(self, event):
        """An edit in the network editor (or the Tasks tab's paths): the wiring becomes inline."""
        if self.following:
            return
        names = self.wiring.task_names
        if names and self.task not in names:
            self.task = names[0]
        w = self.wiring.wiring
        if w is not None and w.to_dict() != self.shown:
            self.change(inline_changes(self.experiment, w), from_editor=True)
        else:
            self.update_pending()
        self.notices.recheck(self.problems)

    def _on_settings(self, *events):
        if self.following:
            return
        err = self.settings.check()
        if err:
            self.notices.show_problem(err)
            return
        self.notices.recheck(self.problems)
        changes = self.settings.changes(self.experiment, self.wiring.wiring)
        if self.wiring.wiring is None:  # a wiring being edited keeps its edit: rho and c go into it
            for k in ("ap.spectral_radius", "ap.connection_rate"):
                if k in changes:
                    self.wiring.set_all_modules(k[3:], changes[k])
        self.change(changes)

    def apply_live(self, keys: list) -> None:
        """Apply the live keys among ``keys`` to the running network (:meth:`Trainer.update`, between two batches),
        and the learning rate and epochs to the baselines beside it."""
        if self.built is not None and self.runner.trainer is not None:
            live_call(self.runner, self.built, self.experiment, keys)

    def update_pending(self):
        """Structural changes since the network was built (they need a fresh network)."""
        if self.following:
            return
        b, state = self.built, self.runner.state
        if b is None:
            # no network: one that failed to build, or was dropped, is built again once it can be
            if self.asked and state == "empty" and not self.problems():
                self.reset()
            else:
                self.pending = []
            return
        out = pending_names(b.diff(self.experiment))
        if "wiring" in out and self.same_network(b):  # modules moved on the graph: nothing to build again
            out = [n for n in out if n not in ("wiring", "spectral radius", "connection rate")]
            self._follow_layout(b)
        if self.wiring.wiring is None and "wiring" not in out:  # an edit that is not a wiring yet
            out.append("wiring")
        if sorted(self.baselines) != sorted(self.built_baselines):
            out.append("baselines")
        gone = state == "empty"  # being dropped: build again once it can be built
        if (out or gone) and state in ("ready", "empty"):  # nothing trained: nothing to lose, no question
            err = self.problems()
            if not err:
                self.reset()
                return
            if self.runner.trainer is not None:
                # the shown network is not the one the page describes, and that one cannot be built
                self.notices.show_problem(err)
                self.runner.discard()
        self.pending = out

    def same_network(self, built: Experiment) -> bool:
        """Whether the wiring shown builds the same network as ``built``'s: they differ in layout hints
        (where modules are drawn) at most."""
        w = self.wiring.wiring
        if w is None:
            return False
        try:
            return self.wiring_of(built).without_layout() == w.without_layout()
        except ApexplorerError:
            return False

    def _follow_layout(self, built: Experiment) -> None:
        """The running network's experiment takes the page's wiring, which builds the same network (its
        modules only drawn elsewhere), so that a link to it keeps where they are drawn."""
        tr = self.runner.trainer
        if tr is None or self.runner.state == "building" or getattr(tr, "experiment", None) is not built:
            return
        try:
            tr.experiment = with_wiring_of(built, self.experiment)
        except ApexplorerError:
            pass  # the link keeps the network's own drawing

    @property
    def shared(self) -> Experiment:
        """The experiment the page's URL and "Experiment: save" carry: the network's own while a change of
        it waits for "Reset and apply" (the pending set is carried once applied), else the page's."""
        b = self.built
        if b is not None and self.pending:
            return b
        return self.experiment

    def structural_changes(self) -> list:
        self.update_pending()
        return list(self.pending)

    def revert(self) -> None:
        """Keep the trained network: the page shows its experiment again."""
        if self.built is None:
            return
        self.show(self.built, self.wiring_of(self.built))
        self.baselines = list(self.built_baselines)
        self.notices.clear()
        self.update_pending()

    # ---------------------------------------------------------------- a fresh network
    def problems(self) -> str:
        """What stops a network from being built ('' when nothing): the wiring, the settings, or
        the memory it needs (checked before anything is allocated)."""
        return (self.wiring.error or self.settings.check() or self.over_limit(self.experiment, self.wiring.wiring)
                or machine_problems(self.experiment, self.wiring.wiring, self.baselines, self.build_limit_s))

    def blocker(self) -> str:
        """Why Train cannot start now ('' when it can): with no network, the problem that stops building one."""
        if self.runner.trainer is not None or self.runner.state == "building":
            return ""
        return self.wiring.error or self.notices.shown_problem

    def reset(self) -> bool:
        """Apply the pending changes: build a fresh network from the experiment (:func:`apexplorer.build.build`)."""
        err = self.problems()
        if err:
            self.notices.show_problem(err)
            return False
        exp = self.experiment
        try:
            cache = self.data_cache(exp)
        except ApexplorerError as e:
            self.notices.error(str(e))
            return False

        baselines = baseline_experiments(exp, self.baselines, self.wiring.wiring) if self.baselines else {}

        def factory():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WiringWarning)
                tr = build(exp, datasets=cache)
            return (tr, {m: build(e, datasets=cache) for m, e in baselines.items()}) if baselines else tr

        self.built_baselines = list(self.baselines)
        self.pending = []
        self.notices.error("")
        self.asked = True
        self.runner.build(factory, {"wiring": self.wiring.wiring, "previous": self.built}, experiment=exp)
        return True
