"""Training loop and its event stream.

:meth:`Trainer.train` is a generator of events: one :class:`BatchEvent` per
batch, one :class:`EpochEvent` per epoch and a final :class:`StopEvent`.  The
CLI, the app and notebooks consume this same stream.  ``pause``, ``resume``
and ``stop`` may be called from another thread; they take effect between
batches.  A diverged batch (NaN, inf or an exploding loss) restores the last
good state and stops with a message.  Checkpoints restore a run exactly.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from . import checkpoint
from .data import Dataset
from .errors import ApexplorerError, choices
from .learner import APLearner, cross_entropy, n_correct
from .network import APConfig, Network
from .optim import OPTIMIZERS, make_optimizer
from .wiring import Task, Wiring

DEVICES = ("auto", "cpu", "cuda")


def _mean(v) -> float:
    v = list(v)
    return sum(v) / max(len(v), 1)


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without it is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ApexplorerError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ApexplorerError(f"unknown device {device!r}; choices are {choices(DEVICES)}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (the phases' settings live in APConfig)."""

    epochs: int = 10
    batch_size: int = 500
    lr: float = 1e-3
    optimizer: str = "adam"
    seed: int = 0
    device: str = "auto"
    early_stop: float = 0.9999
    max_loss: float | None = None  # divergence threshold; None: 15 x the chance-level loss ln(C)
    eval_batch_size: int = 2000
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


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------
@dataclass
class BatchEvent:
    """One training batch: its loss and accuracy (inference phase, before the update)."""

    epoch: int
    batch: int
    n_batches: int
    loss: float
    acc: float
    error: dict  # module or output -> mean |e|
    samples_per_s: float
    task: str  # the task(s) trained on this batch, joined by '+'
    tasks: dict = field(default_factory=dict)  # task -> {loss, acc}
    kind: str = "batch"

    def to_dict(self):
        return asdict(self)


@dataclass
class EpochEvent:
    """One finished epoch. ``seconds`` is its training wall time (evaluation excluded)."""

    epoch: int
    epochs: int
    train_acc: float
    test_acc: float
    loss: float
    test_loss: float
    seconds: float
    samples_per_s: float
    error: dict
    tasks: dict = field(default_factory=dict)  # task -> {train_acc, test_acc, loss, test_loss}
    members: dict = field(default_factory=dict)  # ensembles: task -> {test_acc: [...], train_acc: [...], loss: [...]}
    kind: str = "epoch"

    def to_dict(self):
        return asdict(self)


@dataclass
class StopEvent:
    """The end of a run: ``completed``, ``early_stop``, ``stopped`` or ``diverged``."""

    reason: str
    message: str
    epoch: int
    kind: str = "stop"

    def to_dict(self):
        return asdict(self)


# ---------------------------------------------------------------------------
# trainer
# ---------------------------------------------------------------------------
SCHEDULES = ("alternating", "simultaneous", "sequential")


