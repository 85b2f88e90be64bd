"""Multi-task configurations: suppressed paths, schedules, recruitment, Appendix 4 cosines."""

from dataclasses import replace

import pytest
import torch

from apexplorer import APConfig, ApexplorerError, Module, Network, Path, Port, Task, TrainConfig, Trainer, Wiring, WiringError
from apexplorer.multitask import simultaneous_cosine
from apexplorer.presets import PRESETS, preset
from tests.conftest import make_blob_data
from tests.single_thread import one_thread  # noqa: F401 - autouse


@pytest.fixture
def two_tasks():
    a = make_blob_data(n_features=12, n_classes=3, seed=1)
    b = make_blob_data(n_features=8, n_classes=2, seed=2)
    return {"A": a, "B": b}


def _fig5(name, data, size=8):
    """The Fig. 5 wiring ``name`` sized for the tasks of ``data`` (fig5a/b/c: blocks of 8)."""
    return PRESETS[name]([d.n_features for d in data.values()], [d.n_classes for d in data.values()], size=size)


def _recording(tr):
    """Wrap the trainer's learner so that each step's tasks and batch sizes are kept, in order."""
    seen = []
    step = tr.learner.train_batch

    def train_batch(batch, tasks):
        seen.append((tr.epoch, {t.name: int(batch[t.name][1].shape[-1]) for t in tasks}))
        return step(batch, tasks)

    tr.learner.train_batch = train_batch
    return seen


def test_sequential_training_trains_a_then_b_and_leaves_a_exactly_unchanged(two_tasks, make_trainer):
    """A in epochs 0..E-1, then B in E..2E-1; A must have learned in stage 1 (that A is unchanged by stage B
    also holds if A never trained)."""
    tr = make_trainer(two_tasks, _fig5("fig5a", two_tasks, 16), schedule="sequential", lr=5e-2, epochs=2)
    assert [[t.name for t in tasks] for e in range(4) for tasks, _ in tr.segments(e)] == [["A"], ["A"], ["B"], ["B"]]
    seen = _recording(tr)
    hist = tr.run()
    assert [sorted({n for e, s in seen if e == k for n in s}) for k in range(4)] == [["A"], ["A"], ["B"], ["B"]]
    assert [sorted(h["tasks"]) for h in hist] == [["A", "B"]] * 4
    s = tr.summary["A"]
    assert s["test_acc_after_A"] == s["test_acc_after_B"]
    assert s["test_acc_after_A"] > 0.5  # 3 classes: chance is 1/3
    assert tr.summary["B"]["test_acc_after_B"] > 0.75  # 2 classes
    assert tr.epoch == 4 and len(tr.history) == 4


def test_suppressed_paths_are_bit_for_bit_unchanged(two_tasks, make_trainer):
    tr = make_trainer(two_tasks, _fig5("fig5b", two_tasks), schedule="alternating", epochs=1)
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


def test_recruited_paths_are_used_but_never_learned(two_tasks, make_trainer):
    tr = make_trainer(two_tasks, _fig5("fig5c", two_tasks), schedule="alternating", epochs=1, task=["A"])
    recruited = ("L1.SI2->L3.RI2", "L3.SI->L4.RI", "L4.SI2->yA")
    before = {k: v.clone() for k, v in tr.net.weights.items()}
    tr.run()
    for k in recruited:
        assert torch.equal(tr.net.weights[k], before[k]), k
    for k in ("xA->L1.RI", "L1.SI->L2.RI", "L2.SI->yA"):
        assert not torch.equal(tr.net.weights[k], before[k]), k
    assert [m for m, _ in tr.net.plan("A").inference] == ["L1", "L2", "L3", "L4"]
    assert {name for name, _ in tr.net.plan("A").readout["yA"]} == {"L2.SI->yA", "L4.SI2->yA"}


