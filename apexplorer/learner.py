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

    # ------------------------------------------------- fused step (CUDA graphs)
    @property
    def fused(self) -> bool:
        """On CUDA the trainer calls :meth:`train_step` (one captured graph per step) instead."""
        return (self.device.type == "cuda" and self.graphs) or self.force_fused

    graphs = True  # set False to keep CUDA steps eager
    force_fused = False  # run the fused step eagerly on any device (tests of its roll-back logic)

    def _state_tensors(self) -> list:
        opt = self.optimizer
        extra = [] if not hasattr(opt, "m") else [*opt.m.values(), *opt.v.values(), *opt.t.values()]
        return [*self.net.weights.values(), *extra]

    def _fused_body(self, batch, tasks) -> BatchResult:
        res = self.train_batch(batch, tasks)
        # keep the last two states: a bad loss means the weights that produced it are bad too
        for prev, cur, live in zip(self._prev, self._cur, self._state_tensors()):
            prev.copy_(cur)
            cur.copy_(live)
        self.apply()
        return res

    def train_step(self, batch: dict, tasks) -> BatchResult:
        """Train batch, keep a roll-back copy and apply the update, with no host sync.

        The first steps of a shape run eagerly on a side stream (CUDA's warm-up);
        then the whole step is captured once as a CUDA graph and replayed.
        """
        key = (tuple(t.name for t in tasks), tuple(tuple(batch[t.name][0].shape) for t in tasks))
        if not hasattr(self, "_graphs"):
            self._graphs, self._seen = {}, {}
        if key in self._graphs:
            g, static, out = self._graphs[key]
            for t in tasks:
                static[t.name][0].copy_(batch[t.name][0])
                static[t.name][1].copy_(batch[t.name][1])
            g.replay()
            return out
        if not hasattr(self, "_cur") or len(self._cur) != len(self._state_tensors()):
            # the optimiser's moments exist after its first step; take one eager step first
            if not getattr(self.optimizer, "m", None) and hasattr(self.optimizer, "m"):
                res = self.train_batch(batch, tasks)
                self._last_good = [t.clone() for t in self._state_tensors()]
                self.apply()
                return res
            self._cur = [t.clone() for t in self._state_tensors()]
            self._prev = [t.clone() for t in self._state_tensors()]
        self._seen[key] = self._seen.get(key, 0) + 1
        if self.device.type != "cuda":
            return self._fused_body(batch, tasks)
        if self._seen[key] < 3:  # warm-up: real steps, eager, on a side stream
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                res = self._fused_body(batch, tasks)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            return res
        static = {t.name: (batch[t.name][0].clone(), batch[t.name][1].clone()) for t in tasks}
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            out = self._fused_body(static, tasks)
        self._graphs[key] = (g, static, out)
        g.replay()
        return out

    def rollback(self) -> None:
        """Restore the state before the previous fused step (its loss was the last good one)."""
        src = getattr(self, "_prev", None) or getattr(self, "_last_good", None)
        if src is None:
            return
        for live, saved in zip(self._state_tensors(), src):
            live.copy_(saved)

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
