"""Credit-assignment alignment: how close AP's update is to the true gradient.

* :func:`true_gradients` differentiates the cross-entropy loss of a batch by
  autograd through the unrolled inference phase (every module's T1 steps),
  with the network's current weights.  Nothing in the network changes.
* :func:`update_alignment` compares, per learnable path, AP's update
  ``dA = (1/B) a^T e`` with that gradient: cosine similarity and the fraction
  of entries whose signs agree.  AP descends along ``dA`` (``A <- A - lr dA``),
  so a positive cosine means AP moves downhill.
* :func:`feedback_angles` gives the angle between each feedback weight G and
  the transposed feedforward weight of the reverse path, where shapes allow
  (as in feedback-alignment studies).

One call costs one AP step plus one backward pass through T1 steps, so it can
run live on a probe batch.
"""

from __future__ import annotations

import math

import torch

from ..network import Network

from ..plan import Plan
from ._common import single

__all__ = ["alignment", "cosine", "differentiable_inference", "feedback_angles", "sign_agreement", "task_alignment",
           "true_gradients", "update_alignment"]

_FUNCS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two tensors taken as flat vectors (0 when either is zero)."""
    a, b = a.detach().double().flatten(), b.detach().double().flatten()
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return 0.0
    return float(a.dot(b) / (na * nb))


def sign_agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of entries where ``sign(a) == sign(b)`` (zeros count as a sign of their own)."""
    return float((torch.sign(a.detach()) == torch.sign(b.detach())).double().mean())


def differentiable_inference(net: Network, inputs: dict, plan: Plan, weights: dict) -> dict:
    """Phase 0 written with out-of-place ops so autograd can run through it.

    Parameters
    ----------
    net : Network
        Supplies reservoirs, biases, readout biases and the configuration.
    inputs : dict {input port: Tensor (B, n_in)}
    plan : Plan
    weights : dict {path: Tensor}
        Feedforward weights to use (e.g. copies with ``requires_grad``).

    Returns
    -------
    dict {output port: Tensor (B, classes)}
        Logits of every readout.
    """
    T = net.tensors
    f = _FUNCS[net.config.activation]
    B = next(iter(inputs.values())).shape[0]
    z = {}
    for m, incoming in plan.inference:
        n = T["reservoirs"][m].shape[0]
        parts = [T["biases"][m].expand(B, n)]
        for name, src, dst in incoming:
            a = inputs[src.node] if src.kind == "input" else z[src.node][:, src.slice]
            # place a @ A in the target block's columns without in-place writes
            d = a @ weights[name]
            parts.append(torch.nn.functional.pad(d, (dst.start, n - dst.stop)))
        u = torch.stack(parts).sum(0)
        W = T["reservoirs"][m]
        h = f(u)
        for _ in range(net.config.t1 - 1):
            h = f(h @ W + u)
        z[m] = h
    logits = {}
    for o, incoming in plan.readout.items():
        lo = T["readout_bias"][o].expand(B, -1)
        for name, src in incoming:
            lo = lo + z[src.node][:, src.slice] @ weights[name]
        logits[o] = lo
    return logits


def true_gradients(net: Network, inputs, targets, plan: Plan | None = None) -> dict:
    """Gradient of the batch's mean cross-entropy w.r.t. every learnable active path.

    Parameters
    ----------
    net : Network
    inputs : Tensor (B, n_in) or dict {input port: Tensor}
    targets : Tensor (B,) or dict {output port: Tensor}
    plan : Plan, optional

    Returns
    -------
    dict {path: Tensor}, each the shape of its weight
        With several outputs the losses are summed.
    """
    single(net)
    plan = plan or net.plan()
    if not isinstance(inputs, dict):
        inputs = {plan.inputs[0]: inputs}
    if not isinstance(targets, dict):
        targets = {plan.outputs[0]: targets}
    names = [name for name, _, _ in plan.learn]
    with torch.enable_grad():
        weights = {k: v.detach().clone().requires_grad_(k in names) for k, v in net.weights.items()}
        logits = differentiable_inference(net, inputs, plan, weights)
        loss = sum(torch.nn.functional.cross_entropy(logits[o], targets[o].long()) for o in plan.outputs)
        grads = torch.autograd.grad(loss, [weights[k] for k in names], allow_unused=True)
    return {k: (torch.zeros_like(weights[k]) if g is None else g.detach()) for k, g in zip(names, grads)}


