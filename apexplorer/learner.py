"""Learners: what the trainer calls for one batch.  AP here; BP, FA and EP in :mod:`baselines`.

Every learner follows the :class:`Learner` protocol; the trainer owns data,
schedules, events and checkpoints, learners own maths.  The registry of
learners by kind is :mod:`apexplorer.methods`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import torch

from .errors import ApexplorerError
from .init import tensor_shapes
from .network import APConfig, Network
from .wiring import Task, Wiring


@dataclass
class BatchResult:
    """One step's results on the device: per task the loss and correct count (0-d, or (E,) for an
    ensemble), the mean |e| of every module and output (0-d), and for fused steps ``skipped``
    (0-d, 1.0 when the device guard rejected the step).  ``sizes``: samples of each task."""

    loss: dict
    correct: dict
    error: dict
    skipped: torch.Tensor | None = None
    sizes: dict = field(default_factory=dict)
    flat: torch.Tensor | None = None  # fused steps: every value above in one vector (see pack)

    def pack(self) -> torch.Tensor:
        """Every value in one 1-D tensor: losses (tasks x members), correct counts, errors, skipped."""
        if self.flat is not None:
            return self.flat
        names = list(self.loss)
        skip = self.skipped if self.skipped is not None else torch.zeros((), device=self.loss[names[0]].device)
        return torch.cat([torch.stack([self.loss[n].reshape(-1) for n in names]).flatten(),
                          torch.stack([self.correct[n].float().reshape(-1) for n in names]).flatten(),
                          *[v.float().mean().reshape(1) for v in self.error.values()],
                          skip.float().reshape(1)])

    @classmethod
    def unpack(cls, flat: torch.Tensor, tasks, members: int, errors, sizes=None) -> "BatchResult":
        """The result whose :meth:`pack` is ``flat`` (views into it, no copies)."""
        k, names = len(tasks), list(tasks)
        loss = flat[: k * members].view(k, members)
        correct = flat[k * members : 2 * k * members].view(k, members)
        err = flat[2 * k * members : 2 * k * members + len(errors)]
        return cls({n: loss[i] for i, n in enumerate(names)}, {n: correct[i] for i, n in enumerate(names)},
                   {e: err[i] for i, e in enumerate(errors)}, flat[-1], dict(sizes or {}), flat)


@runtime_checkable
class Learner(Protocol):
    """What the trainer needs of a learning rule (AP here; BP, FA and EP in :mod:`baselines`).

    ``train_batch`` computes one step's results and updates; ``apply`` applies
    the updates once the trainer's divergence guard has accepted the step.
    Learners whose ``fused`` is true (AP on CUDA) instead run ``train_step``:
    the whole step with the guard on the device, no host sync, and
    ``restore_last_good`` after the guard tripped.
    """

    kind: str
    optimizer: object

    @property
    def device(self) -> torch.device: ...

    @property
    def params(self) -> dict: ...

    @property
    def members(self) -> int | None: ...

    @property
    def wiring(self) -> Wiring | None: ...

    @property
    def net(self) -> Network | None: ...

    @property
    def fused(self) -> bool: ...

    def check_together(self, tasks) -> None: ...

    def train_batch(self, batch: dict, tasks) -> BatchResult: ...

    def apply(self) -> None: ...

    def train_step(self, batch: dict, tasks) -> BatchResult: ...

    def set_guard(self, max_loss: float) -> None: ...

    def restore_last_good(self) -> None: ...

    def predict(self, x: torch.Tensor, task: Task) -> torch.Tensor: ...

    def state_dict(self) -> dict: ...

    @classmethod
    def from_state(cls, d: dict, device, optimizer) -> "Learner": ...

    @classmethod
    def tensor_shapes(cls, d: dict) -> dict: ...


def cross_entropy(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the batch; probs (..., B, C) gives a (...) tensor."""
    idx = y.unsqueeze(-1).expand(*probs.shape[:-1], 1)
    return -torch.log(probs.gather(-1, idx).clamp_min(1e-30)).squeeze(-1).mean(-1)


