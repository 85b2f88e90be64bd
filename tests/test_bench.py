"""The benchmark's baselines compute the same thing as the engine, and bench reports its figures."""

import json
import re
from contextlib import nullcontext

import pytest
import torch

from apexplorer import APConfig, Network, chain
from apexplorer.bench import (AutogradBP, LiteralAP, _agreement, _ratio, _rounds, bench, fidelity,
                              reservoir_products)
from apexplorer.errors import ApexplorerError
from apexplorer.learner import APLearner
from apexplorer.optim import make_optimizer


@pytest.mark.parametrize("mode", ["ste", "epe"])
def test_literal_formulation_takes_the_same_step_as_the_engine(tiny_wiring, mode):
    net = Network(tiny_wiring, APConfig(mode=mode, t1=4, t2=3), seed=2)
    # seeded: 5 of 400 random draws failed, Adam's first step amplifying the rounding of tiny updates
    x = torch.rand(5, 3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 1, 0, 1])
    lit = LiteralAP(net, lr=1e-2)
    learner = APLearner(net, make_optimizer("adam", 1e-2))
    lit.step(x, y)
    learner.train_batch({"main": (x, y)}, (tiny_wiring.tasks[0],))
    learner.apply()
    for name, w in net.weights.items():
        torch.testing.assert_close(lit.A[name], w, rtol=1e-5, atol=1e-6)


def test_autograd_baseline_lowers_the_loss(tiny_wiring, tiny_data):
    net = Network(tiny_wiring, seed=0)
    bp = AutogradBP(net, lr=5e-2)
    x, y = tiny_data.x_train, tiny_data.y_train
    first = float(bp.step(x, y))
    for _ in range(30):
        last = float(bp.step(x, y))
    assert last < first


