"""A fused relaxation step for CUDA: ``h_next = f(h @ W + u)`` in one Triton kernel.

The relax loop is AP's inner loop (T1 + T2 steps per module per batch).  With
torch each step is a matrix product and at least one more pass over the state
(the activation; in bf16 also the casts and the add), and at paper size every
one of them is a short, latency-bound kernel.  Here the drive, the activation
and the cast for the next step happen in the product's epilogue:

* ``bf16``: bf16 copies of the state and of W feed the product; accumulation,
  drive, activation, the final state and the errors stay fp32.  Intermediate
  states are written only as the bf16 copy the next product reads.

The kernel also takes fp32 operands (TF32 products), but the ``tf32`` mode
keeps cuBLAS: on an H200 the paper-size step took 1.01 ms with this kernel in
TF32 against 0.60 ms with cuBLAS, while in bf16 it took 0.34 ms against 0.54.
The accumulator starts from the drive, so the drive's load is issued before the
product's loop rather than after it.  A grid that fits in one wave uses 64 x 64
blocks; larger grids (ensembles, evaluation batches) try a few block shapes once
per shape (Triton's autotuner).  For an 8-seed ensemble at paper size (8 x 500 x
1024 x 1024) a step took 23.9 us on an H200 (352 TFLOP/s), against 26.3 us for
cuBLAS's batched product plus an epilogue kernel and 26.4 us for a persistent
TMA kernel.

Triton ships with CUDA builds of torch.  Without it, on the CPU, in ``fp32``
mode, or with ``APEXPLORER_TRITON=0`` in the environment, :func:`available`
is False and :mod:`dynamics` keeps its torch loop.
"""

from __future__ import annotations

import functools
import os
import warnings

import torch

try:  # pragma: no cover - depends on the torch build
    import triton
    import triton.language as tl
except Exception:  # noqa: BLE001 - any import failure means "no Triton"
    triton = None

_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"

#: Activation codes of the kernel (a compile-time constant).
ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2, "linear": 3}


_broken = []  # set when a kernel failed to build or run: the torch loop takes over


def enabled() -> bool:
    """Triton is importable, has not failed here, and is not switched off by ``APEXPLORER_TRITON=0``."""
    return triton is not None and not _broken and os.environ.get("APEXPLORER_TRITON", "1") != "0"


def disable(reason: str) -> None:
    """Stop using the fused kernel in this process (after a failure), with a warning saying why."""
    if not _broken:
        warnings.warn(f"the fused Triton relax kernel is off ({reason}); using torch's loop", RuntimeWarning,
                      stacklevel=3)
    _broken.append(reason)


@functools.lru_cache(maxsize=None)
def _capable(index: int) -> bool:
    return torch.cuda.get_device_capability(index) >= (8, 0)  # bf16 and TF32 tensor cores


def applies(device, precision: str) -> bool:
    """Whether a network of this precision on this device relaxes with the kernel (bf16 on CUDA)."""
    device = torch.device(device)
    return (
        precision == "bf16"
        and device.type == "cuda"
        and enabled()
        and _capable(device.index if device.index is not None else torch.cuda.current_device())
    )


def available(W: torch.Tensor, drive: torch.Tensor, act, precision: str) -> bool:
    """Whether :func:`relax` can run this relaxation."""
    return (
        isinstance(act, str)
        and act in ACT_CODES
        and drive.dtype == torch.float32
        and drive.dim() in (2, 3)
        and applies(drive.device, precision)
    )


#: Block shape (BM, BN, BK), warps and pipeline stages of a grid that fits in one wave
#: (one network at paper size: 8 x 16 blocks on a 132-multiprocessor GPU).
SMALL = (64, 64, 64, 4, 4)
#: Candidates for larger grids (ensembles, big evaluation batches), tried once per shape.
LARGE = ((128, 128, 64, 8, 3), (128, 128, 64, 4, 4), (64, 128, 64, 4, 4), (128, 64, 64, 4, 4),
         (128, 256, 64, 8, 3), (128, 256, 64, 8, 4), (256, 128, 64, 8, 3), (64, 256, 64, 8, 4))
