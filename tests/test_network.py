"""The phases and the AP update against an independent computation."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from apexplorer import APConfig, Module, Network, Path, Port, Wiring, chain, relax, spectral_radius
from apexplorer.init import init_tensors
from apexplorer.reservoirs import random_reservoir


ACTS = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "linear": lambda v: v}


def _hand_ap(net, x, y, mode, beta, t1, t2, act="tanh"):
    """The two-module AP update written out in float64 numpy, step by step, for a chain x->L1->L2->y
    (each module's bias b added to its drive: h <- f(h W + b + u))."""
    T = {k: {n: t.double().numpy() for n, t in d.items()} for k, d in net.tensors.items()}
    f = ACTS[act]
    b1, b2 = T["biases"]["L1"], T["biases"]["L2"]
    W1, W2 = T["reservoirs"]["L1"], T["reservoirs"]["L2"]
    A_in, A_12, A_out = T["weights"]["x->L1.RI"], T["weights"]["L1.SI->L2.RI"], T["weights"]["L2.SI->y"]
    G_out, G_21 = T["feedback"]["y->L2.RE"], T["feedback"]["L2.SE->L1.RE"]
    c = T["readout_bias"]["y"]
    m1, m2 = net.wiring.module("L1"), net.wiring.module("L2")
    RI, SI, RE, SE = (m1.block_slice(b) for b in ("RI", "SI", "RE", "SE"))
    x = x.double().numpy()
    B = x.shape[0]

    def run(W, u, h, steps):
        for _ in range(steps):
            h = f(h @ W + u)
        return h

    u1 = np.tile(b1, (B, 1)); u1[:, RI] += x @ A_in
    z1 = run(W1, u1, np.zeros((B, m1.size)), t1)
    u2 = np.tile(b2, (B, 1)); u2[:, RI] += z1[:, SI] @ A_12
    z2 = run(W2, u2, np.zeros((B, m2.size)), t1)
    logits = z2[:, SI] @ A_out + c
    o = np.exp(logits - logits.max(1, keepdims=True)); o /= o.sum(1, keepdims=True)
    e_out = o - np.eye(o.shape[1])[y.numpy()]
    v2 = u2.copy(); v2[:, RE] += -beta * e_out @ G_out
    h0 = np.zeros_like(z2) if mode == "ste" else z2
    e2 = z2 - run(W2, v2, h0, t2)
    v1 = u1.copy(); v1[:, RE] += -beta * e2[:, SE] @ G_21
    h0 = np.zeros_like(z1) if mode == "ste" else z1
    e1 = z1 - run(W1, v1, h0, t2)
    return {
        "x->L1.RI": x.T @ e1[:, RI] / B,
        "L1.SI->L2.RI": z1[:, SI].T @ e2[:, RI] / B,
        "L2.SI->y": z2[:, SI].T @ e_out / B,
    }


@pytest.mark.parametrize("mode", ["ste", "epe"])
@pytest.mark.parametrize("t1,t2,beta", [(8, 8, 1.0), (5, 3, 0.5)], ids=["default", "uneven"])
def test_update_matches_hand_computation(tiny_wiring, mode, t1, t2, beta):
    net = Network(tiny_wiring, APConfig(t1=t1, t2=t2, mode=mode, beta=beta), seed=3)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, generator=g)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    # make the readout strong enough that errors are not tiny
    for k in net.weights:
        net.weights[k].mul_(4)
    p0 = net.inference(x)
    p1 = net.learning(p0, y)
    got = net.updates(p0, p1)
    want = _hand_ap(net, x, y, mode, beta, t1, t2)
    assert set(got) == set(want)
    for k in want:
        assert np.abs(want[k]).max() > 1e-6, k
        np.testing.assert_allclose(got[k].double().numpy(), want[k], rtol=1e-4, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
@pytest.mark.parametrize("mode", ["ste", "epe"])
def test_update_with_module_biases_matches_hand_computation(tiny_wiring, mode, act):
    """Module biases are zero by default, so only nonzero ones show that a bias reaches every drive
    (phase 0's and, through it, phase 1's) and that a bias disables the driven-columns shortcut."""
    net = Network(tiny_wiring, APConfig(t1=6, t2=5, mode=mode, beta=0.7, activation=act), seed=5)
    g = torch.Generator().manual_seed(2)
    for m in ("L1", "L2"):
        net.tensors["biases"][m].copy_(torch.rand(8, generator=g) * 1.6 - 0.8)
    for k in net.weights:
        net.weights[k].mul_(4)
    x = torch.rand(6, 3, generator=g)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    p0 = net.inference(x)
    p1 = net.learning(p0, y)
    got = net.updates(p0, p1)
    want = _hand_ap(net, x, y, mode, 0.7, 6, 5, act)
    unbiased = Network(tiny_wiring, net.config, tensors={k: dict(v) for k, v in net.tensors.items()})
    unbiased.tensors["biases"] = {m: torch.zeros(8) for m in ("L1", "L2")}
    q0 = unbiased.inference(x)
    assert float((q0.z["L1"] - p0.z["L1"]).abs().max()) > 0.05  # the biases do move the states
    assert set(got) == set(want)
    for k in want:
        assert np.abs(want[k]).max() > 1e-6, k
        np.testing.assert_allclose(got[k].double().numpy(), want[k], rtol=1e-4, atol=1e-7, err_msg=k)


def test_no_autograd_graph_is_built(tiny_wiring):
    net = Network(tiny_wiring, seed=0)
    for t in net.weights.values():
        t.requires_grad_(True)  # even with grad-requiring weights, AP builds no graph
    x = torch.rand(4, 3)
    p0 = net.inference(x)
    p1 = net.learning(p0, torch.tensor([0, 1, 0, 1]))
    ups = net.updates(p0, p1)
    tensors = list(p0.z.values()) + list(p0.probs.values()) + list(p1.e.values()) + list(ups.values())
    assert all(t.grad_fn is None and not t.requires_grad for t in tensors)


def test_beta_zero_gives_zero_module_errors_under_ste(tiny_wiring):
    net = Network(tiny_wiring, APConfig(beta=0.0), seed=0)
    p0 = net.inference(torch.rand(5, 3))
    p1 = net.learning(p0, torch.tensor([0, 1, 0, 1, 1]))
    for e in p1.e.values():
        assert torch.equal(e, torch.zeros_like(e))


@pytest.mark.parametrize("rho", [0.1, 0.25, 1.0, 1.5])
def test_reservoir_spectral_radius_is_exact(rho):
    W = random_reservoir(200, rho, 0.25, torch.Generator().manual_seed(0))
    assert abs(spectral_radius(W) - rho) < 1e-4


def test_reservoir_has_the_connection_rate():
    W = random_reservoir(100, 0.25, 0.25, torch.Generator().manual_seed(0))
    assert int((W != 0).sum()) == 2500


@pytest.mark.parametrize("rate", [0.0, -0.5, 1.5, 2.0])
def test_a_reservoir_of_a_connection_rate_outside_0_to_1_is_a_wiring_error(rate):
    from apexplorer import WiringError
    from apexplorer.analysis.lyapunov import spectral_radius_sweep

    msg = rf"connection rate {rate!r} must be in \(0, 1\]"
    with pytest.raises(WiringError, match=msg):
        random_reservoir(8, 0.5, rate, torch.Generator().manual_seed(0))
    with pytest.raises(WiringError, match=msg):  # the library's Fig. 2c sweep (0 gave an MLE of -inf, 2 a torch error)
        spectral_radius_sweep([0.5], size=8, rate=rate, mle_steps=10, trials=1)
    w = chain([8], 3, 2)  # a wiring built without Wiring.create is not validated: the draw still refuses
    unchecked = Wiring(tuple(replace(m, connection_rate=rate) for m in w.modules), w.inputs, w.outputs,
                       w.feedforward, w.feedback, w.tasks)
    with pytest.raises(WiringError, match=f"module 'L1': {msg}"):
        Network(unchecked, seed=0)


def test_each_module_gets_its_own_connection_rate_and_spectral_radius():
    """chain() gives every module the same rate; here each differs, so one module's rate (or the default)
    used for all would show."""
    blocks = {"RI": 5, "SI": 5, "RE": 5, "SE": 5}
    mods = [Module("L1", 20, blocks, 0.3, 0.1), Module("L2", 20, blocks, 0.9, 0.6), Module("L3", 20, blocks, 0.5, 1.0)]
    ff = [Path("x", "L1.RI"), Path("L1.SI", "L2.RI"), Path("L2.SI", "L3.RI"), Path("L3.SI", "y")]
    fb = [Path("y", "L3.RE"), Path("L3.SE", "L2.RE"), Path("L2.SE", "L1.RE")]
    w = Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb)
    for net in (Network(w, seed=0), Network(w, seeds=(0, 1))):
        for m in mods:
            for W in (net.reservoirs[m.name] if net.members else [net.reservoirs[m.name]]):
                assert int((W != 0).sum()) == round(m.connection_rate * 400), m.name
                assert abs(spectral_radius(W) - m.spectral_radius) < 1e-4, m.name


