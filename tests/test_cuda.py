"""GPU checks: the fused Triton relax step, CUDA-graph steps against eager steps, the device-side guard.

Skipped without CUDA (CI has none); run them on a GPU machine with
``python -m pytest -q tests/test_cuda.py``.
"""

import pytest
import torch

from apexplorer import APConfig, Network, TrainConfig, Trainer, chain, kernels
from apexplorer.dynamics import relax
from apexplorer.learner import APLearner
from apexplorer.presets import PRESETS
from tests.conftest import make_blob_data

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _reference(W, u, steps, h0, act, bf16):
    """The relax loop in float64 from the same (bf16-rounded where the kernel rounds) operands."""
    f = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}[act]
    Wd = (W.to(torch.bfloat16) if bf16 else W).double()
    h = None if h0 is None else h0.double()
    for _ in range(steps):
        x = u.double() if h is None else (h.to(torch.bfloat16).double() if bf16 else h) @ Wd + u.double()
        h = f(x)
    return h


CASES = [  # (precision, leading ensemble axis, activation, EPE start) - few, since each compiles kernels
    ("bf16", (), "tanh", False), ("bf16", (), "tanh", True), ("bf16", (2,), "tanh", False),
    ("bf16", (2,), "tanh", True), ("bf16", (), "relu", False), ("bf16", (), "sigmoid", False),
    ("bf16", (), "linear", False), ("tf32", (), "tanh", False), ("tf32", (), "tanh", True),
    ("bf16", (8,), "tanh", False),  # a grid large enough for the tuned block shapes
]


@pytest.mark.skipif(not kernels.enabled(), reason="needs Triton")
@pytest.mark.parametrize("precision,lead,act,epe", CASES)
def test_fused_relax_matches_a_float64_loop(precision, lead, act, epe):
    g = torch.Generator(device="cuda").manual_seed(0)
    for B, N in ((500, 1024), (37, 200)):
        W = torch.randn(*lead, N, N, device="cuda", generator=g) * (1.1 / N ** 0.5)
        u = torch.randn(*lead, B, N, device="cuda", generator=g)
        h0 = torch.randn(*lead, B, N, device="cuda", generator=g).tanh() if epe else None
        rec = []
        if precision == "bf16":  # the mode that uses the kernel
            low = W.to(torch.bfloat16)
            assert kernels.available(W, u, act, precision)
            got = relax(W, u, 8, h0, act, rec, low, precision)
            again = relax(W, u, 8, h0, act, None, low, precision)
        else:  # the kernel's TF32 path (tf32 mode itself keeps cuBLAS, which measured faster)
            assert not kernels.available(W, u, act, precision)
            got = kernels.relax(W, u, 8, h0, act, rec)
            again = kernels.relax(W, u, 8, h0, act, None)
        want = _reference(W, u, 8, h0, act, precision == "bf16")
        assert torch.equal(got, again) and len(rec) == 9 and torch.equal(rec[-1], got)
        err = float((got.double() - want).norm() / want.norm())
        assert err < (2e-2 if precision == "bf16" else 1e-2), err
        assert torch.isfinite(got).all()


def _eager_then_graphs(make, run):
    """``run(make())`` with eager CUDA steps, then with CUDA graphs: {graphs: (trainer, result)}."""
    out = {}
    for graphs in (False, True):
        APLearner.graphs = graphs
        try:
            tr = make()
            out[graphs] = (tr, run(tr))
        finally:
            APLearner.graphs = True
    return out


def _graph_vs_eager(make, steps=12):
    def run(tr):
        tr.learner.set_guard(tr.max_loss)
        return [tr.step() for _ in range(steps)]

    return {g: ({k: v.detach().cpu() for k, v in tr.learner.params.items()}, events)
            for g, (tr, events) in _eager_then_graphs(make, run).items()}


@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
@pytest.mark.parametrize("seeds", [None, (0, 1, 2)])
def test_cuda_graph_steps_equal_eager_steps(precision, seeds):
    data = make_blob_data(n_features=20, n_classes=4, n=2000)
    w = chain([256, 256], 20, 4, spectral_radius=1.2)

    def make():
        return Trainer(Network(w, APConfig(precision=precision), seed=0, device="cuda", seeds=seeds), data,
                       TrainConfig(batch_size=100, device="cuda"))

    out = _graph_vs_eager(make)
    (eager, ev_e), (graph, ev_g) = out[False], out[True]
    for k in eager:
        assert torch.equal(eager[k], graph[k]), k
    assert [e.loss for e in ev_e] == [e.loss for e in ev_g]


def test_simultaneous_multitask_graph_steps_equal_eager_steps():
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=600),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=200)}
    w = PRESETS["fig5b"]([12, 8], [3, 2], size=64)

    def make():
        return Trainer.create(w, data, APConfig(precision="tf32"), TrainConfig(batch_size=50, device="cuda"),
                              task=["A", "B"], schedule="simultaneous")

    out = _graph_vs_eager(make, steps=8)
    for k in out[False][0]:
        assert torch.equal(out[False][0][k], out[True][0][k]), k


def test_divergence_on_the_device_keeps_the_weights_the_host_guard_keeps():
    data = make_blob_data(n_features=20, n_classes=4, n=4000)
    w = chain([128, 128], 20, 4, spectral_radius=30.0)
    runs = _eager_then_graphs(
        lambda: Trainer(Network(w, APConfig(precision="tf32"), seed=0, device="cuda"), data,
                        TrainConfig(batch_size=100, lr=30.0, epochs=3, device="cuda")),
        lambda tr: list(tr.train(batch_events=False))[-1])
    res = {}
    for graphs, (tr, last) in runs.items():
        assert last.reason == "diverged", last.message
        weights = {k: v.detach().cpu() for k, v in tr.learner.params.items()}
        assert all(torch.isfinite(v).all() for v in weights.values())
        res[graphs] = (last.message, weights, {k: v.detach().cpu() for k, v in tr.opt.m.items()})
    assert res[False][0] == res[True][0]
    for k in res[False][1]:
        assert torch.equal(res[False][1][k], res[True][1][k]), k
        assert torch.equal(res[False][2][k], res[True][2][k]), k


@pytest.mark.parametrize("seeds", [None, (0, 1)], ids=["single", "ensemble"])
def test_bf16_step_on_the_gpu_stays_close_to_fp32(seeds):
    """The fused bf16 kernel's AP step against full fp32 at paper size (what bench's fidelity line reports)."""
    from apexplorer.bench import fidelity

    wiring = PRESETS["paper-2layer"](784, 10)
    net = Network(wiring, APConfig(precision="bf16"), seed=0, device="cuda", seeds=seeds)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(500, 784, generator=g).cuda(), torch.randint(0, 10, (500,), generator=g).cuda()
    f = fidelity(net, x, y)
    assert 1e-5 < f["update_rel_err_max"] < 0.02 and f["update_cosine_min"] > 0.9995