#: Grids of more 64 x 64 blocks than this are tuned.
TUNE_ABOVE = 256

if triton is not None:

    @triton.jit
    def _step_kernel(
        h_ptr, w_ptr, u_ptr, o32_ptr, o16_ptr,
        M, N, K, E,
        s_he, s_hm, s_hk,
        s_we, s_wk, s_wn,
        s_ue, s_um, s_un,
        s_oe, s_om, s_on,
        HAS_H: tl.constexpr, ACT: tl.constexpr, W32: tl.constexpr, W16: tl.constexpr,
        EVEN_K: tl.constexpr, UPCAST: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
    ):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        e = tl.program_id(2).to(tl.int64)
        rm = pid_m * BM + tl.arange(0, BM)
        rn = pid_n * BN + tl.arange(0, BN)
        mask = (rm[:, None] < M) & (rn[None, :] < N)
        # the accumulator starts from the drive: its load is issued before the product's loop
        acc = tl.load(u_ptr + e * s_ue + rm[:, None] * s_um + rn[None, :] * s_un, mask=mask, other=0.0)
        if HAS_H:
            rk = tl.arange(0, BK)
            hp = h_ptr + e * s_he + rm[:, None] * s_hm + rk[None, :] * s_hk
            wp = w_ptr + e * s_we + rk[:, None] * s_wk + rn[None, :] * s_wn
            for k0 in range(0, K, BK):
                if EVEN_K:
                    a = tl.load(hp, mask=rm[:, None] < M, other=0.0)
                    b = tl.load(wp, mask=rn[None, :] < N, other=0.0)
                else:
                    kk = k0 + rk
                    a = tl.load(hp, mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
                    b = tl.load(wp, mask=(kk[:, None] < K) & (rn[None, :] < N), other=0.0)
                if UPCAST:  # Triton's CPU interpreter cannot multiply bf16 (tests only)
                    a = a.to(tl.float32)
                    b = b.to(tl.float32)
                acc = tl.dot(a, b, acc)
                hp += BK * s_hk
                wp += BK * s_wk
        x = acc
        if ACT == 0:  # tanh as 1 - 2 / (exp(2x) + 1): exact to ~1e-7, saturates cleanly
            y = 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)
        elif ACT == 1:
            y = tl.maximum(x, 0.0)
        elif ACT == 2:
            y = 1.0 / (1.0 + tl.exp(-x))
        else:
            y = x
        off = e * s_oe + rm[:, None] * s_om + rn[None, :] * s_on
        if W32:
            tl.store(o32_ptr + off, y, mask=mask)
        if W16:
            tl.store(o16_ptr + off, y.to(tl.bfloat16), mask=mask)


if triton is not None:
    _tuned_kernel = triton.autotune(
        configs=[triton.Config({"BM": bm, "BN": bn, "BK": bk}, num_warps=w, num_stages=st) for bm, bn, bk, w, st in LARGE],
        key=["M", "N", "K", "E", "HAS_H", "W32", "W16"],
    )(_step_kernel)


def tuned() -> dict:
    """Block shapes the autotuner chose in this process, by (M, N, K, E, HAS_H, W32, W16)."""
    cache = getattr(_tuned_kernel, "cache", {}) if triton is not None else {}
    return {",".join(str(x) for x in k[:7]): str(v) for k, v in cache.items()}


def _3d(t):
    return t if t is None or t.dim() == 3 else t.unsqueeze(0)


