"""Error magnitudes: mean |e| of every SI neuron and of every module (Appendix 3, Figs 2-3).

* :func:`si_slices` says which neurons of a module send inference (its SI-type
  blocks: the sources of its outgoing feedforward paths).
* :class:`ErrorMeter` accumulates ``|e|`` over batches, per neuron and per module.
* :func:`error_magnitudes` runs the phases on a few batches and returns the meter.
* :class:`ErrorHistory` keeps these over training: it consumes the trainer's
  events (mean |e| of whole modules, every batch or epoch) and, when asked,
  per-neuron snapshots of the SI error on a fixed probe batch.

The local error of module k is ``e_k = z0_k - z1_k``; the output error is ``o - y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import ApexplorerError, choices
from ..network import Network
from ..plan import Phase1, Plan
from ._common import single

__all__ = ["ErrorHistory", "ErrorMeter", "error_magnitudes", "member_errors", "si_slices"]


def si_slices(net: Network, plan: Plan | None = None, block: str | None = None) -> dict:
    """The send-inference neurons of every module the error reaches.

    Parameters
    ----------
    net : Network
    plan : Plan, optional
    block : str, optional
        A block name to use in every module instead (e.g. ``"SE"``).

    Returns
    -------
    dict {module: LongTensor of neuron indices}
        By default the union of the source blocks of the module's outgoing
        feedforward paths (``SI``, or ``SI1``, ``SI2``... in multitask wirings).
    """
    single(net)
    plan = plan or net.plan()
    w = net.wiring
    out = {}
    for m, _ in plan.learning:
        mod = w.module(m)
        if block is not None:
            if block not in mod.block_names:
                raise ApexplorerError(f"module {m!r} has no block {block!r}; its blocks are {choices(mod.block_names)}")
            sl = [mod.block_slice(block)]
        else:
            srcs = dict.fromkeys(w.endpoint(p.source).block for p in w.feedforward
                                 if w.endpoint(p.source).node == m)
            sl = [mod.block_slice(b) for b in srcs]
        idx = [torch.arange(s.start, s.stop) for s in sl]
        out[m] = torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)
    return out


@dataclass
class ErrorMeter:
    """Running mean of ``|e|`` over samples, per neuron and per module.

    Attributes
    ----------
    neurons : dict {module: LongTensor (n,)}
        Which neurons of each module are measured (see :func:`si_slices`).
    sums : dict {module or output: Tensor (n,)}
        Sum over samples of ``|e|`` of each measured neuron (output: each class unit).
    count : int
        Samples seen.
    """

    neurons: dict
    sums: dict = field(default_factory=dict)
    count: int = 0

    @torch.no_grad()
    def add(self, phase1: Phase1) -> None:
        """Add one batch's local errors (Phase1 of that batch)."""
        B = None
        for m, idx in self.neurons.items():
            e = phase1.e.get(m)
            if e is None:
                continue
            B = e.shape[0]
            s = e[:, idx.to(e.device)].abs().sum(0).double().cpu()
            self.sums[m] = self.sums.get(m, 0) + s
        for o, e in phase1.e_out.items():
            B = e.shape[0]
            self.sums[o] = self.sums.get(o, 0) + e.abs().sum(0).double().cpu()
        self.count += B or 0

    def per_neuron(self) -> dict:
        """{module or output: ndarray (n,)} mean |e| of each measured neuron."""
        n = max(self.count, 1)
        return {k: (v / n).numpy() for k, v in self.sums.items()}

    def per_module(self) -> dict:
        """{module or output: float} mean |e| over the measured neurons and samples."""
        return {k: float(v.mean()) if v.size else 0.0 for k, v in self.per_neuron().items()}


