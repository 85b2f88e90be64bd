"""The paper's results as data: every file reads, every value and trend names real points, each scale changes
only what it says, and our numbers are put beside the paper's correctly."""

import dataclasses
import math

import pytest

from apexplorer.experiment import Experiment
from apexplorer.paper import PaperError, result, results, select
from apexplorer.paper.checks import CHECKS, compare_value, run_check
from apexplorer.paper.measure import PointData, ResultData, stats
from apexplorer.paper.plan import points
from apexplorer.paper.registry import SCALES, load_text
from apexplorer.sweep.grid import axis_key

WHERE_ARGS = ("where", "a", "b", "a_first", "a_last", "b_first", "b_last")


def test_every_result_reads_and_lists_its_sources():
    rs = results()
    assert [r.id for r in rs] == ["table1", "fig2ab", "fig2c", "fig2d", "fig3c", "fig3be", "fig3f", "fig4abc", "fig4d",
                                  "fig4e", "fig4f", "fig4ghi", "fig5d", "fig5e", "fig5f", "app1", "sgd-batch1", "app2",
                                  "app3-grid", "app3", "app4"]
    for r in rs:
        assert r.notes and (r.values or r.claims), r.id
        assert all(v.source for v in r.values) and all(c.source for c in r.claims), r.id
        for s in SCALES:
            assert r.scale(s).why, (r.id, s)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rid", [r.id for r in results()])
def test_every_value_names_one_point_and_every_trend_names_points(rid, scale):
    r = result(rid)
    pts = points(r, scale)
    data = ResultData(r, scale, (0,), [PointData(p) for p in pts])
    for v in r.values:
        assert len(data.find(v.where)) == 1, (v.what, v.where)
    for c in r.claims:
        for arg in WHERE_ARGS:
            if isinstance(c.args.get(arg), dict):
                assert data.find(c.args[arg]), (c.what, arg, c.args[arg])


@pytest.mark.parametrize("rid", [r.id for r in results()])
def test_the_quick_scale_changes_only_what_it_says(rid):
    r = result(rid)
    sc = r.scale("quick")
    said = {axis_key(k) for k in sc.set} | {axis_key(k) for g in sc.group_set.values() for k in g}
    paper = {(p.group, tuple(sorted(p.axes.items()))): p for p in points(r, "paper")}
    for q in points(r, "quick"):
        p = paper.get((q.group, tuple(sorted(q.axes.items()))))
        if p is None:  # an axis value only the quick scale has (a smaller grid)
            continue
        for key in q.experiment.diff(p.experiment):
            assert (key in said or key == "name" or key.startswith("wiring.options.")
                    and "wiring.options.size" in said or key.startswith("tasks.") and "tasks" in said
                    or "dataset" in said and key.endswith(".dataset")), (rid, q.label(), key)


def test_one_experiment_in_two_results_is_one_point():
    ste = {p.label(): p.id for p in points(result("fig3c"), "quick")}
    radius = {p.label(): p.id for p in points(result("fig2c"), "quick")}
    assert ste["STE steps=8 sr=0.25"] == radius["AP sr=0.25"]
    cosines = {p.group: p.id for p in points(result("app4"), "quick")}
    assert cosines["5b"] == {p.group: p.id for p in points(result("fig5e"), "quick")}["simultaneous"]
    assert cosines["5c"] == {p.group: p.id for p in points(result("fig5f"), "quick")}["simultaneous"]


def test_fig5_runs_as_the_authors_notebooks_did():
    e = result("fig5e").experiment("paper", "alternating")
    assert list(e.tasks) == ["B", "A"]  # one MNIST epoch, then one FMNIST epoch
    assert (e.ap.mode, e.ap.t1, e.ap.t2, e.init.scheme, e.init.config().bias) == ("epe", 8, 8, "gaussian", "zero")
    assert (e.train.batch_size, e.train.lr, e.train.epochs, e.wiring.preset) == (500, 1e-3, 100, "fig5b")
    assert Experiment.from_preset("fig5b").wiring.options == {} and e.wiring.options == {}  # six blocks of 256
    c = result("fig5f").experiment("paper", "simultaneous")
    assert (c.wiring.preset, c.train.schedule) == ("fig5c", "simultaneous")
    assert result("fig5d").experiment("paper").train.schedule == "sequential"


