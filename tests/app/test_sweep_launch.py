"""Launching a sweep from the Sweeps tab (no browser): the form's values become a sweep of the page's
current experiment, bad values are refused with the page's words, and a launched sweep ends in the
tab's plots and table."""

import pytest

import apexplorer as ap
from apexplorer.app.sweep_launch import AXES, make_sweep, parse_values
from apexplorer.app.sweeps import SweepsView
from apexplorer.errors import ApexplorerError
from apexplorer.app.safe import escape


@pytest.fixture
def tiny_experiment(tmp_path):
    f = tmp_path / "tiny.json"
    ap.chain([32, 32], 64, 10, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8}, name="tiny").to_json(f)
    return ap.Experiment.from_settings({"dataset": "digits", "wiring": str(f), "epochs": 30, "batch_size": 128})


@pytest.mark.parametrize("label,text,needle", [
    ("ρ (spectral radius)", "0.1, abc", "ρ (spectral radius): value 'abc' is not a number >= 0"),
    ("ρ (spectral radius)", "-1", "ρ (spectral radius): value '-1' must be a number >= 0"),
    ("Error mode (ste, epe)", "ste, foo", "value 'foo' is not valid; choices are ste, epe"),
    ("Batch size", "16, 1.5", "Batch size: value '1.5' is not an integer >= 1"),
    ("Learning rate", "", "Learning rate: type its values, separated by commas"),
    ("β (error strength)", "1, 1", "β (error strength): lists a value twice"),
], ids=["not-a-number", "out-of-range", "choice", "not-an-integer", "empty", "twice"])
def test_a_bad_typed_value_is_named_in_the_pages_words(label, text, needle):
    with pytest.raises(ApexplorerError) as err:
        parse_values(label, text)
    assert needle in str(err.value)
    assert "grid axis" not in str(err.value) and "--" not in str(err.value)


def test_every_named_setting_is_a_grid_axis_of_the_library():
    from apexplorer.experiment import key_kind

    for label, key in AXES.items():
        assert key_kind(key)["kind"] != "str" or key in ("ap.mode", "method.name"), label


def test_the_form_becomes_a_sweep_of_the_experiment_with_its_epochs_seeds_and_samples(tiny_experiment):
    sw = make_sweep(tiny_experiment, [("ρ (spectral radius)", "0.1, 0.5"), ("T1 = T2 (steps)", "2,4")],
                    epochs=1, seeds=2, train_size=200)
    assert sw.axes == (("ap.spectral_radius", (0.1, 0.5)), ("steps", (2, 4)))
    assert sw.seeds == (0, 1) and len(sw.points()) == 4
    assert sw.base.train.epochs == 1 and sw.base.tasks["main"].train_size == 200
    assert sw.base.wiring == tiny_experiment.wiring


@pytest.mark.parametrize("axes,kw,needle", [
    ([("Learning rate", "1e-3"), ("Learning rate", "1e-2")], {}, "the same setting is chosen twice"),
    ([("T1 = T2 (steps)", "2"), ("T1 (inference steps)", "4")], {}, "cannot be swept beside T1 or T2"),
    ([("ρ (spectral radius)", "0.1")], {"epochs": 0}, "Epochs 0 must be a whole number >= 1"),
    ([("ρ (spectral radius)", ",".join(str(i / 100) for i in range(9))),
      ("β (error strength)", ",".join(str(i + 1) for i in range(9)))], {}, "81 points is more than the page runs"),
], ids=["same-twice", "steps-and-t1", "epochs", "too-many"])
def test_a_bad_form_says_why(tiny_experiment, axes, kw, needle):
    with pytest.raises(ApexplorerError, match=needle):
        make_sweep(tiny_experiment, axes, **kw)


def test_an_uploaded_dataset_is_not_swept_on_the_server(tiny_experiment):
    exp = tiny_experiment.with_changes({"tasks.main.dataset": "lab.csv"})
    with pytest.raises(ApexplorerError, match="lab.csv is your own file, which the sweep's workers do not have"):
        make_sweep(exp, [("ρ (spectral radius)", "0.1")])


