"""One explorer session (no Panel): its experiment, its messages, its files and the runner, composed.

:class:`ExplorerState` puts together the three parts of a session and runs it:

* :class:`~.experiment_model.ExperimentModel` (``state.model``): the page's experiment,
  its pending changes, apply (a fresh network) and revert, and the widgets' models;
* :class:`~.notices.Notices` (``state.notices``): which message shows, and for how long;
* :class:`~.session_files.SessionFiles` (``state.files``): sessions and experiments saved and opened;

with one :class:`~.runner.Runner` (one trainer on one worker thread).  Its own work is
the run's controls (train, pause, step) and the status line, from what the runner
drains.  The parts' values and actions are read through it too (``state.experiment``,
``state.message``, ``state.load(...)``); a view watches the part that owns a value.
"""

from __future__ import annotations

import param

from ..build import checkpoint_experiment, experiment_of, trainer_experiment, upgrade
from ..data import dataset_names
from ..errors import ApexplorerError
from ..experiment import Experiment
from .experiment_model import ExperimentModel, available, get_dataset, pending_names
from .notices import Notices, gui_words
from .runner import Runner
from .session_files import SessionFiles
from .status import Progress, status_line


def _part(part: str, name: str, settable: bool = False) -> property:
    """``state.name``: the ``name`` of one of the session's parts (read, and written where ``settable``)."""
    def get(self):
        return getattr(getattr(self, part), name)

    def put(self, value):
        setattr(getattr(self, part), name, value)

    return property(get, put if settable else None, doc=f"``state.{part}.{name}``")


