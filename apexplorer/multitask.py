"""Multi-task measurements (Appendix 4): how much a second task's simultaneous
input changes one task's errors and updates on shared modules and paths."""

from __future__ import annotations

import torch

from .network import Network
from .wiring import Task


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of (B, N) tensors; rows that are zero in both count as 1."""
    na, nb = a.norm(dim=1), b.norm(dim=1)
    dot = (a * b).sum(1)
    out = dot / (na * nb).clamp_min(1e-30)
    both_zero = (na == 0) & (nb == 0)
    return torch.where(both_zero, torch.ones_like(out), out)


@torch.no_grad()
def simultaneous_cosine(net: Network, task: Task | str, batches: dict) -> dict:
    """Batch cosine similarity of ``task``'s errors and updates, alone vs. with the other tasks' input.

    Parameters
    ----------
    net : Network
    task : the task measured
    batches : {task name: (x (B, n_in), y (B,))} for ``task`` and every task presented with it

    Returns
    -------
    dict with ``error`` {module or output: mean over the batch of cos(e_alone, e_together)} for every
    module and output that ``task`` alone reaches, and ``update`` {path: cos of the flattened updates}
    for ``task``'s learnable paths.
    """
    w = net.wiring
    t = w.task(task) if isinstance(task, str) else task
    others = [w.task(n) for n in batches if n != t.name]

    def run(tasks):
        plan = net.plan(tasks)
        inputs = {k.input: batches[k.name][0] for k in tasks}
        targets = {k.output: batches[k.name][1] for k in tasks}
        p0 = net.inference(inputs, plan)
        p1 = net.learning(p0, targets, plan)
        return p1, net.updates(p0, p1, plan)

    e_alone, u_alone = run([t])
    e_both, u_both = run([t] + others)
    error = {m: float(_cos(e_alone.e[m], e_both.e[m]).mean()) for m in e_alone.e}
    error[t.output] = float(_cos(e_alone.e_out[t.output], e_both.e_out[t.output]).mean())
    update = {p: float(_cos(u_alone[p].reshape(1, -1), u_both[p].reshape(1, -1))[0]) for p in u_alone}
    return {"error": error, "update": update}