def step(h, W, u, out32=None, out16=None, act="tanh"):
    """One step ``f(h @ W + u)`` written to ``out32`` (fp32) and/or ``out16`` (bf16).

    ``h`` is None for a zero state (no product).  Shapes: h (E, M, K) or (M, K),
    W (E, K, N) or (K, N), u and outputs (E, M, N) or (M, N); h and W share a
    dtype (fp32 for TF32 products, bf16).
    """
    u3, o32, o16 = _3d(u), _3d(out32), _3d(out16)
    E, M, N = u3.shape
    out = o32 if o32 is not None else o16
    if h is None:
        h3 = W3 = u3  # unused pointers
        K = 0
        hs, ws = (0, 0, 0), (0, 0, 0)
    else:
        h3, W3 = _3d(h), _3d(W)
        K = h3.shape[-1]
        hs = (h3.stride(0) if h3.shape[0] > 1 else 0, h3.stride(1), h3.stride(2))
        ws = (W3.stride(0) if W3.shape[0] > 1 else 0, W3.stride(1), W3.stride(2))
    us = (u3.stride(0) if u3.shape[0] > 1 else 0, u3.stride(1), u3.stride(2))
    os_ = (out.stride(0), out.stride(1), out.stride(2))
    if o32 is not None and o16 is not None and o32.stride() != o16.stride():
        raise ValueError("fp32 and bf16 outputs need the same strides")
    args = (h3, W3, u3, o32 if o32 is not None else out, o16 if o16 is not None else out,
            M, N, K, E, *hs, *ws, *us, *os_)
    flags = dict(HAS_H=h is not None, ACT=ACT_CODES[act], W32=o32 is not None, W16=o16 is not None,
                 EVEN_K=K % 64 == 0, UPCAST=_INTERPRET)  # every block shape has BK = 64
    if E * triton.cdiv(M, 64) * triton.cdiv(N, 64) > TUNE_ABOVE and not _INTERPRET and h is not None:
        grid = lambda meta: (triton.cdiv(M, meta["BM"]), triton.cdiv(N, meta["BN"]), E)  # noqa: E731
        _tuned_kernel[grid](*args, **flags)
    else:
        bm, bn, bk, w, st = SMALL
        _step_kernel[(triton.cdiv(M, bm), triton.cdiv(N, bn), E)](*args, **flags, BM=bm, BN=bn, BK=bk,
                                                                  num_warps=w, num_stages=st)


def relax(W, drive, steps, h0=None, act="tanh", record=None, W_low=None, cols=None):
    """:func:`dynamics.relax` with one fused kernel per step (see the module docstring).

    ``W_low`` given means bf16 products (W_low is W in bf16); otherwise TF32.
    ``cols``: from h0 = 0, the second step's product runs over the span of these
    columns only (the first state is zero outside them).
    """
    shape = drive.shape
    bf16 = W_low is not None
    Wm = W_low if bf16 else W
    if record is not None:
        record.append(torch.zeros_like(drive) if h0 is None else h0)
    h = None if h0 is None else (h0.to(torch.bfloat16) if bf16 else h0)
    ping = [torch.empty(shape, device=drive.device, dtype=torch.bfloat16 if bf16 else torch.float32)
            for _ in range(2 if steps > 2 else 1)] if steps > 1 else []
    final = None
    for t in range(steps):
        last = t == steps - 1
        keep = last or record is not None  # an fp32 state someone will read
        o32 = torch.empty(shape, device=drive.device) if keep else None
        o16 = None
        if bf16 and not last:
            o16 = ping[t % len(ping)]
        elif not bf16 and o32 is None:
            o32 = ping[t % len(ping)]
        if t == 1 and cols is not None and h0 is None:
            span = slice(cols[0].start, cols[-1].stop)
            step(h[..., span], Wm[..., span, :], drive, o32, o16, act)
        else:
            step(h, Wm, drive, o32, o16, act)
        h = o16 if bf16 else o32
        if record is not None:
            record.append(o32)
        final = o32
    if final is None:
        final = torch.zeros_like(drive) if h0 is None else h0
    return final
