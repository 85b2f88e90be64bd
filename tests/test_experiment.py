"""Experiments: one validated description of a run that round-trips through files, dotted keys and URLs."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apexplorer.build import build
from apexplorer.errors import ApexplorerError
from apexplorer.experiment import Experiment, ExperimentError, parse_assignment
from apexplorer.presets import preset_names


@pytest.fixture
def digits_exp():
    return Experiment.from_preset("digits")


def test_a_preset_experiment_carries_the_presets_own_settings():
    e = Experiment.from_preset("digits")
    assert (e.wiring.preset, e.train.epochs, e.train.batch_size, e.train.lr) == ("digits", 30, 32, 5e-3)
    assert {t: s.dataset for t, s in e.tasks.items()} == {"main": "digits"}
    a = Experiment.from_preset("2afc")
    assert (a.ap.mode, a.ap.t2, a.train.lr, a.tasks["main"].dataset) == ("epe", 4, 2e-2, "2afc")
    f = Experiment.from_preset("fig5b", ["fashion-mnist", "digits"])
    assert {t: s.dataset for t, s in f.tasks.items()} == {"A": "fashion-mnist", "B": "digits"}


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_round_trips_through_toml_json_dict_and_url(name):
    e = Experiment.from_preset(name, "digits")
    assert Experiment.from_toml(e.to_toml()) == e
    assert Experiment.from_json(e.to_json()) == e
    assert Experiment.from_dict(json.loads(json.dumps(e.to_dict()))) == e
    assert Experiment.from_query(e.to_query()) == e


def test_files_round_trip_by_their_suffix(tmp_path, digits_exp):
    e = digits_exp.with_changes({"train.lr": 1e-2, "tasks.main.train_size": 500, "name": "mine",
                                 "notes": "lr ten times the preset's"})
    for name in ("e.toml", "e.json"):
        e.save(tmp_path / name)
        assert Experiment.load(tmp_path / name) == e
    assert (tmp_path / "e.toml").read_text().startswith("schema = 1")


def test_an_inline_wiring_round_trips_and_builds(tmp_path):
    from apexplorer import chain

    w = chain([16, 16], 64, 10, blocks={"RI": 4, "SI": 4, "RE": 4, "SE": 4}, name="tiny")
    e = Experiment.from_dict({"wiring": {"inline": w.to_dict()}, "tasks": {"main": "digits"},
                              "train": {"epochs": 1, "batch_size": 64}})
    assert Experiment.from_toml(e.to_toml()) == e
    assert Experiment.from_query(e.to_query()) == e and "x" in e.to_query()
    tr = build(e)
    assert tr.net.wiring.to_dict() == w.to_dict() and tr.experiment == e


@pytest.mark.parametrize("d,needle", [
    ({"train": {"optimizer": "adamw"}}, "train.optimizer = 'adamw' is not valid; choices are adam, sgd"),
    ({"train": {"lr": 0}}, "train.lr = 0 must be a number > 0"),
    ({"train": {"epochs": 1.5}}, "train.epochs = 1.5 must be an integer >= 1"),
    ({"train": {"batch_size": "32"}}, "train.batch_size = '32' must be an integer >= 1"),
    ({"train": {"lrr": 1}}, "unknown key train.lrr; keys of [train] are epochs, batch_size, lr"),
    ({"ap": {"mode": "xte"}}, "ap.mode = 'xte' is not valid; choices are ste, epe"),
    ({"ap": {"t1": 0}}, "ap.t1 = 0 must be an integer >= 1"),
    ({"ap": {"spectral_radius": -1}}, "ap.spectral_radius = -1 must be a number >= 0"),
    ({"tasks": {"main": "mnistt"}}, "tasks.main.dataset = 'mnistt' is not valid; choices are digits, 2afc"),
    ({"tasks": {"B": "digits"}}, "task 'B' is not a task of the wiring; its tasks are main"),
    ({"wiring": {"preset": "nope"}}, "wiring.preset = 'nope' is not a preset; presets are paper-1layer"),
    ({"wiring": {"preset": "digits", "options": {"width": 3}}}, "wiring.options.width is not an option of preset "
                                                                  "'digits'; its options are size"),
    ({"method": {"name": "ap", "hidden": [256]}}, "method.hidden is an option of the baselines"),
    ({"method": {"name": "bp", "epsilon": 0.5}}, "method.epsilon is an option of ep, not bp"),
    ({"method": {"name": "bp"}, "train": {"seeds": 2}}, "train.seeds = 2: seeds as one ensemble are for AP"),
    ({"train": {"device": "tpu"}}, "train.device = 'tpu' is not valid; choices are auto, cpu, cuda, cuda:N"),
    ({"schema": 2}, "schema = 2: this apexplorer reads experiments of schema 1"),
    ({"hyper": 1}, "unknown key 'hyper'; an experiment has schema, name, notes, wiring, tasks, ap, train, method"),
], ids=["choice", "bound", "int", "type", "unknown-key", "mode", "t1", "radius", "dataset", "task", "preset",
        "option", "ap-hidden", "bp-eps", "baseline-seeds", "device", "schema", "top-key"])
def test_a_bad_field_is_named_with_its_value_and_the_choices(d, needle):
    base = {"wiring": {"preset": "digits"}, "tasks": {"main": "digits"}}
    with pytest.raises(ExperimentError) as e:
        Experiment.from_dict({**base, **d})
    assert needle in str(e.value)


def test_simultaneous_tasks_cannot_take_their_own_batch_sizes():
    f = Experiment.from_preset("fig5b", "digits")
    assert f.with_changes({"tasks.B.batch_size": 8}).tasks["B"].batch_size == 8
    with pytest.raises(ExperimentError, match="present their samples in pairs"):
        f.with_changes({"tasks.B.batch_size": 8, "train.schedule": "simultaneous"})


def test_changes_by_dotted_key_alias_or_text_give_the_same_experiment(digits_exp):
    a = digits_exp.with_changes({"train.lr": 0.01, "ap.t1": 4, "ap.t2": 4, "ap.spectral_radius": 0.5})
    b = digits_exp.with_changes({"lr": "0.01", "steps": "4", "sr": "0.5"})
    c = digits_exp.with_changes(dict(parse_assignment(s) for s in ("train.lr=1e-2", "steps=4", "sr=0.5")))
    assert a == b == c
    assert a.diff(digits_exp) == {"ap.t1": (4, 8), "ap.t2": (4, 8), "ap.spectral_radius": (0.5, None),
                                  "train.lr": (0.01, 0.005)}
    assert digits_exp.with_changes(dataset="2afc").tasks["main"].dataset == "2afc"
    assert digits_exp.with_changes({"ap.spectral_radius": None}) == digits_exp
    with pytest.raises(ExperimentError, match="unknown key 'train.nope'|unknown key train.nope"):
        digits_exp.with_changes({"train.nope": 1})
    with pytest.raises(ExperimentError, match="'x' is not an integer >= 1"):
        digits_exp.with_changes({"steps": "x"})


def test_an_experiment_is_frozen(digits_exp):
    with pytest.raises(AttributeError):
        digits_exp.train = None
    with pytest.raises(AttributeError):
        digits_exp.train.lr = 1.0


def test_the_url_query_is_the_preset_and_the_changed_keys(digits_exp):
    e = digits_exp.with_changes({"sr": 0.5, "train.lr": 0.02})
    assert e.to_query() == {"preset": "digits", "ap.spectral_radius": "0.5", "train.lr": "0.02"}
    assert Experiment.from_query({"preset": ["digits"], "ap.spectral_radius": ["0.5"], "train.lr": ["0.02"]}) == e
    with pytest.raises(ExperimentError, match="damaged"):
        Experiment.from_query({"x": "not-base64!"})


@settings(max_examples=40, deadline=None)
@given(lr=st.floats(1e-6, 1.0), t1=st.integers(1, 50), t2=st.integers(1, 50), sr=st.floats(0.0, 3.0),
       mode=st.sampled_from(["ste", "epe"]), epochs=st.integers(1, 500), batch=st.integers(1, 2000),
       seed=st.integers(0, 2**31), preset=st.sampled_from(["digits", "paper-2layer", "fig5b"]))
def test_any_valid_experiment_round_trips_through_every_form(lr, t1, t2, sr, mode, epochs, batch, seed, preset):
    e = Experiment.from_preset(preset, "digits").with_changes(
        {"train.lr": lr, "ap.t1": t1, "ap.t2": t2, "ap.spectral_radius": sr, "ap.mode": mode,
         "train.epochs": epochs, "train.batch_size": batch, "train.seed": seed})
    assert Experiment.from_toml(e.to_toml()) == e
    assert Experiment.from_json(e.to_json()) == e
    assert Experiment.from_query(e.to_query()) == e
    args = e.train_args()
    assert args is not None and args[:2] == ["--preset", preset]


def test_a_bad_file_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "bad.toml").write_text("[train\nlr = 1")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        Experiment.load(tmp_path / "bad.toml")
    with pytest.raises(ExperimentError, match="is a folder"):
        Experiment.load(tmp_path)
    with pytest.raises(ExperimentError, match="is not there"):
        Experiment.load(tmp_path / "none.toml")


def test_build_runs_the_experiment(digits_exp):
    e = digits_exp.with_changes({"train.epochs": 1, "train.batch_size": 128, "tasks.main.train_size": 256,
                                 "tasks.main.test_size": 100, "train.device": "cpu"})
    tr = build(e)
    assert len(tr.data["main"].y_train) == 256 and len(tr.data["main"].y_test) == 100
    assert tr.config.batch_size == 128 and tr.n_batches == 2
    hist = tr.run()
    assert len(hist) == 1 and 0 <= hist[0]["test_acc"] <= 1


def test_a_subset_is_the_same_for_every_seed():
    from apexplorer.data import load_dataset

    d = load_dataset("digits")
    a, b = d.subset(100, 50), d.subset(100, 50)
    assert a.y_train.tolist() == b.y_train.tolist() and len(a.y_test) == 50
    with pytest.raises(ApexplorerError, match="a train subset of 5000 samples; it has 1437"):
        d.subset(5000)


def test_a_baseline_experiment_builds_its_learner(digits_exp):
    e = digits_exp.with_changes({"method.name": "fa", "method.hidden": [64, 32], "train.epochs": 1})
    tr = build(e)
    assert tr.learner.kind == "fa" and tr.learner.config.hidden == (64, 32) and tr.net is None


def test_build_gives_each_task_its_batch_size_and_every_module_the_experiments_radius_and_rate():
    """The defaults (one batch size, the wiring's own radius and rate) would hide a setting that build() drops."""
    import torch

    from apexplorer.reservoirs import spectral_radius
    from tests.conftest import make_blob_data

    e = Experiment.from_preset("fig5b", "digits").with_changes({
        "tasks.B.batch_size": 8, "ap.spectral_radius": 0.3, "ap.connection_rate": 0.5, "wiring.options.size": 4,
        "train.device": "cpu", "train.batch_size": 16})
    data = {"A": make_blob_data(n_features=12, n_classes=3, seed=1, n=50),
            "B": make_blob_data(n_features=8, n_classes=2, seed=2, n=50)}
    tr = build(e, data=data)
    assert tr.batch_sizes == {"A": 16, "B": 8}
    assert [n for _, n in tr.segments()] == [3, 5]  # 40 samples each: 16 + 16 + 8, and five of 8
    for m in tr.net.wiring.modules:
        W = tr.net.reservoirs[m.name]
        assert int(torch.count_nonzero(W)) == round(0.5 * m.size ** 2), m.name
        assert abs(spectral_radius(W) - 0.3) < 1e-4, m.name


def test_an_ensemble_of_seeds_starts_at_the_experiments_seed():
    """train.seeds = 3 with train.seed = 5 trains seeds 5, 6, 7 (seed 0, the default, would hide a range from 0)."""
    import torch

    from apexplorer.init import init_tensors
    from tests.conftest import make_blob_data

    e = Experiment.from_preset("digits").with_changes({"train.seed": 5, "train.seeds": 3, "wiring.options.size": 8,
                                                       "train.device": "cpu"})
    tr = build(e, data={"main": make_blob_data(n=40)})
    assert tr.net.seeds == (5, 6, 7)
    first = tr.streams.take(["main"], {"main": 32})["main"]  # each member's first pass over its 32 samples
    for k, sd in enumerate((5, 6, 7)):
        alone = init_tensors(tr.net.wiring, sd)
        for name, W in alone["weights"].items():
            assert torch.equal(tr.net.weights[name][k], W), (sd, name)
        g = torch.Generator().manual_seed(sd + 1)  # the member's data order: that of --seed sd alone
        assert torch.equal(first[k], torch.randperm(32, generator=g))