@torch.no_grad()
def update_alignment(ap_updates: dict, gradients: dict) -> dict:
    """Per path: cosine and sign agreement of an AP update with the true gradient.

    Parameters
    ----------
    ap_updates : dict {path: Tensor}
        From :meth:`Network.updates`.
    gradients : dict {path: Tensor}
        From :func:`true_gradients`.

    Returns
    -------
    dict {path: {"cosine", "sign_agreement", "ap_norm", "grad_norm"}}
        For every path in both dicts, in the order of ``ap_updates``.
    """
    out = {}
    for k, d in ap_updates.items():
        if k not in gradients:
            continue
        g = gradients[k]
        out[k] = {"cosine": cosine(d, g), "sign_agreement": sign_agreement(d, g),
                  "ap_norm": float(d.double().norm()), "grad_norm": float(g.double().norm())}
    return out


def alignment(net: Network, inputs, targets, plan: Plan | None = None) -> dict:
    """AP's update against the true gradient on one batch, with the current weights.

    Parameters
    ----------
    net : Network
    inputs : Tensor (B, n_in) or dict
    targets : Tensor (B,) or dict
    plan : Plan, optional

    Returns
    -------
    dict {path: {"cosine", "sign_agreement", "ap_norm", "grad_norm"}}
        Paths that no error reaches (no AP update) are left out.
    """
    plan = plan or net.plan()
    if not isinstance(inputs, dict):
        inputs = {plan.inputs[0]: inputs}
    if not isinstance(targets, dict):
        targets = {plan.outputs[0]: targets}
    p0 = net.inference(inputs, plan)
    ups = net.updates(p0, net.learning(p0, targets, plan), plan)
    return update_alignment(ups, true_gradients(net, inputs, targets, plan))


@torch.no_grad()
def feedback_angles(net: Network) -> dict:
    """Angle (degrees) between each feedback weight G and the reverse feedforward weight transposed.

    A feedback path ``j.SE -> k.RE`` (or ``y -> k.RE``) is paired with every
    feedforward path ``k.X -> j.Y`` (or ``k.X -> y``) whose weight has the shape of
    ``G^T``.  90 degrees means unrelated; 0 means G = c A^T (backprop's choice).

    Returns
    -------
    dict {feedback path: {feedforward path: float}}
        Feedback paths with no pairable feedforward path are left out.
    """
    w = single(net).wiring
    out = {}
    for q in w.feedback:
        qs, qt = w.endpoint(q.source), w.endpoint(q.target)
        G = net.feedback[q.name]
        for p in w.feedforward:
            ps, pt = w.endpoint(p.source), w.endpoint(p.target)
            if ps.node != qt.node or pt.node != qs.node:
                continue
            A = net.weights[p.name]
            if tuple(A.shape) != tuple(G.t().shape):
                continue
            c = max(-1.0, min(1.0, cosine(A, G.t())))
            out.setdefault(q.name, {})[p.name] = math.degrees(math.acos(c))
    return out


def task_alignment(net: Network, data, task: str, n: int = 256) -> dict:
    """:func:`alignment` of every member on the first ``n`` test samples of ``data`` (a Dataset) for ``task``:
    a single network's {path: {...}}; an ensemble's {path: {"cosine": [one per member]}}."""
    from ._common import member

    t = net.wiring.task(task)
    n = min(n, len(data.y_test))
    x, y = data.x_test[:n].to(net.device), data.y_test[:n].to(net.device)
    nets = [member(net, k) for k in range(net.members)] if net.members else [net]
    res = [alignment(m, {t.input: x}, {t.output: y}, m.plan(t)) for m in nets]
    if len(res) == 1:
        return res[0]
    return {p: {"cosine": [r[p]["cosine"] for r in res]} for p in res[0] if all(p in r for r in res)}
