"""Optimisers that apply AP's local updates: Adam (the paper's default) and plain SGD.

They take the update ``dA`` directly (no ``.grad``, no autograd) and step only
the weights they are given, so a suppressed path never moves.
"""

from __future__ import annotations

import torch

from .errors import ApexplorerError, choices

OPTIMIZERS = ("adam", "sgd")


class Adam:
    """Adam (Kingma & Ba 2015) with per-weight step counts.

    ``A <- A - lr * m_hat / (sqrt(v_hat) + eps)``.  Step counts are tensors on
    the weights' device, so a step can be captured in a CUDA graph.
    """

    name = "adam"

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = float(lr), tuple(betas), float(eps)
        self.m, self.v, self.t = {}, {}, {}

    def prepare(self, weights: dict) -> None:
        """Create the moments and step counts of ``weights`` now (a CUDA graph needs fixed buffers)."""
        for name, w in weights.items():
            if name not in self.m:
                self.m[name] = torch.zeros_like(w)
                self.v[name] = torch.zeros_like(w)
                self.t[name] = torch.zeros((), dtype=torch.float64, device=w.device)

    @torch.no_grad()
    def step(self, weights: dict, updates: dict) -> None:
        if not updates:
            return
        b1, b2 = self.betas
        self.prepare({n: weights[n] for n in updates})
        names = list(updates)
        ws = [weights[n] for n in names]
        gs = [updates[n] for n in names]
        ms = [self.m[n] for n in names]
        vs = [self.v[n] for n in names]
        ts = [self.t[n] for n in names]
        # multi-tensor kernels: a handful of launches for all weights
        torch._foreach_add_(ts, 1)
        torch._foreach_lerp_(ms, gs, 1 - b1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, gs, gs, value=1 - b2)
        bc1 = torch._foreach_pow(b1, ts)
        torch._foreach_sub_(bc1, 1)  # b1^t - 1 = -(1 - b1^t)
        bc2 = torch._foreach_pow(b2, ts)
        torch._foreach_neg_(bc2)
        torch._foreach_add_(bc2, 1)
        denom = torch._foreach_div(vs, bc2)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, self.eps)
        step = torch._foreach_div(ms, bc1)  # -m_hat
        torch._foreach_addcdiv_(ws, step, denom, value=self.lr)

    def state_dict(self) -> dict:
        return {"name": self.name, "lr": self.lr, "betas": self.betas, "eps": self.eps,
                "m": dict(self.m), "v": dict(self.v), "t": dict(self.t)}

    def load_state_dict(self, d: dict, device=None) -> None:
        """Load state; tensors are copied into existing buffers where they exist (CUDA graphs keep pointers)."""
        self.lr, self.betas, self.eps = d["lr"], tuple(d["betas"]), d["eps"]
        for key in ("m", "v", "t"):
            mine = getattr(self, key)
            for k, t in d[key].items():
                t = torch.as_tensor(t, dtype=torch.float64) if key == "t" else t
                if k in mine and mine[k].shape == t.shape:
                    mine[k].copy_(t)
                else:
                    mine[k] = t.to(device).clone() if device else t.clone()

    def tensors(self):
        return list(self.m.values()) + list(self.v.values())


class SGD:
    """Plain gradient descent ``A <- A - lr * dA`` (the paper's batch-size-1 run)."""

    name = "sgd"

    def __init__(self, lr=1e-3):
        self.lr = float(lr)

    @torch.no_grad()
    def step(self, weights: dict, updates: dict) -> None:
        for name, g in updates.items():
            weights[name].add_(g, alpha=-self.lr)

    def state_dict(self) -> dict:
        return {"name": self.name, "lr": self.lr}

    def load_state_dict(self, d: dict, device=None) -> None:
        self.lr = d["lr"]

    def tensors(self):
        return []


def make_optimizer(name: str, lr: float):
    if not isinstance(lr, (int, float)) or not (lr > 0) or lr == float("inf"):
        raise ApexplorerError(f"learning rate {lr!r} must be a positive number")
    if name == "adam":
        return Adam(lr)
    if name == "sgd":
        return SGD(lr)
    raise ApexplorerError(f"unknown optimizer {name!r}; choices are {choices(OPTIMIZERS)}")
