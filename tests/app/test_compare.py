"""Comparing runs: ensemble bands, baselines beside AP, ghost runs and the history export (no browser)."""

import csv
import json
import statistics

import pytest
from bokeh.models import ColumnDataSource

from apexplorer.app.alignment_view import AlignmentView, per_path
from apexplorer.app.compare import Rate, ghost_label, mean_sd
from apexplorer.app.curves import MAX_GHOSTS, CurvesView
from apexplorer.app.live import ErrorView, Series
from apexplorer.app.run_view import RunControls
from apexplorer.app.safe import is_shown
from apexplorer.app.session import ExplorerState
from apexplorer.app.settings_view import SettingsView
from apexplorer.events import BatchEvent, EpochEvent
from apexplorer.experiment import Experiment
from tests.app.conftest import render


def batch(epoch, i, n, loss, acc, members=None, sps=1000.0, task="main"):
    m = {task: {"loss": [a for a, _ in members], "acc": [b for _, b in members]}} if members else {}
    return BatchEvent(epoch, i, n, loss, acc, {"L1": 0.1}, sps, task, {task: {"loss": loss, "acc": acc}}, m)


def epoch_event(epoch, test_acc, test_loss, members=None, task="main"):
    m = {task: {"test_acc": [a for a, _ in members], "test_loss": [b for _, b in members]}} if members else {}
    return EpochEvent(epoch, 3, test_acc, test_acc, test_loss, test_loss, 1.0, 1000.0, {"L1": 0.1},
                      {task: {"test_acc": test_acc, "test_loss": test_loss, "train_acc": test_acc,
                              "loss": test_loss}}, m)


def reset(members=1, baselines=(), experiment=None, wiring=None):
    return ("reset", {"tasks": ["main"], "members": members, "baselines": list(baselines), "history": [],
                      "meta": {"experiment": experiment, "wiring": wiring}})


# ------------------------------------------------------------------ band maths
@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0], [0.5, 0.5], [3.0, -1.0, 7.5]], ids=["four", "equal", "three"])
def test_mean_sd_is_the_sample_mean_and_standard_deviation(values):
    m, sd = mean_sd(values)
    assert m == pytest.approx(statistics.mean(values))
    assert sd == pytest.approx(statistics.stdev(values))


def test_one_member_has_no_spread_and_no_members_is_refused():
    assert mean_sd([0.7]) == (0.7, 0.0)
    with pytest.raises(ValueError):
        mean_sd([])


def test_an_ensembles_band_is_its_members_mean_plus_minus_sd_over_a_tick():
    c = CurvesView()
    render(c)
    c.consume([reset(members=3)])
    # two batches in one drain tick: each member's tick mean, then mean +- sd across members
    m1 = [(1.0, 0.5), (2.0, 0.25), (3.0, 0.75)]
    m2 = [(3.0, 0.5), (2.0, 0.75), (1.0, 0.25)]
    c.consume([("batch", batch(1, 1, 10, 2.0, 0.5, m1)), ("batch", batch(1, 2, 10, 2.0, 0.5, m2))])
    loss = c.sources[("ap", "loss", "train", "main")].data
    per_member = [2.0, 2.0, 2.0]
    assert loss["m0"] == [2.0] and loss["m1"] == [2.0] and loss["m2"] == [2.0]
    assert loss["lo"] == [pytest.approx(2.0)] and loss["hi"] == [pytest.approx(2.0)]  # equal members: no band
    acc = c.sources[("ap", "acc", "train", "main")].data
    mu, sd = mean_sd([50.0, 50.0, 50.0])
    assert acc["y"] == [pytest.approx(50.0)] and acc["hi"][0] - acc["lo"][0] == pytest.approx(2 * sd)
    c.consume([("batch", batch(1, 3, 10, 2.0, 0.5, m1))])
    loss = c.sources[("ap", "loss", "train", "main")].data
    mu, sd = mean_sd([a for a, _ in m1])
    assert (loss["lo"][1], loss["y"][1], loss["hi"][1]) == (pytest.approx(mu - sd), 2.0, pytest.approx(mu + sd))
    assert [loss[f"m{k}"][1] for k in range(3)] == [a for a, _ in m1] != per_member
    # the test set: a whisker of +- sd around each epoch's mean
    c.consume([("epoch", epoch_event(1, 0.6, 1.0, [(0.5, 1.2), (0.6, 1.0), (0.7, 0.8)]))])
    test = c.sources[("ap", "acc", "test", "main")].data
    assert test["y"] == [pytest.approx(60.0)]
    assert test["lo"][0] == pytest.approx(60.0 - 10.0) and test["hi"][0] == pytest.approx(60.0 + 10.0)
    legend = [it.label.value for it in c._panes[1].object.legend[0].items]
    assert "AP ± sd over 3 seeds" in legend and "AP each seed" in legend