def _finish(view, wait, timeout=60):
    assert wait(lambda: not view.launcher.running, timeout=timeout), view.launcher.job.progress()
    view.launcher.poll()


@pytest.fixture
def view(tiny_experiment):
    page = {"experiment": tiny_experiment}
    v = SweepsView(experiment=lambda: page["experiment"], live=False)
    v.launcher.dask = False  # in this process: fast, and the Dask path has its own tests
    v.page = page
    yield v
    v.close()


def test_a_launched_sweep_ends_in_the_tabs_plots_and_table(view, wait):
    la = view.launcher
    la.values1.value = "0.1, 0.5"
    assert la.run()
    assert la.run_button.disabled and not la.cancel_button.disabled and la.progress.visible
    _finish(view, wait)
    assert la.progress.value == 2 and la.progress.max == 2
    assert "Finished: 2 of 2 points" in la.status.object
    assert not la.run_button.disabled and la.cancel_button.disabled and la.download.visible
    assert len(view.frame) == 2 and list(view.table()["sr"]) == [0.1, 0.5]
    assert view.x == "sr" and "Table" in [p.name for p in view._plots.objects]
    assert b"test_acc" in la._download_bytes().getvalue()


def test_a_sweep_runs_the_pages_experiment_as_it_is_when_run_is_pressed(view, wait):
    view.page["experiment"] = view.page["experiment"].with_changes({"ap.beta": 0.5})
    view.launcher.axis1.value = "Learning rate"
    view.launcher.values1.value = "1e-3, 1e-2"
    assert view.launcher.run()
    _finish(view, wait)
    assert set(view.frame["beta"]) == {0.5} and sorted(view.frame["lr"]) == [1e-3, 1e-2]


def test_a_bad_value_launches_nothing_and_says_which(view):
    la = view.launcher
    la.values1.value = "0.1, x"
    assert not la.run()
    assert la.job is None and la.error.visible and escape("value 'x'") in la.error.object
    assert not la.run_button.disabled


def test_run_while_a_sweep_runs_starts_no_second_one_and_cancel_stops_it(view, wait):
    la = view.launcher
    la.epochs.value = 300
    assert la.run()
    job = la.job
    assert not la.run() and la.job is job
    la.cancel()
    _finish(view, wait)
    assert job.progress().state == "cancelled" and "Cancelled" in la.status.object
    assert not la.run_button.disabled and view.frame is None


def test_running_twice_shows_the_second_sweep(view, wait):
    la = view.launcher
    assert la.run()
    _finish(view, wait)
    la.values1.value = "0.1, 0.25, 0.5"
    assert la.run()
    _finish(view, wait)
    assert len(view.frame) == 3 and la.download.filename == "sweep-2.csv"


def test_without_dask_the_page_says_so_and_trains_in_the_servers_process(monkeypatch, tiny_experiment, wait):
    import apexplorer.app.sweep_launch as sl
    import apexplorer.sweep.executors as ex

    monkeypatch.setattr(sl, "have_dask", lambda: False)
    monkeypatch.setattr(ex, "have_dask", lambda: False)
    view = SweepsView(experiment=lambda: tiny_experiment, live=False)
    try:
        assert view.launcher.status.object.startswith("Dask is not installed on the server")
        assert view.launcher.run()
        _finish(view, wait)
        assert view.launcher.job.progress().executor == "in-process"
        assert "in the server's process" in view.launcher.status.object and len(view.frame) == 2
    finally:
        view.close()


def test_a_point_that_cannot_train_is_named_with_the_librarys_reason(view, wait):
    la = view.launcher
    la.train_size.value = 100000
    assert la.run()
    _finish(view, wait)
    assert "2 points failed, the first with: " + escape("sr=0.1: digits: a train subset of 100000 samples; it has "
                                                        "1437") in la.status.object
    assert escape("2 error rows") in view._message.object
