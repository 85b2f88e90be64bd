"""Runs from the command line: experiments written and run again, resumes, checkpoints checked, no tracebacks."""

import json

import numpy as np
import pytest

from apexplorer import examples
from apexplorer.build import build
from apexplorer.cli import main
from apexplorer.data import write_idx
from apexplorer.experiment import Experiment
from tests.conftest import need_fashion_mnist


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    lines = []
    for l in out.out.splitlines():
        try:
            lines.append(json.loads(l))
        except json.JSONDecodeError:
            pass
    return code, lines, out.err


def _epochs(lines):
    return [l for l in lines if "train_acc" in l and "kind" not in l]


def test_a_dumped_experiment_runs_to_the_same_numbers_as_the_train_command(tmp_path, capsys):
    e = tmp_path / "e.toml"
    code, a, err = _run(["train", "--dataset", "digits", "--epochs", "1", "--lr", "0.01", "--steps", "4", "--seed", "3",
                         "--dump-experiment", str(e), "--json"], capsys)
    assert code == 0, err
    code, b, err = _run(["run", str(e), "--json"], capsys)
    assert code == 0, err
    first, again = _epochs(a)[0], _epochs(b)[0]
    assert first["test_acc"] == again["test_acc"] and first["loss"] == again["loss"]  # to the last digit
    exp = Experiment.load(e)
    assert (exp.train.lr, exp.ap.t1, exp.ap.t2, exp.train.seed, exp.train.epochs) == (0.01, 4, 4, 3, 1)
    assert a[0]["experiment"] == exp.to_dict()  # the start line says what runs