def test_a_single_network_draws_no_band():
    c = CurvesView()
    render(c)
    c.consume([reset(members=1)])
    c.consume([("batch", batch(1, 1, 10, 2.0, 0.5))])
    d = c.sources[("ap", "loss", "train", "main")].data
    assert set(d) == {"x", "y", "lo", "hi"} and d["lo"] == d["hi"] == d["y"]
    assert not any("seeds" in it.label.value for it in c._panes[0].object.legend[0].items)


# -------------------------------------------------------------- streamed points
def test_a_series_halves_itself_when_full_and_says_so():
    s = Series(limit=4, columns=("y", "lo"))
    for i in range(4):
        s.add(i, y=i, lo=i - 1)
    assert s.gen == 0 and len(s) == 4
    s.add(4, y=4, lo=3)
    assert s.gen == 1 and s.x == [0.5, 2.5, 4.0] and s.cols["lo"] == [-0.5, 1.5, 3.0]
    with pytest.raises(ValueError, match="columns"):
        s.add(5, y=1)


def test_new_points_are_streamed_and_a_halved_series_is_replaced(monkeypatch):
    c = CurvesView()
    render(c)
    c.consume([reset()])
    key = ("ap", "loss", "train", "main")
    src = c.sources[key]
    streamed = []
    real = ColumnDataSource.stream

    def stream(self, data, *a, **k):
        if self is src:
            streamed.append(len(data["x"]))
        return real(self, data, *a, **k)

    monkeypatch.setattr(ColumnDataSource, "stream", stream)
    for i in range(1, 4):
        c.consume([("batch", batch(1, i, 10, 1.0 / i, 0.5))])
    assert streamed == [1, 1, 1] and src.data["y"] == [1.0, 0.5, pytest.approx(1 / 3)]
    c.series[key].limit = 3
    c.consume([("batch", batch(1, 4, 10, 0.25, 0.5))])  # halved: the whole series is sent again
    assert streamed == [1, 1, 1] and src.data["x"] == c.series[key].x and len(src.data["x"]) == 2


def test_a_reset_keeps_the_figures_unless_what_they_draw_changes():
    c = CurvesView()
    render(c)
    fig = c._panes[0].object
    key = ("ap", "acc", "test", "main")
    loaded = reset()
    loaded[1]["history"] = [epoch_event(1, 0.4, 1.5).to_dict()]  # a loaded session's epochs so far
    c.consume([loaded])
    assert c._panes[0].object is fig and c.sources[key].data["y"] == [pytest.approx(40.0)]
    c.consume([("batch", batch(2, 1, 10, 2.0, 0.5))])
    c.consume([reset()])  # the run trained: it becomes a ghost, drawn in new figures
    fig2 = c._panes[0].object
    assert fig2 is not fig and c.sources[key].data["y"] == [] and len(c.ghosts) == 1
    c.consume([reset()])  # nothing trained since: the same figures
    assert c._panes[0].object is fig2
    c.consume([reset(members=2)])
    assert c._panes[0].object is not fig2 and "m1" in c.sources[("ap", "loss", "train", "main")].data


# -------------------------------------------------------------------- baselines
def test_a_baselines_events_draw_its_own_curves_and_its_speed():
    c = CurvesView()
    render(c)
    c.consume([reset(baselines=["bp"])])
    c.consume([("batch", batch(1, 1, 10, 2.0, 0.5, sps=800.0)), ("baseline", ("bp", batch(1, 1, 10, 1.5, 0.6, sps=9000.0))),
               ("baseline", ("bp", epoch_event(1, 0.7, 0.9)))])
    bp = c.sources[("bp", "acc", "train", "main")]
    assert bp.name == "curve-bp-acc-train-main" and bp.data["y"] == [pytest.approx(60.0)]
    assert c.sources[("bp", "acc", "test", "main")].data["y"] == [pytest.approx(70.0)]
    assert c.sources[("ap", "acc", "train", "main")].data["y"] == [pytest.approx(50.0)]
    labels = [it.label.value for it in c._panes[1].object.legend[0].items]
    assert "BP (backprop) · 9,000 samples/s" in labels
    assert "AP 800 samples/s" in c.speed.object and "BP 9,000 samples/s" in c.speed.object and c.speed.visible


