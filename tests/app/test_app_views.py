"""The explorer's views, rendered without a browser (``get_root``) and driven by their widgets."""


import apexplorer as ap
import panel as pn
from apexplorer.app import CurvesView, ErrorFlowPlayer, ErrorView, Explorer, NetworkGraph, PCAView, TrajectoryView
from apexplorer.trace import trace_sample
from tests.app.conftest import render
from apexplorer.app.explorer import TASKS_TAB
from apexplorer.app.safe import escape, is_shown


def run_to_end(e, wait, timeout=60):
    assert e.state.train()
    assert wait(lambda: e.state.runner.state == "finished", timeout=timeout, tick=e.tick)
    e.tick()


def test_the_default_page_trains_and_every_view_has_data(explorer, wait):
    e = explorer
    run_to_end(e, wait)
    assert "test acc" in e.state.status and "epoch 2/2" in e.state.status
    assert e.curves.n_points() > 4
    assert len(e.curves.sources[("ap", "acc", "test", "main")].data["x"]) == 2
    assert e.errors.cols and set(e.errors.names) >= {"L1", "L2", "y"}
    for v in (e.trajectory, e.pca, e.player):
        assert v.trace is not None
    e.tabs.active = 1  # showing a tab draws it
    assert e.trajectory.sources[0].data["xs"]
    e.tabs.active = 4
    assert e.player.frames and e.player.frames[-1].phase == "update"
    e.player.frame = 3
    assert e.player.graph.data["focus"]["left"]  # the module at work is framed


def test_step_trains_exactly_one_batch(explorer, wait):
    e = explorer
    e.state.step()
    # the status line follows on the next drain tick: wait for it as well
    assert wait(lambda: e.state.runner.state == "paused" and e.state.runner.trainer.position == 1
                and "batch 1/" in e.state.status, tick=e.tick), e.state.status


def test_reset_gives_a_fresh_network(explorer, wait):
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    old = e.state.runner.trainer
    e.run.reset.clicks += 1
    # the trainer is replaced on the worker thread before its reset reaches the views: wait for both
    assert wait(lambda: e.state.runner.trainer not in (old, None) and e.curves.n_points() == 0, tick=e.tick)
    assert e.state.runner.trainer.position == 0


def test_a_bad_wiring_json_shows_the_library_message_and_the_page_keeps_working(explorer, wait):
    e = explorer
    e.editor.json.value = '{"modules": [{"name": "L1", "size": -8}], "inputs": [{"name": "x", "size": 64}]}'
    e.editor.import_json.clicks += 1
    assert e.editor.error.visible and escape("not imported") in e.editor.error.object
    e.editor.json.value = "{oops"
    e.editor.import_json.clicks += 1
    assert escape("not valid JSON") in e.editor.error.object
    assert e.state.wiring.wiring is not None  # the old wiring is kept
    run_to_end(e, wait)


def test_negative_sizes_and_t1_zero_are_reported_inline(explorer):
    e = explorer
    e.state.wiring.resize_module("L1", size=-4)
    assert escape("size -4 must be a positive integer") in e.editor.error.object
    assert not e.state.reset()
    assert escape("size -4") in e.run.error.object and e.run.error.visible
    e.state.wiring.resize_module("L1", size=256)
    e.settings.widgets["t1"].value = 0
    assert escape("t1 = 0: iteration counts must be integers >= 1") in e.settings.error.object
    assert not e.state.reset()
    e.settings.widgets["t1"].value = 8
    assert e.state.reset() and e.state.message == ""


def test_a_structural_change_asks_before_resetting_a_trained_network(explorer, wait):
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    trainer = e.state.runner.trainer
    e.settings.widgets["spectral_radius"].value = 0.5
    assert is_shown(e.settings.confirm) and escape("spectral radius") in e.settings.ask.object
    assert not e.state.train()  # Train waits for the answer
    e.settings.revert.clicks += 1
    assert e.state.settings.spectral_radius == 0.25 and not e.state.pending
    assert e.state.runner.trainer is trainer
    e.settings.widgets["spectral_radius"].value = 0.5
    e.settings.apply.clicks += 1
    assert wait(lambda: e.state.runner.trainer is not trainer and e.state.runner.trainer is not None, tick=e.tick)
    assert e.state.runner.trainer.net.wiring.modules[0].spectral_radius == 0.5


