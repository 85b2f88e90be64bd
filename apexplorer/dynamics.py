"""Relaxation of one recurrent module: ``h_{t+1} = f(h_t W + b + u)``.

A pure function of explicit tensors; the phases call it once per module.
"""

from __future__ import annotations

import torch

from . import kernels
from .errors import ApexplorerError, choices


def _identity_(x):
    return x


def _tanh_(x):
    """In-place tanh.  On the CPU ``2 sigmoid(2x) - 1`` in four in-place passes is 4x
    faster than ATen's tanh and 2x faster than ``1 - 2 / (exp(2x) + 1)`` (500 x 1024 on
    2 cores: 0.24 ms, 0.93 ms, 0.49 ms), exact to 2e-7 and -1/+1 at the extremes."""
    if x.device.type == "cpu" and x.dtype == torch.float32:
        return x.mul_(2).sigmoid_().mul_(2).sub_(1)
    return x.tanh_()


#: In-place activations (the relax loop owns its pre-activation buffer).
ACTIVATIONS = {
    "tanh": _tanh_,
    "relu": torch.Tensor.relu_,
    "sigmoid": torch.Tensor.sigmoid_,
    "linear": _identity_,
}

#: Out-of-place versions (the first step from h0 = 0 reads the drive, which it must not change).
FUNCTIONS = {
    "tanh": lambda x: _tanh_(x.clone()) if x.device.type == "cpu" else torch.tanh(x),  # one kernel on a GPU
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "linear": torch.clone,
}

#: Their derivatives as functions of the activation's output y = f(x).
DERIVATIVES = {
    "tanh": lambda y: 1 - y * y,
    "relu": lambda y: (y > 0).to(y.dtype),
    "sigmoid": lambda y: y * (1 - y),
    "linear": lambda y: torch.ones_like(y),
}


#: Activations with f(0) = 0: from h0 = 0, the first state is zero wherever the drive is.
ZERO_AT_ZERO = frozenset({"tanh", "relu", "linear"})


def support(slices, n: int):
    """The columns ``slices`` (of a state of width ``n``) as sorted disjoint slices, or None for all of them."""
    spans = sorted((s.start or 0, n if s.stop is None else s.stop) for s in slices)
    out = []
    for a, b in spans:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    if out == [[0, n]]:
        return None
    return tuple(slice(a, b) for a, b in out)


def _parts(h, W, cols):
    """``h @ W`` as a sum over the column blocks ``cols`` of h (the rows of W), where h is nonzero."""
    if cols is None:
        return [(h, W)]
    return [(h[..., c], W[..., c, :]) for c in cols]


def activation(name: str):
    if name not in ACTIVATIONS:
        raise ApexplorerError(f"unknown activation {name!r}; choices are {choices(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def relax(W, drive, steps, h0=None, act="tanh", record=None, W_low=None, precision=None, cols=None):
    """Iterate a module ``steps`` times under a constant drive.

    .. math:: h_{t+1} = f(h_t W + u)

    Parameters
    ----------
    W : Tensor (N, N), or (E, N, N) for an ensemble
        Fixed recurrent matrix (row-vector convention: ``h @ W``).
    drive : Tensor (B, N), or (E, B, N)
        Constant drive ``u`` (bias included).
    steps : int
        Number of iterations T.
    h0 : Tensor (B, N) or None
        Initial state; None means zero, which skips the first matmul (0 W = 0).
    act : str
        Activation name (see :data:`ACTIVATIONS`).
    record : list or None
        If a list, every state ``h_0 .. h_T`` is appended to it.
    W_low : Tensor (N, N) or None
        A low-precision (bf16) copy of W: the matmul runs in it, states stay fp32.
    precision : str or None
        The network's precision.  ``bf16`` on CUDA runs one fused Triton kernel
        per step (:mod:`kernels`) where Triton is available.
    cols : tuple of slices or None
        The columns where the drive may be nonzero (see :func:`support`).  From
        h0 = 0 with f(0) = 0 (:data:`ZERO_AT_ZERO`) the first state is zero
        elsewhere, so the second step multiplies only those rows of W.

    Returns
    -------
    Tensor (B, N)
        The state ``h_T``.
    """
    if h0 is not None or act not in ZERO_AT_ZERO:
        cols = None
    if precision is not None and kernels.available(W, drive, act, precision):
        try:
            return kernels.relax(W, drive, steps, h0, act, record, W_low, cols)
        except Exception as e:  # noqa: BLE001 - a kernel that cannot build here must not stop training
            if torch.cuda.is_current_stream_capturing():
                raise
            kernels.disable(f"{type(e).__name__}: {e}")
            if record is not None:
                record.clear()
    f = ACTIVATIONS[act] if isinstance(act, str) else act
    h = h0
    if record is not None:
        record.append(torch.zeros_like(drive) if h0 is None else h0)
    # two state buffers the steps alternate between (a recording keeps every state: new tensors then)
    bufs = [None, None] if record is None else None
    for t in range(steps):
        o = None
        if bufs is not None and h is not None:
            o = bufs[t % 2]
            if o is None:
                o = bufs[t % 2] = torch.empty_like(drive)
        if h is None:
            h = FUNCTIONS[act](drive) if isinstance(act, str) else f(drive.clone())
        else:  # cols: the step after the first from h0 = 0 (cols is None otherwise)
            parts = _parts(h, W_low if W_low is not None else W, cols if t == 1 else None)
            if W_low is not None:
                low = [torch.matmul(a.to(W_low.dtype), b) for a, b in parts]
                o = low[0].float() if o is None else o.copy_(low[0])
                for extra in low[1:]:
                    o.add_(extra)
                h = f(o.add_(drive))
            else:  # (E, B, N) states and (E, N, N) matrices of an ensemble: the batched products
                mm, mm_ = (torch.addmm, torch.Tensor.addmm_) if h.dim() == 2 else (torch.baddbmm, torch.Tensor.baddbmm_)
                (a, b), rest = parts[0], parts[1:]
                o = mm(drive, a, b, out=o)  # out=None: a new tensor
                for a, b in rest:
                    mm_(o, a, b)
                h = f(o)
        if record is not None:
            record.append(h)
    if h is None:
        h = torch.zeros_like(drive) if h0 is None else h0
    return h
