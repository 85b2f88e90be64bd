"""Optimisers that apply AP's local updates: Adam (the paper's default) and plain SGD.

They take the update ``dA`` directly (no ``.grad``, no autograd) and step only
the weights they are given, so a suppressed path never moves.
"""

from __future__ import annotations

import torch

from .errors import ApexplorerError, choices
from .table import OPTIMIZERS, default

LR = default("train.lr")


class Adam:
    """Adam (Kingma & Ba 2015) with per-weight step counts.

    ``A <- A - lr * m_hat / (sqrt(v_hat) + eps)``.  Step counts are tensors on
    the weights' device, so a step can be captured in a CUDA graph.  float32
    weights go through torch's fused Adam kernel (one pass over weights and
    moments, the same arithmetic as ``torch.optim.Adam(fused=True)``); other
    dtypes through multi-tensor (foreach) kernels.
    """

    name = "adam"

    def __init__(self, lr=LR, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps = float(lr), tuple(betas), float(eps)
        self.m, self.v, self.t = {}, {}, {}

    @staticmethod
    def _fused(w: torch.Tensor) -> bool:
        return w.dtype == torch.float32 and hasattr(torch, "_fused_adam_")

    def prepare(self, weights: dict) -> None:
        """Create the moments and step counts of ``weights`` now (a CUDA graph needs fixed buffers).

        The fused kernel reads float32 step counts, the foreach path float64 ones.
        """
        for name, w in weights.items():
            if name not in self.m:
                self.m[name] = torch.zeros_like(w)
                self.v[name] = torch.zeros_like(w)
                self.t[name] = torch.zeros((), dtype=torch.float64, device=w.device)
            want = torch.float32 if self._fused(w) else torch.float64
            if self.t[name].dtype != want or self.t[name].device != w.device:
                self.t[name] = self.t[name].to(device=w.device, dtype=want)

    @torch.no_grad()
    def step(self, weights: dict, updates: dict, skip: torch.Tensor | None = None) -> None:
        """Apply ``updates``; with ``skip`` (a 0-d float tensor, 1.0 or 0.0) the step is
        skipped on the device when it is 1 (no host sync: the divergence guard)."""
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
        fused = [i for i, w in enumerate(ws) if self._fused(w)]
        if fused:
            pick = lambda xs: [xs[i] for i in fused]  # noqa: E731
            steps = pick(ts)
            if skip is None:
                torch._foreach_add_(steps, 1)
            else:
                torch._foreach_add_(steps, [1 - skip] * len(steps))  # lists: a 0-d tensor scalar would sync
            torch._fused_adam_(pick(ws), pick(gs), pick(ms), pick(vs), [], steps, lr=self.lr, beta1=b1, beta2=b2,
                               weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False, grad_scale=None,
                               found_inf=None if skip is None else skip.to(torch.float32).reshape(()))
        rest = [i for i, w in enumerate(ws) if not self._fused(w)]
        if rest:
            groups = [[xs[i] for i in rest] for xs in (ws, gs, ms, vs, ts)]
            state = [groups[0], *groups[2:]]
            old = None if skip is None else [[x.clone() for x in xs] for xs in state]
            self._foreach_step(*groups)
            if old is not None:  # a skipped step restores weights, moments and counts
                for xs, saved in zip(state, old):
                    for x, o in zip(xs, saved):
                        torch.where(skip.bool(), o, x, out=x)

    def _foreach_step(self, ws, gs, ms, vs, ts) -> None:
        b1, b2 = self.betas
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
                if k in mine and mine[k].shape == t.shape:  # (copy_ converts a step count's dtype)
                    mine[k].copy_(t)
                else:
                    mine[k] = t.to(device).clone() if device else t.clone()

    def tensors(self):
        return list(self.m.values()) + list(self.v.values())

    def buffers(self) -> list:
        """The dicts of per-weight state (moments, step counts), by weight name."""
        return [self.m, self.v, self.t]


class SGD:
    """Plain gradient descent ``A <- A - lr * dA`` (the paper's batch-size-1 run)."""

    name = "sgd"

    def __init__(self, lr=LR):
        self.lr = float(lr)

    def prepare(self, weights: dict) -> None:
        """Plain descent keeps no state per weight."""

    def buffers(self) -> list:
        return []

    @torch.no_grad()
    def step(self, weights: dict, updates: dict, skip: torch.Tensor | None = None) -> None:
        """With ``skip`` (0-d tensor, 1.0 or 0.0) the step is skipped on the device when it is 1."""
        for name, g in updates.items():
            if skip is None:
                weights[name].add_(g, alpha=-self.lr)
            else:
                weights[name].sub_(g * ((1 - skip) * self.lr).to(g.dtype))

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
