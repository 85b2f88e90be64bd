"""The training loop and its event stream.

:meth:`Trainer.train` is a generator of events: one :class:`BatchEvent` per
batch, one :class:`EpochEvent` per epoch and a final :class:`StopEvent`.  The
CLI, the app and notebooks consume this same stream.  ``pause``, ``unpause``
and ``stop`` may be called from another thread; they take effect between
batches; :meth:`Trainer.update` changes the live settings (:data:`LIVE_KEYS`)
of a run between two batches.  A diverged batch (NaN, inf or an exploding loss) restores the last
good state and stops with a message (:mod:`guard`).  A batch's step, from its launch to its event, is
:mod:`steps`'s (a fused step is read back later).  Checkpoints restore a run
exactly (:mod:`checkpoint`).  Which tasks train when, and the order of their
samples, is :mod:`schedule`'s.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace

import torch

from . import checkpoint, steps
from .data import Dataset
from .devices import DEVICES, resolve_device
from .errors import ApexplorerError, choices
from .events import BatchEvent, EpochEvent, EpochStats, StopEvent
from .guard import DivergenceGuard
from .learner import APLearner, Learner, cross_entropy, n_correct
from .live import LIVE_KEYS
from .network import APConfig, Network
from .optim import OPTIMIZERS, make_optimizer
from .schedule import SCHEDULES, BatchStreams, check_schedule, n_batches, segments
from .table import default
from .wiring import Task, Wiring

__all__ = ["DEVICES", "LIVE_KEYS", "SCHEDULES", "BatchEvent", "EpochEvent", "StopEvent", "TrainConfig", "Trainer", "resolve_device"]



def _mean(v) -> float:
    v = list(v)
    return sum(v) / max(len(v), 1)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (the phases' settings live in APConfig)."""

    epochs: int = default("train.epochs")
    batch_size: int = default("train.batch_size")
    lr: float = default("train.lr")
    optimizer: str = default("train.optimizer")
    seed: int = default("train.seed")
    device: str = default("train.device")
    early_stop: float = default("train.early_stop")
    max_loss: float | None = default("train.max_loss")  # divergence threshold; None: 15 x the chance-level loss ln(C)
    eval_batch_size: int = default("train.eval_batch_size")
    ensemble: int = 1  # > 1: train seeds seed, seed+1, ... as one batched ensemble
    sync_every: int = 16  # fused (CUDA graph) steps: read results back every N batches

    def validate(self) -> "TrainConfig":
        for k in ("epochs", "batch_size", "eval_batch_size", "ensemble", "sync_every"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "epochs" else 1):
                raise ApexplorerError(f"{k.replace('_', ' ')} {v!r} must be a positive integer")
        if self.optimizer not in OPTIMIZERS:
            raise ApexplorerError(f"unknown optimizer {self.optimizer!r}; choices are {choices(OPTIMIZERS)}")
        make_optimizer(self.optimizer, self.lr)
        resolve_device(self.device)
        return self


def _resolve_tasks(wiring: Wiring | None, data, task) -> tuple:
    """(tasks, {task name: Dataset}) of the trainer's arguments, with clear errors."""
    if isinstance(data, Dataset):
        if wiring is not None:
            names = list(task) if isinstance(task, (list, tuple)) else [wiring.task(task).name]
        else:
            names = ["main"]
        if len(names) != 1:
            raise ApexplorerError(f"{len(names)} tasks given but one dataset; pass a dict {{task: dataset}}")
        data = {names[0]: data}
    else:
        data = dict(data)
        names = list(task) if isinstance(task, (list, tuple)) else ([task] if task else list(data))
    for n in names:
        if n not in data:
            raise ApexplorerError(f"task {n!r} has no dataset; datasets are given for {choices(data)}")
    tasks = [wiring.task(n) for n in names] if wiring is not None else [Task(n, "x", "y") for n in names]
    return tasks, {n: data[n] for n in names}


def _checked_tasks(learner, data, task, schedule: str) -> tuple:
    """(tasks, {task name: Dataset}) a learner trains, checked: the data fits its ports, and tasks trained
    together (``simultaneous``) can be."""
    tasks, data = _resolve_tasks(learner.wiring, data, task)
    if schedule == "simultaneous" and len(tasks) > 1:
        learner.check_together(tasks)
    if learner.wiring is not None:
        for t in tasks:
            _check_sizes(learner.wiring, t, data[t.name])
    return tasks, data