class Trainer:
    """Train a learner (AP on a :class:`Network` by default) on one or several tasks.

    Parameters
    ----------
    learner : Network or a learner (see :mod:`learner`)
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
    """

    def __init__(self, learner, data, config: TrainConfig = TrainConfig(), task=None, schedule: str = "alternating"):
        self.config = config.validate()
        if isinstance(learner, Network):
            learner = APLearner(learner, make_optimizer(self.config.optimizer, self.config.lr))
        self.learner = learner
        wiring = getattr(learner, "wiring", None)
        # tasks and their datasets
        if isinstance(data, Dataset):
            if wiring is not None:
                names = [wiring.task(task if isinstance(task, str) else None).name] if not isinstance(task, (list, tuple)) else list(task)
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
        self.tasks = [wiring.task(n) for n in names] if wiring is not None else [Task(n, "x", "y") for n in names]
        if schedule not in SCHEDULES:
            raise ApexplorerError(f"unknown schedule {schedule!r}; choices are {choices(SCHEDULES)}")
        self.schedule = schedule
        if schedule == "simultaneous" and len(self.tasks) > 1 and hasattr(learner, "check_together"):
            learner.check_together(self.tasks)
        self.data = {n: data[n] for n in names}
        if wiring is not None:
            for t in self.tasks:
                self._check_sizes(wiring, t, self.data[t.name])
        dev = learner.device
        self._x = {n: (d.x_train.to(dev), d.y_train.to(dev), d.x_test.to(dev), d.y_test.to(dev)) for n, d in self.data.items()}
        n_cls = max(max(d.n_classes for d in self.data.values()), 2)
        self.max_loss = self.config.max_loss if self.config.max_loss is not None else 15 * math.log(n_cls)
        # the data order: one stream per ensemble member, each from its own seed (as ``--seed s`` alone)
        seeds = self.net.seeds if self.net is not None and self.net.seeds is not None else (int(self.config.seed),)
        self.gens = [torch.Generator().manual_seed(s + 1) for s in seeds]
        self.epoch = 0  # completed epochs
        self.segment = 0  # segment of the current epoch's schedule
        self.position = 0  # batches done in the current segment
        self.streams = {}  # task -> [permutation (n,), or (members, n) for ensembles, next index]
        self.history = []  # EpochEvent dicts
        self.summary = {}  # e.g. sequential: accuracy of earlier tasks before/after later ones
        self._acc = self._new_acc()
        self._pending = []  # launched batches not yet read back
        self._pause = threading.Event()
        self._stop = threading.Event()
        self.stopped_reason = None

    @staticmethod
    def _check_sizes(wiring, task, data):
        n_in = next(p.size for p in wiring.inputs if p.name == task.input)
        n_out = next(p.size for p in wiring.outputs if p.name == task.output)
        if data.n_features != n_in:
            raise ApexplorerError(
                f"task {task.name!r}: input {task.input!r} has size {n_in}, but dataset {data.name!r} has "
                f"{data.n_features} features"
            )
        if data.n_classes > n_out:
            raise ApexplorerError(
                f"task {task.name!r}: output {task.output!r} has size {n_out}, but dataset {data.name!r} has "
                f"{data.n_classes} classes"
            )

    @classmethod
    def create(cls, wiring: Wiring, data, ap: APConfig = APConfig(), config: TrainConfig = TrainConfig(), task=None,
               schedule: str = "alternating", seeds=None, radii=None):
        """Build the network on the configured device and a trainer for it.

        ``seeds`` (and optionally ``radii``) train an ensemble of independent
        members in one batched run; events then carry per-member figures.
        """
        config = config.validate()
        if seeds is None and config.ensemble > 1:
            seeds = tuple(range(config.seed, config.seed + config.ensemble))
        net = Network(wiring, ap, seed=config.seed, device=resolve_device(config.device), seeds=seeds, radii=radii)
        return cls(net, data, config, task, schedule)

    # ---------------------------------------------------------- attributes
    @property
    def net(self) -> Network | None:
        """The AP network (None for baseline learners)."""
        return getattr(self.learner, "net", None)

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
    def total_epochs(self) -> int:
        """Epochs of the whole run (sequential: ``epochs`` per task)."""
        k = len(self.tasks) if self.schedule == "sequential" else 1
        return self.config.epochs * k

    # ------------------------------------------------------------- control
    def pause(self):
        self._pause.set()

    def resume(self):
        self._pause.clear()

    def stop(self):
        self._stop.set()
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def _task_batches(self, name) -> int:
        return math.ceil(len(self._x[name][1]) / self.config.batch_size)

    def segments(self, epoch: int | None = None) -> list:
        """The schedule of an epoch (0-based): a list of (tasks trained together, number of batches)."""
        epoch = self.epoch if epoch is None else epoch
        if len(self.tasks) == 1:
            return [((self.tasks[0],), self._task_batches(self.tasks[0].name))]
        if self.schedule == "alternating":
            return [((t,), self._task_batches(t.name)) for t in self.tasks]
        if self.schedule == "simultaneous":
            return [(tuple(self.tasks), max(self._task_batches(t.name) for t in self.tasks))]
        t = self.tasks[min(epoch // self.config.epochs, len(self.tasks) - 1)]
        return [((t,), self._task_batches(t.name))]

    @property
    def n_batches(self) -> int:
        """Batches in the current epoch."""
        return sum(n for _, n in self.segments())

    def _new_acc(self):
        return {"loss": {}, "correct": {}, "n": {}, "err": {}, "batches": 0, "seconds": 0.0}

    # ---------------------------------------------------------------- core
    def _sync(self):
        if self.learner.device.type == "cuda":
            torch.cuda.synchronize(self.learner.device)

    def _backup(self):
        if hasattr(self.opt, "prepare"):  # moments exist (zero) before the first step, so they restore too
            self.opt.prepare(self.learner.params)
        opt = self.opt.state_dict()
        opt = {k: ({n: t.clone() for n, t in v.items()} if k in ("m", "v", "t") else v) for k, v in opt.items()}
        self._saved = ({k: v.clone() for k, v in self.learner.params.items()}, opt)

    def _restore(self):
        weights, opt = self._saved
        for k, v in weights.items():
            self.learner.params[k].copy_(v)
        self.opt.load_state_dict(opt)

    def _next(self, name, size=None):
        """The next batch of task ``name``, reshuffling when its stream runs out.

        With ``size``, exactly that many samples, continuing into a new
        permutation if needed (simultaneous tasks present their samples in pairs).
        An ensemble's members each draw their own order: x (E, B, n), y (E, B).
        """
        x, y = self._x[name][:2]
        want = self.config.batch_size if size is None else size
        parts = []
        while want > 0:
            st = self.streams.get(name)
            if st is None or st[1] >= len(y):
                st = self.streams[name] = [self._permutation(len(y)).to(y.device), 0]
            idx = st[0][..., st[1] : st[1] + want]
            st[1] += idx.shape[-1]
            parts.append(idx)
            want = 0 if size is None else want - idx.shape[-1]
        idx = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        return x[idx], y[idx]

    def _permutation(self, n: int) -> torch.Tensor:
        """A fresh order of ``n`` samples: (n,), or (members, n) with one row per member's stream."""
        perms = [torch.randperm(n, generator=g) for g in self.gens]
        return perms[0] if len(perms) == 1 else torch.stack(perms)

    def _next_together(self, tasks) -> dict:
        """Batches of several tasks with the same number of samples (that of the largest dataset)."""
        if len(tasks) == 1:
            return {tasks[0].name: self._next(tasks[0].name)}
        lead = max(tasks, key=lambda t: len(self._x[t.name][1]))
        out = {lead.name: self._next(lead.name)}
        b = out[lead.name][1].shape[-1]
        for t in tasks:
            if t.name != lead.name:
                out[t.name] = self._next(t.name, b)
        return {t.name: out[t.name] for t in tasks}

    def step(self) -> BatchEvent | StopEvent:
        """Train on the next batch of the schedule and return its event."""
        self._launch()
        return self._flush()[-1]

    def _launch(self) -> None:
        """Start the next batch.  Fused (CUDA) steps are not read back until :meth:`_flush`."""
        segs = self.segments()
        if self.segment == 0 and self.position == 0:
            self._acc = self._new_acc()
        if self.position == 0:  # a segment starts a fresh pass over its tasks' data
            for t in segs[self.segment][0]:
                self.streams.pop(t.name, None)
        tasks, n_seg = segs[self.segment]
        if not self._pending:
            self._t_window = time.perf_counter()
        batch = self._next_together(tasks)
        names = [t.name for t in tasks]
        rec = {"names": names, "sizes": [batch[n][1].shape[-1] for n in names], "epoch": self.epoch + 1,
               "position": self.position + 1, "total": sum(n for _, n in segs),
               "done": sum(n for _, n in segs[: self.segment]) + self.position + 1}
        if getattr(self.learner, "fused", False):
            rec["errs"], rec["packed"] = self.learner.train_step(batch, tasks)
        else:
            res = self.learner.train_batch(batch, tasks)
            rec["errs"] = list(res.error)
            L = torch.stack([res.loss[n].reshape(-1) for n in names])  # (tasks, members)
            C = torch.stack([res.correct[n].float().reshape(-1) for n in names])
            E = [res.error[k].float().mean().reshape(1) for k in rec["errs"]]
            vals = torch.cat([L.flatten(), C.flatten(), *E]).tolist()  # the one host sync of a step
            flat = vals[: L.numel()]
            bad = not all(math.isfinite(v) for v in flat) or max(flat) > self.max_loss
            if bad:
                if hasattr(self, "_saved"):
                    self._restore()
            else:
                self._backup()
                self.learner.apply()
            rec["vals"] = vals + [1.0 if bad else 0.0]
        self.position += 1
        if self.position >= n_seg:
            self.segment += 1
            self.position = 0
        self._pending.append(rec)

    def _flush(self) -> list:
        """Read back the launched batches (one host sync) and turn them into events."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        packed = [r["packed"] for r in pending if "packed" in r]
        if packed:
            flat = torch.cat(packed).tolist()
            for r in pending:
                if "packed" in r:
                    n = r["packed"].numel()
                    r["vals"], flat = flat[:n], flat[n:]
        self._sync()
        dt = (time.perf_counter() - self._t_window) / len(pending)
        M = self.learner_members
        events = []
        a = self._acc
        for r in pending:
            names, vals = r["names"], r["vals"]
            k = len(names)
            losses = [vals[i * M : (i + 1) * M] for i in range(k)]  # per task, per member
            corrects = [vals[k * M + i * M : k * M + (i + 1) * M] for i in range(k)]
            errv = vals[2 * k * M : -1]
            if vals[-1]:
                if "packed" in r:  # the device guard skipped the updates; put back the last good state
                    self.learner.restore_last_good()
                flat = [v for row in losses for v in row]
                worst = max(flat) if all(math.isfinite(v) for v in flat) else float("nan")
                what = "NaN/inf" if not math.isfinite(worst) else f"{worst:.3g} (above {self.max_loss:.3g})"
                msg = (f"training diverged at epoch {r['epoch']}, batch {r['position']}: loss is {what}. "
                       "The last good weights were kept; try a smaller learning rate or spectral radius.")
                events.append(self._finish("diverged", msg))
                return events
            B = 0
            per_task = {}
            for n, b, l, c in zip(names, r["sizes"], losses, corrects):
                B += b
                a["loss"][n] = [x + v * b for x, v in zip(a["loss"].get(n, [0.0] * M), l)]
                a["correct"][n] = [x + v for x, v in zip(a["correct"].get(n, [0.0] * M), c)]
                a["n"][n] = a["n"].get(n, 0) + b
                per_task[n] = {"loss": sum(l) / M, "acc": sum(c) / M / b}
            a["batches"] += 1
            a["seconds"] += dt
            err = dict(zip(r["errs"], errv))
            for key, v in err.items():
                a["err"][key] = a["err"].get(key, 0.0) + v
            events.append(BatchEvent(r["epoch"], r["done"], r["total"], sum(d["loss"] for d in per_task.values()) / k,
                                     sum(sum(c) for c in corrects) / M / max(B, 1), err, B / max(dt, 1e-9),
                                     "+".join(names), per_task))
        return events

    def _finish(self, reason, message):
        self.stopped_reason = reason
        return StopEvent(reason, message, self.epoch)

    @property
    def epoch_done(self) -> bool:
        return self.segment >= len(self.segments())

    def _end_epoch(self) -> EpochEvent:
        a = self._acc
        trained = list(a["n"])
        M = self.learner_members
        tasks, members = {}, {}
        for t in self.tasks:
            accs, losses = self.evaluate_members("test", t.name)
            d = {"test_acc": _mean(accs), "test_loss": _mean(losses)}
            m = {"test_acc": accs, "test_loss": losses}
            if t.name in a["n"]:
                tr_acc = [c / a["n"][t.name] for c in a["correct"][t.name]]
                tr_loss = [v / a["n"][t.name] for v in a["loss"][t.name]]
                d["train_acc"], d["loss"] = _mean(tr_acc), _mean(tr_loss)
                m.update(train_acc=tr_acc, loss=tr_loss)
            tasks[t.name] = d
            members[t.name] = m
        if self.schedule == "sequential" and len(self.tasks) > 1 and (self.epoch + 1) % self.config.epochs == 0:
            stage = (self.epoch + 1) // self.config.epochs - 1
            for t in self.tasks:
                self.summary.setdefault(t.name, {})[f"test_acc_after_{self.tasks[stage].name}"] = tasks[t.name]["test_acc"]
        self.epoch += 1
        self.segment = 0
        self.position = 0
        n = sum(a["n"].values())
        per_member_train = [sum(a["correct"][t][i] for t in trained) / max(n, 1) for i in range(M)]
        ev = EpochEvent(
            epoch=self.epoch,
            epochs=self.total_epochs,
            train_acc=_mean(per_member_train),
            test_acc=sum(tasks[t]["test_acc"] for t in trained) / max(len(trained), 1),
            loss=sum(sum(a["loss"][t]) / M for t in trained) / max(n, 1),
            test_loss=sum(tasks[t]["test_loss"] for t in trained) / max(len(trained), 1),
            seconds=a["seconds"],
            samples_per_s=n / max(a["seconds"], 1e-9),
            error={k: v / max(a["batches"], 1) for k, v in a["err"].items()},
            tasks=tasks,
            members=members if M > 1 else {},
        )
        self.history.append(ev.to_dict())
        return ev

    @property
    def learner_members(self) -> int:
        """Ensemble size (1 for a single network)."""
        return getattr(self.learner, "members", None) or 1

    @torch.no_grad()
    def evaluate_members(self, split: str = "test", task: str | None = None) -> tuple:
        """Per-member lists (accuracies, mean cross-entropies) of ``task`` alone on ``split``."""
        t = self.task if task is None else next(t for t in self.tasks if t.name == task)
        xtr, ytr, xte, yte = self._x[t.name]
        x, y = (xte, yte) if split == "test" else (xtr, ytr)
        correct = loss = 0.0
        bs = self.config.eval_batch_size
        for i in range(0, len(y), bs):
            p = self.learner.predict(x[i : i + bs], t)
            yy = y[i : i + bs]
            correct = correct + n_correct(p, yy).double()
            loss = loss + cross_entropy(p, yy).double() * len(yy)
        n = max(len(y), 1)
        acc = (torch.as_tensor(correct) / n).reshape(-1).tolist()
        return acc, (torch.as_tensor(loss) / n).reshape(-1).tolist()

    def evaluate(self, split: str = "test", task: str | None = None) -> tuple:
        """(accuracy, mean cross-entropy) of ``task`` alone (default the first) on ``split``; ensembles: means."""
        acc, loss = self.evaluate_members(split, task)
        return _mean(acc), _mean(loss)

    def train(self, epochs: int | None = None, batch_events: bool = True):
        """Train up to ``epochs`` total epochs (default: the whole run), yielding events.

        Ends with a StopEvent whose reason is ``completed``, ``early_stop``,
        ``stopped`` (``stop()`` was called) or ``diverged``.
        """
        epochs = self.total_epochs if epochs is None else epochs
        self._stop.clear()
        self.stopped_reason = None
        if hasattr(self.learner, "set_guard"):
            self.learner.set_guard(self.max_loss)
        every = self.config.sync_every if getattr(self.learner, "fused", False) else 1
        while self.epoch < epochs:
            while not self.epoch_done:
                if self._pause.is_set() or self._stop.is_set():
                    for ev in self._flush():
                        if isinstance(ev, StopEvent) or batch_events:
                            yield ev
                        if isinstance(ev, StopEvent):
                            return
                while self._pause.is_set() and not self._stop.is_set():
                    time.sleep(0.02)
                if self._stop.is_set():
                    yield self._finish("stopped", f"stopped at epoch {self.epoch + 1}, batch {self.position + 1}")
                    return
                self._launch()
                if len(self._pending) >= every or self.epoch_done:
                    for ev in self._flush():
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
        """Everything needed to continue exactly: learner, settings, optimiser, RNG, position."""
        if self._pending:  # launched batches are part of the state: read them back first
            self._flush()
        opt = self.opt.state_dict()
        opt = {k: ({n: t.detach().cpu().clone() for n, t in v.items()} if k in ("m", "v", "t") else
                   (list(v) if isinstance(v, tuple) else v)) for k, v in opt.items()}
        return {
            "learner": self.learner.state_dict(),
            "train_config": asdict(self.config),
            "tasks": [t.name for t in self.tasks],
            "schedule": self.schedule,
            "datasets": {n: d.name for n, d in self.data.items()},
            "optimizer": opt,
            "rng": [g.get_state() for g in self.gens],
            "epoch": self.epoch,
            "segment": self.segment,
            "position": self.position,
            "streams": {n: [p.cpu(), i] for n, (p, i) in self.streams.items()},
            "acc": self._acc,
            "history": list(self.history),
            "summary": self.summary,
        }

    def save(self, path):
        """Write an atomic checkpoint to ``path``."""
        return checkpoint.save_atomic(self.state_dict(), path)

    @classmethod
    def load(cls, path, data, device: str | None = None, **overrides) -> "Trainer":
        """Restore a trainer from a checkpoint; ``overrides`` change TrainConfig fields (e.g. epochs).

        ``data`` is the Dataset (single task) or the dict {task: Dataset} it was trained on.
        """
        st = checkpoint.load(path)
        given = {st["tasks"][0]: data} if isinstance(data, Dataset) else dict(data)
        for n, name in st["datasets"].items():
            if n not in given:
                raise ApexplorerError(f"checkpoint {str(path)!r} needs a dataset for task {n!r} ({name})")
            if given[n].name != name:
                raise ApexplorerError(f"checkpoint {str(path)!r}: task {n!r} was trained on {name!r}, not {given[n].name!r}")
        cfg = replace(TrainConfig(**st["train_config"]), **overrides)
        if device is not None:
            cfg = replace(cfg, device=device)
        dev = resolve_device(cfg.device)
        opt = make_optimizer(cfg.optimizer, cfg.lr)
        kind = st["learner"]["kind"]
        learner = learner_class(kind).from_state(st["learner"], dev, opt)
        tr = cls(learner, given, cfg, st["tasks"], st["schedule"])
        tr.opt.load_state_dict(st["optimizer"], device=dev)
        rng = st["rng"] if isinstance(st["rng"], list) else [st["rng"]]
        if len(rng) != len(tr.gens):  # an earlier version's ensemble, its members sharing one order: keep it
            tr.gens = [torch.Generator() for _ in rng]
        for g, r in zip(tr.gens, rng):
            g.set_state(r)
        tr.epoch, tr.segment, tr.position = st["epoch"], st["segment"], st["position"]
        tr.streams = {n: [p.to(dev), i] for n, (p, i) in st["streams"].items()}
        tr._acc = st["acc"]
        tr.history = list(st["history"])
        tr.summary = st["summary"]
        return tr


def learner_class(kind: str):
    """The learner class for ``kind`` (``ap``, and the baselines once imported)."""
    from .learner import LEARNERS

    if kind not in LEARNERS:
        try:
            from . import baselines  # noqa: F401 - registers bp, fa, ep
        except ImportError:
            pass
    if kind not in LEARNERS:
        raise ApexplorerError(f"unknown method {kind!r}; choices are {choices(LEARNERS)}")
    return LEARNERS[kind]
