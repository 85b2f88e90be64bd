"""The fused Triton relax kernel, checked on the CPU by Triton's interpreter.

A GPU runs the kernel compiled (``tests/test_cuda.py``, on a lent machine); here
every change checks its maths: each activation, a zero or a given start (STE,
EPE), ensembles, shapes that are not multiples of the block (masked loads), a
second step over the span of the driven columns only,
fp32 (TF32 on a GPU) and bf16 products, the bf16 copy of the state the next step
reads, and every block shape the autotuner may pick, with W shared by the
members or one each.  The interpreter must be on before Triton is imported, so
the cases run in a child process (``tests/interpreted_kernels.py``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton", reason="needs Triton (pip install triton; CUDA builds of torch include it)")

SCRIPT = Path(__file__).with_name("interpreted_kernels.py")


@pytest.fixture(scope="module")
def results():
    env = {**os.environ, "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if lines and "skip" in lines[0]:
        pytest.skip(lines[0]["skip"])
    return {r["case"]: r for r in lines}


def _case_names():
    import itertools

    acts = ("tanh", "relu", "sigmoid", "linear")
    names = [f"relax-bf16-{a}-E{e}-{m}-{s}" for a, e, m, s in
             itertools.product(acts, (0, 2), ("ste", "epe"), ("37x72", "20x128"))]
    return names + ["relax-bf16-tanh-E0-ste-cols", "relax-bf16-tanh-E2-ste-cols", "relax-fp32-tanh-E0-ste-37x72",
                    "relax-fp32-tanh-E0-epe-37x72"]


def test_every_case_ran(results):
    relax = {k for k in results if k.startswith("relax-")}
    assert relax == set(_case_names())
    from apexplorer import kernels

    blocks = {k for k in results if k.startswith("block-")}
    assert blocks == {f"block-{bm}x{bn}x{bk}-w{w}-s{st}-{how}-W" for bm, bn, bk, w, st in (kernels.SMALL, *kernels.LARGE)
                      for how in ("shared", "per-member")}


@pytest.mark.parametrize("case", _case_names())
def test_relax_kernel_matches_a_float64_loop(results, case):
    r = results[case]
    assert all(r["checks"].values()), r["checks"]
    # each step from the state the kernel read: fp32 accumulation against float64
    assert r["step_err"] < 1e-6, r
    # the whole run: a bf16 state near a rounding boundary may go the other way and carry on
    assert r["rel_err"] < 1e-3, r


def test_every_block_shape_writes_the_step_and_its_bf16_copy(results):
    for case, r in results.items():
        if case.startswith("block-"):
            assert all(r["checks"].values()), (case, r["checks"])
            assert r["rel_err"] < 1e-6, (case, r)