def test_a_live_setting_applies_to_the_running_network(explorer, wait):
    e = explorer
    e.settings.widgets["lr"].value = 1e-3
    assert wait(lambda: e.state.runner.trainer.opt.lr == 1e-3, tick=e.tick)
    e.settings.widgets["t2"].value = 4
    assert wait(lambda: e.state.runner.trainer.net.config.t2 == 4, tick=e.tick)
    assert not e.state.pending


def test_suppressing_the_only_route_is_reported_on_the_tasks_tab(explorer):
    e = explorer
    e._setup_tabs.active = TASKS_TAB  # the visitor ticks the boxes there
    boxes = e.tasks._widgets["main"][1]
    boxes.value = [p for p in boxes.value if p != "L1.SI->L2.RI"]
    assert e.tasks.error.visible
    assert escape("output 'y' cannot be reached from input 'x'") in e.tasks.error.object
    e.tasks._widgets["main"][1].value = e.tasks._widgets["main"][1].value + ["L1.SI->L2.RI"]
    assert not e.tasks.error.visible and e.state.wiring.wiring is not None


def test_a_suppressed_path_is_grey_and_its_upstream_path_does_not_learn(explorer, wait):
    e = explorer
    boxes = e.tasks._widgets["main"][1]
    boxes.value = [p for p in boxes.value if p != "L2.SE->L1.RE"]
    assert "L2.SE->L1.RE" in e.graph.data["fb_off"]["path"]
    assert any("which no error reaches" in n for n in e.state.wiring.notes)
    r = e.state.runner
    assert wait(lambda: r.state == "ready", tick=e.tick)  # the untrained network was rebuilt at once
    old = r.trainer
    e.settings.apply.clicks += 1  # and "Reset and apply" builds another
    assert wait(lambda: r.state == "ready" and r.trainer not in (None, old), tick=e.tick)
    tr = r.trainer
    before = {k: v.clone() for k, v in tr.net.weights.items()}
    run_to_end(e, wait)
    assert (tr.net.weights["x->L1.RI"] == before["x->L1.RI"]).all()  # no error reaches L1
    assert not (tr.net.weights["L1.SI->L2.RI"] == before["L1.SI->L2.RI"]).all()


def test_a_third_module_can_be_added_wired_and_trained(explorer, wait):
    e = explorer
    ed = e.editor
    ed.new_name.value, ed.new_size.value = "L3", 64
    ed.add_module.clicks += 1
    for kind, src, dst in (("feedforward", "L2.SI", "L3.RI"), ("feedforward", "L3.SI", "y"),
                           ("feedback", "y", "L3.RE"), ("feedback", "L3.SE", "L2.RE")):
        ed.path_kind.value = kind
        ed.path_src.value, ed.path_dst.value = src, dst
        ed.add_path.clicks += 1
    ed.del_path.value = "L2.SI->y"
    ed.remove_path.clicks += 1
    ed.del_path.value = "y->L2.RE"
    ed.remove_path.clicks += 1
    assert e.state.wiring.error == "", e.state.wiring.error
    assert "L3" in e.graph.data["frames"]["module"]
    e.settings.apply.clicks += 1
    assert wait(lambda: e.state.runner.trainer is not None and "L3" in e.state.runner.trainer.net.wiring.module_names,
                tick=e.tick)
    run_to_end(e, wait)
    assert "L3" in e.errors.names


def test_two_explorers_do_not_share_networks_or_plots(wait):
    a, b = Explorer(live=False), Explorer(live=False)
    try:
        ra, rb = render(a), render(b)
        assert wait(lambda: a.state.runner.trainer is not None and b.state.runner.trainer is not None,
                    tick=lambda: (a.tick(), b.tick()))
        a.state.step()
        assert wait(lambda: a.state.runner.trainer.position == 1, tick=a.tick)
        assert b.state.runner.trainer.position == 0
        assert a.state.runner is not b.state.runner and a.curves.sources is not b.curves.sources
        ids_a = {m.id for m in ra.references()}
        ids_b = {m.id for m in rb.references()}
        assert not ids_a & ids_b
    finally:
        a.close()
        b.close()
    assert not a.state.runner.alive and not b.state.runner.alive


