"""Issue 25: the set-ups that follow the authors' code (f', the reservoir draw, fresh 2AFC samples, Fig. 5's
separate networks) and the claims' kinds and statistical tests."""

import numpy as np
import pandas as pd
import pytest
import torch

from apexplorer import APConfig, Network
from apexplorer.experiment import Experiment, ExperimentError
from apexplorer.reservoirs import _draw_reservoir


def _hand_ap_fprime(net, x, y, mode, t1, t2):
    """The two-module AP update with the local errors times f'(z0) = 1 - z0^2, in float64 numpy."""
    T = {k: {n: t.double().numpy() for n, t in d.items()} for k, d in net.tensors.items()}
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
            h = np.tanh(h @ W + u)
        return h

    u1 = np.zeros((B, m1.size)); u1[:, RI] = x @ A_in
    z1 = run(W1, u1, np.zeros((B, m1.size)), t1)
    u2 = np.zeros((B, m2.size)); u2[:, RI] = z1[:, SI] @ A_12
    z2 = run(W2, u2, np.zeros((B, m2.size)), t1)
    logits = z2[:, SI] @ A_out + c
    o = np.exp(logits - logits.max(1, keepdims=True)); o /= o.sum(1, keepdims=True)
    e_out = o - np.eye(o.shape[1])[y.numpy()]
    v2 = u2.copy(); v2[:, RE] += -e_out @ G_out
    e2 = z2 - run(W2, v2, np.zeros_like(z2) if mode == "ste" else z2, t2)
    v1 = u1.copy(); v1[:, RE] += -e2[:, SE] @ G_21  # the error sent on is e, not e f'
    e1 = z1 - run(W1, v1, np.zeros_like(z1) if mode == "ste" else z1, t2)
    d1, d2 = 1 - z1 ** 2, 1 - z2 ** 2
    return {"x->L1.RI": x.T @ (e1 * d1)[:, RI] / B,
            "L1.SI->L2.RI": z1[:, SI].T @ (e2 * d2)[:, RI] / B,
            "L2.SI->y": z2[:, SI].T @ e_out / B}


@pytest.mark.parametrize("mode", ["ste", "epe"])
def test_f_prime_multiplies_the_local_error_as_a_float64_loop(tiny_wiring, mode):
    net = Network(tiny_wiring, APConfig(t1=6, t2=4, mode=mode, f_prime=True), seed=3)
    net.tensors = {k: {n: t.double() for n, t in d.items()} for k, d in net.tensors.items()}
    for k in net.weights:
        net.weights[k].mul_(4)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    p0 = net.inference(x)
    got = net.updates(p0, net.learning(p0, y))
    want = _hand_ap_fprime(net, x, y, mode, 6, 4)
    plain = Network(tiny_wiring, APConfig(t1=6, t2=4, mode=mode), seed=3, tensors=net.tensors)
    q0 = plain.inference(x)
    without = plain.updates(q0, plain.learning(q0, y))
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k], rtol=1e-10, atol=1e-14, err_msg=k)
    # f' changes the modules' updates (not the readout's)
    assert not np.allclose(without["x->L1.RI"].numpy(), want["x->L1.RI"], rtol=1e-3)
    np.testing.assert_allclose(without["L2.SI->y"].numpy(), want["L2.SI->y"], rtol=1e-10)


def test_f_prime_is_an_experiment_key_and_off_by_default():
    exp = Experiment.from_preset("digits")
    assert exp.ap.config().f_prime is False
    on = exp.with_changes({"ap.f_prime": True})
    assert on.ap.config().f_prime is True and on.to_dict()["ap"]["f_prime"] is True
    with pytest.raises(ExperimentError, match="f_prime"):
        exp.with_changes({"ap.f_prime": "yes please"})


def test_the_authors_reservoir_draw_has_their_density():
    g = torch.Generator().manual_seed(0)
    for c, want in ((0.25, 1 - np.exp(-0.25)), (1.0, 1 - np.exp(-1.0))):
        W = _draw_reservoir(1024, c, g, "authors")
        density = (W != 0).double().mean().item()
        assert abs(density - want) < 0.005
    assert abs((_draw_reservoir(1024, 0.25, g, "authors") != 0).double().mean().item() - 0.22) <= 0.01
    assert (_draw_reservoir(1024, 0.25, g, "exact") != 0).double().mean().item() == pytest.approx(0.25, abs=1e-6)