class ExplorerState(param.Parameterized):
    """Everything one explorer session knows, apart from its views: its parts, composed, and the run's status."""

    status = param.String(default="no network yet: press Train")
    last = param.Dict(default={}, doc="The run's position and latest figures, from the drained events.")
    segments = param.List(default=[], doc="The passes of an epoch [(task, batches)], from the network's reset event.")
    fresh = param.Boolean(default=False, doc=(
        "A network was just built: what changed while it was being built is caught up with once it is ready."))
    waiting = param.Integer(default=0, doc=(
        "This session's place in the server's line of trainings (1: next), 0 when it is not waiting."))

    def __init__(self, dataset: str = "digits", preset_name: str | None = None, runner: Runner | None = None,
                 experiment: Experiment | None = None, local_files: bool = True, limits=None, slots=None,
                 **params):
        super().__init__(**params)
        self.runner = runner or Runner()
        self.notices = Notices()
        #: the operator's limits (:class:`~apexplorer.app.limits.Limits`) and the server's line of trainings
        #: (:class:`~apexplorer.app.limits.TrainingSlots`) of a served page; None in a notebook
        self.limits, self.slots = limits, slots
        self.model = ExperimentModel(self.runner, self.notices, local_files=local_files, limits=limits)
        self.files = SessionFiles(self.model)
        self.progress = Progress()
        if experiment is not None:
            if not self.model.set_experiment(experiment):
                raise ApexplorerError(self.notices.message)
        else:
            self.model.load_preset(preset_name or ("digits" if dataset == "digits" else "paper-2layer"), [dataset])
        self.model.watch_widgets()

    # the parts' values and actions, as the session's
    experiment = _part("model", "experiment")
    built = _part("model", "built")
    baselines = _part("model", "baselines", settable=True)
    built_baselines = _part("model", "built_baselines")
    task = _part("model", "task", settable=True)
    pending = _part("model", "pending")
    build_limit_s = _part("model", "build_limit_s", settable=True)
    settings = _part("model", "settings")
    wiring = _part("model", "wiring")
    datasets = _part("model", "datasets")
    schedule = _part("model", "schedule")
    message = _part("notices", "message", settable=True)
    info = _part("notices", "info", settable=True)
    task_names = _part("model", "task_names")
    wiring_of = _part("model", "wiring_of")
    fit_machine = _part("model", "fit_machine")
    set_experiment = _part("model", "set_experiment")
    load_preset = _part("model", "load_preset")
    change = _part("model", "change")
    set_dataset = _part("model", "set_dataset")
    add_upload = _part("model", "add_upload")
    use_upload = _part("model", "use_upload")
    dataset_choices = _part("model", "dataset_choices")
    set_schedule = _part("model", "set_schedule")
    structural_changes = _part("model", "structural_changes")
    revert = _part("model", "revert")
    problems = _part("model", "problems")
    blocker = _part("model", "blocker")
    save = _part("files", "save")
    session_bytes = _part("files", "session_bytes")
    experiment_text = _part("files", "experiment_text")
    load_experiment_upload = _part("files", "load_experiment_upload")
    load_upload = _part("files", "load_upload")
    load = _part("files", "load")

    # ------------------------------------------------------------ the run
    def attach(self, trainer) -> None:
        """Follow an existing trainer (a notebook's): the page shows its experiment, and it trains here."""
        m = self.model
        exp = trainer_experiment(trainer)
        if trainer.experiment is None:
            trainer.experiment = exp  # kept true by Trainer.update from now on
        m.show(exp, trainer.net.wiring if trainer.net is not None else m.wiring_of(exp))
        m.asked = True
        self.runner.attach(trainer, {})

    def train(self) -> bool:
        """Train, building a network first when there is none; a finished run goes on only
        when Epochs was raised (Reset starts a fresh one)."""
        r = self.runner
        if r.trainer is None and r.state != "building":
            if not self.model.reset():
                return False
        elif self.model.structural_changes():
            return False  # the app asks first
        tr = r.trainer
        total = getattr(tr, "total_epochs", None)
        if r.state == "finished" and tr is not None and total is not None and tr.epoch >= total:
            self.notices.note(f"the run is complete ({tr.epoch}/{total} epochs): raise Epochs on the Settings tab "
                              "to go on, or press Reset for a fresh network")
            return False
        self.notices.error("")  # a new run: the last one's error is history
        if self.slots is not None and not self.slots.ask(self):
            self.waiting = self.slots.place(self)  # it starts at its turn (observe)
            return True
        r.train()
        return True

    def reset(self) -> bool:
        """A fresh network from the page's experiment (:meth:`ExperimentModel.reset`); a place in line is left."""
        self._leave_line()
        return self.model.reset()

    def pause(self):
        self._leave_line()
        self.runner.pause()

    def _leave_line(self) -> None:
        if self.waiting:
            self.waiting = 0
            self.slots.release(self)

    def _follow_line(self) -> None:
        """A waiting session starts at its turn; one whose training ended gives its slot to the next."""
        if self.slots is None:
            return
        r = self.runner
        if self.waiting:
            if r.trainer is None and r.state != "building":  # its network was dropped meanwhile
                self._leave_line()
            elif self.slots.turn(self):
                self.waiting = 0
                r.train()
            else:
                self.waiting = self.slots.place(self)
        elif r.state not in ("running", "building") and self.slots.holds(self):
            self.slots.release(self)

    def cancel_build(self) -> None:
        """Stop the network being built (an ensemble is drawn member by member); the page keeps its settings."""
        if self.runner.state == "building":
            self.runner.cancel_build()

    def step(self) -> bool:
        self._leave_line()
        if self.runner.trainer is None and self.runner.state != "building":
            if not self.model.reset():
                return False
        self.runner.step(1)
        return True

    def close(self):
        if self.slots is not None:
            self.slots.release(self)
            self.waiting = 0
        self.runner.close()

    # -------------------------------------------------------------- status
    def observe(self, items) -> None:
        """Update the status line and messages from drained runner items."""
        last = dict(self.last)
        restore = None
        for kind, ev in items:
            self.notices.observe(kind, ev)
            if kind == "restore":  # a served session's worker ended: its network comes back from its last state
                restore = ev
            if kind == "reset":
                last = {"epochs": ev["epochs"], "epoch": ev["epoch"]}
                self.segments = ev.get("segments") or []
                self.progress.clear()
                if ev.get("batch"):  # a session saved in the middle of an epoch
                    last.update(epoch=ev["epoch"] + 1, batch=ev["batch"], n_batches=ev["n_batches"])
                if ev["history"]:
                    last["test_acc"] = ev["history"][-1]["test_acc"]
                self.fresh = True
            elif kind in ("cancelled", "discard"):
                last = {}
            elif kind == "batch":
                self.progress.add(ev)
                last.update(epoch=ev.epoch, batch=ev.batch, n_batches=ev.n_batches)
            elif kind == "epoch":
                last.update(test_acc=ev.test_acc, epochs=ev.epochs, tasks=ev.tasks)
        self.progress.mark()
        self._follow_line()
        self.last = last
        if restore is not None:
            self.files.restore(restore)
        m = self.model
        if self.fresh and self.runner.state != "building":
            self.fresh = False
            if m.built is not None and self.runner.state == "ready" and m.built != m.experiment:
                # what changed while the network was being built: live settings now, the rest with a fresh one
                m.apply_live(list(m.built.diff(m.experiment)))
                m.update_pending()
        state = self.runner.state
        if self.waiting:
            self.status = self.limits.queue_text(self.waiting)
        elif state == "empty":
            self.status = ("no network: Train is off until the problem below is fixed" if m.blocker() else
                           "no network: see the message below" if self.message else "no network yet: press Train")
        else:
            # while a network is built, the last one's position is history
            self.status = status_line({} if state == "building" else self.last, state,
                                      getattr(self.runner.trainer, "total_epochs", None), self.progress, self.segments)


__all__ = ["ExplorerState", "available", "checkpoint_experiment", "dataset_names", "experiment_of", "get_dataset",
           "gui_words", "pending_names", "status_line", "trainer_experiment", "upgrade"]
