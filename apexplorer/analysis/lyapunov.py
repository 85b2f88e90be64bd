"""Maximum Lyapunov exponents of a reservoir by the Jacobian method (Fig. 2c; Materials and methods).

For ``h_{t+1} = F(h_t) = f(h_t W + b + u)`` the Jacobian at step t is
``J_t = diag(f'(a_t)) W^T`` (column-vector convention).  From a random state and
a random unit perturbation v the method repeats

.. math::

    h \\leftarrow F(h), \\quad v \\leftarrow J_t v, \\quad
    \\lambda \\mathrel{+}= \\log \\lVert v \\rVert, \\quad v \\leftarrow v / \\lVert v \\rVert

and divides by the number of steps N.  Large N gives the MLE; N = 8 (the
paper's iteration count) gives the finite-time MLE.  ``J_t v`` is computed as
the row vector ``(v W) * f'(a_t)`` so no N x N Jacobian is formed; the result is
the same.  For a linear reservoir (or tanh at zero drive, whose state decays to
0 where f' = 1) the MLE tends to ``log rho``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..dynamics import ACTIVATIONS, DERIVATIVES
from ..errors import ApexplorerError, choices
from ..network import Network
from ..plan import Plan
from ..reservoirs import random_reservoir
from ._common import single

__all__ = ["ftmle", "lyapunov_exponents", "mle", "network_ftmle", "spectral_radius_sweep"]

_FUNCS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}


def lyapunov_exponents(W, steps: int, drive=None, activation: str = "tanh", trials: int = 4, seed: int = 0,
                       h0=None, v0=None) -> np.ndarray:
    """Largest Lyapunov exponent over ``steps`` steps, one per trial (initial condition).

    Parameters
    ----------
    W : Tensor or ndarray (N, N)
        Recurrent matrix, row-vector convention ``h @ W``.
    steps : int
        Number of steps N of the average.
    drive : Tensor, ndarray or float, optional
        Constant input drive u (bias included): a scalar, (N,) or (trials, N).
        Default zero.
    activation : str
        One of :data:`apexplorer.dynamics.ACTIVATIONS`.
    trials : int
        Independent random initial states and perturbations.
    seed : int
    h0 : (trials, N), optional
        Initial states; default U(-1, 1).
    v0 : (trials, N), optional
        Initial perturbations (normalised here); default Gaussian.

    Returns
    -------
    ndarray (trials,)
        ``(1/N) sum_t log ||J_t v_t||`` for each trial (float64).
    """
    if activation not in ACTIVATIONS:
        raise ApexplorerError(f"unknown activation {activation!r}; choices are {choices(ACTIVATIONS)}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ApexplorerError(f"steps = {steps!r} must be an integer >= 1")
    W = torch.as_tensor(W).double()
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ApexplorerError(f"W must be a square matrix; got shape {tuple(W.shape)}")
    n = W.shape[0]
    dev = W.device
    gen = torch.Generator().manual_seed(int(seed))
    h = (torch.rand(trials, n, generator=gen, dtype=torch.float64) * 2 - 1) if h0 is None else torch.as_tensor(h0)
    v = torch.randn(trials, n, generator=gen, dtype=torch.float64) if v0 is None else torch.as_tensor(v0)
    h, v = h.double().to(dev).reshape(-1, n), v.double().to(dev).reshape(-1, n)
    if h.shape[0] != v.shape[0]:
        raise ApexplorerError(f"h0 has {h.shape[0]} trials but v0 has {v.shape[0]}")
    u = torch.zeros(1, n, dtype=torch.float64, device=dev) if drive is None else torch.as_tensor(drive).double().to(dev)
    u = u.expand(h.shape[0], n) if u.ndim < 2 or u.shape[0] == 1 else u
    v = v / v.norm(dim=1, keepdim=True)
    f, df = _FUNCS[activation], DERIVATIVES[activation]
    total = torch.zeros(h.shape[0], dtype=torch.float64, device=dev)
    k = h.shape[0]
    for _ in range(steps):
        hv = torch.cat([h, v]) @ W  # one matmul for the state and the perturbation
        h = f(hv[:k] + u)
        v = hv[k:] * df(h)
        norm = v.norm(dim=1)
        # a perturbation that dies completely (e.g. relu, all units off) has exponent -inf
        total += torch.log(norm)
        v = v / norm.clamp_min(1e-300).unsqueeze(1)
    return (total / steps).cpu().numpy()


def ftmle(W, steps: int = 8, drive=None, activation: str = "tanh", trials: int = 4, seed: int = 0) -> float:
    """Finite-time maximum Lyapunov exponent over ``steps`` (default 8) steps, mean over trials.

    Parameters are those of :func:`lyapunov_exponents`.
    """
    return float(np.mean(lyapunov_exponents(W, steps, drive, activation, trials, seed)))


def mle(W, steps: int = 1000, drive=None, activation: str = "tanh", trials: int = 1, seed: int = 0) -> float:
    """Maximum Lyapunov exponent: the same average over a long horizon (default 1000 steps).

    One trial by default: over a long horizon the initial condition hardly
    matters, and each trial costs ``steps`` products with W.
    """
    return float(np.mean(lyapunov_exponents(W, steps, drive, activation, trials, seed)))


def spectral_radius_sweep(radii, size: int = 1024, rate: float = 0.25, steps: int = 8, mle_steps: int = 1000,
                          drive: float = 0.0, activation: str = "tanh", trials: int = 4, seed: int = 0,
                          device: str = "cpu") -> list:
    """MLE and FTMLE of random sparse reservoirs over spectral radii (Fig. 2c).

    Parameters
    ----------
    radii : sequence of float
        Spectral radii rho.
    size, rate : int, float
        Reservoir size N and connection rate c (paper: 1024, 0.25).
    steps : int
        FTMLE horizon.
    mle_steps : int
        MLE horizon.
    drive : float
        Scale s of a constant random drive u ~ U(-s, s) per neuron and trial
        (0: no input).
    activation, trials, seed, device
        As in :func:`lyapunov_exponents` (``trials`` for the FTMLE; the MLE
        uses the first); every radius uses a reservoir drawn from ``seed``.

    Returns
    -------
    list of dict
        One ``{"sr", "log_sr", "mle", "ftmle"}`` per radius, in the given order.
    """
    out = []
    for rho in radii:
        rho = float(rho)
        if not rho >= 0 or math.isinf(rho):
            raise ApexplorerError(f"spectral radius {rho!r} must be a finite number >= 0")
        gen = torch.Generator().manual_seed(int(seed))
        W = random_reservoir(int(size), rho, float(rate), gen).double().to(device)
        u = None
        if drive:
            u = (torch.rand(trials, size, generator=gen, dtype=torch.float64) * 2 - 1) * float(drive)
        row = {"sr": rho, "log_sr": math.log(rho) if rho > 0 else float("-inf")}
        row["mle"] = mle(W, mle_steps, None if u is None else u[:1], activation, 1, seed)
        row["ftmle"] = ftmle(W, steps, u, activation, trials, seed)
        out.append(row)
    return out


@torch.no_grad()
def network_ftmle(net: Network, inputs, plan: Plan | None = None, steps: int | None = None,
                  max_trials: int = 32) -> dict:
    """FTMLE of every module of a network under its inference drive for a batch.

    Each sample of the batch (up to ``max_trials``) is one trial, with the
    module's constant drive ``u0`` of the inference phase.

    Parameters
    ----------
    net : Network
    inputs : Tensor (B, n_in) or dict
    plan : Plan, optional
    steps : int, optional
        Default the network's T1.
    max_trials : int

    Returns
    -------
    dict {module: float}
    """
    single(net)
    plan = plan or net.plan()
    if not isinstance(inputs, dict):
        inputs = {plan.inputs[0]: inputs}
    inputs = {k: v[:max_trials].to(net.device) for k, v in inputs.items()}
    p0 = net.inference(inputs, plan)
    steps = steps or net.config.t1
    return {m: ftmle(net.reservoirs[m], steps, p0.u[m], net.config.activation, p0.u[m].shape[0], net.seed)
            for m, _ in plan.inference}