def test_the_speed_is_smoothed_and_written_with_three_figures():
    r = Rate(weight=0.5)
    assert r.text() == "– samples/s"
    r.add(1000.0)
    r.add(2000.0)
    r.add(float("nan"))
    assert r.value == 1500.0 and r.text() == "1,500 samples/s"
    r.add(123456.0)
    assert r.text() == "62,500 samples/s"


# ----------------------------------------------------------------------- ghosts
@pytest.fixture(scope="module")
def digits_exp():
    return Experiment.from_preset("digits", ["digits"])


def test_a_ghost_label_names_what_differed(digits_exp):
    from apexplorer.app.session import ExplorerState

    st = ExplorerState()
    try:
        w = st.wiring_of(digits_exp)
        new = digits_exp.with_changes({"ap.spectral_radius": 0.5})
        assert ghost_label(digits_exp, new, w, st.wiring_of(new)) == "ρ 0.25 → 0.5"
    finally:
        st.close()
    assert ghost_label(digits_exp, digits_exp) == "same settings"
    assert ghost_label(digits_exp, digits_exp.with_changes({"train.seeds": 4, "name": "x"})) == "seeds 1 → 4"
    assert ghost_label(digits_exp, digits_exp, new_baselines=["bp", "fa"]) == "baselines none → BP+FA"
    many = digits_exp.with_changes({"ap.t1": 3, "ap.t2": 4, "ap.beta": 0.5, "train.lr": 0.01})
    assert ghost_label(digits_exp, many) == "T1 8 → 3, T2 8 → 4, β 1 → 0.5, +1 more"
    assert ghost_label(digits_exp, digits_exp.with_changes({"tasks.main.dataset": "2afc"})) == "data digits → 2afc"


def test_reset_keeps_the_previous_run_as_a_removable_ghost(digits_exp):
    c = CurvesView()
    render(c)
    c.consume([reset(experiment=digits_exp)])
    c.consume([reset(experiment=digits_exp)])
    assert c.ghosts == []  # nothing trained: nothing to keep
    for k in range(MAX_GHOSTS + 2):
        c.consume([("batch", batch(1, 1, 10, 2.0 - k / 10, 0.5))])
        c.consume([reset(experiment=digits_exp.with_changes({"ap.t1": k + 1}))])
    assert len(c.ghosts) == MAX_GHOSTS
    assert [g.label for g in c.ghosts] == [f"T1 {k} → {k + 1}" for k in range(2, MAX_GHOSTS + 2)]  # the oldest went
    assert c.n_points() == 0
    names = [it.label.value for it in c._panes[0].object.legend[0].items]
    assert "ghost: T1 6 → 7" in names
    newest = c.ghosts[-1]
    assert newest.curves[("loss", "train", "main")] == ([0.1], [pytest.approx(2.0 - (MAX_GHOSTS + 1) / 10)])
    buttons = [b for b in c.ghost_bar.objects if hasattr(b, "clicks")]
    assert [b.label for b in buttons] == [f"× ghost: {g.label}" for g in c.ghosts]
    buttons[-1].clicks += 1
    assert [g.label for g in c.ghosts] == [f"T1 {k} → {k + 1}" for k in range(2, MAX_GHOSTS + 1)]
    names = [it.label.value for it in c._panes[0].object.legend[0].items]
    assert "ghost: T1 6 → 7" not in names and "ghost: T1 5 → 6" in names


# ------------------------------------------------------------ errors, alignment
def test_the_errors_view_shows_an_ensembles_mean_and_sd():
    e = ErrorView()
    render(e)
    e.consume([reset(members=3), ("batch", batch(1, 1, 10, 2.0, 0.5)), ("spread", {"L1": [0.1, 0.2, 0.3]})])
    assert e.bar_source.data["err"] == [pytest.approx(0.2)]
    assert e.whisker_source.data["lo"] == [pytest.approx(0.1)] and e.whisker_source.data["hi"] == [pytest.approx(0.3)]
    assert "mean ± sd of 3 seeds" in e.bars.title.text


