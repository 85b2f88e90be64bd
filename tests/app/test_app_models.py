"""The explorer's state without Panel rendering: wiring edits, settings, layout, trace, runner."""

import json
import time

import numpy as np
import pytest

import apexplorer as ap
from apexplorer.app import layout as L
from apexplorer.app.network_view import graph_data, parse_blocks
from apexplorer.app.player import flow_frames
from apexplorer.errors import ApexplorerError
from apexplorer.app.settings import Settings
from apexplorer.app.wiring_model import WiringModel
from apexplorer.trace import trace_sample



# --------------------------------------------------------------- wiring model
def test_adding_a_module_and_its_paths_gives_a_valid_wiring(small_wiring):
    m = WiringModel(small_wiring)
    assert m.add_module("L3", 16)
    assert m.wiring.module("L3").blocks == (("RI", 4), ("SI", 4), ("RE", 4), ("SE", 4))
    assert m.add_path("feedforward", "L2.SI", "L3.RI")
    assert m.add_path("feedforward", "L3.SI", "y")
    assert m.add_path("feedback", "y", "L3.RE")
    assert m.error == "" and m.wiring is not None
    assert "L3.SI->y" in m.wiring.path_names


def test_bad_json_keeps_the_wiring_and_reports_the_library_message(small_wiring):
    m = WiringModel(small_wiring)
    before = m.spec
    assert not m.load_json("{not json")
    assert "not valid JSON" in m.error
    assert m.spec == before and m.wiring is not None
    bad = dict(before, feedforward=before["feedforward"] + [{"source": "L9.SI", "target": "y"}])
    assert not m.load_json(json.dumps(bad))
    assert "module 'L9' does not exist; modules are L1, L2" in m.error
    assert m.spec == before


def test_a_negative_module_size_is_reported_in_the_library_words(small_wiring):
    m = WiringModel(small_wiring)
    assert not m.resize_module("L1", size=-4)
    assert "size -4 must be a positive integer" in m.error
    assert m.wiring is None  # the edit is kept so the user can fix it
    assert m.resize_module("L1", size=32)
    assert m.wiring is not None and m.error == ""


def test_suppressing_a_path_removes_it_from_the_task_only(small_wiring):
    m = WiringModel(small_wiring)
    assert m.set_active("main", "L2.SE->L1.RE", False)
    assert "L2.SE->L1.RE" not in m.wiring.active_paths(m.wiring.task("main"))
    assert "L2.SE->L1.RE" in m.wiring.path_names
    assert m.set_active("main", "L2.SE->L1.RE", True)
    assert "L2.SE->L1.RE" in m.wiring.active_paths(m.wiring.task("main"))


def test_removing_a_module_removes_every_path_that_touches_it(small_wiring):
    m = WiringModel(small_wiring)
    m.add_module("L3", 16)
    m.add_path("feedforward", "L2.SI", "L3.RI")
    m.add_path("feedback", "L3.SE", "L2.RE")
    assert m.remove_module("L3")
    assert not any("L3" in p for p in m.path_names)
    assert m.wiring is not None


@pytest.mark.parametrize("text, blocks", [("RI 4, SI 4, RE 0, SE 8", {"RI": 4, "SI": 4, "RE": 0, "SE": 8}),
                                          ("RI:2;SI:6", {"RI": 2, "SI": 6})], ids=["comma", "colon"])
def test_block_text_parses_to_sizes(text, blocks):
    assert parse_blocks(text) == blocks


def test_block_text_errors_name_the_bad_part():
    with pytest.raises(ap.ApexplorerError, match="'RI x y' must look like 'RI 64'"):
        parse_blocks("RI x y")


# ------------------------------------------------------------------- settings
def test_settings_map_back_to_the_library_configs():
    s = Settings()
    s.param.update(t1=5, t2=3, mode="epe", beta=0.5, lr=1e-3, batch_size=16, epochs=2, seed=7, device="cpu")
    apc, tc = s.configs()
    assert (apc.t1, apc.t2, apc.mode, apc.beta) == (5, 3, "epe", 0.5)
    assert (tc.lr, tc.batch_size, tc.epochs, tc.seed, tc.device) == (1e-3, 16, 2, 7, "cpu")