def test_a_downloaded_session_uploads_back_whole(explorer, wait):
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    data = e.run._download().read()  # what the download button sends
    w = e.state.runner.trainer.net.weights["x->L1.RI"].clone()
    e.state.settings.t2 = 5  # a live change, then load the saved session back
    assert e.state.load_upload(data, "mine.pt")
    assert e.state.files.waiting == "mine.pt" and e.run.load_confirm.visible  # over a trained network: asks
    assert e.state.runner.trainer.position == 1 and e.state.settings.t2 == 5  # nothing replaced yet
    e.run.load_yes.clicks += 1
    assert not e.run.load_confirm.visible
    assert wait(lambda: e.state.runner.trainer is not None and e.state.runner.trainer.position == 1
                and "loaded the session mine.pt" in e.state.info, tick=e.tick)
    assert (e.state.runner.trainer.net.weights["x->L1.RI"] == w).all()
    assert e.state.settings.t2 == 8 and e.settings.widgets["t2"].value == 8


def test_a_session_is_saved_and_loaded_only_inside_the_servers_folder(wait, tmp_path):
    e = Explorer(live=False, files=tmp_path)
    try:
        render(e)
        assert wait(lambda: e.state.runner.state == "ready", tick=e.tick)
        assert e.run.path.visible
        e.run.path.value = "run.pt"
        e.run.save.clicks += 1
        assert wait(lambda: (tmp_path / "run.pt").exists(), tick=e.tick)
        e.run.load.clicks += 1
        assert wait(lambda: "loaded the session run.pt" in e.state.info, tick=e.tick)
        for bad in ("/etc/passwd", "../run.pt", str(tmp_path.parent / "x.pt")):
            e.run.path.value = bad
            e.run.load.clicks += 1
            assert escape("outside the server's folder") in e.run.error.object, bad
    finally:
        e.close()


def test_without_a_folder_the_page_offers_no_server_paths(explorer):
    e = explorer
    assert not e.run.path.visible and not e.run.save.visible and not e.run.load.visible
    e.run.path.value = "/tmp/x.pt"
    e.run._on_path(e.state.load)
    assert escape("reads and writes no server paths") in e.run.error.object


