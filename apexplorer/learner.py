"""Learners: what the trainer calls for one batch.  AP here; BP, FA and EP in :mod:`baselines`.

A learner has

* ``device`` and ``params`` (dict of learnable tensors, for divergence roll-back),
* ``optimizer`` (an :mod:`optim` optimiser over ``params``),
* ``train_batch(batch, tasks) -> BatchResult``: one training step on a batch of
  each task in ``tasks`` (several tasks: their batches go through together),
* ``predict(x, task) -> probabilities`` (B, classes) for one task alone,
* ``state_dict()`` / ``from_state(d, device)``, and ``kind`` (``ap``, ``bp``...).

The trainer owns data, schedules, events and checkpoints; learners own maths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .errors import ApexplorerError
from .network import APConfig, Network
from .wiring import Task, Wiring


@dataclass
class BatchResult:
    """Per-task loss and correct count (0-d tensors), and mean |e| per module/output (0-d tensors)."""

    loss: dict
    correct: dict
    error: dict


def cross_entropy(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the batch; probs (..., B, C) gives a (...) tensor."""
    idx = y.view(-1, 1).expand(*probs.shape[:-1], 1)
    return -torch.log(probs.gather(-1, idx).clamp_min(1e-30)).squeeze(-1).mean(-1)


def n_correct(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Correct predictions over the batch; probs (..., B, C) gives a (...) tensor."""
    return (probs.argmax(-1) == y).sum(-1)


class APLearner:
    """Adjoint Propagation on a :class:`Network`."""

    kind = "ap"

    def __init__(self, network: Network, optimizer):
        self.net = network
        self.optimizer = optimizer

    @property
    def device(self):
        return self.net.device

    @property
    def params(self) -> dict:
        return self.net.weights

    @property
    def members(self) -> int | None:
        return self.net.members

    @property
    def wiring(self) -> Wiring:
        return self.net.wiring

    def check_together(self, tasks) -> None:
        """Tasks trained simultaneously need their own input and output ports."""
        for attr in ("input", "output"):
            ports = [getattr(t, attr) for t in tasks]
            if len(set(ports)) != len(ports):
                raise ApexplorerError(
                    f"tasks {', '.join(t.name for t in tasks)} share an {attr} port ({', '.join(ports)}); "
                    "simultaneous training needs a separate input and output port per task"
                )

    @torch.no_grad()
    def train_batch(self, batch: dict, tasks) -> BatchResult:
        net = self.net
        plan = net.plan(tasks)
        inputs = {t.input: batch[t.name][0] for t in tasks}
        targets = {t.output: batch[t.name][1] for t in tasks}
        p0 = net.inference(inputs, plan)
        loss, correct = {}, {}
        for t in tasks:
            p, y = p0.probs[t.output], batch[t.name][1]
            loss[t.name] = cross_entropy(p, y)
            correct[t.name] = n_correct(p, y)
        p1 = net.learning(p0, targets, plan)
        error = {m: v.abs().mean() for m, v in p1.e.items()}
        error.update({o: v.abs().mean() for o, v in p1.e_out.items()})
        self._pending = net.updates(p0, p1, plan)
        return BatchResult(loss, correct, error)

    def apply(self) -> None:
        """Apply the updates of the last ``train_batch`` (after the trainer has checked the loss)."""
        self.optimizer.step(self.net.weights, self._pending)
        self._pending = None

    @torch.no_grad()
    def predict(self, x: torch.Tensor, task: Task) -> torch.Tensor:
        return self.net.inference({task.input: x}, self.net.plan(task)).probs[task.output]

    def state_dict(self) -> dict:
        cpu = lambda d: {k: v.detach().cpu().clone() for k, v in d.items()}  # noqa: E731
        return {
            "kind": self.kind,
            "wiring": self.net.wiring.to_dict(),
            "ap_config": asdict(self.net.config),
            "seed": self.net.seed,
            "seeds": None if self.net.seeds is None else list(self.net.seeds),
            "radii": None if self.net.radii is None else list(self.net.radii),
            "tensors": {k: cpu(d) for k, d in self.net.tensors.items()},
        }

    @classmethod
    def from_state(cls, d: dict, device, optimizer) -> "APLearner":
        wiring = Wiring.from_dict(d["wiring"], warn=False)
        net = Network(wiring, APConfig(**d["ap_config"]), seed=d["seed"], device=device, tensors=d["tensors"],
                      seeds=d.get("seeds"), radii=d.get("radii"))
        return cls(net, optimizer)


LEARNERS = {"ap": APLearner}
