"""What training reports: a :class:`StepResult` per step, :class:`EpochStats` over an epoch, and the
events of :meth:`Trainer.train <apexplorer.trainer.Trainer.train>` (batch, epoch, stop).

The CLI, the explorer, notebooks and sweeps all consume the same events;
:meth:`to_dict` gives their JSON form.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class StepResult:
    """One training step read back from the device: per task and per ensemble member.

    tasks : the tasks trained together in the step.
    sizes : samples of each task in the step.
    loss, correct : task -> list of per-member mean loss and correct count.
    error : module (or output) -> mean |e| over the step.
    diverged : the divergence guard rejected the step (its update was not applied).
    """

    tasks: tuple
    sizes: tuple
    loss: dict
    correct: dict
    error: dict
    diverged: bool = False

    @property
    def members(self) -> int:
        return len(next(iter(self.loss.values())))

    @property
    def worst_loss(self) -> float:
        """The largest loss of any task and member (NaN where one is not finite)."""
        flat = [v for row in self.loss.values() for v in row]
        return max(flat) if all(math.isfinite(v) for v in flat) else float("nan")


def read_back(results) -> list:
    """:class:`StepResult` of each :class:`~apexplorer.learner.BatchResult` in ``results``, in one host sync.

    Every tensor is flattened into one vector, copied to the host once, and
    handed back to the result it came from by its size.
    """
    parts = []
    for r in results:
        names = list(r.loss)
        parts += [torch.stack([r.loss[n].reshape(-1) for n in names]).float(),
                  torch.stack([r.correct[n].float().reshape(-1) for n in names]),
                  torch.stack([v.float().mean() for v in r.error.values()]) if r.error else torch.zeros(0),
                  (r.skipped if r.skipped is not None else torch.zeros(())).float().reshape(1)]
    if not parts:
        return []
    dev = parts[0].device
    flat = iter(torch.cat([p.to(dev).reshape(-1) for p in parts]).tolist())
    out = []
    for r, (loss, corr, err, skip) in zip(results, zip(*[iter(parts)] * 4)):
        names = list(r.loss)
        M = loss.shape[-1]
        take = lambda n: [next(flat) for _ in range(n)]  # noqa: E731
        losses = {n: take(M) for n in names}
        corrects = {n: take(M) for n in names}
        errors = dict(zip(r.error, take(err.numel())))
        diverged = bool(take(1)[0])
        out.append(StepResult(tuple(names), tuple(r.sizes[n] for n in names), losses, corrects, errors, diverged))
    return out


@dataclass
class EpochStats:
    """Sums over the steps of an epoch: per task and member loss x samples and correct counts,
    samples per task, mean |e| sums, steps and training seconds.  Saved with checkpoints."""

    members: int = 1
    loss: dict = field(default_factory=dict)
    correct: dict = field(default_factory=dict)
    n: dict = field(default_factory=dict)
    err: dict = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0

    def add(self, step: StepResult, seconds: float) -> None:
        M = self.members
        for t, b in zip(step.tasks, step.sizes):
            self.loss[t] = [x + v * b for x, v in zip(self.loss.get(t, [0.0] * M), step.loss[t])]
            self.correct[t] = [x + v for x, v in zip(self.correct.get(t, [0.0] * M), step.correct[t])]
            self.n[t] = self.n.get(t, 0) + b
        for k, v in step.error.items():
            self.err[k] = self.err.get(k, 0.0) + v
        self.batches += 1
        self.seconds += seconds

    @property
    def trained(self) -> list:
        """The tasks trained so far this epoch."""
        return list(self.n)

    def train_acc(self, task: str) -> list:
        return [c / self.n[task] for c in self.correct[task]]

    def train_loss(self, task: str) -> list:
        return [v / self.n[task] for v in self.loss[task]]

    def member_train_acc(self) -> list:
        """Each member's accuracy over every sample of the epoch (all tasks)."""
        n = sum(self.n.values())
        return [sum(self.correct[t][i] for t in self.trained) / max(n, 1) for i in range(self.members)]

    def mean_loss(self) -> float:
        n = sum(self.n.values())
        return sum(sum(self.loss[t]) / self.members for t in self.trained) / max(n, 1)

    def mean_error(self) -> dict:
        return {k: v / max(self.batches, 1) for k, v in self.err.items()}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, members: int = 1) -> "EpochStats":
        d = dict(d)
        d.setdefault("members", members)
        return cls(**{k: d[k] for k in ("members", "loss", "correct", "n", "err", "batches", "seconds") if k in d})


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
    members: dict = field(default_factory=dict)  # ensembles: task -> {loss: [...], acc: [...]}, one per member
    kind: str = "batch"

    @classmethod
    def of(cls, step: StepResult, epoch: int, batch: int, n_batches: int, seconds: float) -> "BatchEvent":
        M = step.members
        per = {t: {"loss": sum(step.loss[t]) / M, "acc": sum(step.correct[t]) / M / b}
               for t, b in zip(step.tasks, step.sizes)}
        members = {t: {"loss": list(step.loss[t]), "acc": [c / b for c in step.correct[t]]}
                   for t, b in zip(step.tasks, step.sizes)} if M > 1 else {}
        B = sum(step.sizes)
        return cls(epoch, batch, n_batches, sum(d["loss"] for d in per.values()) / len(per),
                   sum(sum(c) for c in step.correct.values()) / M / max(B, 1), dict(step.error),
                   B / max(seconds, 1e-9), "+".join(step.tasks), per, members)

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
