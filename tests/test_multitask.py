"""Multi-task configurations: suppressed paths, schedules, recruitment, Appendix 4 cosines."""

from dataclasses import replace

import pytest
import torch

from apexplorer import APConfig, ApexplorerError, Module, Network, Path, Port, Task, TrainConfig, Trainer, Wiring, WiringError
from apexplorer.multitask import simultaneous_cosine
from apexplorer.presets import PRESETS, preset
from tests.conftest import make_blob_data


@pytest.fixture
def two_tasks():
    a = make_blob_data(n_features=12, n_classes=3, seed=1)
    b = make_blob_data(n_features=8, n_classes=2, seed=2)
    return {"A": a, "B": b}


def _trainer(name, data, schedule, epochs=2, size=None, train=None, lr=2e-2, **kw):
    sizes = [d.n_features for d in data.values()], [d.n_classes for d in data.values()]
    w = PRESETS[name](*sizes, size=size or 8)  # fig5a/b/c: blocks of 8
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=lr, device="cpu", **kw)
    return Trainer.create(w, data, APConfig(), cfg, task=train or list(data), schedule=schedule)


def test_sequential_training_leaves_the_first_task_exactly_unchanged(two_tasks):
    tr = _trainer("fig5a", two_tasks, "sequential")
    tr.run()
    s = tr.summary["A"]
    assert s["test_acc_after_A"] == s["test_acc_after_B"]
    assert tr.epoch == 4 and len(tr.history) == 4


def test_suppressed_paths_are_bit_for_bit_unchanged(two_tasks):
    tr = _trainer("fig5b", two_tasks, "alternating", epochs=1)
    only_b = Trainer(tr.net, {"B": two_tasks["B"]}, tr.config, task=["B"])
    before = {k: v.clone() for k, v in tr.net.weights.items()}
    only_b.run()
    a_paths = {"xA->L1.RI", "L1.SI->L2.RI", "L2.SI->yA"}
    for k, v in tr.net.weights.items():
        if k in a_paths:
            assert torch.equal(v, before[k]), k
        else:
            assert not torch.equal(v, before[k]), k


def test_suppressed_paths_carry_no_signal(two_tasks):
    w = PRESETS["fig5b"]([12, 8], [3, 2], size=8)
    net = Network(w, seed=0)
    x, y = two_tasks["B"].x_train[:8], two_tasks["B"].y_train[:8]
    plan = net.plan("B")
    p0 = net.inference({"xB": x}, plan)
    p1 = net.learning(p0, {"yB": y}, plan)
    ups = net.updates(p0, p1, plan)
    net.weights["L1.SI->L2.RI"].mul_(100)  # A's paths: suppressed in B
    net.feedback["yA->L4.RE2"].mul_(100)  # A's error into B's module: suppressed in B
    q0 = net.inference({"xB": x}, plan)
    q1 = net.learning(q0, {"yB": y}, plan)
    assert torch.equal(p0.probs["yB"], q0.probs["yB"])
    for k, v in net.updates(q0, q1, plan).items():
        assert torch.equal(v, ups[k])
    assert set(p0.z) == {"L3", "L4"}


def test_unreached_modules_relax_from_their_initial_state_under_the_error(two_tasks):
    # fig5b task A: L3 and L4 carry A's error but are not in A's inference
    w = PRESETS["fig5b"]([12, 8], [3, 2], size=8)
    net = Network(w, seed=0)
    plan = net.plan("A")
    p0 = net.inference({"xA": two_tasks["A"].x_train[:4]}, plan)
    p1 = net.learning(p0, {"yA": two_tasks["A"].y_train[:4]}, plan)
    assert "L3" not in p0.z and "L4" not in p0.z
    assert float(p1.e["L4"].abs().sum()) > 0 and float(p1.e["L1"].abs().sum()) > 0
    assert torch.equal(p1.e["L4"], -p1.z["L4"])  # z0 is the initial (zero) state


def test_recruited_paths_are_used_but_never_learned(two_tasks):
    tr = _trainer("fig5c", two_tasks, "alternating", epochs=1, train=["A"])
    recruited = ("L1.SI2->L3.RI2", "L3.SI->L4.RI", "L4.SI2->yA")
    before = {k: v.clone() for k, v in tr.net.weights.items()}
    tr.run()
    for k in recruited:
        assert torch.equal(tr.net.weights[k], before[k]), k
    for k in ("xA->L1.RI", "L1.SI->L2.RI", "L2.SI->yA"):
        assert not torch.equal(tr.net.weights[k], before[k]), k
    assert [m for m, _ in tr.net.plan("A").inference] == ["L1", "L2", "L3", "L4"]
    assert {name for name, _ in tr.net.plan("A").readout["yA"]} == {"L2.SI->yA", "L4.SI2->yA"}


def test_the_learned_variant_of_fig5c_learns_its_recruited_paths(two_tasks):
    tr = _trainer("fig5c-learned", two_tasks, "alternating", epochs=1, train=["A"], size=32)
    frozen = tr.net.weights["L3.SI->L4.RI"].clone()
    recruited = tr.net.weights["L1.SI->L3.RI"].clone()
    tr.run()
    assert torch.equal(tr.net.weights["L3.SI->L4.RI"], frozen)
    assert not torch.equal(tr.net.weights["L1.SI->L3.RI"], recruited)


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_both_tasks_learn_together(two_tasks, schedule):
    tr = _trainer("fig5b", two_tasks, schedule, epochs=6, size=16, lr=5e-2)
    hist = tr.run()
    first, last = hist[0]["tasks"], hist[-1]["tasks"]
    assert last["A"]["test_acc"] > 0.7 and last["B"]["test_acc"] > 0.9, last
    assert last["A"]["loss"] < first["A"]["loss"] and last["B"]["loss"] < first["B"]["loss"]


