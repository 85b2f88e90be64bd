"""Child process of ``test_kernels.py``: the fused relax kernel under Triton's CPU interpreter.

``TRITON_INTERPRET=1 python tests/interpreted_kernels.py`` prints one JSON line per case:
``{"case": name, "rel_err": ..., "checks": {name: bool}}``.  The interpreter has to be on
before Triton is imported, which is why this runs in its own process.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from apexplorer import kernels  # noqa: E402

ACTS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}


def _truncate(t):
    return (t.float().contiguous().view(torch.int32) & ~0xFFFF).view(torch.float32)


def _interpreter_rounds_to_nearest() -> bool:
    """How this Triton's interpreter converts fp32 to bf16 (3.6 and 3.9 truncate; a GPU rounds to nearest)."""
    x = torch.tensor([1.0 + 3 * 2.0 ** -9])  # 3/4 of the way to the next bf16 value: nearest rounds up
    out = torch.empty(1, dtype=torch.bfloat16)
    kernels._step_kernel[(1, 1, 1)](x, x, x.view(1, 1), out, out, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1,
                                    HAS_H=False, ACT=3, W32=False, W16=True, EVEN_K=True, UPCAST=True,
                                    BM=16, BN=16, BK=16)
    return float(out) != float(_truncate(x))


def truncate(t):
    """fp32 -> bf16 as the kernel converts its states here (the interpreter's own rounding)."""
    return t.float().to(torch.bfloat16).float() if NEAREST else _truncate(t)


def reference(W, u, steps, h0, act, bf16, first_rounded=True):
    """The relax loop in float64 from the operands the kernel sees.

    In bf16: W rounded by torch (to nearest), a given h0 too (``first_rounded``;
    otherwise h0 is a state the kernel wrote, truncated), and each new state
    truncated for the next step, as the interpreter writes it.
    """
    f = ACTS[act]
    Wd = (W.to(torch.bfloat16) if bf16 else W).double()
    if h0 is None or not bf16:
        h = None if h0 is None else h0.double()
    else:
        h = h0.to(torch.bfloat16).double() if first_rounded else truncate(h0).double()
    for _ in range(steps):
        x = u.double() if h is None else h @ Wd + u.double()
        y = f(x)
        h = truncate(y).double() if bf16 else y
    return y


def rel(a, b):
    return float((a.double() - b).norm() / b.norm())


def relax_cases():
    g = torch.Generator().manual_seed(0)
    for act in ACTS:
        for lead in ((), (2,)):
            for epe in (False, True):
                for B, N in ((37, 72), (20, 128)):  # K not a multiple of 64 (masked loads), and one that is
                    W = torch.randn(*lead, N, N, generator=g) * (1.1 / N ** 0.5)
                    u = torch.randn(*lead, B, N, generator=g)
                    h0 = torch.randn(*lead, B, N, generator=g).tanh() if epe else None
                    yield f"relax-bf16-{act}-E{lead[0] if lead else 0}-{'epe' if epe else 'ste'}-{B}x{N}", (
                        W, u, h0, act, True)
    for lead in ((), (2,)):  # a drive on two column blocks: the second step multiplies their span only
        W = torch.randn(*lead, 128, 128, generator=g) * (1.1 / 128 ** 0.5)
        u = torch.zeros(*lead, 37, 128)
        u[..., :16] = torch.randn(*lead, 37, 16, generator=g)
        u[..., 64:96] = torch.randn(*lead, 37, 32, generator=g)
        yield f"relax-bf16-tanh-E{lead[0] if lead else 0}-ste-cols", (W, u, None, "tanh", True,
                                                                     (slice(0, 16), slice(64, 96)))
    W = torch.randn(72, 72, generator=g) * (1.1 / 72 ** 0.5)
    u = torch.randn(37, 72, generator=g)
    yield "relax-fp32-tanh-E0-ste-37x72", (W, u, None, "tanh", False)
    yield "relax-fp32-tanh-E0-epe-37x72", (W, u, torch.randn(37, 72, generator=g).tanh(), "tanh", False)


def run_relax(name, W, u, h0, act, bf16, cols=None):
    low = W.to(torch.bfloat16) if bf16 else None
    before = None if h0 is None else h0.clone()
    rec = []
    got = kernels.relax(W, u, 6, h0, act, rec, low, cols)
    again = kernels.relax(W, u, 6, h0, act, None, low, cols)
    # each recorded step from the state the kernel actually read (no drift from earlier steps)
    step_err = max(rel(rec[t], reference(W, u, 1, None if t == 1 and h0 is None else
                                          (rec[t - 1] if t > 1 else h0), act, bf16, first_rounded=t == 1))
                   for t in range(1, 7))
    return {"case": name, "rel_err": rel(got, reference(W, u, 6, h0, act, bf16)), "step_err": step_err,
            "checks": {"same without a recording": bool(torch.equal(got, again)),
                       "records h0..hT": len(rec) == 7 and torch.equal(rec[-1], got),
                       "h0 untouched": h0 is None or torch.equal(h0, before),
                       "finite": bool(torch.isfinite(got).all())}}


def run_block_shape(cfg, shared_w):
    """One step at a block shape the autotuner may pick, with W shared by the members or one each."""
    bm, bn, bk, warps, stages = cfg
    g = torch.Generator().manual_seed(1)
    E, M, K, N = 2, 150, 192, 160
    W = torch.randn(*(() if shared_w else (E,)), K, N, generator=g) * (1.0 / K ** 0.5)
    h = torch.rand(E, M, K, generator=g).to(torch.bfloat16)
    u = torch.randn(E, M, N, generator=g)
    o32 = torch.full((E, M, N), float("nan"))
    o16 = torch.empty(E, M, N, dtype=torch.bfloat16)
    W16 = W.to(torch.bfloat16)
    W3 = W16 if W16.dim() == 3 else W16.unsqueeze(0)
    ws = (W3.stride(0) if W3.shape[0] > 1 else 0, W3.stride(1), W3.stride(2))
    grid = (-(-M // bm), -(-N // bn), E)
    kernels._step_kernel[grid](h, W3, u, o32, o16, M, N, K, E, *h.stride(), *ws, *u.stride(), *o32.stride(),
                               HAS_H=True, ACT=0, W32=True, W16=True, EVEN_K=K % bk == 0, UPCAST=True,
                               BM=bm, BN=bn, BK=bk, num_warps=warps, num_stages=stages)
    want = torch.tanh(h.double() @ W16.double() + u.double())
    return {"case": f"block-{bm}x{bn}x{bk}-w{warps}-s{stages}-{'shared' if shared_w else 'per-member'}-W",
            "rel_err": rel(o32, want),
            "checks": {"bf16 copy of the state": bool(torch.equal(o16.float(), truncate(o32))),
                       "every element written": bool(torch.isfinite(o32).all())}}


NEAREST = False


def main():
    if os.environ.get("TRITON_INTERPRET") != "1" or not kernels.enabled():
        print(json.dumps({"skip": "needs Triton and TRITON_INTERPRET=1"}))
        return
    torch.set_num_threads(1)
    global NEAREST
    NEAREST = _interpreter_rounds_to_nearest()
    for name, args in relax_cases():
        print(json.dumps(run_relax(name, *args)), flush=True)
    for cfg in (kernels.SMALL, *kernels.LARGE):
        for shared in (False, True):
            print(json.dumps(run_block_shape(cfg, shared)), flush=True)


if __name__ == "__main__":
    main()