def test_bench_reports_times_speedups_and_accuracy(blob_data):
    w = chain([32, 32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    out = bench(Network(w, seed=0), blob_data, batch_size=16, steps=2, warmup=1, epochs=1)
    json.dumps(out)
    assert out["ours"]["step_s"] > 0 and out["literal"]["step_s"] > 0 and out["bp_autograd"]["step_s"] > 0
    assert out["speedup_vs_literal"] > 0 and 0 <= out["test_acc"] <= 1
    assert out["steps_per_epoch"] == 15


def test_bench_of_an_ensemble(blob_data, monkeypatch):
    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    seen = []
    train_batch = APLearner.train_batch

    def spy(self, batch, tasks):
        x = batch["main"][0]
        seen.append((self.members, tuple(x.shape), bool(x.dim() == 3 and not torch.equal(x[0], x[1]))))
        return train_batch(self, batch, tasks)

    monkeypatch.setattr(APLearner, "train_batch", spy)
    out = bench(Network(w, seeds=(0, 1, 2)), blob_data, batch_size=16, steps=2, warmup=1)
    assert out["members"] == 3 and out["ours"]["samples_per_s"] > 0
    # the ensemble trains as the trainer trains it: each member its own batch
    assert (3, (3, 16, blob_data.n_features), True) in seen
    # and is set against one of its seeds trained alone
    assert (None, (16, blob_data.n_features), False) in seen
    one = out["ours_one_seed"]
    assert one["step_s"] > 0 and one["samples_per_s"] == pytest.approx(16 / one["step_s"])
    # timed beside it, round by round
    assert out["timing"]["order"][:2] == ["ours", "ours_one_seed"] and len(one["step_s_rounds"]) == 2
    assert out["ensemble_vs_one_seed"] == pytest.approx(_ratio(out["ours"]["step_s_rounds"], one["step_s_rounds"]))


class DriftingMachine:
    """A fake clock on a machine that slows down: each step takes ``cost * (1 + drift * steps so far)``."""

    def __init__(self, drift):
        self.now, self.done, self.drift = 0.0, 0, drift

    def step(self, cost):
        def run():
            self.now += cost * (1 + self.drift * self.done)
            self.done += 1
        return run


@pytest.mark.parametrize("drift", [0.0, 0.05, 0.5])
def test_engines_timed_in_turn_give_their_true_ratio_on_a_drifting_machine(drift):
    m = DriftingMachine(drift)
    runners = {"ours": (m.step(1.0), nullcontext), "literal": (m.step(3.0), nullcontext)}
    times = _rounds(runners, rounds=9, per_round=1, device=torch.device("cpu"), clock=lambda: m.now)
    assert [len(v) for v in times.values()] == [9, 9] and m.done == 18
    ratio = _ratio(times["literal"], times["ours"])
    # each round sees the machine at nearly one speed: the median round is off by drift / (1 + 8 drift)
    assert ratio == pytest.approx(3.0 * (1 + drift * 9) / (1 + drift * 8))
    # nine steps of one engine and then nine of the other would be off by 9 drift / (1 + 4 drift)
    m2 = DriftingMachine(drift)
    after = _rounds({"ours": (m2.step(1.0), nullcontext)}, 1, 9, torch.device("cpu"), clock=lambda: m2.now)
    after.update(_rounds({"literal": (m2.step(3.0), nullcontext)}, 1, 9, torch.device("cpu"), clock=lambda: m2.now))
    assert _ratio(after["literal"], after["ours"]) == pytest.approx(3.0 * (1 + 13 * drift) / (1 + 4 * drift))


def test_bench_times_each_engine_in_turn_on_the_same_batches(blob_data, monkeypatch):
    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    calls = []
    for cls, name in ((LiteralAP, "literal"), (AutogradBP, "bp_autograd")):
        orig = cls.step
        monkeypatch.setattr(cls, "step", lambda self, x, y, orig=orig, name=name: (calls.append((name, x)),
                                                                                 orig(self, x, y))[1])
    orig_batch = APLearner.train_batch
    monkeypatch.setattr(APLearner, "train_batch",
                        lambda self, b, t: (calls.append(("ours", b["main"][0])), orig_batch(self, b, t))[1])
    out = bench(Network(w, seed=0), blob_data, batch_size=16, steps=3, warmup=1)
    # warm-up of each engine, then one step of each in turn, three times
    names = ["ours", "literal", "bp_autograd"]
    assert [n for n, _ in calls] == names + names * 3
    assert out["timing"] == {"rounds": 3, "steps_per_round": 1, "order": names}
    # each engine reads the same sequence of batches, and they are not all one batch
    seen = {n: [x for m, x in calls if m == n] for n in names}
    for n in names[1:]:
        assert all(torch.equal(a, b) for a, b in zip(seen[n], seen["ours"]))
    assert not torch.equal(seen["ours"][0], seen["ours"][1])
    for key in ("literal", "bp_autograd"):
        assert out[f"speedup_vs_{key}"] == pytest.approx(_ratio(out[key]["step_s_rounds"],
                                                                out["ours"]["step_s_rounds"]))


@pytest.mark.parametrize("speedup,text", [(2.0, "ours is 2.00x faster"), (1.0, "ours is 1.00x faster"),
                                          (0.8, "ours is 1.25x slower")])
def test_bench_text_says_slower_rather_than_a_fraction_faster(speedup, text):
    from apexplorer.commands.bench import ratio_text

    assert ratio_text(speedup) == text


def test_bench_command_prints_each_baselines_ratio(capsys):
    from apexplorer.cli import main

    assert main(["bench", "--preset", "digits", "--dataset", "digits", "--device", "cpu", "--batch-size", "32",
                 "--steps", "1"]) == 0
    out = capsys.readouterr().out
    for key in ("literal", "bp_autograd"):
        line = next(l for l in out.splitlines() if l.strip().startswith(key))
        assert re.search(r"ours is \d+\.\d\dx (faster|slower)$", line), line


def test_agreement_is_cosine_and_relative_error_of_the_worst_member():
    a = torch.randn(3, 4, 5)
    assert _agreement(a, a, True) == {"cosine": pytest.approx(1.0), "rel_err": 0.0}
    assert _agreement(2 * a, a, True) == {"cosine": pytest.approx(1.0), "rel_err": pytest.approx(1.0)}
    assert _agreement(-a, a, False) == {"cosine": pytest.approx(-1.0), "rel_err": pytest.approx(2.0)}
    b = a.clone()
    b[1] *= 1.5  # one member off by 50 %
    assert _agreement(b, a, True)["rel_err"] == pytest.approx(0.5)
    assert _agreement(b, a, False)["rel_err"] < 0.5  # as one tensor the error is diluted


def test_fidelity_of_bf16_against_fp32(blob_data):
    w = chain([64, 64], blob_data.n_features, blob_data.n_classes, blocks={"RI": 16, "SI": 16, "RE": 16, "SE": 16})
    x, y = blob_data.x_train[:64], blob_data.y_train[:64]
    same = fidelity(Network(w, APConfig(precision="fp32"), seed=1), x, y)
    assert same["update_rel_err_max"] == 0.0 and same["update_cosine_min"] == pytest.approx(1.0)
    f = fidelity(Network(w, APConfig(precision="bf16"), seed=1), x, y)
    assert set(f["updates"]) == {"x->L1.RI", "L1.SI->L2.RI", "L2.SI->y"} and set(f["errors"]) == {"L1", "L2"}
    # bf16 products move the step by a fraction of a percent, never by nothing
    assert 1e-5 < f["update_rel_err_max"] < 0.05 and f["update_cosine_min"] > 0.999
    assert all(1e-6 < v["rel_err"] < 0.05 for v in f["errors"].values())
    ens = fidelity(Network(w, APConfig(precision="bf16"), seeds=(1, 2)), x, y)
    assert 1e-5 < ens["update_rel_err_max"] < 0.05


def test_bench_compares_a_fast_precision_with_fp32(blob_data, capsys):
    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    assert "fidelity" not in bench(Network(w, seed=0), blob_data, batch_size=16, steps=1, warmup=1, baselines=False)
    out = bench(Network(w, APConfig(precision="bf16"), seed=0), blob_data, batch_size=16, steps=1, warmup=1,
                baselines=False)
    assert out["fidelity"]["reference"] == "fp32" and 0 < out["fidelity"]["update_rel_err_max"] < 0.05


def test_bench_command_says_how_close_bf16_is_and_where_accuracy_comes_from(capsys):
    from apexplorer.cli import main

    assert main(["bench", "--preset", "digits", "--dataset", "digits", "--device", "cpu", "--batch-size", "32",
                 "--steps", "1", "--no-baselines", "--precision", "bf16", "--epochs", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"bf16 step vs fp32 on one batch: updates agree to cosine 0\.9\d{5}, relative error "
                     r"\d+\.\d\d% at most", out), out
    assert "test accuracy: not measured; add --epochs 3" in out


def test_bench_trains_one_epoch_when_it_fits_the_budget(blob_data):
    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    out = bench(Network(w, seed=0), blob_data, batch_size=16, steps=1, warmup=1, baselines=False,
                epoch_budget_s=1e6)
    assert [e["epoch"] for e in out["epochs"]] == [1] and 0 <= out["test_acc"] <= 1
    out = bench(Network(w, seed=0), blob_data, batch_size=16, steps=1, warmup=1, baselines=False,
                epoch_budget_s=1e-9)
    assert "epochs" not in out and out["epoch_budget_s"] == 1e-9
    # an explicit count is trained whatever the budget
    out = bench(Network(w, seed=0), blob_data, batch_size=16, steps=1, warmup=1, baselines=False, epochs=2,
                epoch_budget_s=1e-9)
    assert len(out["epochs"]) == 2


def test_bench_command_on_cpu_reports_an_epoch_and_its_accuracy_when_it_fits(capsys, monkeypatch):
    from apexplorer.cli import main
    from apexplorer.commands import bench as command

    args = ["bench", "--preset", "digits", "--dataset", "digits", "--device", "cpu", "--batch-size", "32",
            "--steps", "1", "--no-baselines"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"epoch 1: \d+\.\d{3} s, test accuracy \d+\.\d\d%", out), out
    assert "not measured" not in out
    monkeypatch.setattr(command, "CPU_EPOCH_BUDGET_S", 1e-9)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"test accuracy: not measured \(an epoch would take about \d+ s here\); add --epochs 3", out)
    assert "epoch 1:" not in out


def test_bench_command_says_what_an_ensemble_costs_against_one_seed(capsys):
    from apexplorer.cli import main

    assert main(["bench", "--preset", "digits", "--dataset", "digits", "--device", "cpu", "--batch-size", "32",
                 "--steps", "1", "--no-baselines", "--seeds", "2"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.strip().startswith("one seed"))
    assert re.search(r"2 seeds cost \d+\.\d\dx one seed \(each seed \d+\.\d\dx a run alone\)$", line), line


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_reservoir_product_dense_against_sparse(precision):
    w = chain([200], 5, 3, blocks={"RI": 50, "SI": 50, "RE": 50, "SE": 50}, connection_rate=0.1)
    rp = reservoir_products(Network(w, APConfig(precision=precision), seed=0), batch_size=40, rounds=3)
    assert rp["shape"] == [40, 200, 200] and rp["dense_precision"] == precision
    assert rp["density"] == pytest.approx(0.1, abs=1e-4)  # the wiring's connection rate, as drawn
    assert rp["dense_ms"] > 0 and rp["sparse_csr_ms"] > 0 and rp["sparse_vs_dense"] > 0


def test_reservoir_product_refuses_to_time_a_sparse_product_that_differs(monkeypatch):
    w = chain([40], 5, 3, blocks={"RI": 10, "SI": 10, "RE": 10, "SE": 10})
    real = torch.sparse.mm
    monkeypatch.setattr(torch.sparse, "mm", lambda a, b: real(a, b) * 1.01)
    with pytest.raises(ApexplorerError, match="does not match"):
        reservoir_products(Network(w, seed=0), batch_size=8, rounds=1)


def test_bench_command_says_whether_a_sparse_reservoir_would_be_faster(capsys):
    from apexplorer.cli import main

    assert main(["bench", "--preset", "digits", "--dataset", "digits", "--device", "cpu", "--batch-size", "32",
                 "--steps", "1", "--no-baselines"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "reservoir product" in l)
    assert re.search(r"reservoir product 32 x \d+ x \d+ \(\d+% of W nonzero\): dense fp32 \d+\.\d\d ms, sparse CSR "
                     r"\d+\.\d\d ms; sparse is \d+\.\dx (slower, so W stays dense|faster here)", line), line