def test_simultaneous_drives_superpose_on_shared_modules(two_tasks):
    w = PRESETS["fig5c"]([12, 8], [3, 2], size=8)
    net = Network(w, seed=0)
    xa, xb = two_tasks["A"].x_train[:4], two_tasks["B"].x_train[:4]
    both = net.inference({"xA": xa, "xB": xb}, net.plan(["A", "B"]))
    a = net.inference({"xA": xa}, net.plan("A"))
    b = net.inference({"xB": xb}, net.plan("B"))
    # L3 receives xB directly and L1's output via the recruited path: drives add up
    torch.testing.assert_close(both.u["L3"], a.u["L3"] + b.u["L3"])


def test_simultaneous_tasks_need_their_own_ports(two_tasks):
    mods = [Module("L1", 16)]
    ff = [Path("x", "L1.RI"), Path("L1.SI", "y")]
    fb = [Path("y", "L1.RE")]
    w = Wiring.create(mods, [Port("x", 12)], [Port("y", 3)], ff, fb, [Task("A", "x", "y"), Task("B", "x", "y")])
    with pytest.raises(ApexplorerError, match="share an input port"):
        Trainer.create(w, {"A": two_tasks["A"], "B": two_tasks["A"]}, APConfig(), TrainConfig(device="cpu"),
                       task=["A", "B"], schedule="simultaneous")


def test_task_whose_paths_do_not_connect_is_an_error():
    w = preset("fig5b", [12, 8], [3, 2])
    d = w.to_dict()
    d["tasks"][0]["paths"] = ["xA->L1.RI", "L2.SI->yA", "yA->L2.RE"]
    with pytest.raises(WiringError, match="cannot be reached from input 'xA'"):
        Wiring.from_dict(d)


def test_appendix4_cosines_are_one_where_only_one_task_reaches(two_tasks):
    w = PRESETS["fig5b"]([12, 8], [3, 2], size=8)
    net = Network(w, seed=0)
    batches = {"A": (two_tasks["A"].x_train[:16], two_tasks["A"].y_train[:16]),
               "B": (two_tasks["B"].x_train[:16], two_tasks["B"].y_train[:16])}
    cos = simultaneous_cosine(net, "A", batches)
    assert cos["error"]["L2"] == pytest.approx(1.0) and cos["error"]["yA"] == pytest.approx(1.0)
    assert cos["update"]["L2.SI->yA"] == pytest.approx(1.0)
    assert cos["error"]["L3"] < 1.0  # L3 also carries B's error and inference
    for v in list(cos["error"].values()) + list(cos["update"].values()):
        assert -1.0 <= v <= 1.0 + 1e-6


def test_checkpoint_of_a_multitask_run_resumes_exactly(tmp_path, two_tasks):
    straight = _trainer("fig5b", two_tasks, "simultaneous", epochs=2)
    straight.run()
    part = _trainer("fig5b", two_tasks, "simultaneous", epochs=2)
    part.run(epochs=1)
    for _ in range(3):
        part.step()
    part.save(tmp_path / "mt.pt")
    resumed = Trainer.load(tmp_path / "mt.pt", two_tasks)
    resumed.run()
    for k in straight.net.weights:
        assert torch.equal(straight.net.weights[k], resumed.net.weights[k]), k


def test_simultaneous_tasks_of_different_sizes_pair_every_sample():
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=300),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}
    tr = _trainer("fig5b", data, "simultaneous", epochs=1)
    events = [e for e in tr.train() if e.kind == "batch"]
    assert len(events) == tr.segments()[0][1] == 15  # the larger dataset sets the epoch
    assert tr.stats.n["A"] == tr.stats.n["B"] == 240  # B's 80 samples cycle to pair with all of A's


def test_an_ensemble_pairs_each_members_own_samples_across_simultaneous_tasks():
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=300),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}
    sizes = [d.n_features for d in data.values()], [d.n_classes for d in data.values()]
    w = PRESETS["fig5b"](*sizes, size=8)
    cfg = TrainConfig(epochs=1, batch_size=16, lr=2e-2, device="cpu", seed=4)
    ens = Trainer.create(w, data, APConfig(), cfg, task=list(data), schedule="simultaneous", seeds=(4, 5))
    ens.run()
    assert ens.stats.n["A"] == ens.stats.n["B"] == 240
    # each member is its seed's run alone: float noise (batched products) grows to ~5e-4 over the epoch,
    # while one wrong pairing or order moves weights by ~lr = 2e-2 at once
    for k, sd in enumerate((4, 5)):
        solo = Trainer.create(w, data, APConfig(), replace(cfg, seed=sd), task=list(data), schedule="simultaneous")
        solo.run()
        for name, wt in solo.net.weights.items():
            torch.testing.assert_close(ens.net.weights[name][k], wt, rtol=0, atol=2e-3)