def test_the_reservoir_draw_is_an_init_option_with_a_clear_error():
    exp = Experiment.from_preset("digits").with_changes({"init.reservoir": "authors"})
    assert exp.init.config().reservoir == "authors"
    with pytest.raises(ExperimentError, match="init.reservoir.*exact.*authors"):
        exp.with_changes({"init.reservoir": "bogus"})
    # an experiment that does not set it keeps its id
    from apexplorer.sweep.grid import point_id

    base = Experiment.from_preset("digits")
    assert "init.reservoir" not in base.flat() and "ap.f_prime" not in base.flat()
    assert point_id(base) != point_id(exp)


def test_the_papers_experiment_files_use_the_authors_reservoir_draw():
    from apexplorer.paper.plan import points
    from apexplorer.paper.registry import results

    for r in results():
        for scale in ("paper", "quick"):
            for p in points(r, scale):
                if p.experiment.method.name == "ap":
                    assert p.experiment.init.reservoir == "authors", (r.id, p.label())
                if r.id == "app2":  # Appendix 2 trains on fresh samples, as the notebook
                    assert p.experiment.tasks["main"].fresh is True


def test_fresh_2afc_draws_new_images_every_epoch_from_the_runs_seed():
    from apexplorer.build import build

    exp = Experiment.from_dict({"wiring": {"preset": "2afc", "options": {"size": 16}},
                                "tasks": {"main": {"dataset": "2afc", "noise": 1.0, "fresh": True}},
                                "train": {"epochs": 2, "batch_size": 100, "seed": 4}})
    seen = []
    for _ in range(2):
        t = build(exp)
        xs = []
        for ev in t.train(batch_events=False):
            if ev.__class__.__name__ == "EpochEvent":
                xs.append((t._x["main"][0].clone(), t._x["main"][2].clone()))
        seen.append(xs)
    (a0, a1), (b0, b1) = seen
    assert not torch.equal(a0[0], a1[0]) and not torch.equal(a0[1], a1[1])  # new train and test images
    assert torch.equal(a0[0], b0[0]) and torch.equal(a1[1], b1[1])  # reproducible from the seed
    with pytest.raises(ExperimentError, match="fresh"):
        Experiment.from_dict({"tasks": {"main": {"dataset": "digits", "fresh": True}}})


@pytest.mark.parametrize("name,identity", [("fig5a", True), ("fig5b", True), ("fig5c", False)])
def test_the_old_alone_comparison_of_fig5_was_an_identity(name, identity):
    """Randomising one task's own learnable weights leaves the other task's outputs and updates exactly as they
    were in 5a and 5b (they share no learnable weight, and no activity when one trains): 'A alone' on that wiring
    is the same computation. Not so in 5c, where A recruits B's modules."""
    from apexplorer.init import Init
    from apexplorer.presets import preset

    w = preset(name, [20, 12], [4, 3], size=16 if name == "fig5a" else 24)
    net = Network(w, APConfig(mode="epe"), seed=0, init=Init("gaussian"))
    worst = 0.0
    for t in w.tasks:
        other = next(o for o in w.tasks if o.name != t.name)
        g = torch.Generator().manual_seed(0)
        x = torch.rand(5, w.endpoint(t.input).size, generator=g)
        y = torch.randint(0, w.endpoint(t.output).size, (5,), generator=g)

        def run():
            plan = net.plan(t)
            p0 = net.inference({t.input: x}, plan)
            u = net.updates(p0, net.learning(p0, {t.output: y}, plan), plan)
            return p0.probs[t.output].clone(), {k: v.clone() for k, v in u.items()}

        before = run()
        mine = {n for n, *_ in net.plan(t).learn}
        theirs = [n for n, *_ in net.plan(other).learn if n not in mine]
        assert theirs
        saved = {n: net.weights[n].clone() for n in theirs}
        for n in theirs:
            net.weights[n].normal_(generator=g)
        after = run()
        for n in theirs:
            net.weights[n].copy_(saved[n])
        worst = max([worst, (before[0] - after[0]).abs().max().item()]
                    + [(before[1][k] - after[1][k]).abs().max().item() for k in before[1]])
    assert (worst == 0.0) == identity, worst


