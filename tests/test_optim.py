"""Our optimisers against torch.optim, and their state round trip."""

import torch

from apexplorer.optim import SGD, Adam


def test_adam_matches_torch_adam():
    g = torch.Generator().manual_seed(0)
    ours = {"a": torch.randn(5, 3, generator=g), "b": torch.randn(4, generator=g)}
    ref = {k: v.clone().requires_grad_(True) for k, v in ours.items()}
    opt, topt = Adam(1e-2), torch.optim.Adam(list(ref.values()), lr=1e-2)
    for _ in range(6):
        grads = {k: torch.randn(v.shape, generator=g) for k, v in ours.items()}
        opt.step(ours, grads)
        for k in ref:
            ref[k].grad = grads[k]
        topt.step()
    for k in ours:
        torch.testing.assert_close(ours[k], ref[k].detach(), rtol=1e-5, atol=1e-7)


def test_adam_steps_only_the_weights_it_is_given():
    w = {"a": torch.ones(3), "b": torch.ones(3)}
    opt = Adam(0.1)
    opt.step(w, {"a": torch.ones(3)})
    assert torch.equal(w["b"], torch.ones(3)) and not torch.equal(w["a"], torch.ones(3))
    assert "b" not in opt.t and float(opt.t["a"]) == 1


def test_adam_state_round_trip_continues_identically():
    w1 = {"a": torch.linspace(-1, 1, 6)}
    w2 = {"a": w1["a"].clone()}
    o1, o2 = Adam(0.05), Adam(0.05)
    for i in range(3):
        o1.step(w1, {"a": torch.full((6,), float(i + 1))})
    o2.load_state_dict(o1.state_dict())
    w2["a"].copy_(w1["a"])
    o1.step(w1, {"a": torch.ones(6)})
    o2.step(w2, {"a": torch.ones(6)})
    assert torch.equal(w1["a"], w2["a"])


def test_sgd_is_plain_gradient_descent():
    w = {"a": torch.ones(2)}
    SGD(0.5).step(w, {"a": torch.tensor([1.0, -2.0])})
    assert torch.equal(w["a"], torch.tensor([0.5, 2.0]))


def test_adam_float64_weights_take_the_foreach_path_and_match_torch():
    g = torch.Generator().manual_seed(1)
    ours = {"a": torch.randn(7, 2, generator=g, dtype=torch.float64)}
    ref = ours["a"].clone().requires_grad_(True)
    opt, topt = Adam(1e-2), torch.optim.Adam([ref], lr=1e-2)
    for _ in range(5):
        grad = torch.randn(7, 2, generator=g, dtype=torch.float64)
        opt.step(ours, {"a": grad})
        ref.grad = grad
        topt.step()
    assert opt.t["a"].dtype == torch.float64
    torch.testing.assert_close(ours["a"], ref.detach(), rtol=1e-12, atol=1e-14)


def test_a_skipped_step_changes_nothing_and_a_kept_one_is_a_plain_step():
    """``skip`` (the device-side divergence guard) for the fused (float32) and foreach (float64) paths."""
    for dtype in (torch.float32, torch.float64):
        g = torch.Generator().manual_seed(2)
        grads = [torch.randn(4, 3, generator=g, dtype=dtype) for _ in range(3)]
        plain, guarded = {"a": torch.ones(4, 3, dtype=dtype)}, {"a": torch.ones(4, 3, dtype=dtype)}
        o1, o2 = Adam(0.1), Adam(0.1)
        o1.step(plain, {"a": grads[0]})
        o1.step(plain, {"a": grads[2]})
        o2.step(guarded, {"a": grads[0]}, skip=torch.tensor(0.0))
        before = {k: v.clone() for k, v in (("w", guarded["a"]), ("m", o2.m["a"]), ("v", o2.v["a"]), ("t", o2.t["a"]))}
        o2.step(guarded, {"a": grads[1]}, skip=torch.tensor(1.0))
        for k, now in (("w", guarded["a"]), ("m", o2.m["a"]), ("v", o2.v["a"]), ("t", o2.t["a"])):
            assert torch.equal(now, before[k]), (dtype, k)
        o2.step(guarded, {"a": grads[2]}, skip=torch.tensor(0.0))
        assert torch.equal(guarded["a"], plain["a"]) and float(o2.t["a"]) == 2


def test_sgd_skip():
    w = {"a": torch.ones(2)}
    SGD(0.5).step(w, {"a": torch.tensor([1.0, -2.0])}, skip=torch.tensor(1.0))
    assert torch.equal(w["a"], torch.ones(2))
    SGD(0.5).step(w, {"a": torch.tensor([1.0, -2.0])}, skip=torch.tensor(0.0))
    assert torch.equal(w["a"], torch.tensor([0.5, 2.0]))