def test_the_alignment_view_shows_an_ensembles_mean_and_sd():
    assert per_path({"a": {"cosine": [0.5, 0.7]}, "b": 0.9, "bad": "x"}) == {
        "a": (pytest.approx(0.6), pytest.approx(mean_sd([0.5, 0.7])[1])), "b": (0.9, 0.0)}
    v = AlignmentView()
    render(v)
    v.consume([("alignment", {"epoch": 1, "values": {"L1->L2": {"cosine": [0.4, 0.6, 0.8]}}})])
    assert v.pts.data["y"] == [pytest.approx(0.6)]
    assert v.pts.data["hi"][0] - v.pts.data["lo"][0] == pytest.approx(2 * 0.2)


# ------------------------------------------------- baselines widget and export
def drive(state, views, pred, wait, timeout=120):
    def tick():
        items = state.runner.drain()
        state.observe(items)
        for v in views:
            v.consume(items)
    return wait(pred, timeout=timeout, tick=tick)


def test_ticked_baselines_train_beside_ap_and_the_export_holds_every_seeds_batches(wait, tmp_path):
    st = ExplorerState()
    try:
        sv, rc, curves = SettingsView(st), RunControls(st), CurvesView()
        render(curves)
        st.change({"train.seeds": 2, "train.epochs": 1, "train.device": "cpu", "tasks.main.train_size": 256,
                   "tasks.main.test_size": 64})
        assert st.reset()
        assert drive(st, [curves], lambda: st.runner.state == "ready" and st.runner.trainer is not None
                     and st.runner.trainer.learner_members == 2, wait)
        assert "no history" not in st.message and rc._history("csv").read().startswith("run,kind,epoch")
        sv.tick("bp")
        assert st.baselines == ["bp"]  # an untrained network is rebuilt with it at once
        assert drive(st, [curves], lambda: st.runner.state == "ready" and list(st.runner.baselines) == ["bp"], wait)
        assert st.built_baselines == ["bp"] and not st.pending
        assert st.train()
        assert drive(st, [curves], lambda: st.runner.state == "finished", wait)
        drive(st, [curves], lambda: True, wait)
        rows = list(csv.DictReader(rc._history("csv")))
        assert rows == [{k: ("" if v is None else str(v)) for k, v in r.items()} | {
            k: "" for k in rows[0] if k not in r} for r in st.runner.history.rows]
        n = st.runner.trainer.n_batches
        for run, members in (("ap", ["0", "1", ""]), ("bp", [""])):
            for m in members:
                got = [int(r["batch"]) for r in rows if r["run"] == run and r["kind"] == "batch" and r["member"] == m]
                assert got == list(range(1, n + 1)), (run, m)
            assert [r["member"] for r in rows if r["run"] == run and r["kind"] == "epoch"] == members
        assert len(json.loads(rc._history("json").read())) == len(rows)
        # what the page draws is what the export holds: the test accuracy of each run
        for run in ("ap", "bp"):
            mean = next(r for r in rows if r["run"] == run and r["kind"] == "epoch" and r["member"] == "")
            assert curves.sources[(run, "acc", "test", "main")].data["y"] == [pytest.approx(100 * float(
                mean["test_acc"]))]
        # a baseline untick after training is a pending change, applied with Reset
        sv.tick("bp", False)
        assert "baselines" in st.pending and is_shown(sv.confirm)
        sv.apply.clicks += 1
        assert drive(st, [curves], lambda: st.runner.state == "ready" and not st.runner.baselines, wait)
        assert [g.label for g in curves.ghosts] == ["baselines BP → none"]
    finally:
        st.close()


def test_export_without_a_network_says_so(wait):
    st = ExplorerState()
    try:
        rc = RunControls(st)
        st.runner.discard()
        assert wait(lambda: st.runner.trainer is None)
        assert rc._history("csv") is None and st.message.startswith("no history to download: ")
        assert "Traceback" not in st.message
    finally:
        st.close()


def test_a_baseline_beside_a_multitask_network_is_refused_in_words():
    st = ExplorerState(preset_name="fig5b")
    try:
        st.baselines = ["bp"]
        assert "baselines train one task" in st.problems()
    finally:
        st.close()


def test_the_baseline_boxes_follow_an_experiment_with_several_baselines_whole():
    st = ExplorerState()
    try:
        sv = SettingsView(st)
        st.model.baselines = ["bp", "fa"]  # a revert or a loaded experiment: both at once
        assert st.baselines == ["bp", "fa"] and sv.ticked() == ["bp", "fa"]
        sv.tick("ep")
        assert st.baselines == ["bp", "fa", "ep"]
        st.model.baselines = []
        assert sv.ticked() == []
    finally:
        st.close()