def test_a_task_alone_on_a_multitask_wiring_is_drawn_as_when_both_train():
    from apexplorer.build import build

    base = {"wiring": {"preset": "fig5b", "options": {"size": 8}}, "init": {"scheme": "gaussian"},
            "train": {"epochs": 1, "seed": 2}}  # built, not trained
    both = build(Experiment.from_dict({**base, "tasks": {"B": "2afc", "A": "digits"}}))
    alone = build(Experiment.from_dict({**base, "tasks": {"A": "digits", "B": {"dataset": "2afc", "train": False}}}))
    unsized = build(Experiment.from_dict({**base, "tasks": {"A": "digits"}}))
    assert [t.name for t in alone.tasks] == ["A"]
    for group, d in both.net.tensors.items():
        for n, t in d.items():
            assert torch.equal(t, alone.net.tensors[group][n]), (group, n)
    # without B's data its ports take A's sizes: another draw
    assert not all(torch.equal(t, unsized.net.tensors[g].get(n, torch.empty(0)))
                   for g, d in both.net.tensors.items() for n, t in d.items())
    with pytest.raises(ExperimentError, match="train = false"):
        Experiment.from_dict({**base, "tasks": {"A": {"dataset": "digits", "train": False}}})


TREND = """
id = "mini"
title = "a tiny result"
figure = "Fig. 0"
notes = "made up"
[base]
[base.wiring]
preset = "digits"
[base.tasks]
main = "digits"
[[groups]]
label = "AP"
grid = { sr = [0.1, 0.5, 2.0] }
[scales.paper]
seeds = 3
why = "all"
[scales.quick]
seeds = 3
why = "less"
[[claims]]
what = "more is better"
kind = "paper"
check = "trend"
where = { group = "AP" }
axis = "sr"
metric = "best_test_acc"
direction = "increasing"
tol = 0.005
source = "made up"
[[claims]]
what = "0.5 as good as 2 (3 points of slack)"
kind = "construction"
check = "not_below"
a = { sr = 0.5 }
b = { sr = 2.0 }
metric = "best_test_acc"
tol = 0.03
source = "made up"
"""


def _mini(per_point):
    from apexplorer.paper.measure import PointData, ResultData
    from apexplorer.paper.plan import points
    from apexplorer.paper.registry import load_text

    r = load_text(TREND)
    pts = points(r, "quick")
    rows = lambda p, accs: [{"point": p.id, "seed": s, "epoch": 1, "test_acc": a, "status": "completed",  # noqa
                             "seconds": 1.0} for s, a in enumerate(accs)]
    data = [PointData.from_rows(p, rows(p, per_point[p.axes["ap.spectral_radius"]]), (0, 1, 2)) for p in pts]
    return ResultData(r, "quick", (0, 1, 2), data)


def test_a_trend_inside_the_seed_noise_is_not_resolved():
    """Fig. 4f's 'more neurons do better (without roles)': 82.92 ± 0.45, 82.83 ± 0.77, 83.15 ± 0.30 over 3 seeds
    used to pass as a trend. Its means do go up overall; Welch's t does not resolve it."""
    from apexplorer.paper.checks import run_check

    noisy = _mini({0.1: [0.8247, 0.8292, 0.8337], 0.5: [0.8206, 0.8283, 0.8360], 2.0: [0.8285, 0.8315, 0.8345]})
    got = run_check(noisy.result.claims[0], noisy)
    assert got["estimate"] is True  # what 'holds' said before
    assert got["holds"] is None and got["verdict"] == "not resolved at this scale (n = 3)"
    assert "Welch's t over seeds" in got["test"] and got["kind"] == "paper"
    clear = _mini({0.1: [0.80, 0.81, 0.805], 0.5: [0.83, 0.835, 0.832], 2.0: [0.86, 0.865, 0.862]})
    assert run_check(clear.result.claims[0], clear)["verdict"] == "holds"
    down = _mini({0.1: [0.86, 0.865, 0.862], 0.5: [0.83, 0.835, 0.832], 2.0: [0.80, 0.81, 0.805]})
    assert run_check(down.result.claims[0], down)["verdict"] == "fails"


