"""The explorer's state is one Experiment: widgets write it and follow it, the network is built from it,
and what waits for a fresh network is the structural part of ``built.diff(experiment)``."""


import apexplorer as ap
from apexplorer.app import Explorer
from apexplorer.app.explorer import TASKS_TAB
from apexplorer.app.safe import escape
from apexplorer.app.session import pending_names
from apexplorer.paper import gallery
from tests.app.conftest import render


def test_the_widgets_write_the_experiment_and_follow_it(explorer):
    e = explorer
    e.settings.widgets["lr"].value = 0.02
    e.settings.widgets["spectral_radius"].value = 0.5
    exp = e.state.experiment
    assert (exp.train.lr, exp.ap.spectral_radius, exp.train.epochs, exp.train.device) == (0.02, 0.5, 2, "cpu")
    other = ap.Experiment.from_preset("2afc").with_changes({"ap.t1": 3, "train.seed": 4})
    assert e.state.set_experiment(other)
    w = e.settings.widgets
    assert (w["t1"].value, w["t2"].value, w["seed"].value, w["mode"].value, w["batch_size"].value) == (3, 4, 4, "epe", 50)
    e._setup_tabs.active = TASKS_TAB  # the Tasks tab, hidden meanwhile, is brought up to date when shown
    assert e.state.datasets == {"main": "2afc"} and e.tasks._widgets["main"][0].value == "2afc"
    assert e.state.experiment == other


def test_a_value_equal_to_every_modules_own_is_no_change(explorer):
    e = explorer
    e.settings.widgets["spectral_radius"].value = 0.5
    e.settings.widgets["spectral_radius"].value = 0.25  # what every module of the preset has
    assert e.state.experiment.ap.spectral_radius is None
    assert e.state.experiment == ap.Experiment.from_preset("digits").with_changes({"train.epochs": 2,
                                                                                   "train.device": "cpu"})


def test_pending_is_the_structural_part_of_the_diff_and_the_rest_applies_live(explorer, wait):
    e = explorer
    e.state.step()
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    trainer = e.state.runner.trainer
    e.settings.widgets["lr"].value = 1e-3
    e.settings.widgets["t2"].value = 3
    assert wait(lambda: trainer.opt.lr == 1e-3 and trainer.net.config.t2 == 3, tick=e.tick)
    assert e.state.pending == [] and e.state.built.train.lr == 1e-3
    assert trainer.experiment.ap.t2 == 3  # a saved session says what it trained with
    assert e.state.built is trainer.experiment  # held once: the page reads the trainer's own experiment
    e.settings.widgets["spectral_radius"].value = 0.5
    e.settings.widgets["seed"].value = 3
    assert e.state.pending == ["spectral_radius", "seed"]
    assert set(e.state.built.diff(e.state.experiment)) == {"ap.spectral_radius", "train.seed"}
    assert e.state.runner.trainer is trainer


def test_pending_names_speak_of_settings_wiring_and_tasks():
    diff = {"ap.t1": (8, 4), "ap.spectral_radius": (None, 0.5), "wiring.inline": ("a", "b"),
            "tasks.A.dataset": ("mnist", "digits"), "train.schedule": ("alternating", "simultaneous"),
            "init.scheme": ("uniform", "gaussian")}
    assert pending_names(diff) == ["spectral_radius", "wiring", "tasks", "init"]


def test_an_edit_in_the_editor_makes_the_wiring_inline_and_keeps_the_rest(explorer, wait):
    e = explorer
    e.settings.widgets["lr"].value = 0.01
    e.state.wiring.resize_module("L2", size=128)
    exp = e.state.experiment
    assert exp.wiring.inline is not None and exp.wiring.preset is None
    assert [m["size"] for m in exp.wiring.inline["modules"]] == [256, 128]
    assert exp.train.lr == 0.01 and exp.tasks["main"].dataset == "digits"
    r = e.state.runner
    assert wait(lambda: r.state == "ready" and r.trainer.net.wiring.module("L2").size == 128, tick=e.tick)
    assert "x=" in "&".join(f"{k}=" for k in exp.to_query())  # a link carries the whole inline wiring


def test_the_network_is_built_with_the_experiments_init_and_task_subsets(wait):
    exp = ap.Experiment.from_preset("fig5b", ["digits", "digits"]).with_changes(
        {"wiring.options.size": 16, "tasks.A.train_size": 200, "train.device": "cpu"})
    assert exp.init.scheme == "gaussian"
    e = Explorer(experiment=exp, live=False)
    try:
        render(e)
        r = e.state.runner
        assert wait(lambda: r.state == "ready", tick=e.tick)
        tr = r.trainer
        assert tr.experiment == exp
        assert all((b == 0).all() for b in tr.net.tensors["readout_bias"].values())  # Gaussian: zero readout bias
        assert len(tr.data["A"].y_train) == 200 and len(tr.data["B"].y_train) > 200
        assert [w.value for w, _ in e.tasks._widgets.values()] == ["digits", "digits"]
    finally:
        e.close()


