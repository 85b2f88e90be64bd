"""One sample through both phases, every step recorded: what the explorer's
trajectory views and its error-flow player show.

:func:`trace_sample` runs :meth:`Network.inference` and :meth:`Network.learning` with
``record=True`` on a batch of one and returns a :class:`Trace` of plain NumPy
arrays (CPU), so that a view on another thread never touches live tensors.
Nothing here changes the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .network import Network
from .wiring import Task


@dataclass
class Trace:
    """A recorded pass of one sample through phase 0 and phase 1.

    Attributes
    ----------
    task, input, output : str
        The task and its ports.
    x : ndarray (n_in,)
        The sample.
    y : int
        Its class.
    probs : ndarray (n_out,)
        Output probabilities o of the inference phase.
    e_out : ndarray (n_out,)
        Output error ``o - y_onehot`` injected in the learning phase.
    traj0 : dict module -> ndarray (T1 + 1, N)
        States ``h_0 .. h_T1`` of the inference phase (modules reached from the input).
    traj1 : dict module -> ndarray (T2 + 1, N)
        States of the learning phase (modules the error reaches).
    e : dict module -> ndarray (N,)
        Local errors ``e = z0 - z1``.
    updates : dict path -> ndarray (|source|, |target|)
        The local update ``dA = a^T e[target block]`` of each learnable path
        (batch of one).
    inference_order, learning_order : tuple of str
        Modules in the order each phase visits them.
    feedforward_in : dict module -> tuple of path names
        Active feedforward paths driving each module in phase 0.
    feedback_in : dict module -> tuple of path names
        Active feedback paths injecting error into each module in phase 1.
    blocks : dict module -> tuple of (block, start, stop)
    """

    task: str
    input: str
    output: str
    x: np.ndarray
    y: int
    probs: np.ndarray
    e_out: np.ndarray
    traj0: dict
    traj1: dict
    e: dict
    updates: dict
    inference_order: tuple
    learning_order: tuple
    feedforward_in: dict
    feedback_in: dict
    blocks: dict = field(default_factory=dict)
    mode: str = "ste"
    beta: float = 1.0

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))

    def update_norms(self) -> dict:
        """Frobenius norm of each path's update, by path name."""
        return {k: float(np.linalg.norm(v)) for k, v in self.updates.items()}

    def error_magnitudes(self) -> dict:
        """Mean |e| of each module (and of the output error, under the output's name)."""
        out = {m: float(np.abs(v).mean()) for m, v in self.e.items()}
        out[self.output] = float(np.abs(self.e_out).mean())
        return out


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


@torch.no_grad()
def trace_sample(net: Network, x, y, task: str | Task | None = None) -> Trace:
    """Run one sample through both phases with every step recorded.

    Parameters
    ----------
    net : Network
    x : Tensor (n_in,) or (1, n_in)
    y : int or Tensor
        The sample's class.
    task : str or Task, optional
        Default: the wiring's first task.

    Returns
    -------
    Trace
    """
    t = net.wiring.task(task) if not isinstance(task, Task) else task
    plan = net.plan(t)
    x = torch.as_tensor(x, dtype=torch.float32).reshape(1, -1).to(net.device)
    yt = torch.as_tensor([int(y)], dtype=torch.long, device=net.device)
    p0 = net.inference({t.input: x}, plan, record=True)
    p1 = net.learning(p0, {t.output: yt}, plan, record=True)
    dA = net.updates(p0, p1, plan)
    w = net.wiring
    blocks = {}
    for m in w.modules:
        start, rows = 0, []
        for b, s in m.blocks:
            rows.append((b, start, start + s))
            start += s
        blocks[m.name] = tuple(rows)
    return Trace(
        task=t.name,
        input=t.input,
        output=t.output,
        x=_np(x[0]),
        y=int(y),
        probs=_np(p0.probs[t.output][0]),
        e_out=_np(p1.e_out[t.output][0]),
        traj0={m: _np(v[:, 0]) for m, v in (p0.trajectory or {}).items()},
        traj1={m: _np(v[:, 0]) for m, v in (p1.trajectory or {}).items()},
        e={m: _np(v[0]) for m, v in p1.e.items()},
        updates={k: _np(v) for k, v in dA.items()},
        inference_order=tuple(m for m, _ in plan.inference),
        learning_order=tuple(m for m, _ in plan.learning),
        feedforward_in={m: tuple(n for n, _, _ in inc) for m, inc in plan.inference},
        feedback_in={m: tuple(n for n, _, _ in inc) for m, inc in plan.learning},
        blocks=blocks,
        mode=net.config.mode,
        beta=float(net.config.beta),
    )