@torch.no_grad()
def error_magnitudes(net: Network, batches, plan: Plan | None = None, block: str | None = None) -> ErrorMeter:
    """Mean |e| of every SI neuron and module over batches, with the current weights.

    Parameters
    ----------
    net : Network
    batches : iterable of (inputs (B, n_in), targets (B,))
        Inputs may also be dicts by port, as for :meth:`Network.inference`.
    plan : Plan, optional
    block : str, optional
        Measure this block of every module instead of the SI-type blocks.

    Returns
    -------
    ErrorMeter
        ``.per_neuron()`` and ``.per_module()`` give the averages.
    """
    plan = plan or net.plan()
    meter = ErrorMeter(si_slices(net, plan, block))
    for x, y in batches:
        if not isinstance(x, dict):
            x = {plan.inputs[0]: x.to(net.device)}
        if not isinstance(y, dict):
            y = {plan.outputs[0]: y.to(net.device)}
        p0 = net.inference(x, plan)
        meter.add(net.learning(p0, y, plan))
    if meter.count == 0:
        raise ApexplorerError("no batches were given to measure the error on")
    return meter


class ErrorHistory:
    """Error magnitudes over training.

    Feed it the trainer's events with :meth:`update` (each event's ``error``
    holds the mean |e| of every module and output over the batch or epoch),
    and optionally call :meth:`snapshot` between epochs for the per-neuron SI
    error on a fixed probe batch.

    Examples
    --------
    >>> hist = ErrorHistory()                             # doctest: +SKIP
    >>> for ev in trainer.train():                        # doctest: +SKIP
    ...     hist.update(ev)
    ...     if ev.kind == "epoch":
    ...         hist.snapshot(trainer.net, x_probe, y_probe)
    >>> hist.epochs()["L1"]                               # doctest: +SKIP
    """

    def __init__(self):
        self._batch = []  # (epoch, batch, {key: value})
        self._epoch = []  # (epoch, {key: value})
        self._snap = []  # (epoch, {key: ndarray (n,)})

    def update(self, event) -> None:
        """Record a BatchEvent or EpochEvent (objects or their ``to_dict()``); others are ignored."""
        d = event if isinstance(event, dict) else getattr(event, "to_dict", lambda: {})()
        kind = d.get("kind")
        if kind == "batch":
            self._batch.append((d["epoch"], d["batch"], dict(d["error"])))
        elif kind == "epoch":
            self._epoch.append((d["epoch"], dict(d["error"])))

    def snapshot(self, net: Network, inputs, targets, plan: Plan | None = None, block: str | None = None) -> dict:
        """Measure and keep the per-neuron mean |e| on a probe batch; returns it."""
        per = error_magnitudes(net, [(inputs, targets)], plan, block).per_neuron()
        epoch = self._epoch[-1][0] if self._epoch else 0
        self._snap.append((epoch, per))
        return per

    @staticmethod
    def _series(rows):
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return {k: np.array([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in keys}

    def batches(self) -> dict:
        """{module or output: ndarray (n_batches,)} mean |e| per training batch, in order."""
        return self._series([r for *_, r in self._batch])

    def epochs(self) -> dict:
        """{"epoch": ndarray, module or output: ndarray (n_epochs,)} mean |e| per epoch."""
        out = {"epoch": np.array([e for e, _ in self._epoch], dtype=np.int64)}
        out.update(self._series([r for _, r in self._epoch]))
        return out

    def neurons(self) -> dict:
        """{"epoch": ndarray (k,), module: ndarray (k, n)} per-neuron SI error at each snapshot."""
        out = {"epoch": np.array([e for e, _ in self._snap], dtype=np.int64)}
        keys = list(dict.fromkeys(k for _, r in self._snap for k in r))
        for k in keys:
            out[k] = np.stack([r[k] for _, r in self._snap if k in r])
        return out


def member_errors(net: Network, data, task: str, n: int = 32) -> dict:
    """Every ensemble member's mean |e| per module (and the output's |o − y|) on ``n`` test samples of
    ``data`` (a Dataset) for ``task``: {name: [one value per member]} (one value for a single network)."""
    t = net.wiring.task(task)
    plan = net.plan(t)
    x, y = data.x_test[:n].to(net.device), data.y_test[:n].to(net.device)
    with torch.no_grad():
        p0 = net.inference({t.input: x}, plan)
        p1 = net.learning(p0, {t.output: y}, plan)
    errs = {**p1.e, **p1.e_out}
    return {k: v.abs().flatten(1).mean(1).tolist() for k, v in errs.items()}