@pytest.mark.parametrize("change, words", [({"t1": 0}, "t1 = 0: iteration counts must be integers >= 1"),
                                           ({"lr": -1.0}, "learning rate -1.0 must be a positive number"),
                                           ({"batch_size": -5}, "batch size -5 must be a positive integer"),
                                           ({"spectral_radius": -1.0}, "spectral radius -1.0 must be a finite number >= 0"),
                                           ({"connection_rate": 0.0}, "connection rate 0.0 must be in (0, 1]")],
                         ids=["t1-zero", "negative-lr", "negative-batch", "negative-rho", "zero-c"])
def test_bad_settings_report_the_library_message(change, words):
    s = Settings()
    s.param.update(**change)
    assert words in s.check()


def test_settings_show_a_presets_experiment_and_map_back_to_its_keys():
    s = Settings()
    exp = ap.Experiment.from_preset("2afc")
    s.follow(exp, ap.preset("2afc", 1024, 2))
    assert (s.batch_size, s.lr, s.t2, s.mode, s.spectral_radius) == (50, 2e-2, 4, "epe", 0.25)
    assert s.changes(exp, ap.preset("2afc", 1024, 2)) == {}
    s.param.update(spectral_radius=0.5, lr=1e-3)
    assert s.changes(exp, ap.preset("2afc", 1024, 2)) == {"ap.spectral_radius": 0.5, "train.lr": 1e-3}


# --------------------------------------------------------------------- layout
def test_columns_follow_the_feedforward_depth(small_wiring):
    col = L.columns(small_wiring)
    assert col == {"x": 0, "L1": 1, "L2": 2, "y": 3}


def test_graph_greys_the_paths_suppressed_in_the_task(small_wiring):
    m = WiringModel(small_wiring)
    m.set_active("main", "L2.SE->L1.RE", False)
    d = graph_data(m.wiring, "main")
    assert d["fb_off"]["path"] == ["L2.SE->L1.RE"]
    assert "y->L2.RE" in d["fb_on"]["path"]
    assert set(d["ff_on"]["path"]) == {p.name for p in small_wiring.feedforward}
    assert d["ff_off"]["path"] == []
    assert len(d["blocks"]["ref"]) == 8 + 2  # 4 blocks x 2 modules + 2 ports


def test_every_path_ends_at_its_target_block(small_wiring):
    bxs = {b.ref: b for b in L.boxes(small_wiring)}
    for e in L.edges(small_wiring):
        t = bxs[small_wiring.path(e.name).target]
        assert t.y0 <= e.ys[-1] <= t.y1
        assert min(abs(e.xs[-1] - t.x0), abs(e.xs[-1] - t.x1)) < 1e-9


# ---------------------------------------------------------------------- trace
def test_trace_records_the_same_errors_and_updates_as_the_network(small_wiring, digits):
    net = ap.Network(small_wiring, ap.APConfig(t1=4, t2=3), seed=3)
    x, y = digits.x_test[:1], digits.y_test[:1]
    p = trace_sample(net, x[0], int(y[0]))
    p0 = net.inference(x)
    p1 = net.learning(p0, y)
    for m, e in p1.e.items():
        np.testing.assert_allclose(p.e[m], e[0].numpy(), atol=1e-6)
    for k, dA in net.updates(p0, p1).items():
        np.testing.assert_allclose(p.updates[k], dA.numpy(), atol=1e-6)
    assert p.traj0["L1"].shape == (5, 32) and p.traj1["L1"].shape == (4, 32)
    np.testing.assert_allclose(p.traj0["L2"][-1] - p.traj1["L2"][-1], p.e["L2"], atol=1e-6)


def test_flow_frames_follow_both_phases_in_order(small_wiring, digits):
    net = ap.Network(small_wiring, ap.APConfig(t1=3, t2=2), seed=0)
    p = trace_sample(net, digits.x_test[0], int(digits.y_test[0]))
    frames = flow_frames(p, small_wiring)
    phases = [f.phase for f in frames]
    assert phases[0] == "input" and phases[-1] == "update"
    assert phases.count("inference") == 2 * 3 and phases.count("learning") == 2 * 2
    assert phases.index("readout") < phases.index("error") < phases.index("learning")
    learning = [f.module for f in frames if f.phase == "learning"]
    assert learning[0] == "L2" and learning[-1] == "L1"  # the error flows back down
    assert frames[phases.index("error")].paths == {"y->L2.RE": 5.0}


