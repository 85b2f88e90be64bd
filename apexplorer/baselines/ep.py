"""Equilibrium Propagation (Scellier & Bengio 2017) on a layered network (Fig. 4a-c).

Layers ``x -> h1 -> ... -> hL -> y`` with symmetric weights: one matrix W_l
carries the signal up and (transposed) down, so the numbers of feedforward and
feedback connections between layers are equal, as in the paper's comparison
(an MR-RNN module of 4n neurons corresponds to an EP layer of n).  Layers have
no lateral connections.  The energy is Hopfield-like, with the hard sigmoid
``rho(s) = clip(s, 0, 1)`` and the cost ``C = 1/2 ||y - d||^2``; the states
follow ``ds/dt = -dE/ds - beta dC/ds``, integrated by Euler steps of size
epsilon with states kept in [0, 1]:

.. math::

    s_l \\leftarrow \\mathrm{clip}\\big(s_l + \\epsilon\\,(\\rho(s_{l-1}) W_l
        + \\rho(s_{l+1}) W_{l+1}^T + b_l - s_l
        + [l = y]\\,\\beta (d - s_l)),\\ 0,\\ 1\\big)

Free phase (beta = 0) for T1 steps from s = 0, then the weakly clamped phase
continues from the free fixed point for T2 steps.  The update is the
contrastive rule

.. math::

    \\Delta W_l \\propto \\frac{1}{\\beta}\\big(\\rho(s^\\beta_{l-1})^T \\rho(s^\\beta_l)
        - \\rho(s^0_{l-1})^T \\rho(s^0_l)\\big) / B

(ascent; the optimiser gets its negative).  The free phase starts from zero
for every batch (no persistent particles), so after T1 steps it may not have
settled, and the one-sided estimate above (``symmetric=False``) then also
carries the phase's leftover drift divided by beta.  By default the
estimate is therefore *symmetric* (Laborieux et al. 2021): the phases nudged
by +beta and -beta, both continued from the free state, are compared and the
difference divided by 2 beta, so the drift cancels.  ``random_sign`` draws the
sign of beta per batch for the one-sided estimate (Scellier & Bengio 2017).
On digits (2 x 256, Adam 1e-3, batch 32, T1 = 100, T2 = 20) the symmetric
estimate reached 95% test accuracy after 300 batches, the one-sided one ~70%.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ApexplorerError
from ..learner import BatchResult, cross_entropy, n_correct
from .mlp import Layered, LayeredLearner

#: Floor added to the output rates before they are normalised into "probabilities".
PROB_FLOOR = 0.01


@dataclass(frozen=True)
class EPConfig(Layered):
    """An EP network and its relaxation settings.

    n_in, n_out : input features and classes.
    hidden : hidden layer sizes (default two layers of 256, the paper's 2-HL comparison).
    t1, t2 : Euler steps of the free and weakly clamped phases.
    epsilon : Euler step size.
    beta : clamping strength.
    random_sign : draw the sign of beta per batch.
    symmetric : estimate from the +beta and -beta phases (default; one more phase per batch).
    """

    link = "<->"  # symmetric weights (a class attribute, not a field)

    n_in: int
    n_out: int
    hidden: tuple = (256, 256)
    t1: int = 100
    t2: int = 20
    epsilon: float = 0.5
    beta: float = 1.0
    random_sign: bool = False
    symmetric: bool = True
    seed: int = 0

    def validate(self) -> "EPConfig":
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for k, v in (("n_in", self.n_in), ("n_out", self.n_out), ("t1", self.t1), ("t2", self.t2)) + tuple(
                ("hidden", h) for h in self.hidden):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ApexplorerError(f"EP {k} {v!r} must be a positive integer")
        if not self.hidden:
            raise ApexplorerError("an EP network needs at least one hidden layer")
        if not 0 < self.epsilon <= 1:
            raise ApexplorerError(f"EP epsilon {self.epsilon!r} must be in (0, 1]")
        if not self.beta > 0:
            raise ApexplorerError(f"EP beta {self.beta!r} must be > 0")
        return self


def rho(s: torch.Tensor) -> torch.Tensor:
    """The hard sigmoid ``clip(s, 0, 1)``."""
    return s.clamp(0.0, 1.0)


def init_ep(cfg: EPConfig) -> dict:
    """Weights U(-1, 1)/sqrt(fan_in) (the init of the AP, BP and FA networks) and zero biases, from ``cfg.seed``.

    Scellier & Bengio used Glorot's uniform init, about twice as large between
    hidden layers: the coupling of the layers then exceeds the unit self-decay
    of the energy, which is no longer convex at the start, and from zero the
    free phase saturates many units and had not settled after 100 steps in our
    runs (digits, 2 x 256).  With this init it settles in about 30 steps.
    """
    gen = torch.Generator().manual_seed(int(cfg.seed))
    w = {}
    s = cfg.sizes
    for l in range(1, len(s)):
        lim = s[l - 1] ** -0.5
        w[cfg.path(l)] = ((torch.rand(s[l - 1], s[l], generator=gen, dtype=torch.float64) * 2 - 1) * lim).float()
        w[f"{cfg.layers[l]}.bias"] = torch.zeros(s[l])
    return {"weights": w}


class EPLearner(LayeredLearner):
    """Equilibrium Propagation; the learner interface of :mod:`apexplorer.learner`.

    Parameters
    ----------
    config : EPConfig
    optimizer : an :mod:`apexplorer.optim` optimiser
    device : str or torch.device
    tensors : dict, optional
        ``{"weights": ...}`` (default: drawn from ``config.seed``).
    """

    kind = "ep"
    config_class = EPConfig
    init = staticmethod(init_ep)

    def __init__(self, config: EPConfig, optimizer, device="cpu", tensors=None):
        super().__init__(config, optimizer, device, tensors)
        self.gen = torch.Generator().manual_seed(int(config.seed) + 7)

    # ------------------------------------------------------------- maths
    def relax(self, x: torch.Tensor, states: list, steps: int, beta: float = 0.0, target=None) -> list:
        """Run ``steps`` Euler steps of the (weakly clamped when beta != 0) dynamics.

        Parameters
        ----------
        x : Tensor (B, n_in)
            Clamped input, taken as its own rate.
        states : list of Tensor (B, n_l)
            ``[h1, ..., hL, y]``; not modified.
        beta : float
            Clamping strength (0: free phase).
        target : Tensor (B, n_out), optional
            One-hot target d.

        Returns
        -------
        list of Tensor
            The new states.
        """
        cfg, W = self.config, self.params
        eps = cfg.epsilon
        n = len(states)
        s = list(states)
        for _ in range(steps):
            r = [x] + [rho(v) for v in s]
            new = []
            for i in range(n):  # layer l = i + 1, synchronous update
                l = i + 1
                drive = torch.addmm(W[f"{cfg.layers[l]}.bias"], r[l - 1], W[cfg.path(l)])
                if l < n:
                    drive = drive.addmm(r[l + 1], W[cfg.path(l + 1)].t())
                ds = drive - s[i]
                if l == n and beta != 0.0:
                    ds = ds + beta * (target - s[i])
                new.append((s[i] + eps * ds).clamp_(0.0, 1.0))
            s = new
        return s

    def free_phase(self, x: torch.Tensor) -> list:
        """States ``[h1, ..., y]`` after T1 free steps from zero."""
        B = x.shape[0]
        zero = [torch.zeros(B, n, device=x.device, dtype=x.dtype) for n in self.config.sizes[1:]]
        return self.relax(x, zero, self.config.t1)

    @staticmethod
    def probabilities(y_state: torch.Tensor) -> torch.Tensor:
        """Output rates with a floor of :data:`PROB_FLOOR`, normalised (argmax = the network's choice)."""
        p = rho(y_state) + PROB_FLOOR
        return p / p.sum(1, keepdim=True)

    @torch.no_grad()
    def updates(self, x: torch.Tensor, y: torch.Tensor, beta: float):
        """(updates {param: dA}, free states, nudged states) for one batch with clamping ``beta``.

        With ``symmetric`` the reference is the phase nudged by ``-beta``
        instead of the free phase, and the difference is divided by 2 beta.
        """
        cfg = self.config
        free = self.free_phase(x)
        d = torch.zeros_like(free[-1]).scatter_(1, y.view(-1, 1), 1.0)
        nudged = self.relax(x, free, cfg.t2, beta, d)
        ref = self.relax(x, free, cfg.t2, -beta, d) if cfg.symmetric else free
        if cfg.symmetric:
            beta = 2 * beta
        B = x.shape[0]
        r0 = [x] + [rho(v) for v in ref]
        r1 = [x] + [rho(v) for v in nudged]
        ups = {}
        for l in range(1, len(r0)):
            grad = (r1[l - 1].t().mm(r1[l]) - r0[l - 1].t().mm(r0[l])) / (beta * B)
            ups[cfg.path(l)] = -grad
            ups[f"{cfg.layers[l]}.bias"] = -(r1[l] - r0[l]).sum(0) / (beta * B)
        return ups, free, nudged

    # -------------------------------------------------- learner interface
    @torch.no_grad()
    def train_batch(self, batch: dict, tasks) -> BatchResult:
        self._check(tasks)
        t = tasks[0]
        x, y = batch[t.name]
        beta = self.config.beta
        if self.config.random_sign and torch.rand((), generator=self.gen) < 0.5:
            beta = -beta
        ups, free, nudged = self.updates(x, y, beta)
        self._pending = ups
        probs = self.probabilities(free[-1])
        names = self.config.layers[1:]
        error = {k: (b - a).abs().mean() / abs(beta) for k, a, b in zip(names, free, nudged)}
        return BatchResult({t.name: cross_entropy(probs, y)}, {t.name: n_correct(probs, y)}, error)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, task=None) -> torch.Tensor:
        return self.probabilities(self.free_phase(x)[-1])

    def state_dict(self) -> dict:
        return {**super().state_dict(), "rng": self.gen.get_state()}

    @classmethod
    def from_state(cls, d: dict, device, optimizer):
        out = super().from_state(d, device, optimizer)
        if "rng" in d:
            out.gen.set_state(d["rng"])
        return out

    def __repr__(self):
        c = self.config
        return f"EPLearner({' <-> '.join(map(str, c.sizes))}, T1={c.t1}, T2={c.t2}, beta={c.beta})"