def _check_sizes(wiring: Wiring, task: Task, data: Dataset) -> None:
    n_in = next(p.size for p in wiring.inputs if p.name == task.input)
    n_out = next(p.size for p in wiring.outputs if p.name == task.output)
    if data.n_features != n_in:
        raise ApexplorerError(f"task {task.name!r}: input {task.input!r} has size {n_in}, but dataset {data.name!r} "
                              f"has {data.n_features} features")
    if data.n_classes > n_out:
        raise ApexplorerError(f"task {task.name!r}: output {task.output!r} has size {n_out}, but dataset "
                              f"{data.name!r} has {data.n_classes} classes")


@torch.no_grad()
def evaluate_learner(learner, x, y, task: Task, batch_size: int) -> tuple:
    """Per-member lists (accuracies, mean cross-entropies) of ``learner`` on ``task`` for inputs ``x``, labels ``y``."""
    correct = loss = 0.0
    for i in range(0, len(y), batch_size):
        p = learner.predict(x[i : i + batch_size], task)
        yy = y[i : i + batch_size]
        correct = correct + n_correct(p, yy).double()
        loss = loss + cross_entropy(p, yy).double() * len(yy)
    n = max(len(y), 1)
    return (torch.as_tensor(correct) / n).reshape(-1).tolist(), (torch.as_tensor(loss) / n).reshape(-1).tolist()


def epoch_event(s: EpochStats, scores: dict, epoch: int, epochs: int, members: int) -> EpochEvent:
    """The event of an epoch from its training sums ``s`` and each task's test ``scores`` ({task: (accs, losses)},
    one per member): per task, and over the tasks it trained."""
    trained = s.trained
    tasks, per_member = {}, {}
    for name, (accs, losses) in scores.items():
        tasks[name] = {"test_acc": _mean(accs), "test_loss": _mean(losses)}
        per_member[name] = {"test_acc": accs, "test_loss": losses}
        if name in trained:
            tasks[name].update(train_acc=_mean(s.train_acc(name)), loss=_mean(s.train_loss(name)))
            per_member[name].update(train_acc=s.train_acc(name), loss=s.train_loss(name))
    n = sum(s.n.values())
    return EpochEvent(
        epoch=epoch,
        epochs=epochs,
        train_acc=_mean(s.member_train_acc()),
        test_acc=sum(tasks[t]["test_acc"] for t in trained) / max(len(trained), 1),
        loss=s.mean_loss(),
        test_loss=sum(tasks[t]["test_loss"] for t in trained) / max(len(trained), 1),
        seconds=s.seconds,
        samples_per_s=n / max(s.seconds, 1e-9),
        error=s.mean_error(),
        tasks=tasks,
        members=per_member if members > 1 else {},
    )