# --------------------------------------------------------------------- runner
#: the runner's tests train a small network with short phases
FAST = {"t1": 3, "t2": 3}


def test_runner_steps_one_batch_at_a_time_and_closes(small_wiring, digits, wait, runner, make_trainer):
    r = runner()
    r.build(lambda: make_trainer(digits, small_wiring, FAST, batch_size=64, lr=5e-3))
    items = []
    assert wait(lambda: (items.extend(r.drain()) or any(k == "trace" for k, _ in items)))
    r.step()
    assert wait(lambda: (items.extend(r.drain()) or any(k == "batch" for k, _ in items)))
    time.sleep(0.2)
    items.extend(r.drain())
    kinds = [k for k, _ in items]
    assert kinds[0] == "reset" and kinds.count("batch") == 1
    assert r.state == "paused" and r.trainer.position == 1
    r.close()
    assert not r.alive


def test_runner_answers_a_question_between_batches(small_wiring, digits, wait, runner, make_trainer):
    r = runner()
    with pytest.raises(ApexplorerError, match="no network yet"):
        r.ask(lambda tr: 1)
    r.build(lambda: make_trainer(digits, small_wiring, FAST, batch_size=64, lr=5e-3, epochs=3))
    assert wait(lambda: r.state == "ready")
    r.train()
    assert r.ask(lambda tr: tr.net is not None) is True  # while it trains
    with pytest.raises(ApexplorerError, match="refused"):
        r.ask(lambda tr: (_ for _ in ()).throw(ApexplorerError("refused")))
    r.build(lambda: time.sleep(0.5) or make_trainer(digits, small_wiring, FAST, batch_size=64, lr=5e-3))
    with pytest.raises(ApexplorerError, match="being built"):  # the event loop never waits for a build
        r.ask(lambda tr: 1)
    r.close()
    with pytest.raises(ApexplorerError, match="ended"):
        r.ask(lambda tr: 1)


def test_runner_trains_to_the_end_and_pause_stops_between_batches(small_wiring, digits, wait, runner, make_trainer):
    r = runner()
    r.build(lambda: make_trainer(digits, small_wiring, FAST, batch_size=64, lr=5e-3, epochs=3))
    r.train()
    items = []
    assert wait(lambda: (items.extend(r.drain()) or any(k == "stop" for k, _ in items)), timeout=60)
    stop = [v for k, v in items if k == "stop"][0]
    assert stop.reason == "completed"
    assert [v.epoch for k, v in items if k == "epoch"] == [1, 2, 3]
    assert r.state == "finished"


def test_a_diverging_run_stops_with_the_library_message(small_wiring, digits, wait, runner, make_trainer):
    r = runner()
    r.build(lambda: make_trainer(digits, small_wiring, FAST, batch_size=64, lr=1e4, max_loss=2.5))
    r.train()
    items = []
    assert wait(lambda: (items.extend(r.drain()) or any(k == "stop" for k, _ in items)), timeout=60)
    stop = [v for k, v in items if k == "stop"][0]
    assert stop.reason == "diverged" and "training diverged" in stop.message
    r.step()  # the runner keeps working after a divergence
    assert wait(lambda: r.state in ("paused", "finished"))


def test_a_failing_build_reports_and_leaves_the_runner_usable(small_wiring, digits, wait, runner, make_trainer):
    r = runner()

    def bad():
        raise ap.ApexplorerError("boom: the library's words")
    r.build(bad)
    items = []
    assert wait(lambda: (items.extend(r.drain()) or any(k == "error" for k, _ in items)))
    assert ("error", "boom: the library's words") in items
    r.build(lambda: make_trainer(digits, small_wiring, FAST, batch_size=64, lr=5e-3))
    assert wait(lambda: r.trainer is not None)