def n_correct(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Correct predictions over the batch; probs (..., B, C) gives a (...) tensor."""
    return (probs.argmax(-1) == y).sum(-1)


@contextmanager
def _branch(stream):
    """Run the block on ``stream`` after the work queued so far (no stream: in place)."""
    if stream is None:
        yield
        return
    stream.wait_stream(torch.cuda.current_stream(stream.device))
    with torch.cuda.stream(stream):
        yield


class APLearner:
    """Adjoint Propagation on a :class:`Network`."""

    kind = "ap"

    def __init__(self, network: Network, optimizer):
        self._net = network
        self.optimizer = optimizer
        self._pending = None

    @property
    def net(self) -> Network:
        return self._net

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
        res, self._pending, _ = self._phases(batch, tasks)
        return res

    def _phases(self, batch: dict, tasks, side=None, on_loss=None):
        """Both phases, the losses and the updates: ``(BatchResult, updates, on_loss(loss))``.

        With a CUDA ``side`` stream, the losses and ``on_loss`` (the fused step's
        guard) run on it, beside the learning phase, and are joined at the end.
        """
        net = self.net
        plan = net.plan(tasks)
        inputs = {t.input: batch[t.name][0] for t in tasks}
        targets = {t.output: batch[t.name][1] for t in tasks}
        p0 = net.inference(inputs, plan)
        with _branch(side):
            loss, correct = {}, {}
            for t in tasks:
                p, y = p0.probs[t.output], batch[t.name][1]
                loss[t.name] = cross_entropy(p, y)
                correct[t.name] = n_correct(p, y)
            extra = on_loss(loss) if on_loss is not None else None
        p1 = net.learning(p0, targets, plan)
        errs = {**p1.e, **p1.e_out}
        means = torch._foreach_norm(list(errs.values()), 1)  # mean |e| of every module in two launches
        torch._foreach_div_(means, [float(v.numel()) for v in errs.values()])
        error = dict(zip(errs, means))
        updates = net.updates(p0, p1, plan)
        if side is not None:
            torch.cuda.current_stream(side.device).wait_stream(side)
        return BatchResult(loss, correct, error), updates, extra

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
        opt.prepare(self.net.weights)
        return [*self.net.weights.values(), *(t for d in opt.buffers() for t in d.values())]

    def _pack_state(self) -> None:
        """Move weights and optimiser state into one flat buffer per dtype, leaving views in place.

        The guard then snapshots and restores the whole state in a few kernels.
        """
        tensors = self._state_tensors()
        flats = []
        for dtype in dict.fromkeys(t.dtype for t in tensors):
            group = [t for t in tensors if t.dtype == dtype]
            flat = torch.cat([t.reshape(-1) for t in group])
            flats.append(flat)
            views, off = {}, 0
            for t in group:
                views[id(t)] = flat[off : off + t.numel()].view(t.shape)
                off += t.numel()
            for d in (self.net.tensors["weights"], *self.optimizer.buffers()):
                for k, t in d.items():
                    if id(t) in views:
                        d[k] = views[id(t)]
        self._flat = flats

    def set_guard(self, max_loss: float) -> None:
        """Arm the on-device divergence guard of fused steps (and clear a tripped one)."""
        self._max_loss = torch.tensor(float(max_loss), device=self.device)
        if not hasattr(self, "_bad"):
            self._bad = torch.zeros((), dtype=torch.bool, device=self.device)
        self._bad.zero_()

    def _fused_body(self, batch, tasks):
        """One whole step on the device: phases, loss check, guarded update, packed results.

        A good loss (finite, within the guard) copies the state that gave it aside, on a
        side stream while the learning phase runs.  A bad one (or any step after one) makes
        the optimiser skip its step on the device; :meth:`restore_last_good` then puts back
        the state before the last update, the last one whose loss was good.
        """

        def guard(loss):
            L = torch.stack([loss[t.name].reshape(-1) for t in tasks])
            ok = torch.isfinite(L).all() & (L <= self._max_loss).all() & ~self._bad
            self._bad.logical_or_(~ok)
            for saved, now in zip(self._saved, self._flat):
                torch.where(ok, now, saved, out=saved)  # good: the state that gave it is kept aside
            return L, (~ok).float()

        res, updates, (L, skip) = self._phases(batch, tasks, self._side_stream(), guard)
        res.skipped = skip
        self.optimizer.step(self.net.weights, updates, skip=skip)
        return list(res.error), res.pack()

    def restore_last_good(self) -> None:
        """After the guard of a fused step tripped: back to the state before the last good update."""
        for now, saved in zip(self._flat, self._saved):
            now.copy_(saved)

    def _side_stream(self):
        if self.device.type != "cuda":
            return None
        if getattr(self, "_side", None) is None:
            self._side = torch.cuda.Stream(self.device)
        return self._side

    def train_step(self, batch: dict, tasks) -> BatchResult:
        """A fused step with no host sync: its :class:`BatchResult` on the device, ``skipped`` set.

        On CUDA the first two steps of a shape run eagerly on a side stream (CUDA's
        warm-up); then the step is captured once as a CUDA graph and replayed.  A
        change of shapes, of ``net.config`` (T1, T2, mode, beta) or of the learning
        rate starts a new capture.
        """
        errs, flat = self._train_step(batch, tasks)
        return BatchResult.unpack(flat, [t.name for t in tasks], self.members or 1, errs,
                                  {t.name: batch[t.name][1].shape[-1] for t in tasks})

    def forget_graphs(self) -> None:
        """Drop the captured CUDA graphs (settings changed: the next steps are captured anew)."""
        self._graphs, self._seen = {}, {}

    def _train_step(self, batch: dict, tasks):
        """(error names, the packed results) of one fused step; see :meth:`train_step`."""
        if not hasattr(self, "_max_loss"):
            self.set_guard(float("inf"))
        if not hasattr(self, "_saved"):
            self._pack_state()
            self._saved = [t.clone() for t in self._flat]
        if self.device.type != "cuda":
            return self._fused_body(batch, tasks)
        # a graph bakes in shapes, the phase settings and the learning rate: any change captures anew
        key = (tuple(t.name for t in tasks), tuple(tuple(batch[t.name][0].shape) for t in tasks),
               self.net.config, getattr(self.optimizer, "lr", None))
        if not hasattr(self, "_graphs"):
            self._graphs, self._seen = {}, {}
        if key in self._graphs:
            g, static, out = self._graphs[key]
            for t in tasks:
                static[t.name][0].copy_(batch[t.name][0])
                static[t.name][1].copy_(batch[t.name][1])
            g.replay()
            return out[0], out[1].clone()
        self._seen[key] = self._seen.get(key, 0) + 1
        if self._seen[key] < 3:  # warm-up: real steps, eager, on a side stream
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                out = self._fused_body(batch, tasks)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            return out
        static = {t.name: (batch[t.name][0].clone(), batch[t.name][1].clone()) for t in tasks}
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            out = self._fused_body(static, tasks)
        self._graphs[key] = (g, static, out)
        g.replay()
        return out[0], out[1].clone()

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

    @classmethod
    def tensor_shapes(cls, d: dict) -> dict:
        """{group: {name: shape}} that a saved state of this wiring (and ensemble) must have."""
        seeds = d.get("seeds")
        return tensor_shapes(Wiring.from_dict(d["wiring"], warn=False), None if seeds is None else len(seeds))