def test_run_set_changes_keys_and_show_prints_a_checkpoints_experiment(tmp_path, capsys):
    ck = tmp_path / "r.pt"
    code, lines, err = _run(["run", "digits-quick", "--set", "train.epochs=1", "--set", "sr=0.5", "--save", str(ck),
                             "--json"], capsys)
    assert code == 0, err
    assert main(["show", str(ck)]) == 0
    out = capsys.readouterr().out
    assert Experiment.from_toml(out.split("# trained")[0]) == examples.load("digits-quick").with_changes(
        {"train.epochs": 1, "ap.spectral_radius": 0.5})
    assert "# trained 1 of 1 epochs" in out and f"# the same run: apexplorer run {ck}" in out
    assert main(["show", str(ck), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["checkpoint"]["epoch"] == 1 and d["experiment"]["ap"]["spectral_radius"] == 0.5
    assert _run(["run", str(ck), "--set", "train.seed=1", "--json"], capsys)[0] == 0  # a checkpoint's run, anew


@pytest.mark.parametrize("name", examples.names())
def test_every_shipped_example_loads_and_trains_one_batch(name, tmp_path):
    exp = examples.load(name)
    assert exp.notes and exp.name == name
    data_dir = None
    if any(s.dataset == "mnist" for s in exp.tasks.values()):  # MNIST is not shipped: a tiny stand-in of its files
        rng = np.random.default_rng(0)
        (tmp_path / "mnist").mkdir()
        for split, n in (("train", 80), ("t10k", 40)):
            write_idx(tmp_path / "mnist" / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
            write_idx(tmp_path / "mnist" / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
        data_dir = tmp_path
    if any(s.dataset == "fashion-mnist" for s in exp.tasks.values()):
        need_fashion_mnist()
    small = {"train.device": "cpu", **{f"tasks.{t}.train_size": 64 for t in exp.tasks},
             **{f"tasks.{t}.test_size": 32 for t in exp.tasks}}
    if exp.wiring.preset.startswith(("paper", "fig5")):
        small["wiring.options.size"] = 64 if exp.wiring.preset.startswith("paper") else 32
    tr = build(exp.with_changes(small), data_dir)
    ev = tr.step()
    assert ev.kind == "batch" and 0 <= ev.acc <= 1 and np.isfinite(ev.loss)


def test_resume_applies_epochs_lr_and_batch_size_and_refuses_what_would_make_another_run(tmp_path, capsys):
    ck = tmp_path / "r.pt"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--save", str(ck), "--json"]) == 0
    capsys.readouterr()
    # the README's form: the same dataset and preset are fine, and the new values apply
    code, lines, err = _run(["train", "--dataset", "digits", "--epochs", "2", "--lr", "0.02", "--batch-size", "64",
                             "--resume", str(ck), "--json"], capsys)
    assert code == 0, err
    start = lines[0]
    assert (start["lr"], start["batch_size"], start["start_epoch"], start["epochs"]) == (0.02, 64, 1, 2)
    assert [l["epoch"] for l in _epochs(lines)] == [2]
    for argv, named in ((["--dataset", "2afc"], "--dataset"), (["--preset", "paper-1layer"], "--preset"),
                        (["--sr", "0.5"], "--sr"), (["--steps", "4"], "--t1"), (["--method", "bp"], "--method")):
        code, _, err = _run(["train", *argv, "--resume", str(ck)], capsys)
        assert code == 2 and named in err and "would make another run" in err and "Traceback" not in err
    code, lines, err = _run(["train", "--epochs", "1", "--resume", str(ck)], capsys)
    assert code == 0 and "already trained 2 epochs of 1" in err  # the resume above saved back into ck


def _two_checkpoints(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--save", str(a)]) == 0
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--set", "wiring.options.size=128", "--save",
                 str(b)]) == 0
    import torch

    return torch.load(a, weights_only=True), torch.load(b, weights_only=True)


@pytest.mark.parametrize("part", ["optimizer", "weights"])
def test_a_checkpoint_mixing_two_wirings_is_refused_before_use(tmp_path, capsys, part):
    from apexplorer import checkpoint

    a, b = _two_checkpoints(tmp_path)
    if part == "optimizer":
        a["optimizer"] = b["optimizer"]
    else:
        a["learner"]["tensors"]["weights"] = b["learner"]["tensors"]["weights"]
    bad = tmp_path / "mixed.pt"
    checkpoint.save_atomic({k: v for k, v in a.items() if k not in ("format", "version")}, bad)
    capsys.readouterr()
    code, _, err = _run(["train", "--epochs", "2", "--resume", str(bad)], capsys)
    assert code == 2 and "mixes two runs" in err and "Traceback" not in err
    from apexplorer import Trainer, load_dataset
    from apexplorer.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="has shape .* but|but its wiring needs"):
        Trainer.load(bad, load_dataset("digits"))


@pytest.mark.parametrize("argv,needle", [
    (["train", "--epochs", "1", "--save", "{tmp}"], "is a folder"),
    (["train", "--epochs", "1", "--save", "/proc/apexplorer/run.pt"], "cannot save to '/proc/apexplorer/run.pt'"),
    (["train", "--epochs", "1", "--wiring", "{tmp}"], "is a folder; give a wiring JSON file"),
    (["train", "--epochs", "1", "--data-dir", "{tmp}/mistyped"], "--data-dir '{tmp}/mistyped' does not exist"),
    (["train", "--epochs", "1", "--resume", "/dev/null"], "is not a checkpoint file"),
    (["train", "--epochs", "1", "--resume", "{tmp}"], "is a folder, not a checkpoint file"),
    (["run", "{tmp}/nothing.toml"], "is not there"),
    (["run", "no-such-example"], "neither an experiment file nor a shipped example"),
    (["train", "--task-batch", "Z=5", "--epochs", "1"], "--task-batch Z=...: no such task; tasks are main"),
    (["train", "--set", "train.lrr=1", "--epochs", "1"], "unknown key train.lrr"),
], ids=["save-dir", "save-unwritable", "wiring-dir", "data-dir", "resume-devnull", "resume-dir", "run-missing",
        "run-unknown", "task-batch", "set-unknown"])
def test_user_mistakes_exit_2_with_a_message_before_training(argv, needle, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, lines, err = _run(argv, capsys)
    assert code == 2 and needle.replace("{tmp}", str(tmp_path)) in err and "Traceback" not in err
    assert not _epochs(lines)  # refused before any epoch trained


def test_labels_outside_the_datasets_classes_are_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, n in (("train", 50), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) * 4 % 201)
    code, _, err = _run(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "1"], capsys)
    assert code == 2 and "train labels go up to 196, but mnist has classes 0 to 9" in err


def test_fig5_without_mnist_says_how_to_get_it_and_which_stand_in_to_use(tmp_path, capsys, monkeypatch):
    from apexplorer import data

    need_fashion_mnist()
    real = data.search_dirs
    monkeypatch.setattr("apexplorer.data.search_dirs",
                        lambda name, d=None: [tmp_path / "none"] if name == "mnist" else real(name, d))
    code, _, err = _run(["train", "--preset", "fig5b", "--epochs", "1"], capsys)
    assert code == 2 and "dataset 'mnist' not found" in err and "--tasks fashion-mnist,digits" in err


def test_cosmetics_plural_and_no_drive(capsys):
    assert main(["lyapunov", "--sr", "0.25", "--size", "32", "--mle-steps", "50", "--trials", "1"]) == 0
    err = capsys.readouterr().err
    assert "no drive" in err and "U(-0.0" not in err