def test_a_reader_that_falls_behind_loses_batches_but_no_epoch_or_stop(small_wiring, digits, wait, runner, make_trainer):
    """The batch buffer drops its oldest items when nobody drains it; epochs, the stop and the reset are
    kept apart and all arrive, in order, with the newest batches."""
    r = runner(maxlen=5)
    r.build(lambda: make_trainer(digits, small_wiring, FAST, lr=5e-3, epochs=2, batch_size=32))
    r.train()
    assert wait(lambda: r.state == "finished", timeout=60)
    n = r.trainer.n_batches
    items = r.drain()
    kinds = [k for k, _ in items]
    assert kinds.count("batch") == 5 < 2 * n  # the buffer held only the newest five batches
    assert [v.epoch for k, v in items if k == "epoch"] == [1, 2] and kinds[0] == "reset"
    assert kinds.count("stop") == 1 and [v.reason for k, v in items if k == "stop"] == ["completed"]
    assert [v.batch for k, v in items if k == "batch"] == list(range(n - 4, n + 1))  # the last five of epoch 2


def test_only_the_newest_recorded_sample_is_kept(small_wiring, digits, wait, runner, make_trainer):
    r = runner(trace_every=0.0)
    r.build(lambda: make_trainer(digits, small_wiring, FAST, lr=5e-3, epochs=1, batch_size=16))
    r.train()
    assert wait(lambda: r.state == "finished", timeout=60)
    items = r.drain()
    assert [k for k, _ in items].count("trace") == 1 and items[-1][0] in ("trace", "stop")


def test_pause_holds_the_network_between_batches_and_train_resumes(small_wiring, digits, wait, runner, make_trainer):
    r = runner()
    r.build(lambda: make_trainer(digits, small_wiring, FAST, lr=5e-3, epochs=50, batch_size=16))
    assert wait(lambda: r.state == "ready")
    r.train()
    assert wait(lambda: r.trainer.position > 2)
    r.pause()
    assert wait(lambda: r.state == "paused")
    seen = (r.trainer.epoch, r.trainer.position)
    time.sleep(0.3)
    assert (r.trainer.epoch, r.trainer.position) == seen
    r.train()
    assert wait(lambda: (r.trainer.epoch, r.trainer.position) != seen)
    assert r.state == "running"


def test_only_the_worker_changes_the_state_a_request_promises_it_at_once(small_wiring, digits, wait, runner, make_trainer):
    """A server-side call queues a request; the state reads what that request leads to until the worker has
    served it, then what the worker set (a build that fails ends "empty", not the promised "building")."""
    import threading

    r = runner()
    gate = threading.Event()
    r.build(lambda: gate.wait(10) and make_trainer(digits, small_wiring, FAST, lr=5e-3, epochs=1, batch_size=128))
    assert r.state == "building" and r.trainer is None
    r.train()  # asked for while it builds: it trains once built
    assert r.state == "building"
    gate.set()
    assert wait(lambda: r.state == "finished", timeout=60)

    def bad():
        raise ap.ApexplorerError("no such network")
    r.build(bad)
    assert r.state == "building"
    assert wait(lambda: r.state == "empty") and r.trainer is None and r.experiment is None


# --------------------------------------------------------------------- status
def test_the_status_line_shows_progress_time_left_and_train_accuracy_before_the_first_test():
    from types import SimpleNamespace

    from apexplorer.app.status import Progress, clock, status_line

    now = [0.0]
    p = Progress(clock=lambda: now[0])
    for b in range(1, 11):  # 2 s a batch, 100 batches an epoch
        p.add(SimpleNamespace(epoch=1, batch=b, n_batches=100, acc=0.5))
        p.mark()
        now[0] += 2.0
    assert p.fraction == 0.1 and p.train_acc == 0.5
    assert p.left(3) == {"epoch": 180.0, "run": 180.0 + 2 * 200.0}
    line = status_line({"epoch": 1, "epochs": 3, "batch": 10, "n_batches": 100}, "running", 3, p)
    assert line == "epoch 1/3 · batch 10/100 (10%, 9:40 left in the run) · train acc 50.0% · test acc –  (running)"
    # the run's epochs now (Epochs raised while it runs), not those of its last epoch event
    assert status_line({"epoch": 1, "epochs": 3, "batch": 10, "n_batches": 100}, "paused", 7, p).startswith("epoch 1/7")
    # alternating tasks: the one training, and how far its pass is
    line = status_line({"epoch": 1, "epochs": 3, "batch": 60, "n_batches": 100}, "paused", 3, p, [("A", 40), ("B", 60)])
    assert "training task B: batch 20/60 of its pass (33%)" in line
    assert "then B" in status_line({"epoch": 1, "batch": 4, "n_batches": 100}, "paused", 3, p, [("A", 40), ("B", 60)])
    p.add(SimpleNamespace(epoch=2, batch=1, n_batches=100, acc=1.0))  # a new epoch: its own accuracy
    assert p.train_acc == 1.0
    assert clock(3725) == "1:02:05"