def test_a_bad_upload_gets_a_message_and_leaves_no_file(explorer, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert not explorer.state.load_upload(b"not a checkpoint", "broken.pt")
    assert escape("checkpoint 'broken.pt' is corrupt or not a checkpoint") in explorer.run.error.object
    assert not list(tmp_path.iterdir())


def test_live_views_take_events_from_a_notebook_loop(small_wiring, digits, make_trainer):
    tr = make_trainer(digits, small_wiring, {"t1": 3, "t2": 3}, epochs=2, batch_size=128, lr=1e-3)
    curves, errors, traj = CurvesView(), ErrorView(), TrajectoryView()
    for v in (curves, errors, traj):
        render(v)
    for ev in tr.train():
        curves.push(ev)
        errors.push(ev)
    traj.push(trace_sample(tr.net, digits.x_test[0], int(digits.y_test[0])))
    assert curves.n_points() >= 4 and len(errors.cols) > 0
    assert traj.module == "L1" and traj.sources[0].data["xs"]


def test_fig5b_loads_with_two_tasks_and_a_schedule(wait):
    e = Explorer(live=False)
    try:
        render(e)
        e._setup_tabs.active = TASKS_TAB
        e.state.load_preset("fig5b")
        assert e.state.wiring.task_names == ["A", "B"]
        assert e.tasks.schedule.visible
        assert set(e.state.datasets) == {"A", "B"}
        e.tasks.show.value = "B"
        assert "xA->L1.RI" in e.graph.data["ff_off"]["path"]
    finally:
        e.close()


def test_loading_a_preset_asks_before_replacing_the_trained_network(explorer, wait):
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    e.editor.preset.value = "2afc"
    e.editor.load_preset.clicks += 1
    assert e.state.datasets == {"main": "2afc"} and e.state.settings.mode == "epe"
    assert "wiring" in e.state.pending and is_shown(e.settings.confirm)
    e.tick()
    assert e.state.runner.trainer.opt.lr == 5e-3  # nothing was applied to the running network
    assert e.state.runner.trainer.net.wiring.inputs[0].size == 64


def test_a_live_view_follows_a_trainer_in_the_background(small_wiring, digits, wait, make_trainer):
    tr = make_trainer(digits, small_wiring, {"t1": 3, "t2": 3}, epochs=1, batch_size=128, lr=1e-3)
    curves = CurvesView()
    render(curves)
    runner = curves.follow(tr, period=100)
    try:
        runner.train()
        assert wait(lambda: runner.state == "finished", timeout=60)
        curves.consume(runner.drain())
        assert len(curves.sources[("ap", "acc", "test", "main")].data["x"]) == 1
    finally:
        runner.close()


def test_the_end_of_a_browser_session_stops_its_worker(wait):
    e = Explorer(live=False)
    assert e.state.runner.alive
    e._destroyed(None)  # what Bokeh calls when the session ends
    assert not e.state.runner.alive


def test_a_finished_run_goes_on_when_epochs_are_raised(explorer, wait):
    e = explorer
    run_to_end(e, wait)
    trainer = e.state.runner.trainer
    assert not e.state.train() and "the run is complete (2/2 epochs)" in e.state.info
    e.settings.widgets["epochs"].value = 3
    assert wait(lambda: trainer.config.epochs == 3, tick=e.tick)
    run_to_end(e, wait)
    assert e.state.runner.trainer is trainer and trainer.epoch == 3
    assert len(e.curves.sources[("ap", "acc", "test", "main")].data["x"]) == 3


def test_the_notebook_pieces_show_one_recorded_sample(small_wiring, digits):
    net = ap.Network(small_wiring, ap.APConfig(t1=4, t2=4), seed=0)
    sample = trace_sample(net, digits.x_test[0], int(digits.y_test[0]))
    graph = NetworkGraph(small_wiring, height=300)
    player, pca = ErrorFlowPlayer(), PCAView()
    for v in (graph, player, pca):
        render(v)
    player.set_trace(sample, small_wiring)
    player.frame = len(player.frames) - 1
    assert player.frames[-1].phase == "update" and "Updates" in player.title.object
    assert player.graph.data["ff_on"]["width"] != [2.2] * 3  # line width follows each path's update
    pca.push(sample)
    assert pca.module == "L2" and "explained variance" in pca.caption.object
    assert len(pca.plot.object.data) == 5  # both phases, the error vectors and the two end points
    assert set(graph.data["frames"]["module"]) == {"L1", "L2"}


def test_a_divergent_run_shows_the_library_message_and_the_page_keeps_working(explorer, wait):
    e = explorer
    e.state.settings.param.update(lr=50.0)
    run_to_end(e, wait)
    assert e.run.error.visible and escape("training diverged") in e.run.error.object
    e.state.settings.lr = 5e-3
    old = e.state.runner.trainer
    e.run.reset.clicks += 1
    assert wait(lambda: e.state.runner.trainer not in (None, old), tick=e.tick)
    run_to_end(e, wait)
    assert not e.run.error.visible and "test acc" in e.state.status


def test_the_explorer_can_follow_a_notebook_users_trainer(small_wiring, digits, wait, make_trainer):
    tr = make_trainer(digits, small_wiring, {"t1": 3, "t2": 3}, epochs=1, batch_size=128, lr=1e-3)
    e = Explorer(trainer=tr, live=False)
    try:
        render(e)
        assert wait(lambda: e.state.runner.trainer is tr, tick=e.tick)
        assert e.state.wiring.wiring.name == "small" and e.graph.data["frames"]["module"] == ["L1", "L2"]
        e.state.settings.lr = 2e-3  # a live change reaches the user's trainer and the experiment it holds
        assert wait(lambda: tr.opt.lr == 2e-3, tick=e.tick)
        assert e.state.built is tr.experiment and tr.experiment.train.lr == 2e-3 and not e.state.pending
        run_to_end(e, wait)
        assert tr.epoch == 1 and e.curves.n_points() > 0
    finally:
        e.close()


def test_choosing_another_dataset_fits_the_ports_and_rebuilds_the_untrained_network(explorer, wait):
    e = explorer
    old = e.state.runner.trainer
    e.tasks._widgets["main"][0].value = "2afc"
    assert e.state.wiring.wiring.inputs[0].size == 1024 and e.state.wiring.wiring.outputs[0].size == 2
    assert wait(lambda: e.state.runner.trainer not in (None, old), tick=e.tick)
    for _ in range(5):
        e.tick()
    assert e.state.message == "" and e.state.runner.trainer.data["main"].name == "2afc"


def test_a_module_moved_on_a_trained_network_asks_nothing_and_the_link_keeps_it(explorer, wait):
    """A drag changes where a module is drawn, not the network: no "Reset and apply"; the URL has it at once.
    A path added waits (drawn pending) and the URL keeps the network's experiment until it is applied."""
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    query = e.bridge.query
    e.wire.move("L2", 9.0, 4.0)
    assert e.state.pending == [] and not is_shown(e.settings.confirm)
    assert e.state.runner.trainer.position == 1  # the same network, still trained
    assert e.bridge.query != query and e.state.experiment.wiring.inline["layout"] == {"L2": [9.0, 4.0]}
    query = e.bridge.query
    e.wire.click("block", "x")
    e.wire.click("block", "L2.RI")
    assert e.state.pending == ["wiring"] and is_shown(e.settings.confirm)
    assert e.graph.data["added"]["path"] == ["x->L2.RI"]
    assert e.bridge.query == query and "x->L2.RI" not in _saved_paths(e)
    e.wire.click("path", "L2.SE->L1.RE")
    e.wire.delete()
    assert e.graph.data["removed"]["path"] == ["L2.SE->L1.RE"]
    e.wire.click("path", "L2.SE->L1.RE")  # drawn crossed out: a click says so, Delete does nothing more
    assert e.wire.selected is None and "waiting for Reset and apply" in e.wire.done.object
    e.wire.delete()
    assert e.state.wiring.error == "" and not e.state.blocker()
    e.settings.apply.clicks += 1
    assert wait(lambda: e.state.runner.state == "ready", tick=e.tick)
    assert e.graph.data["added"]["path"] == [] and "x->L2.RI" in e.graph.data["ff_on"]["path"]
    assert e.graph.data["removed"]["path"] == [] and "L2.SE->L1.RE" not in e.state.wiring.path_names
    assert e.bridge.query != query and "x->L2.RI" in _saved_paths(e)


def _saved_paths(e) -> list:
    """The path names of the experiment that "Experiment: save" writes."""
    from apexplorer.experiment import Experiment

    return list(Experiment.from_toml(e.state.files.experiment_text()).inline_wiring().path_names)


def test_an_edit_on_the_graph_sends_the_hidden_tasks_tab_nothing_and_showing_it_brings_it_up_to_date(explorer):
    e = explorer
    assert e._setup_tabs.active != TASKS_TAB  # the page opens on the Network tab
    ref, (tabs, _) = next(iter(e._setup_tabs._models.items()))  # the Bokeh Tabs model the page has
    _, root, doc, _ = pn.state._views[ref]
    if root.document is None:
        doc.add_root(root)
    hidden = {m.id for m in tabs.tabs[TASKS_TAB].child.references()}
    box = e.tasks._widgets["main"][1]
    shown = next(m for m, _ in box._models.values())  # the Tasks card's checkboxes, as the page has them
    sent = []
    doc.on_change(lambda event: sent.append(event))
    e.wire.click("path", "L2.SE->L1.RE")
    e.wire.delete()
    assert "L2.SE->L1.RE" not in e.state.wiring.path_names
    assert any(getattr(ev, "model", None) is not None and ev.model.name == "graph-fb_on" for ev in sent)
    to_tasks = [(type(ev.model).__name__, getattr(ev, "attr", "")) for ev in sent
                if getattr(ev, "model", None) is not None and ev.model.id in hidden]
    assert to_tasks == [], f"the hidden Tasks tab was sent {to_tasks}"
    assert "L2.SE->L1.RE" in shown.labels
    e._setup_tabs.active = TASKS_TAB
    assert shown.labels == e.state.wiring.path_names and "L2.SE->L1.RE" not in shown.labels
    assert [shown.labels[i] for i in shown.active] == e.state.wiring.active("main")
    e.wire.click("path", "L1.SI->L2.RI")  # shown, it follows each edit at once
    e.wire.delete()
    assert "L1.SI->L2.RI" not in shown.labels and e.tasks.error.visible