def test_the_learned_variant_of_fig5c_learns_its_recruited_paths(two_tasks, make_trainer):
    tr = make_trainer(two_tasks, _fig5("fig5c-learned", two_tasks, 32), schedule="alternating", epochs=1, task=["A"])
    frozen = tr.net.weights["L3.SI->L4.RI"].clone()
    recruited = tr.net.weights["L1.SI->L3.RI"].clone()
    tr.run()
    assert torch.equal(tr.net.weights["L3.SI->L4.RI"], frozen)
    assert not torch.equal(tr.net.weights["L1.SI->L3.RI"], recruited)


@pytest.mark.parametrize("schedule", ["alternating", "simultaneous"])
def test_both_tasks_learn_together(two_tasks, schedule, make_trainer):
    tr = make_trainer(two_tasks, _fig5("fig5b", two_tasks, 16), schedule=schedule, epochs=6, lr=5e-2)
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


def test_checkpoint_of_a_multitask_run_resumes_exactly(tmp_path, two_tasks, make_trainer):
    straight = make_trainer(two_tasks, _fig5("fig5b", two_tasks), schedule="simultaneous", epochs=2)
    straight.run()
    part = make_trainer(two_tasks, _fig5("fig5b", two_tasks), schedule="simultaneous", epochs=2)
    part.run(epochs=1)
    for _ in range(3):
        part.step()
    part.save(tmp_path / "mt.pt")
    resumed = Trainer.load(tmp_path / "mt.pt", two_tasks)
    resumed.run()
    for k in straight.net.weights:
        assert torch.equal(straight.net.weights[k], resumed.net.weights[k]), k


def test_simultaneous_tasks_of_different_sizes_pair_every_sample(make_trainer):
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=300),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}
    tr = make_trainer(data, _fig5("fig5b", data), schedule="simultaneous", epochs=1)
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


# ---------------------------------------------------------------------------
# schedules and suppression, checked where their defaults would hide a mistake
# ---------------------------------------------------------------------------
def test_simultaneous_smaller_task_wraps_its_last_batch_into_a_new_pass(make_trainer):
    """80 samples of B in batches of 24 (not a divisor): B's fourth batch takes its last 8 and 16 of a new
    order, so every batch pairs A's 24 samples with 24 of B."""
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=150),  # 120 training samples: 5 batches
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}  # 80
    tr = make_trainer(data, _fig5("fig5b", data), schedule="simultaneous", epochs=1, batch_size=24)
    seen = _recording(tr)
    taken = []
    take = tr.streams.take
    tr.streams.take = lambda names, bs: taken.append(take(names, bs)) or taken[-1]
    tr.run()
    assert [s for _, s in seen] == [{"A": 24, "B": 24}] * 5
    assert tr.stats.n["A"] == tr.stats.n["B"] == 120
    b = torch.cat([t["B"] for t in taken])
    assert sorted(b[:80].tolist()) == list(range(80))  # the first pass takes each of B's samples once
    assert len(set(b[80:].tolist())) == 40  # then a new pass, no sample twice in it


def _two_routes():
    """x -> L1 -> y directly (task "short") or also through L2 (task "long", every path)."""
    blocks = {"RI": 2, "SI": 2, "RE": 2, "SE": 2}
    mods = [Module("L1", 8, blocks, 0.5, 0.5), Module("L2", 8, blocks, 0.5, 0.5)]
    ff = [Path("x", "L1.RI"), Path("L1.SI", "y"), Path("L1.SI", "L2.RI"), Path("L2.SI", "y")]
    fb = [Path("y", "L1.RE"), Path("y", "L2.RE"), Path("L2.SE", "L1.RE")]
    tasks = [Task("short", "x", "y", ("x->L1.RI", "L1.SI->y", "y->L1.RE")), Task("long", "x", "y")]
    return Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb, tasks)