def test_the_time_left_comes_from_the_pace_between_drains_not_from_batches_drained_at_once():
    """A fast run drains dozens of batches at one instant: the pace is between drains, never zero."""
    from types import SimpleNamespace

    from apexplorer.app.status import Progress

    now = [0.0]
    p = Progress(window=30, clock=lambda: now[0])
    batch = 0
    for _ in range(5):  # 5 drains 0.5 s apart, 40 batches each (more than the window)
        for _ in range(40):
            batch += 1
            p.add(SimpleNamespace(epoch=1, batch=batch, n_batches=1000, acc=0.5))
        p.mark()
        now[0] += 0.5
    assert p.left(2)["epoch"] == (1000 - 200) * (0.5 * 4 / 160)
    p.mark()  # a drain with no new batch leaves the pace as it was
    assert p.left(2)["epoch"] == (1000 - 200) * (0.5 * 4 / 160)
    only = Progress(clock=lambda: 7.0)
    for b in range(1, 41):
        only.add(SimpleNamespace(epoch=1, batch=b, n_batches=1000, acc=0.5))
    only.mark()
    assert only.left(2) == {}  # one drain: no pace yet, rather than 0:00


def test_a_layout_hint_moves_a_box_and_its_paths_follow(small_wiring):
    m = WiringModel(small_wiring)
    name = m.module_names[0]
    assert m.move_module(name, 20.0, 9.0)
    frames = L.module_frames(m.wiring)
    x0, _, x1, y1 = frames[name]
    assert (x0 + x1) / 2 == pytest.approx(20.0) and y1 == pytest.approx(9.0)
    for e in L.edges(m.wiring):
        if name in (e.name.split("->")[0].split(".")[0], e.name.split("->")[1].split(".")[0]):
            assert any(abs(x - 20.0) <= L.BOX_W / 2 + 1e-6 for x in (e.xs[0], e.xs[-1]))
    m.remove_module(name)
    assert "layout" not in m.spec  # its hint goes with it


def test_history_undoes_wiring_and_task_edits_only():
    from apexplorer.app.history import History
    from apexplorer.experiment import Experiment

    a = Experiment.from_preset("digits")
    h = History(a)
    assert not h.record(a.with_changes({"train.lr": 0.01}))  # not a wiring or task edit
    b = a.with_changes({"ap.spectral_radius": 0.5})
    assert h.record(b) and h.can_undo and not h.can_redo
    now = b.with_changes({"train.lr": 0.02})
    back, draft = h.undo(now)
    assert back.ap.spectral_radius == a.ap.spectral_radius and back.train.lr == 0.02 and draft is None
    again, _ = h.redo(back)
    assert again.ap.spectral_radius == 0.5 and h.redo(again) is None


@pytest.mark.parametrize("shown, built", [("digits", "fig5b"), ("fig5b", "digits"), ("fig5c", "fig5a"),
                                          ("2afc", "fig5c")])
def test_a_pending_wiring_over_another_network_draws_only_paths_whose_ends_are_drawn(shown, built):
    # a preset loaded while the old network still builds is drawn pending over it: the old network's
    # paths into blocks the new modules of the same name lack (L2.SE) are not drawn, and nothing fails
    new, old = ap.preset(shown, 64, 10), ap.preset(built, 64, 10)
    d = graph_data(new, None, pending=old)
    refs = set(d["blocks"]["ref"])
    assert set(new.path_names) == set().union(*(d[k]["path"] for k in ("ff_on", "ff_off", "fb_on", "fb_off", "added")))
    for p in old.feedforward + old.feedback:
        drawn = p.name in d["removed"]["path"]
        assert drawn == (p.name not in new.path_names and p.source in refs and p.target in refs)