def test_initialisation_is_a_function_of_the_seed(tiny_wiring):
    a, b, c = init_tensors(tiny_wiring, 7), init_tensors(tiny_wiring, 7), init_tensors(tiny_wiring, 8)
    for group in a:
        for k in a[group]:
            assert torch.equal(a[group][k], b[group][k])
    assert not torch.equal(a["weights"]["x->L1.RI"], c["weights"]["x->L1.RI"])


def test_initial_scales_follow_the_paper():
    w = chain([64, 64], 100, 10)
    t = init_tensors(w, 0)
    assert t["weights"]["x->L1.RI"].abs().max() <= 100 ** -0.5
    assert t["weights"]["x->L1.RI"].abs().max() > 0.9 * 100 ** -0.5
    assert t["weights"]["L1.SI->L2.RI"].abs().max() <= 16 ** -0.5
    assert t["feedback"]["L2.SE->L1.RE"].abs().max() > 0.9  # unscaled U(-1, 1)
    assert t["feedback"]["y->L2.RE"].abs().max() <= 10 ** -0.5
    assert t["readout_bias"]["y"].abs().max() <= 16 ** -0.5


def test_relax_records_every_step_and_skips_nothing():
    W = torch.eye(3) * 0.5
    u = torch.ones(2, 3)
    rec = []
    h = relax(W, u, 3, record=rec)
    assert len(rec) == 4 and torch.equal(rec[0], torch.zeros(2, 3))
    ref = torch.zeros(2, 3)
    for _ in range(3):
        ref = torch.tanh(ref @ W + u)
    torch.testing.assert_close(h, ref)