def test_2afc_trains_one_model_per_noise_level_and_measures_its_output():
    pts = points(result("app2"), "paper")
    assert [p.experiment.tasks["main"].noise for p in pts] == [0.0, 0.2, 1.0, 2.0, 4.0]
    assert all(p.probe == "apexplorer.paper.probes:psychometric" for p in pts)
    e = pts[0].experiment
    assert (e.train.epochs, e.train.lr, e.ap.mode, e.ap.t1, e.ap.t2, e.wiring.preset) == (20, 0.02, "epe", 8, 4, "2afc")


def test_table1_uses_cifar_s_learning_rate_and_its_paper_values():
    r = result("table1")
    lrs = {p.label(): p.experiment.train.lr for p in points(r, "paper")}
    assert lrs["AP CIFAR-10 preset=paper-1layer"] == 2e-4 and lrs["AP preset=paper-1layer dataset=mnist"] == 1e-3
    assert {v.what: v.value for v in r.values}["AP 1, FMNIST"] == 0.8912
    assert all(p.experiment.train.epochs == 300 for p in points(r, "paper"))


MINI = """
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
seeds = 2
why = "all"
[scales.quick]
seeds = 2
why = "less"
[[values]]
what = "at 0.5"
where = { sr = 0.5 }
metric = "best_test_acc"
value = 0.9
pm = 0.02
source = "made up"
[[claims]]
what = "peak in the middle"
check = "peak_within"
where = { group = "AP" }
axis = "sr"
metric = "best_test_acc"
low = 0.2
high = 1.0
source = "made up"
"""


def fake_rows(point_id, accs_by_seed):
    return [{"point": point_id, "seed": s, "epoch": e + 1, "test_acc": a, "train_acc": a, "status": "completed",
             "seconds": 1.0} for s, accs in accs_by_seed.items() for e, a in enumerate(accs)]


@pytest.fixture
def mini_data():
    r = load_text(MINI)
    pts = points(r, "quick")
    curves = {0.1: {0: [0.5, 0.6], 1: [0.55, 0.58]}, 0.5: {0: [0.8, 0.91], 1: [0.85, 0.87]},
              2.0: {0: [0.3, 0.2], 1: [0.25, 0.4]}}
    data = [PointData.from_rows(p, fake_rows(p.id, curves[p.axes["ap.spectral_radius"]]), (0, 1)) for p in pts]
    return ResultData(r, "quick", (0, 1), data)


def test_best_and_final_are_per_seed_then_mean_and_sd_over_seeds(mini_data):
    d = mini_data.one({"sr": 0.5})
    assert d.per_seed("best_test_acc") == {0: 0.91, 1: 0.87}
    assert d.per_seed("final_test_acc") == {0: 0.91, 1: 0.87}
    st = d.stats("best_test_acc")
    assert st["mean"] == pytest.approx(0.89) and st["sd"] == pytest.approx(math.sqrt(0.0008)) and st["n"] == 2
    assert mini_data.one({"sr": 2.0}).per_seed("best_test_acc") == {0: 0.3, 1: 0.4}
    assert stats([1.0]) == {"mean": 1.0, "sd": 0.0, "n": 1, "values": [1.0]}


def test_a_value_is_within_the_paper_s_plus_minus_or_off_by_so_much(mini_data):
    v = mini_data.result.values[0]
    got = compare_value(v, mini_data)
    assert got["within"] is True and got["text"] == "within the paper's ±2.00"
    off = compare_value(dataclasses.replace(v, value=0.95), mini_data)
    assert off["within"] is False and off["text"] == "6.00 points below (outside ±2.00)"
    assert compare_value(dataclasses.replace(v, dataset="mnist"), mini_data)["status"] == "stand-in"