class Trainer:
    """Train a learner (AP on a :class:`Network` by default) on one or several tasks.

    Parameters
    ----------
    learner : Network or a :class:`~apexplorer.learner.Learner`
        A Network is wrapped in an :class:`APLearner` with the configured optimiser.
    data : Dataset, or dict {task name: Dataset}
    config : TrainConfig
    task : str or list of str, optional
        The task(s) to train (default: every task that has a dataset; with a
        single Dataset, the wiring's first task).
    schedule : ``alternating`` | ``simultaneous`` | ``sequential``
        How several tasks share training (Appendix 1, Algorithms 2-3):
        one pass per task in turn each epoch; both tasks' batches together;
        or each task for ``epochs`` epochs, one after another.
    batch_sizes : dict, optional
        A task's own batch size (default ``config.batch_size``).
    """

    def __init__(self, learner, data, config: TrainConfig = TrainConfig(), task=None, schedule: str = "alternating",
                 batch_sizes: dict | None = None):
        self.config = config.validate()
        if isinstance(learner, Network):
            learner = APLearner(learner, make_optimizer(self.config.optimizer, self.config.lr))
        if not isinstance(learner, Learner):
            raise ApexplorerError(f"{type(learner).__name__} is not a learner (see apexplorer.learner.Learner)")
        self.learner = learner
        self.schedule = check_schedule(schedule)
        self.tasks, self.data = _checked_tasks(learner, data, task, schedule)
        dev = learner.device
        self._x = {n: steps.on_device(d, dev) for n, d in self.data.items()}
        self.batch_sizes = {n: int((batch_sizes or {}).get(n) or self.config.batch_size) for n in self.data}
        n_cls = max(max(d.n_classes for d in self.data.values()), 2)
        self.guard = DivergenceGuard(self.config.max_loss if self.config.max_loss is not None else 15 * math.log(n_cls))
        # the data order: one stream per ensemble member, each from its own seed (as ``--seed s`` alone)
        net = self.net
        seeds = net.seeds if net is not None and net.seeds is not None else (int(self.config.seed),)
        self.streams = BatchStreams({n: len(x[1]) for n, x in self._x.items()}, seeds, dev)
        self.epoch = 0  # completed epochs
        self.segment = 0  # segment of the current epoch's schedule
        self.position = 0  # batches done in the current segment
        self.stats = EpochStats(self.learner_members)  # sums over the current epoch's steps
        self.history = []  # EpochEvent dicts
        self.summary = {}  # sequential: accuracy of each task after each stage
        self._pending = []  # steps launched and not yet reported: (result, epoch, batch, of batches, position)
        self._t_window = 0.0  # when the first of them was launched
        self._drawn = {}  # {task: the epoch of its last fresh draw} (steps.resample)
        self._pause = threading.Event()
        self._stop = threading.Event()
        self.stopped_reason = None
        self.experiment = None  # the Experiment this run was built from (build() sets it); saved with checkpoints

    @classmethod
    def create(cls, wiring: Wiring, data, ap: APConfig = APConfig(), config: TrainConfig = TrainConfig(), task=None,
               schedule: str = "alternating", seeds=None, radii=None, batch_sizes: dict | None = None, init=None):
        """Build the network on the configured device and a trainer for it.

        ``seeds`` (and optionally ``radii``) train an ensemble of independent
        members in one batched run; events then carry per-member figures.
        ``init`` (a :class:`~apexplorer.init.Init`) says how the paths are drawn.
        """
        config = config.validate()
        if seeds is None and config.ensemble > 1:
            seeds = tuple(range(config.seed, config.seed + config.ensemble))
        net = Network(wiring, ap, seed=config.seed, device=resolve_device(config.device), seeds=seeds, radii=radii,
                      init=init)
        return cls(net, data, config, task, schedule, batch_sizes)

    # ---------------------------------------------------------- attributes
    @property
    def net(self) -> Network | None:
        """The AP network (None for baseline learners)."""
        return self.learner.net

    @property
    def opt(self):
        return self.learner.optimizer

    @property
    def task(self) -> Task:
        """The first task (the only one in single-task runs)."""
        return self.tasks[0]

    @property
    def plan(self):
        return self.net.plan(self.task) if self.net is not None else None

    @property
    def max_loss(self) -> float:
        """The divergence threshold: a larger (or non-finite) loss stops the run."""
        return self.guard.max_loss

    @property
    def learner_members(self) -> int:
        """Ensemble size (1 for a single network)."""
        return self.learner.members or 1

    @property
    def total_epochs(self) -> int:
        """Epochs of the whole run (sequential: ``epochs`` per task)."""
        k = len(self.tasks) if self.schedule == "sequential" else 1
        return self.config.epochs * k

    def segments(self, epoch: int | None = None) -> list:
        """The schedule of an epoch (0-based): a list of (tasks trained together, number of batches)."""
        epoch = self.epoch if epoch is None else epoch
        sizes = {n: len(x[1]) for n, x in self._x.items()}
        by_name = {t.name: t for t in self.tasks}
        return [(tuple(by_name[n] for n in names), n_batches(names, sizes, self.batch_sizes))
                for names in segments([t.name for t in self.tasks], self.schedule, epoch, self.config.epochs)]

    @property
    def n_batches(self) -> int:
        """Batches in the current epoch."""
        return sum(n for _, n in self.segments())

    @property
    def epoch_done(self) -> bool:
        return self.segment >= len(self.segments())

    # ------------------------------------------------------------- control
    def pause(self):
        self._pause.set()

    def unpause(self):
        """Go on after :meth:`pause` (to continue a saved run, see :func:`apexplorer.resume`)."""
        self._pause.clear()

    def stop(self):
        self._stop.set()
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def update(self, changes: dict | None = None, **keys) -> dict:
        """Change live settings of this run between two batches: ``update(lr=2e-3, t1=20)`` or
        ``update({"ap.beta": 0.5})`` (any of :data:`LIVE_KEYS`); :attr:`experiment` follows.
        See :func:`apexplorer.live.update`."""
        from .live import update

        return update(self, {**dict(changes or {}), **keys})

    # ---------------------------------------------------------------- loop
    def train(self, epochs: int | None = None, batch_events: bool = True):
        """Train up to ``epochs`` total epochs (default: the whole run), yielding events.

        Ends with a StopEvent whose reason is ``completed``, ``early_stop``,
        ``stopped`` (``stop()`` was called) or ``diverged``.
        """
        epochs = self.total_epochs if epochs is None else epochs
        self._stop.clear()
        self.stopped_reason = None
        self.guard.arm(self.learner)
        while self.epoch < epochs:
            for ev in self._train_epoch():
                if isinstance(ev, StopEvent):
                    yield ev
                    return
                if batch_events:
                    yield ev
            ev = self._end_epoch()
            yield ev
            if ev.train_acc >= self.config.early_stop and self.schedule != "sequential":
                yield self._finish("early_stop", f"train accuracy {ev.train_acc:.4%} reached {self.config.early_stop:.2%}")
                return
        yield self._finish("completed", f"trained {self.epoch} epoch{'' if self.epoch == 1 else 's'}")

    def _train_epoch(self):
        """The batch events of the rest of this epoch; ends with a StopEvent if stopped or diverged.

        Fused (CUDA graph) steps are read back every ``sync_every`` batches, others at once.
        """
        every = self.config.sync_every if self.learner.fused else 1
        while not self.epoch_done:
            if self._pause.is_set() or self._stop.is_set():
                yield from steps.flush(self)  # report what was launched before waiting
                if self.stopped_reason == "diverged":
                    return
                while self._pause.is_set() and not self._stop.is_set():
                    time.sleep(0.02)
            if self._stop.is_set():
                yield self._finish("stopped", f"stopped at epoch {self.epoch + 1}, batch {self.position + 1}")
                return
            steps.launch(self)
            if len(self._pending) >= every or self.epoch_done:
                yield from steps.flush(self)
                if self.stopped_reason == "diverged":
                    return

    def step(self) -> BatchEvent | StopEvent:
        """Train on the next batch of the schedule and return its event."""
        steps.launch(self)
        return steps.flush(self)[-1]

    def _finish(self, reason, message) -> StopEvent:
        self.stopped_reason = reason
        return StopEvent(reason, message, self.epoch)

    def _end_epoch(self) -> EpochEvent:
        """Evaluate every task, record the epoch and start the next one."""
        scores = {t.name: self.evaluate_members("test", t.name) for t in self.tasks}
        ev = epoch_event(self.stats, scores, self.epoch + 1, self.total_epochs, self.learner_members)
        if self.schedule == "sequential" and len(self.tasks) > 1 and (self.epoch + 1) % self.config.epochs == 0:
            stage = self.tasks[(self.epoch + 1) // self.config.epochs - 1].name
            for t in self.tasks:
                self.summary.setdefault(t.name, {})[f"test_acc_after_{stage}"] = ev.tasks[t.name]["test_acc"]
        self.epoch += 1
        self.segment = 0
        self.position = 0
        self.history.append(ev.to_dict())
        return ev

    # ---------------------------------------------------------- evaluation
    def evaluate_members(self, split: str = "test", task: str | None = None) -> tuple:
        """Per-member lists (accuracies, mean cross-entropies) of ``task`` alone on ``split``."""
        t = self.task if task is None else next(t for t in self.tasks if t.name == task)
        xtr, ytr, xte, yte = self._x[t.name]
        x, y = (xte, yte) if split == "test" else (xtr, ytr)
        return evaluate_learner(self.learner, x, y, t, self.config.eval_batch_size)

    def evaluate(self, split: str = "test", task: str | None = None) -> tuple:
        """(accuracy, mean cross-entropy) of ``task`` alone (default the first) on ``split``; ensembles: means."""
        acc, loss = self.evaluate_members(split, task)
        return _mean(acc), _mean(loss)

    def run(self, epochs: int | None = None) -> list:
        """Train and return the epoch events as dicts (a convenience for notebooks)."""
        out = []
        for ev in self.train(epochs, batch_events=False):
            if isinstance(ev, EpochEvent):
                out.append(ev.to_dict())
            elif ev.reason == "diverged":
                raise ApexplorerError(ev.message)
        return out

    # --------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue exactly: learner, settings, optimiser, data order, position, sums."""
        if self._pending:  # launched steps are part of the state: report them first
            steps.flush(self)
        return checkpoint.trainer_state(self)

    def save(self, path):
        """Write an atomic checkpoint to ``path``."""
        return checkpoint.save_atomic(self.state_dict(), path)

    @classmethod
    def load(cls, path, data, device: str | None = None, **overrides) -> "Trainer":
        """Restore a trainer from a checkpoint; ``overrides`` change TrainConfig fields (e.g. epochs, lr).

        ``data`` is the Dataset (single task) or the dict {task: Dataset} it was
        trained on.  Every tensor of the checkpoint is checked against its
        wiring (or baseline config) before use; a mismatch is a CheckpointError.
        """
        st = checkpoint.load(path)
        cfg = replace(TrainConfig(**st["train_config"]), **overrides)
        return checkpoint.restore(cls, st, path, data, cfg if device is None else replace(cfg, device=device))