def test_suppressed_paths_get_no_update_carry_nothing_and_keep_their_weights(tiny_data):
    """Checked by value (not by a WiringWarning): in task "short", L2's paths get exactly no update, scaling
    them changes nothing, and training the task leaves their weights bit for bit; task "long" does use them."""
    import warnings

    from apexplorer.errors import WiringWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WiringWarning)
        w = _two_routes()
    suppressed_ff = ("L1.SI->L2.RI", "L2.SI->y")
    x, y = tiny_data.x_train[:16], tiny_data.y_train[:16]
    net = Network(w, seed=0)
    for k in net.weights:
        net.weights[k].mul_(4)
    short, long = net.plan("short"), net.plan("long")
    p0 = net.inference(x, short)
    p1 = net.learning(p0, y, short)
    ups = net.updates(p0, p1, short)
    for k in suppressed_ff:
        assert k not in ups or torch.count_nonzero(ups[k]) == 0, k
    assert set(p0.z) == {"L1"} and set(p1.e) == {"L1"}
    full = net.updates(net.inference(x, long), net.learning(net.inference(x, long), y, long), long)
    for k in suppressed_ff:  # the long task does use them: a plan ignoring suppression would show
        assert float(full[k].abs().max()) > 1e-6, k
    before = {g: {k: v.clone() for k, v in net.tensors[g].items()} for g in ("weights", "feedback")}
    for k in suppressed_ff:
        net.weights[k].mul_(100)
    for k in ("y->L2.RE", "L2.SE->L1.RE"):
        net.feedback[k].mul_(100)
    q0 = net.inference(x, short)
    q1 = net.learning(q0, y, short)
    assert torch.equal(q0.probs["y"], p0.probs["y"]) and torch.equal(q1.e["L1"], p1.e["L1"])
    for k, v in net.updates(q0, q1, short).items():
        assert torch.equal(v, ups[k]), k
    net.tensors["weights"] = {k: v.clone() for k, v in before["weights"].items()}
    net.tensors["feedback"] = {k: v.clone() for k, v in before["feedback"].items()}
    tr = Trainer(net, {"short": tiny_data}, TrainConfig(epochs=1, batch_size=16, lr=5e-2, device="cpu"),
                 task=["short"])
    tr.run()
    for k, v in net.weights.items():
        assert torch.equal(v, before["weights"][k]) == (k in suppressed_ff), k


@pytest.mark.parametrize("mode", ["ste", "epe"])
@pytest.mark.parametrize("bias", [0.0, 0.4], ids=["zero-bias", "bias"])
def test_a_module_inference_never_reaches_relaxes_under_minus_beta_times_its_error(two_tasks, mode, bias):
    """fig5b task A: A's output error enters L4 (yA -> L4.RE2), which A's inference never reaches; L4's error
    goes on to L3 and then into L1, whose error teaches A's learned path xA -> L1.RI.  Each module's
    learning-phase state is relax(W, b - beta e G) written out here: a sign flipped in the unreached modules
    alone cancels over L4 and L3 when the biases are zero, so the states are compared one by one."""
    from apexplorer import relax

    w = PRESETS["fig5b"]([12, 8], [3, 2], size=4)
    beta = 0.8
    net = Network(w, APConfig(t1=5, t2=4, beta=beta, mode=mode), seed=2)
    g = torch.Generator().manual_seed(0)
    for m, b in net.tensors["biases"].items():
        b.copy_((torch.rand(b.shape, generator=g) * 2 - 1) * bias)
    for k in net.weights:
        net.weights[k].mul_(4)
    x, y = two_tasks["A"].x_train[:6], two_tasks["A"].y_train[:6]
    plan = net.plan("A")
    p0 = net.inference({"xA": x}, plan)
    p1 = net.learning(p0, {"yA": y}, plan)
    T, sl = net.tensors, lambda ref: w.endpoint(ref).slice

    def drive(base, into, err, G):
        u = base.clone()
        u[:, sl(into)] += -beta * err @ T["feedback"][G]
        return u

    def state(m, u, z0):
        return relax(T["reservoirs"][m], u, 4, None if mode == "ste" else z0)

    zero = torch.zeros(6, 24)
    e_out = p0.probs["yA"] - torch.nn.functional.one_hot(y, 3).float()
    z4 = state("L4", drive(T["biases"]["L4"].expand(6, 24), "L4.RE2", e_out, "yA->L4.RE2"), zero)
    torch.testing.assert_close(p1.z["L4"], z4)
    e4 = zero - z4
    z3 = state("L3", drive(T["biases"]["L3"].expand(6, 24), "L3.RE", e4[:, sl("L4.SE")], "L4.SE->L3.RE"), zero)
    torch.testing.assert_close(p1.z["L3"], z3)
    e3 = zero - z3
    z1 = state("L1", drive(p0.u["L1"], "L1.RE", e3[:, sl("L3.SE")], "L3.SE->L1.RE"), p0.z["L1"])
    torch.testing.assert_close(p1.z["L1"], z1)
    e1 = p0.z["L1"] - z1
    assert float(e1[:, sl("L1.RI")].abs().max()) > 1e-4
    torch.testing.assert_close(net.updates(p0, p1, plan)["xA->L1.RI"], x.t() @ e1[:, sl("L1.RI")] / 6)


