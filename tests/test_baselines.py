"""BP, FA and EP: against autograd and finite differences, and through the trainer."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from apexplorer import ApexplorerError, Task, TrainConfig, Trainer
from apexplorer.baselines import (
    BPLearner, EPConfig, EPLearner, FALearner, MLPConfig, make_learner, parse_hidden,
)
from apexplorer.methods import LEARNERS, learner_class
from apexplorer.optim import SGD
from tests.conftest import make_blob_data
from tests.single_thread import one_thread  # noqa: F401 - autouse


def _batch(n_in, n_out, B=7, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, n_in, generator=g, dtype=dtype), torch.randint(0, n_out, (B,), generator=g)


def test_importing_baselines_registers_bp_fa_and_ep():
    assert {"ap", "bp", "fa", "ep"} <= set(LEARNERS)
    assert learner_class("fa") is FALearner and learner_class("ep") is EPLearner


@settings(max_examples=25, deadline=None)
@given(hidden=st.lists(st.integers(1, 12), min_size=1, max_size=3), n_in=st.integers(1, 9),
       n_out=st.integers(2, 6), seed=st.integers(0, 10_000), act=st.sampled_from(["tanh", "relu", "sigmoid"]))
def test_fa_with_transposed_forward_weights_is_exactly_bp(hidden, n_in, n_out, seed, act):
    cfg = MLPConfig(n_in, n_out, tuple(hidden), act, seed)
    bp, fa = BPLearner(cfg, SGD(0.1)), FALearner(cfg, SGD(0.1))
    for k, B in fa.feedback.items():  # "h2->h1" carries h2's error down: W("h1->h2")^T
        top, bottom = k.split("->")
        B.copy_(fa.params[f"{bottom}->{top}"].t())
    x, y = _batch(n_in, n_out, seed=seed)
    ub, _, _ = bp.updates(x, y)
    uf, _, _ = fa.updates(x, y)
    assert set(ub) == set(uf)
    for k in ub:
        assert torch.equal(ub[k], uf[k]), k


@pytest.mark.parametrize("hidden", [(5,), (6, 4, 3)], ids=["1-hidden", "3-hidden"])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_bp_update_is_the_autograd_gradient_of_the_cross_entropy(hidden, act):
    bp = BPLearner(MLPConfig(4, 3, hidden, act, seed=2), SGD(0.1))
    x, y = _batch(4, 3)
    ups, probs, _ = bp.updates(x, y)
    params = {k: v.clone().requires_grad_(True) for k, v in bp.params.items()}
    h = x
    n = len(hidden) + 1
    for l in range(1, n + 1):
        s = h @ params[bp.config.path(l)] + params[f"{bp.config.layers[l]}.bias"]
        h = s if l == n else (torch.tanh(s) if act == "tanh" else torch.relu(s))
    loss = torch.nn.functional.cross_entropy(h, y)
    grads = torch.autograd.grad(loss, list(params.values()))
    for (k, _), g in zip(params.items(), grads):
        torch.testing.assert_close(ups[k], g, rtol=1e-5, atol=1e-7, msg=k)


def test_fa_is_not_bp_with_random_feedback():
    cfg = MLPConfig(4, 3, (6, 5), seed=1)
    x, y = _batch(4, 3)
    ub, _, _ = BPLearner(cfg, SGD(0.1)).updates(x, y)
    uf, _, _ = FALearner(cfg, SGD(0.1)).updates(x, y)
    torch.testing.assert_close(ub["h2->y"], uf["h2->y"])  # the readout sees the true error in both
    assert not torch.allclose(ub["x->h1"], uf["x->h1"])


@pytest.mark.parametrize("method", ["bp", "fa"])
def test_bp_and_fa_learn_blobs_and_fa_feedback_never_changes(method):
    data = make_blob_data()
    cfg = TrainConfig(epochs=8, batch_size=20, lr=1e-2, device="cpu")
    learner = make_learner(method, 16, 3, cfg, hidden="32")
    fb = {k: v.clone() for k, v in learner.feedback.items()}
    hist = Trainer(learner, data, cfg).run()
    assert hist[-1]["test_acc"] > 0.9
    assert set(hist[-1]["error"]) == {"h1", "y"}
    for k, v in learner.feedback.items():
        assert torch.equal(v, fb[k])


def _ep_tiny(symmetric, beta):
    cfg = EPConfig(3, 2, (4,), t1=600, t2=600, epsilon=0.5, beta=beta, symmetric=symmetric, seed=0)
    ep = EPLearner(cfg, SGD(0.1))
    for k, v in ep.params.items():  # small weights, interior states: a smooth, unique fixed point
        v.copy_(v * 0.25 + (0.4 if k.endswith("bias") else 0.0))
    ep.tensors = {"weights": {k: v.double() for k, v in ep.params.items()}}
    return ep


def _ep_cost(ep, x, d):
    y = ep.free_phase(x)[-1]
    return float(0.5 * ((y - d) ** 2).sum(1).mean())


@pytest.mark.parametrize("symmetric,beta,tol", [(False, 1e-3, 2e-2), (True, 1e-2, 1e-3)], ids=["one-sided", "symmetric"])
def test_ep_update_approaches_the_gradient_of_the_cost_at_the_fixed_point(symmetric, beta, tol):
    ep = _ep_tiny(symmetric, beta)
    x, y = _batch(3, 2, B=5, dtype=torch.float64)
    d = torch.nn.functional.one_hot(y, 2).double()
    free = ep.free_phase(x)
    assert all(float(s.min()) > 0 and float(s.max()) < 1 for s in free)  # no unit clipped
    ups, _, _ = ep.updates(x, y, beta)
    h = 1e-5
    for name in ("x<->h1", "h1<->y", "h1.bias", "y.bias"):
        W = ep.params[name]
        got, want = [], []
        for idx in [(0, 0), (1, 1)] if W.ndim == 2 else [(0,), (1,)]:
            old = float(W[idx])
            W[idx] = old + h
            up = _ep_cost(ep, x, d)
            W[idx] = old - h
            down = _ep_cost(ep, x, d)
            W[idx] = old
            want.append((up - down) / (2 * h))
            got.append(float(ups[name][idx]))
        np.testing.assert_allclose(got, want, rtol=tol, atol=1e-6, err_msg=name)


def test_ep_learns_blobs():
    data = make_blob_data(n_features=8)
    cfg = TrainConfig(epochs=6, batch_size=20, lr=1e-2, device="cpu")
    learner = make_learner("ep", 8, 3, cfg, hidden="16", t1=20, t2=8)
    hist = Trainer(learner, data, cfg).run()
    assert hist[-1]["test_acc"] > 0.8
    assert set(hist[-1]["error"]) == {"h1", "y"}


@pytest.mark.parametrize("method,extra", [("bp", {}), ("fa", {}), ("ep", {"t1": 5, "t2": 3}),
                                          ("ep", {"t1": 5, "t2": 3, "random_sign": True, "symmetric": False})],
                         ids=["bp", "fa", "ep", "ep-random-sign"])
def test_checkpoint_resumes_a_baseline_exactly(tmp_path, method, extra):
    data = make_blob_data(n=100)
    cfg = TrainConfig(epochs=2, batch_size=16, lr=1e-2, device="cpu", seed=3)
    full = Trainer(make_learner(method, 16, 3, cfg, hidden="8", **extra), data, cfg)
    full.run()
    half = Trainer(make_learner(method, 16, 3, cfg, hidden="8", **extra), data, cfg)
    half.run(1)
    path = half.save(tmp_path / "ck.pt")
    resumed = Trainer.load(path, data)
    assert type(resumed.learner) is type(full.learner) and resumed.net is None
    resumed.run()
    for k, v in full.learner.params.items():
        torch.testing.assert_close(resumed.learner.params[k], v, rtol=0, atol=0, msg=k)
    assert [e["test_acc"] for e in resumed.history] == [e["test_acc"] for e in full.history]


def test_eps_random_sign_changes_the_run():
    """The draw the checkpoint must carry is a real one: both signs come up, and a run drawing them
    differs from one always nudged by +beta (so a lost generator state changes the run)."""
    data = make_blob_data(n=100)
    cfg = TrainConfig(epochs=1, batch_size=16, lr=1e-2, device="cpu", seed=3)
    ep = make_learner("ep", 16, 3, cfg, hidden="8", t1=5, t2=3, random_sign=True, symmetric=False)
    g = torch.Generator()
    g.set_state(ep.gen.get_state())
    signs = [bool(torch.rand((), generator=g) < 0.5) for _ in range(5)]  # the epoch's 5 batches (80 samples)
    assert any(signs) and not all(signs)
    Trainer(ep, data, cfg).run()
    plain = make_learner("ep", 16, 3, cfg, hidden="8", t1=5, t2=3, random_sign=False, symmetric=False)
    Trainer(plain, data, cfg).run()
    assert not torch.allclose(ep.params["x<->h1"], plain.params["x<->h1"])


def test_baselines_train_one_task_at_a_time():
    learner = make_learner("bp", 3, 2, TrainConfig(device="cpu"), hidden="4")
    x, y = _batch(3, 2)
    with pytest.raises(ApexplorerError, match="one task at a time"):
        learner.train_batch({"a": (x, y), "b": (x, y)}, [Task("a", "x", "y"), Task("b", "x2", "y2")])


@pytest.mark.parametrize("text,want", [("256", (256,)), ("256,128", (256, 128)), ("256x3", (256, 256, 256))])
def test_hidden_layers_parse(text, want):
    assert parse_hidden(text) == want


@pytest.mark.parametrize("call,needle", [
    (lambda: parse_hidden("wide"), "256x3"),
    (lambda: make_learner("sgd", 3, 2, TrainConfig(device="cpu")), "bp, fa, ep"),
    (lambda: make_learner("bp", 3, 2, TrainConfig(device="cpu"), t1=4), "for ep"),
    (lambda: make_learner("ep", 3, 2, TrainConfig(device="cpu"), epsilon=2.0), "epsilon"),
], ids=["hidden", "method", "ep-option-on-bp", "epsilon"])
def test_bad_baseline_settings_are_named(call, needle):
    with pytest.raises(ApexplorerError, match=needle):
        call()


@pytest.mark.parametrize("method", ["bp", "fa"])
def test_train_command_runs_a_baseline_and_resumes_it(tmp_path, capsys, method):
    from apexplorer.cli import main

    ck = str(tmp_path / "run.pt")
    argv = ["train", "--dataset", "digits", "--method", method, "--hidden", "32", "--epochs", "1", "--json",
            "--device", "cpu", "--save", ck]
    assert main(argv) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert lines[0]["kind"] == "start" and lines[0]["method"] == method and "64 -> 32 -> 10" in lines[0]["model"]
    assert lines[1]["epoch"] == 1 and lines[1]["test_acc"] > 0.5 and set(lines[1]["error"]) == {"h1", "y"}
    assert main(["train", "--resume", ck, "--epochs", "2", "--json", "--device", "cpu"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert lines[0]["method"] == method and lines[0]["start_epoch"] == 1
    assert [l["epoch"] for l in lines if "test_acc" in l] == [2]


@pytest.mark.parametrize("argv,needle", [
    (["train", "--hidden", "32"], "--hidden sets the layers"),
    (["train", "--method", "bp", "--seeds", "2"], "one seed at a time"),
    (["train", "--method", "fa", "--preset", "fig5a", "--tasks", "digits,digits"], "pick one with --only"),
    (["compare", "--methods", "ap,sgd"], "unknown sgd"),
    (["compare", "--method", "bp"], "--methods"),
], ids=["hidden-for-ap", "seeds-for-bp", "multitask", "unknown-method", "method-not-methods"])
def test_cli_mistakes_about_methods_exit_2_with_a_message(capsys, argv, needle):
    from apexplorer.cli import main

    assert main(argv + ["--epochs", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_compare_reports_mean_and_sd_over_seeds(capsys):
    from apexplorer.cli import main

    assert main(["compare", "--dataset", "digits", "--methods", "bp,fa", "--hidden", "32", "--epochs", "1",
                 "--seeds", "2", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "digits" and out["seeds"] == [0, 1] and out["epochs"] == 1
    assert [r["method"] for r in out["results"]] == ["bp", "fa"]
    for r in out["results"]:
        accs = [run["test_acc"] for run in r["runs"]]
        assert [run["seed"] for run in r["runs"]] == [0, 1] and all(a > 0.5 for a in accs)
        assert r["test_acc_mean"] == pytest.approx(np.mean(accs))
        assert r["test_acc_sd"] == pytest.approx(np.std(accs, ddof=1))
    bp_runs = out["results"][0]["runs"]
    assert bp_runs[0]["test_acc"] != bp_runs[1]["test_acc"]  # different seeds, different networks


@pytest.mark.parametrize("extra,lr", [([], 1e-3), (["--lr", "0.01"], 0.01)], ids=["ep-default", "given"])
def test_ep_runs_at_its_own_learning_rate_unless_one_is_given(capsys, extra, lr):
    from apexplorer.cli import main

    argv = ["train", "--dataset", "digits", "--method", "ep", "--hidden", "16", "--t1", "10", "--t2", "4",
            "--epochs", "1", "--json", "--device", "cpu"]
    assert main(argv + extra) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert lines[0]["lr"] == lr and "T1=10, T2=4" in lines[0]["model"]
    assert lines[1]["epoch"] == 1 and set(lines[1]["error"]) == {"h1", "y"}