def test_not_below_says_what_its_slack_can_detect_and_only_paper_claims_count():
    from apexplorer.paper.checks import run_check
    from apexplorer.paper.report import summary, tally

    d = _mini({0.1: [0.80, 0.81, 0.805], 0.5: [0.83, 0.835, 0.832], 2.0: [0.845, 0.85, 0.848]})
    got = run_check(d.result.claims[1], d)
    assert got["verdict"] == "holds" and "only a shortfall of more than 3.00 points" in got["test"]
    claims = [run_check(c, d) for c in d.result.claims]
    t = tally(claims)
    assert (t["paper"], t["holds"], t["other"]) == (1, 1, 1)
    text = summary({"scale": "quick", "machine": {"cpus": 2, "torch": "x"}, "results": [
        {"id": "mini", "figure": "Fig. 0", "points": [], "runtime_s": 0, "timing": [], "values": [], "claims": claims}]})
    assert "| the paper's claims | hold | fail | not resolved |" in text
    assert "Of the paper's 1 claims checked here: **1 hold, 0 fail, 0 are not resolved" in text
    assert "0.5 as good as 2" not in text  # a construction claim is not in the paper's table


def test_every_claim_of_every_result_file_names_its_kind():
    import tomllib
    from importlib import resources

    folder = resources.files("apexplorer.paper") / "results"
    kinds = {}
    for f in folder.iterdir():
        if f.name.endswith(".toml"):
            for c in tomllib.loads(f.read_text()).get("claims", []):
                assert c.get("kind") in ("paper", "construction", "ours"), (f.name, c["what"])
                kinds.setdefault(c["kind"], []).append((f.name[:-5], c["what"]))
    ours = [w for _, w in kinds["ours"]]
    assert any("(ours, to explain a gap)" in w for w in ours)
    constr = {r for r, _ in kinds["construction"]}
    assert {"app3", "app4", "fig2ab", "fig5d", "fig5e", "fig5f"} <= constr
    # the five checks that were identities now compare with a separate network
    sep = [w for r, w in kinds["paper"] if "separate network" in w]
    assert len(sep) == 10


def test_a_bad_kind_names_the_kinds():
    from apexplorer.paper.errors import PaperError
    from apexplorer.paper.registry import load_text

    with pytest.raises(PaperError, match="kind = 'maybe' is not a kind of claim; kinds are"):
        load_text(TREND.replace('kind = "paper"', 'kind = "maybe"'))


def test_the_new_results_run_at_a_tiny_scale_and_draw_their_figures(tmp_path, capsys):
    """fig2d, fig3be, app1, app3-grid and sgd-batch1: listed, trained (or measured), checked, drawn."""
    from tests.test_reproduce import TINY, tiny

    from apexplorer.cli import main
    from apexplorer.paper.run import reproduce

    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    for rid in ("fig2d", "fig3be", "app1", "app3-grid", "sgd-batch1"):
        assert rid in listed
    chosen = [
        tiny("fig2d", analysis={"states": {"size": 32, "steps": 20, "seeds": 2}}),
        tiny("fig3be", analysis={"phase_pca": {"epochs": 1, "train_size": 200, "test_size": 50, "samples": 10,
                                               "end_steps": 20, "seeds": 2, "inject": [1, 4]}}),
        tiny("app1"),
        tiny("sgd-batch1", set_={**TINY, "train.batch_size": 1, "tasks.main.train_size": 100}),
        tiny("app3-grid", set_={**TINY, "train.epochs": 1}, grid={"beta": (0.1, 1.0), "sr": (0.5,)}),
    ]
    data = reproduce(chosen, "quick", None, tmp_path)
    for block in data["results"]:
        assert (tmp_path / "figures" / f"{block['id']}.png").is_file(), block["id"]
        for c in block["claims"]:
            assert c["verdict"] != "not run", (block["id"], c)
            assert c["kind"] in ("paper", "construction", "ours")
    by = {b["id"]: b for b in data["results"]}
    rows = by["fig2d"]["analyses"]["states"]["rows"]
    assert {r["sr"] for r in rows} == {0.1, 0.5, 1.0, 1.5, 2.0}
    assert by["app1"]["claims"][0]["check"] == "close" and "two one-sided tests" in by["app1"]["claims"][0]["test"]
    assert len(by["app3-grid"]["points"]) == 6
    pca = by["fig3be"]["analyses"]["phase_pca"]
    assert len(pca["epe_rows"]) == 4 and len(pca["pca"]["ste"]["inference"]) == 9
    report = (tmp_path / "report.md").read_text()
    assert "not resolved" in report or "holds" in report