def test_alternating_tasks_of_different_sizes_take_their_own_batch_sizes(make_trainer):
    """Every test above gives the tasks one batch size; here A (120 samples) takes 24 and B (80) takes 30:
    each task's pass has its own number of batches, a short last one, and each sample once."""
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=150),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}
    tr = make_trainer(data, _fig5("fig5b", data), schedule="alternating", epochs=1, batch_sizes={"A": 24, "B": 30})
    assert [([t.name for t in ts], n) for ts, n in tr.segments()] == [(["A"], 5), (["B"], 3)]
    seen = _recording(tr)
    taken = []
    take = tr.streams.take
    tr.streams.take = lambda names, bs: taken.append(take(names, bs)) or taken[-1]
    hist = tr.run()
    assert [s for _, s in seen] == [{"A": 24}] * 5 + [{"B": 30}, {"B": 30}, {"B": 20}]
    for name, n in (("A", 120), ("B", 80)):
        assert sorted(torch.cat([t[name] for t in taken if name in t]).tolist()) == list(range(n))
    assert tr.stats.n == {"A": 120, "B": 80} and set(hist[0]["tasks"]) == {"A", "B"}


def test_a_sequential_run_with_its_own_batch_sizes_resumes_exactly(tmp_path, make_trainer):
    """Stopped in stage B, mid-epoch: the resumed run ends with the same weights, stage summary and history
    (the checkpoint keeps the per-task batch sizes, the stage results of A and the position in B)."""
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=150),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=100)}

    def trainer():
        return make_trainer(data, _fig5("fig5a", data), schedule="sequential", epochs=1,
                            batch_sizes={"A": 24, "B": 30})

    straight = trainer()
    straight.run()
    part = trainer()
    part.run(epochs=1)
    part.step()
    part.save(tmp_path / "seq.pt")
    resumed = Trainer.load(tmp_path / "seq.pt", data)
    assert resumed.batch_sizes == {"A": 24, "B": 30} and resumed.summary == part.summary != {}
    resumed.run()
    for k in straight.net.weights:
        assert torch.equal(straight.net.weights[k], resumed.net.weights[k]), k
    assert resumed.summary == straight.summary and set(straight.summary["A"]) == {"test_acc_after_A",
                                                                                  "test_acc_after_B"}
    assert [h["tasks"] for h in resumed.history] == [h["tasks"] for h in straight.history]


def test_the_schedules_of_three_tasks():
    """Every preset has two tasks; with three, a schedule that only tells "first" from "the rest" shows."""
    from apexplorer.schedule import segments

    tasks = ["A", "B", "C"]
    assert [segments(tasks, "sequential", e, 2) for e in range(7)] == \
        [[("A",)], [("A",)], [("B",)], [("B",)], [("C",)], [("C",)], [("C",)]]
    assert segments(tasks, "alternating", 3, 2) == [("A",), ("B",), ("C",)]
    assert segments(tasks, "simultaneous", 0, 2) == [("A", "B", "C")]
    assert segments(["C", "A"], "sequential", 1, 1) == [("A",)]  # the order given, not sorted
    assert segments(["A"], "sequential", 5, 2) == [("A",)]
