"""AP's update against the true gradient (autograd and finite differences)."""

import pytest
import torch

from apexplorer import APConfig, Network, TrainConfig, Trainer, chain, load_dataset, preset
from apexplorer.analysis import alignment, cosine, feedback_angles, sign_agreement, true_gradients
from tests.single_thread import one_thread  # noqa: F401 - autouse


def _tiny(dtype=torch.float32, seed=0):
    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5,
              connection_rate=0.5, name="tiny")
    base = Network(w, APConfig(t1=5, t2=5), seed=seed)
    tensors = {k: {n: t.to(dtype) * (2 if k == "weights" else 1) for n, t in d.items()} for k, d in base.tensors.items()}
    return Network(w, APConfig(t1=5, t2=5), seed=seed, tensors=tensors)


def _loss(net, x, y):
    p = net.inference(x).probs["y"]
    return float(-torch.log(p.gather(1, y.view(-1, 1))).mean())


def test_true_gradient_matches_finite_differences():
    net = _tiny(torch.float64)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    grads = true_gradients(net, x, y)
    assert set(grads) == {"x->L1.RI", "L1.SI->L2.RI", "L2.SI->y"}
    h = 1e-6
    for name, G in grads.items():
        W = net.weights[name]
        for i, j in [(0, 0), (1, 1), (W.shape[0] - 1, W.shape[1] - 1)]:
            old = float(W[i, j])
            W[i, j] = old + h
            up = _loss(net, x, y)
            W[i, j] = old - h
            down = _loss(net, x, y)
            W[i, j] = old
            assert float(G[i, j]) == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9), (name, i, j)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_the_differentiable_inference_is_the_networks_with_module_biases(act):
    """Module biases are zero by default: the autograd copy of phase 0 must add them (and the true
    gradients then match finite differences of the network's own loss)."""
    from apexplorer.analysis.alignment import differentiable_inference

    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5, connection_rate=0.5)
    net = Network(w, APConfig(t1=5, t2=5, activation=act), seed=1)
    net.tensors = {k: {n: t.double() for n, t in d.items()} for k, d in net.tensors.items()}
    g = torch.Generator().manual_seed(3)
    for b in net.tensors["biases"].values():
        b.copy_(torch.rand(b.shape, generator=g, dtype=torch.float64) - 0.5)
    x, y = torch.rand(6, 3, generator=g, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1, 0])
    got = differentiable_inference(net, {"x": x}, net.plan(), net.weights)["y"]
    torch.testing.assert_close(got, net.inference(x).logits["y"], rtol=1e-12, atol=1e-12)
    G = true_gradients(net, x, y)["x->L1.RI"]
    W, h = net.weights["x->L1.RI"], 1e-6
    old = float(W[1, 0])
    W[1, 0] = old + h
    up = _loss(net, x, y)
    W[1, 0] = old - h
    down = _loss(net, x, y)
    W[1, 0] = old
    assert float(G[1, 0]) == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_readout_update_is_the_exact_gradient(seed):
    """In float64, to rounding (fp32's o - y loses digits where p is near 1, by up to 5e-5 relative)."""
    net = _tiny(torch.float64)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(8, 3, generator=g, dtype=torch.float64), torch.randint(0, 2, (8,), generator=g)
    a = alignment(net, x, y)
    assert a["L2.SI->y"]["cosine"] == pytest.approx(1.0, abs=1e-12)
    assert a["L2.SI->y"]["sign_agreement"] == 1.0
    assert a["L2.SI->y"]["ap_norm"] == pytest.approx(a["L2.SI->y"]["grad_norm"], rel=1e-12)


def test_alignment_leaves_the_weights_unchanged():
    net = _tiny()
    before = {k: v.clone() for k, v in net.weights.items()}
    alignment(net, torch.rand(4, 3), torch.tensor([0, 1, 0, 1]))
    for k, v in net.weights.items():
        assert torch.equal(v, before[k]) and not v.requires_grad


@pytest.mark.parametrize("a,b,cos,sign", [
    ([1.0, 2.0], [2.0, 4.0], 1.0, 1.0),
    ([1.0, -1.0], [-1.0, 1.0], -1.0, 0.0),
    ([1.0, 0.0], [0.0, 1.0], 0.0, 0.0),
    ([0.0, 0.0], [1.0, 1.0], 0.0, 0.0),
], ids=["parallel", "opposite", "orthogonal", "zero"])
def test_cosine_and_sign_agreement_by_hand(a, b, cos, sign):
    a, b = torch.tensor(a), torch.tensor(b)
    assert cosine(a, b) == pytest.approx(cos)
    assert sign_agreement(a, b) == sign


def test_feedback_equal_to_transposed_forward_weights_has_zero_angle():
    net = _tiny()
    angles = feedback_angles(net)
    assert set(angles) == {"y->L2.RE", "L2.SE->L1.RE"}
    assert 60 < angles["L2.SE->L1.RE"]["L1.SI->L2.RI"] < 120  # independent random draws
    net.feedback["L2.SE->L1.RE"].copy_(3 * net.weights["L1.SI->L2.RI"].t())
    assert feedback_angles(net)["L2.SE->L1.RE"]["L1.SI->L2.RI"] == pytest.approx(0.0, abs=1e-3)


def test_ap_update_points_downhill_on_every_path_after_one_epoch_on_digits():
    d = load_dataset("digits")
    net = Network(preset("digits", d.n_features, d.n_classes), APConfig(), seed=0)
    tr = Trainer(net, d, TrainConfig(epochs=1, batch_size=32, lr=5e-3, device="cpu"))
    tr.run()
    a = alignment(net, d.x_test[:500], d.y_test[:500])
    assert set(a) == {"x->L1.RI", "L1.SI->L2.RI", "L2.SI->y"}
    for name, r in a.items():
        assert r["cosine"] > 0, (name, r)