def test_a_trend_holds_or_not_by_our_numbers(mini_data):
    c = mini_data.result.claims[0]
    got = run_check(c, mini_data)
    assert got["holds"] is True and "peak 89.00 % at sr = 0.5" in got["ours"]
    moved = dataclasses.replace(c, args={**c.args, "low": 1.0, "high": 2.0})
    assert run_check(moved, mini_data)["holds"] is False


def test_a_trend_over_a_point_that_did_not_run_is_not_checked(mini_data):
    pts = [dataclasses.replace(d, status="not run: mnist is not on this machine", runs={}) if i == 0 else d
           for i, d in enumerate(mini_data.points)]
    data = dataclasses.replace(mini_data, points=pts)
    got = run_check(data.result.claims[0], data)
    assert got["holds"] is None and "not on this machine" in got["ours"]


@pytest.mark.parametrize("text,message", [
    (MINI.replace('title = "a tiny result"', 'title = "x"\ncolour = 1'), "unknown key 'colour'"),
    (MINI.replace('check = "peak_within"', 'check = "peaks"'), "'peaks' is not a check; checks are"),
    (MINI.replace("[scales.quick]\nseeds = 2", "[scales.fast]\nseeds = 2"), r"has no \[scales.quick\]"),
    (MINI.replace('[scales.quick]\nseeds = 2\nwhy = "less"',
                  '[scales.quick]\nseeds = 2\nwhy = "less"\ngroup_set = { BP = { lr = 0.1 } }'),
     "group 'BP' does not exist; groups are AP"),
    (MINI.replace('grid = { sr = [0.1, 0.5, 2.0] }', 'grid = { sr = [0.1, -1] }'),
     r"result .mini. at scale paper: ap.spectral_radius = -1 must be a number >= 0"),
], ids=["key", "check", "scale", "group", "experiment"])
def test_a_bad_result_file_names_the_field(text, message):
    with pytest.raises(PaperError, match=message):
        load_text(text)


def test_an_unknown_result_names_the_choices():
    with pytest.raises(PaperError, match="unknown result 'fig9'; results are table1, fig2ab"):
        select(["fig9"])


def test_every_check_a_file_names_exists():
    assert {c.check for r in results() for c in r.claims} <= set(CHECKS)


def test_the_paper_package_imports_neither_panel_nor_the_command_line():
    import subprocess
    import sys

    code = ("import sys, apexplorer.paper.run, apexplorer.paper.gallery, apexplorer.paper.report; "
            "bad = [m for m in sys.modules if m == 'panel' or m.startswith(('apexplorer.cli', 'apexplorer.commands', "
            "'apexplorer.app'))]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_paper_layers_keeps_the_module_size_and_idles_the_rest_of_a_cut_slot():
    from apexplorer.presets import preset

    assert preset("paper-layers", 20, 3, layers=2, size=64).to_dict()["modules"] == \
        preset("paper-2layer", 20, 3, size=64).to_dict()["modules"]
    w = preset("paper-layers", 20, 3, layers=3, size=64, re=4, si=10)
    assert [dict(m.blocks) for m in w.modules][0] == {"RI": 16, "SI": 10, "SI_idle": 6, "RE": 4, "RE_idle": 12,
                                                      "SE": 16}
    assert all(m.size == 64 for m in w.modules)
    free = preset("paper-layers", 20, 3, layers=2, size=32, roles=False)
    assert [p.name for p in free.feedforward + free.feedback] == ["x->L1.N", "L1.N->L2.N", "L2.N->y", "y->L2.N",
                                                                  "L2.N->L1.N"]


@pytest.mark.parametrize("options,message", [({"re": 17}, "re = 17 must be an integer from 0 to the slot size 16"),
                                             ({"layers": 0}, "layers = 0 must be an integer >= 1"),
                                             ({"size": 66}, "size = 66 must be a multiple of 4")],
                         ids=["block", "layers", "size"])
def test_paper_layers_names_a_bad_option(options, message):
    from apexplorer.errors import WiringError
    from apexplorer.presets import preset

    with pytest.raises(WiringError, match=message):
        preset("paper-layers", 20, 3, **{"size": 64, **options})