def test_points_that_differ_only_in_the_radius_train_as_one_ensemble_with_the_same_numbers(tmp_path):
    from tests.test_reproduce import tiny

    from apexplorer.paper.run import reproduce

    r = tiny("fig2c", grid={"sr": (0.25, 1.0, 2.0)}, analysis={"lyapunov": {"size": 16, "mle_steps": 20,
                                                                            "trials": 1}})
    lines = []
    one = reproduce([r], "quick", None, tmp_path / "one", emit=lines.append, write_report=False)
    assert sum("one ensemble of 3 points" in x for x in lines) == 3
    sep = reproduce([r], "quick", None, tmp_path / "sep", ensembles=False, write_report=False)
    a = {p["id"]: p for p in one["results"][0]["points"]}
    b = {p["id"]: p for p in sep["results"][0]["points"]}
    assert set(a) == set(b) and len(a) == 3
    for pid in a:
        for k in ("best_test_acc", "final_test_acc", "best_train_acc"):
            assert a[pid]["metrics"][k]["values"] == pytest.approx(b[pid]["metrics"][k]["values"], abs=1e-6), (pid, k)
    rows = pd.read_csv(tmp_path / "one" / "runs.csv")
    assert set(rows["members"]) == {6} and set(rows["sr"]) == {0.25, 1.0, 2.0}


def test_points_that_differ_in_beta_and_radius_share_an_ensemble_with_the_same_numbers(tmp_path):
    from tests.test_reproduce import TINY, tiny

    from apexplorer.paper.run import reproduce

    r = tiny("app3-grid", set_={**TINY, "train.epochs": 1, "tasks.main.train_size": 200},
             grid={"beta": (0.1, 3.0), "sr": (0.25, 1.0)})
    r = __import__("dataclasses").replace(r, groups=r.groups[:1])  # 3 layers only
    lines = []
    one = reproduce([r], "quick", None, tmp_path / "one", emit=lines.append, write_report=False)
    assert sum("one ensemble of 4 points" in x for x in lines) == 4
    sep = reproduce([r], "quick", None, tmp_path / "sep", ensembles=False, write_report=False)
    a = {p["id"]: p for p in one["results"][0]["points"]}
    b = {p["id"]: p for p in sep["results"][0]["points"]}
    assert set(a) == set(b) and len(a) == 4
    for pid in a:
        for k in ("best_test_acc", "final_train_acc"):
            assert a[pid]["metrics"][k]["values"] == pytest.approx(b[pid]["metrics"][k]["values"], abs=1e-6), (pid, k)
    rows = pd.read_csv(tmp_path / "one" / "runs.csv")
    assert set(rows["beta"]) == {0.1, 3.0}


def test_a_grouped_ensemble_gives_each_member_bitwise_its_own_points_ensemble():
    """Members of points x seeds in one batched run equal those of the point's own seed ensemble bit for bit (a
    network trained alone, unbatched, differs from both at float rounding, 1e-7, which training can amplify)."""
    from apexplorer.build import build

    exp = Experiment.from_dict({"wiring": {"preset": "paper-2layer", "options": {"size": 32}},
                                "tasks": {"main": {"dataset": "digits", "train_size": 300}},
                                "ap": {"spectral_radius": 0.5}, "train": {"epochs": 1, "batch_size": 32}})
    own = build(exp, members=[0, 1], radii=[0.5, 0.5])
    own.run()
    grouped = build(exp, members=[0, 1, 0, 1], radii=[0.5, 0.5, 1.0, 1.0])
    grouped.run()
    for n, w in own.net.weights.items():
        assert torch.equal(w, grouped.net.weights[n][:2]), n
    assert not torch.equal(own.net.weights["L2.SI->y"][0], grouped.net.weights["L2.SI->y"][2])


def test_grouping_splits_for_workers_and_takes_a_result_without_points():
    from apexplorer.paper import result
    from apexplorer.paper.plan import points
    from apexplorer.paper.run import group_tasks
    from apexplorer.sweep.executors import Task

    tasks = [Task(p.sweep_point(), (0, 1, 2)) for p in points(result("fig2c"), "quick")]
    assert [len(t.points) for t in group_tasks(tasks)] == [9]
    assert [len(t.points) for t in group_tasks(tasks, 2)] == [5, 4]
    assert group_tasks([], 2) == []  # fig2d: analyses alone
    fig5 = [Task(p.sweep_point(), (0, 1, 2)) for p in points(result("fig5e"), "quick")]
    assert [len(t.points) for t in group_tasks(fig5, 2)] == [1] * 6