@pytest.mark.parametrize("lead", [(), (3,)], ids=["single", "ensemble"])
@pytest.mark.parametrize("low", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize("start", [None, "h0"], ids=["ste", "epe"])
def test_relax_in_two_buffers_gives_every_recorded_state(lead, low, start):
    """Unrecorded relaxes alternate two buffers; each step's state equals the recorded run's, h0 untouched."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(*lead, 16, 16, generator=g) * 0.3
    u = torch.randn(*lead, 5, 16, generator=g)
    h0 = None if start is None else torch.rand(*lead, 5, 16, generator=g)
    h0_copy = None if h0 is None else h0.clone()
    W_low = W.to(torch.bfloat16) if low else None
    for steps in range(1, 6):
        rec = []
        want = relax(W, u, steps, h0, "tanh", rec, W_low)
        got = relax(W, u, steps, h0, "tanh", None, W_low)
        assert torch.equal(got, want) and torch.equal(got, rec[-1])
        assert h0 is None or torch.equal(h0, h0_copy)


def test_recording_gives_both_phase_trajectories(tiny_wiring):
    net = Network(tiny_wiring, APConfig(t1=5, t2=3, mode="epe"), seed=0)
    x = torch.rand(4, 3)
    p0 = net.inference(x, record=True)
    p1 = net.learning(p0, torch.tensor([0, 1, 0, 1]), record=True)
    assert p0.trajectory["L1"].shape == (6, 4, 8)
    assert p1.trajectory["L2"].shape == (4, 4, 8)
    torch.testing.assert_close(p0.trajectory["L2"][-1], p0.z["L2"])
    torch.testing.assert_close(p1.trajectory["L2"][0], p0.z["L2"])  # EPE continues from z0
    plain = net.inference(x)
    torch.testing.assert_close(plain.z["L2"], p0.z["L2"])
    assert plain.trajectory is None


def test_bf16_precision_stays_close_to_fp32(tiny_wiring):
    x = torch.rand(16, 3)
    a = Network(tiny_wiring, APConfig(precision="fp32"), seed=0).inference(x).z["L2"]
    b = Network(tiny_wiring, APConfig(precision="bf16"), seed=0).inference(x).z["L2"]
    assert (a - b).abs().max() < 2e-2


def _whole_module_wiring():
    """Paths that drive whole modules (one block each), the case of one fused product per drive."""
    mods = [Module("L1", 8, (("A", 8),), 0.5, 0.5), Module("L2", 6, (("A", 6),), 0.5, 0.5)]
    ff = [Path("x", "L1.A"), Path("L1.A", "L2.A"), Path("L2.A", "y")]
    fb = [Path("y", "L2.A"), Path("L2.A", "L1.A")]
    return Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb, name="whole")


@pytest.mark.parametrize("bias", [False, True], ids=["zero-bias", "bias"])
@pytest.mark.parametrize("whole", [False, True], ids=["blocks", "whole-modules"])
@pytest.mark.parametrize("mode", ["ste", "epe"])
def test_ensemble_members_equal_separate_networks(tiny_wiring, whole, mode, bias):
    tiny_wiring = _whole_module_wiring() if whole else tiny_wiring
    ens = Network(tiny_wiring, APConfig(mode=mode), seeds=(3, 5))
    if bias:  # each member its own nonzero module biases (zero by default, where any broadcast looks right)
        for b in ens.tensors["biases"].values():
            b.copy_(torch.rand(b.shape, generator=torch.Generator().manual_seed(b.shape[-1])) - 0.5)
    x = torch.rand(6, 3)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    p0 = ens.inference(x)
    p1 = ens.learning(p0, y)
    ups = ens.updates(p0, p1)
    for k, sd in enumerate((3, 5)):
        one = Network(tiny_wiring, APConfig(mode=mode), seed=sd)
        for m, b in ens.tensors["biases"].items():
            one.tensors["biases"][m].copy_(b[k])
        q0 = one.inference(x)
        q1 = one.learning(q0, y)
        torch.testing.assert_close(p0.probs["y"][k], q0.probs["y"])
        torch.testing.assert_close(p1.e["L1"][k], q1.e["L1"])
        for name, u in one.updates(q0, q1).items():
            torch.testing.assert_close(ups[name][k], u)


def test_ensemble_of_spectral_radii(tiny_wiring):
    ens = Network(tiny_wiring, seeds=(0, 0), radii=(0.1, 0.9))
    assert abs(spectral_radius(ens.reservoirs["L1"][0]) - 0.1) < 1e-4
    assert abs(spectral_radius(ens.reservoirs["L1"][1]) - 0.9) < 1e-4


def test_fast_cpu_tanh_matches_torch_tanh_everywhere():
    from apexplorer.dynamics import ACTIVATIONS

    x = torch.cat([torch.linspace(-50, 50, 10001), torch.tensor([float("inf"), -float("inf"), 0.0])])
    got = ACTIVATIONS["tanh"](x.clone())
    torch.testing.assert_close(got, torch.tanh(x), rtol=0, atol=3e-7)
    assert torch.isnan(ACTIVATIONS["tanh"](torch.tensor([float("nan")]))).all()


# ---------------------------------------------------------------------------
# the step after the first from h0 = 0 multiplies only the driven columns
# ---------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from apexplorer.dynamics import support  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n), st.integers(0, n)), max_size=5))))
def test_support_is_the_union_as_sorted_disjoint_slices(case):
    n, spans = case
    got = support([slice(a, b) for a, b in spans], n)
    want = set().union(*(range(a, b) for a, b in spans)) if spans else set()
    if want == set(range(n)):
        assert got is None
        return
    cols = [set(range(s.start, s.stop)) for s in got]
    assert set().union(*cols) == want
    assert all(s.start < s.stop for s in got)
    assert all(a.stop < b.start for a, b in zip(got, got[1:]))  # sorted, disjoint and not touching


@pytest.mark.parametrize("lead", [(), (3,)], ids=["single", "ensemble"])
@pytest.mark.parametrize("low", [False, True], ids=["fp32", "bf16"])
def test_relax_over_the_driven_columns_equals_the_full_product(lead, low):
    g = torch.Generator().manual_seed(0)
    N, cols = 24, (slice(0, 6), slice(12, 18))
    W = torch.randn(*lead, N, N, generator=g) * 0.3
    u = torch.zeros(*lead, 5, N)
    for c in cols:  # a drive that is zero outside cols
        u[..., c] = torch.randn(*lead, 5, c.stop - c.start, generator=g)
    W_low = W.to(torch.bfloat16) if low else None
    for steps in range(1, 5):
        full = relax(W, u, steps, None, "tanh", None, W_low)
        rec = []
        got = relax(W, u, steps, None, "tanh", rec, W_low, cols=cols)
        assert torch.equal(got, rec[-1]) and torch.equal(got, relax(W, u, steps, None, "tanh", None, W_low, cols=cols))
        torch.testing.assert_close(got, full, rtol=2e-2 if low else 1e-6, atol=1e-2 if low else 1e-6)


@pytest.mark.parametrize("h0,act", [("given", "tanh"), (None, "sigmoid")], ids=["epe-start", "sigmoid"])
def test_driven_columns_are_ignored_where_the_first_state_is_not_zero_outside_them(h0, act):
    g = torch.Generator().manual_seed(1)
    W = torch.randn(16, 16, generator=g) * 0.3
    u = torch.zeros(4, 16)
    u[:, :4] = torch.randn(4, 4, generator=g)
    h0 = torch.rand(4, 16, generator=g) if h0 else None
    assert torch.equal(relax(W, u, 4, h0, act, cols=(slice(0, 4),)), relax(W, u, 4, h0, act))


def _relax_flops(net, x, y, phases=("inference", "learning")):
    """Multiply-add FLOPs of the phases, counted at torch's dispatch (in-place products included).

    With only ``learning``, ``x`` is the Phase0 to learn from."""
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    mats = {aten.mm.default: (0, 1), aten.bmm.default: (0, 1), aten.addmm.default: (1, 2),
            aten.addmm_.default: (1, 2), aten.baddbmm.default: (1, 2), aten.baddbmm_.default: (1, 2),
            aten.addmm.out: (1, 2), aten.baddbmm.out: (1, 2), aten.mm.out: (0, 1), aten.bmm.out: (0, 1)}

    class Count(TorchDispatchMode):
        flops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func in mats:
                i, j = mats[func]
                a, b = args[i], args[j]
                Count.flops += 2 * a.shape[:-1].numel() * a.shape[-1] * b.shape[-1]
            return func(*args, **(kwargs or {}))

    with Count():
        p0 = net.inference(x) if "inference" in phases else x
        net.learning(p0, y)
    return Count.flops


@pytest.mark.parametrize("mode", ["ste", "epe"])
def test_second_step_multiplies_only_the_rows_of_driven_columns(monkeypatch, mode):
    """Phase 0 drives RI only, phase 1 (STE) RI and RE: the second step's product skips the other rows of W."""
    N, b, B = 64, 16, 10
    w = chain([N, N], 5, 3, blocks={"RI": b, "SI": b, "RE": b, "SE": b})
    x, y = torch.rand(B, 5), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    net = Network(w, APConfig(mode=mode), seed=0)
    assert net._cols("L1", [slice(0, b)]) == (slice(0, b),)
    fast = _relax_flops(net, x, y)
    monkeypatch.setattr(Network, "_cols", lambda self, m, slices: None)
    full = _relax_flops(Network(w, APConfig(mode=mode), seed=0), x, y)
    saved_phase0 = 2 * (2 * B * N * (N - b))  # two modules, RI only
    saved_phase1 = 2 * (2 * B * N * (N - 2 * b)) if mode == "ste" else 0  # RI and RE; EPE starts from z0
    assert full - fast == saved_phase0 + saved_phase1


def test_a_nonzero_bias_or_an_activation_with_f0_not_zero_uses_the_full_product():
    w = chain([32, 32], 5, 3, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    net = Network(w, seed=0)
    assert net._cols("L1", [slice(0, 8)]) == (slice(0, 8),)
    net.tensors["biases"]["L1"][3] = 0.1  # in place: the bias is checked again
    assert net._cols("L1", [slice(0, 8)]) is None and net._cols("L2", [slice(0, 8)]) == (slice(0, 8),)
    assert Network(w, APConfig(activation="sigmoid"), seed=0)._cols("L1", [slice(0, 8)]) is None


def test_learning_trusts_only_the_columns_phase0_says_its_drive_reached():
    """A Phase0 that does not say where its drive was (cols=None) gets the full product in phase 1."""
    from dataclasses import replace

    N, b, B = 64, 16, 10
    w = chain([N, N], 5, 3, blocks={"RI": b, "SI": b, "RE": b, "SE": b})
    net = Network(w, seed=0)
    x, y = torch.rand(B, 5), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    p0 = net.inference(x)
    assert p0.cols == {"L1": (slice(0, b),), "L2": (slice(0, b),)}
    fast = _relax_flops(net, p0, y, phases=("learning",))
    full = _relax_flops(net, replace(p0, cols=None), y, phases=("learning",))
    assert full - fast == 2 * (2 * B * N * (N - 2 * b))
    torch.testing.assert_close(net.learning(p0, y).e["L1"], net.learning(replace(p0, cols=None), y).e["L1"],
                               rtol=1e-5, atol=1e-6)