def test_the_paper_tab_loads_a_figures_experiment_with_the_papers_values_beside(explorer):
    e = explorer
    assert e.paper is not None and e.paper.report == e.paper.SHIPPED  # the shipped reproduction is the default
    e.paper.param.update(result="fig5e", point="simultaneous")
    e.paper.load_button.clicks += 1
    want, _ = e.state.fit_machine(gallery.experiment("fig5e", "quick", "simultaneous"))
    assert e.state.experiment == want
    assert e.state.schedule == "simultaneous" and e.settings.widgets["batch_size"].value == 50
    assert e.paper_note.visible and escape("88.75 %") in e.paper_note.object and "ours" in e.paper_note.object
    e.state.load_preset("digits")
    assert not e.paper_note.visible


def test_a_session_saved_before_experiments_loads_as_an_inline_experiment(explorer, wait, small_wiring, digits,
                                                                          tmp_path, make_trainer):
    tr = make_trainer(digits, small_wiring, {"t1": 3, "t2": 2, "mode": "epe"}, epochs=4, batch_size=64, lr=2e-3, seed=5)
    next(tr.train())
    tr.save(tmp_path / "old.pt")  # no experiment inside: Trainer.create, not build
    e = explorer
    assert e.state.load(tmp_path / "old.pt")
    assert wait(lambda: "loaded the session old.pt" in e.state.info, tick=e.tick)
    exp = e.state.experiment
    assert exp.wiring.inline is not None and exp.tasks["main"].dataset == "digits"
    assert (exp.ap.t1, exp.ap.t2, exp.ap.mode, exp.train.lr, exp.train.seed, exp.train.epochs) == (3, 2, "epe", 2e-3, 5, 4)
    assert e.settings.widgets["t2"].value == 2 and e.state.pending == []
    assert e.state.runner.trainer.experiment == exp


def test_an_experiment_file_opens_and_downloads(explorer):
    e = explorer
    text = e.run._experiment().read()
    exp = ap.Experiment.from_toml(text)
    assert exp == e.state.experiment
    changed = exp.with_changes({"ap.t1": 3, "train.lr": 0.02}).to_toml().encode()
    assert e.state.load_experiment_upload(changed, "mine.toml")
    assert e.settings.widgets["t1"].value == 3 and e.settings.widgets["lr"].value == 0.02
    assert "opened the experiment mine.toml" in e.state.info
    assert "--t1 3" not in e.run.command.object  # its card is collapsed: the page is sent nothing for it
    e.run._experiment_card.collapsed = False  # the command is written when its card is opened
    assert "apexplorer train --preset digits --dataset digits" in e.run.command.object and "--t1 3" in e.run.command.object
    assert not e.state.load_experiment_upload(b"[ap]\nt1 = 0\n", "bad.toml")
    assert "ap.t1 = 0" in e.state.message and e.settings.widgets["t1"].value == 3


def test_keyboard_shortcuts_drive_the_run(explorer, wait):
    e = explorer
    e.key("step")
    assert wait(lambda: e.state.runner.trainer.position == 1, tick=e.tick)
    e.key("toggle")
    assert wait(lambda: e.state.runner.state == "running", tick=e.tick)
    e.key("toggle")
    assert wait(lambda: e.state.runner.state == "paused", tick=e.tick)
    old = e.state.runner.trainer
    e.key("reset")
    assert wait(lambda: e.state.runner.trainer not in (None, old), tick=e.tick)
    e.key("help")
    assert e.keys_help.visible and "Train / Pause" in e.keys_help.object


def test_an_uploaded_dataset_is_recorded_and_a_session_asks_for_it_again(wait):
    """A served page (no local files): an upload trains under the visitor's name with its sha256 recorded; a saved
    session names it without holding it, so a fresh page asks for the file and loads the session once it has it."""
    import hashlib

    rows = ["x1,x2,kind"] + [f"{i / 40:.3f},{(i % 7) / 7:.3f},{['crescent', 'hook'][i % 2]}" for i in range(40)]
    data = ("\n".join(rows) + "\n").encode()
    from apexplorer.app.session import ExplorerState

    a = Explorer(dataset="moons", preset="toy", live=False, local_files=False)  # small networks
    b = ExplorerState("moons", "toy", local_files=False)  # a fresh page's session, without its views
    try:
        assert wait(lambda: a.state.runner.state == "ready", tick=a.tick, timeout=60)
        a.tasks._on_upload(data, "lab.csv")
        spec = a.state.experiment.tasks["main"]
        assert (spec.dataset, spec.sha256) == ("lab.csv", hashlib.sha256(data).hexdigest()), spec
        assert wait(lambda: a.state.runner.state == "ready" and a.state.built.tasks["main"] == spec, tick=a.tick,
                    timeout=60)
        d = a.state.runner.trainer.data["main"]
        assert (d.n_features, d.classes) == (2, ["crescent", "hook"])
        assert "lab.csv" in a.tasks._widgets["main"][0].options
        session = a.state.session_bytes()
        assert not b.load_upload(session, "s.pt")
        assert "lab.csv is a visitor's uploaded data" in b.message and "upload lab.csv again" in b.message
        b.add_upload(data, "lab.csv")
        assert b.load_upload(session, "s.pt"), b.message
        assert wait(lambda: b.runner.state not in ("building", "empty"), tick=lambda: b.observe(b.runner.drain()),
                    timeout=60)
        assert b.built.tasks["main"].dataset == "lab.csv" and b.runner.trainer.data["main"].n_classes == 2
        a.state.set_dataset("main", "digits")  # back to a built-in dataset: no file's hash stays
        assert a.state.experiment.tasks["main"].sha256 is None
    finally:
        a.close()
        b.close()
