"""The command line loses no work (issue 26): a resume keeps saving, output paths are checked before any
training, a sweep's table holds one sweep, nothing hangs, a mistake is said, and no traceback is left.

Each test drives ``apexplorer`` as a user would: ``main([...])`` with its exit code and stderr, or a
subprocess where a signal or a FIFO is involved.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from apexplorer.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: digits cut to a handful of batches: one epoch takes a fraction of a second
FAST = ["--dataset", "digits", "--set", "tasks.main.train_size=128", "--set", "tasks.main.test_size=64"]


def _run(argv, capsys):
    """(exit code, stdout, stderr) of ``apexplorer ARGV``; a traceback fails the test."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    except KeyboardInterrupt:
        pytest.fail("a KeyboardInterrupt traceback reached the user")
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _epoch(ck, capsys) -> int:
    code, out, err = _run(["show", str(ck), "--json"], capsys)
    assert code == 0, err
    return json.loads(out)["checkpoint"]["epoch"]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def _cli(args, **kw):
    return subprocess.run([sys.executable, "-m", "apexplorer.cli", *args], cwd=ROOT, env=_env(), text=True,
                          capture_output=True, **kw)


@pytest.fixture(scope="module")
def tiny_wiring(tmp_path_factory):
    """Two modules of 32 for the digits: a sweep point trains in a fraction of a second."""
    from apexplorer import chain

    f = tmp_path_factory.mktemp("wiring") / "tiny.json"
    chain([32, 32], 64, 10, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8}, name="tiny").to_json(f)
    return str(f)


# ---------------------------------------------------------------------------------------------------- lost work
def test_1_a_resume_saves_back_into_its_checkpoint_unless_told_otherwise(tmp_path, capsys):
    ck, other = tmp_path / "run.pt", tmp_path / "other.pt"
    assert _run(["train", *FAST, "--epochs", "1", "--save", str(ck), "--json"], capsys)[0] == 0
    # the README's form: `apexplorer train --epochs N --resume run.pt`, no --save
    code, _, err = _run(["train", "--epochs", "2", "--resume", str(ck), "--json"], capsys)
    assert code == 0, err
    assert _epoch(ck, capsys) == 2
    code, _, err = _run(["train", "--epochs", "3", "--resume", str(ck), "--no-save", "--json"], capsys)
    assert code == 0, err
    assert _epoch(ck, capsys) == 2
    code, _, err = _run(["train", "--epochs", "3", "--resume", str(ck), "--save", str(other), "--json"], capsys)
    assert code == 0, err
    assert (_epoch(ck, capsys), _epoch(other, capsys)) == (2, 3)
    code, _, err = _run(["train", "--epochs", "4", "--resume", str(ck), "--save", str(other), "--no-save"], capsys)
    assert code == 2 and "--save and --no-save contradict" in err


def test_1_16_sigterm_on_a_resumed_run_keeps_its_epochs_and_names_the_signal(tmp_path, capsys):
    ck = tmp_path / "run.pt"
    assert _run(["train", *FAST, "--epochs", "1", "--save", str(ck), "--json"], capsys)[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "apexplorer.cli", "train", "--epochs", "500", "--resume", str(ck),
                             "--json"], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["kind"] == "start"
        while "train_acc" not in json.loads(proc.stdout.readline()):  # the first epoch of the resumed run
            pass
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "SIGTERM again to quit at once" in err and "Ctrl-C" not in err
    assert f"checkpoint saved to {ck}" in err and "Traceback" not in err
    assert _epoch(ck, capsys) >= 2  # the resumed epochs are in the file it resumed from


@pytest.mark.parametrize("kind", ["unwritable", "under-a-file", "folder"])
def test_2_a_sweep_refuses_an_output_it_cannot_write_before_any_point_trains(kind, tmp_path, capsys, tiny_wiring):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.csv").mkdir()
    out, needle = {"unwritable": ("/proc/sw.csv", "cannot write the results file '/proc/sw.csv'"),
                   "under-a-file": (str(tmp_path / "file" / "sw.csv"), "is a file, not a folder"),
                   "folder": (str(tmp_path / "dir.csv"), "is a folder; give a file in it")}[kind]
    code, _, err = _run(["sweep", "--dataset", "digits", "--wiring", tiny_wiring, "--epochs", "1", "--grid",
                         "sr=0.25", "--workers", "0", "--out", out], capsys)
    assert code == 2 and needle in err, err
    assert "sweep of" not in err  # refused before the start line: nothing trained


def test_2_reproduce_refuses_a_file_as_its_folder(tmp_path, capsys):
    f = tmp_path / "report"
    f.write_text("not a folder")
    code, _, err = _run(["reproduce", "fig2c", "--out", str(f)], capsys)
    assert code == 2 and "--out" in err and "is a file; give a folder" in err


def test_3_a_table_continues_only_its_own_sweep(tmp_path, capsys, tiny_wiring):
    out = tmp_path / "t.csv"
    base = ["sweep", "--dataset", "digits", "--wiring", tiny_wiring, "--epochs", "1", "--batch-size", "128",
            "--workers", "0", "--out", str(out), "--json"]
    assert _run([*base, "--grid", "sr=0.1,0.5"], capsys)[0] == 0
    import pandas as pd

    rows = pd.read_csv(out)
    assert "sweep" in rows.columns and json.loads(rows["sweep"][0])["axes"] == ["ap.spectral_radius"]
    code, _, err = _run([*base, "--grid", "lr=0.01,0.02"], capsys)  # an lr grid into the sr grid's table
    assert code == 2 and "holds the rows of another sweep" in err and "sr = " in err and "--append" in err, err
    code, _, err = _run([*base[:1], "--dataset", "2afc", *base[3:], "--grid", "sr=0.1"], capsys)  # a 2AFC sweep
    assert code == 2 and "another sweep" in err, err
    assert len(pd.read_csv(out)) == 2  # refused without a row added or dropped
    code, lines, err = _run([*base, "--grid", "sr=0.1,0.5,1"], capsys)  # the same sweep, its grid extended
    assert code == 0, err
    start = json.loads(lines.splitlines()[0])
    assert (start["skipped"], start["to_run"]) == (2, 1)
    code, _, err = _run([*base, "--grid", "lr=0.01", "--append"], capsys)  # said on purpose
    assert code == 0, err
    assert len(pd.read_csv(out)) == 4


# ---------------------------------------------------------------------------------------------------- hangs
def test_4_reproduce_refuses_negative_workers_at_once(tmp_path):
    r = _cli(["reproduce", "fig2c", "--workers", "-1", "--out", str(tmp_path / "r")], timeout=120)
    assert r.returncode == 2 and "--workers -1 must be >= 0" in r.stderr and "Traceback" not in r.stderr


def test_5_a_fifo_is_not_read_as_an_experiment_or_a_checkpoint(tmp_path):
    fifo = tmp_path / "exp.toml"
    os.mkfifo(fifo)
    for cmd in (["run", str(fifo)], ["show", str(fifo)]):
        r = _cli(cmd, timeout=120)  # before: blocked for ever, waiting for a writer
        assert r.returncode == 2 and "is not a regular file (a pipe or a device)" in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------------- silent mistakes
def _fake_idx(folder, keep=("train-images", "train-labels", "t10k-images", "t10k-labels")):
    """A tiny stand-in of the four IDX files of a 28x28 dataset (80 train, 40 test), the parts in ``keep``."""
    from apexplorer.data import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 80), ("t10k", 40)):
        if f"{split}-images" in keep:
            write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        if f"{split}-labels" in keep:
            write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def test_6_a_named_data_dir_is_used_whole_or_refused(tmp_path, capsys):
    small = ["--dataset", "fashion-mnist", "--preset", "digits", "--epochs", "1", "--set",
             "tasks.main.train_size=40", "--set", "tasks.main.test_size=20"]
    part = tmp_path / "part"
    _fake_idx(part, keep=("train-images", "train-labels", "t10k-images"))
    code, _, err = _run(["train", *small, "--data-dir", str(part)], capsys)
    assert code == 2 and "holds 3 of the 4 IDX files of fashion-mnist" in err, err
    assert "missing: t10k-labels-idx1-ubyte[.gz]" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _run(["train", *small, "--data-dir", str(tmp_path / "empty")], capsys)
    assert code == 2 and f"not found in --data-dir '{tmp_path / 'empty'}'" in err, err
    whole = tmp_path / "whole"
    _fake_idx(whole)
    code, out, err = _run(["train", *small, "--data-dir", str(whole), "--json"], capsys)
    assert code == 0, err
    start = json.loads(out.splitlines()[0])
    assert start["files"]["main"] == [str(whole / f) for f in ("train-images-idx3-ubyte.gz",
                                                               "train-labels-idx1-ubyte.gz",
                                                               "t10k-images-idx3-ubyte.gz",
                                                               "t10k-labels-idx1-ubyte.gz")]
    code, out, err = _run(["train", *small, "--data-dir", str(whole)], capsys)
    assert code == 0 and f"read fashion-mnist from {whole}: train-images-idx3-ubyte.gz" in err, err


def test_7_a_presets_own_settings_apply_from_a_file_a_url_and_flags(tmp_path, capsys):
    from apexplorer.experiment import Experiment

    f = tmp_path / "digits.toml"
    f.write_text('schema = 1\n[wiring]\npreset = "digits"\n[tasks]\nmain = "digits"\n')
    code, out, err = _run(["show", str(f), "--json"], capsys)
    assert code == 0, err
    from_file = Experiment.from_dict(json.loads(out)["experiment"])
    from_url = Experiment.from_query({"preset": "digits"})
    dumped = tmp_path / "flags.toml"
    assert _run(["train", *FAST, "--epochs", "1", "--dump-experiment", str(dumped), "--json"], capsys)[0] == 0
    from_flags = Experiment.load(dumped)
    for exp in (from_file, from_url, from_flags):
        assert (exp.train.batch_size, exp.train.lr, exp.ap.t2) == (32, 5e-3, 8)
    assert from_file.train.epochs == from_url.train.epochs == 30
    # a preset that draws its own way (Fig. 5: Gaussian paths) keeps it from a file without [init]
    g = tmp_path / "fig5b.toml"
    g.write_text('[wiring]\npreset = "fig5b"\n[tasks]\nA = "fashion-mnist"\nB = "mnist"\n')
    assert Experiment.load(g).init.scheme == "gaussian" == Experiment.from_query({"preset": "fig5b"}).init.scheme
    # and a choice against the preset's survives the file
    uniform = Experiment.load(g).with_changes({"init.scheme": "uniform"})
    uniform.save(tmp_path / "u.toml")
    assert Experiment.load(tmp_path / "u.toml") == uniform


def test_8_a_batch_larger_than_the_training_set_is_said_once(capsys):
    code, _, err = _run(["train", "--dataset", "digits", "--set", "tasks.main.test_size=64", "--batch-size", "5000",
                         "--epochs", "1"], capsys)
    assert code == 0, err
    assert err.count("batch size 5000 is larger than the 1437 training samples of digits") == 1


@pytest.mark.parametrize("argv,needle", [
    (["--set", "train.early_stop=0"], "train.early_stop = 0.0 must be a number > 0"),
    (["--beta", "0"], "ap.beta = 0.0 must be a number > 0"),
    (["--beta", "-1"], "ap.beta = -1.0 must be a number > 0"),
    (["--set", "epochs=0"], "train.epochs = 0 must be an integer >= 1"),
], ids=["early-stop-0", "beta-0", "beta-negative", "epochs-0"])
def test_8_settings_that_cannot_be_meant_are_refused(argv, needle, capsys):
    code, _, err = _run(["train", *FAST, "--epochs", "1", *argv], capsys)
    assert code == 2 and needle in err, err


def test_9_a_baseline_is_trained_once_along_an_axis_it_ignores(tmp_path, capsys):
    out = tmp_path / "m.csv"
    code, lines, err = _run(["sweep", *FAST, "--epochs", "1", "--batch-size", "64", "--grid", "method=ap,bp",
                             "--grid", "beta=0.5,1", "--workers", "0", "--out", str(out), "--json"], capsys)
    assert code == 0, err
    start = json.loads(lines.splitlines()[0])
    assert start["points"] == 3
    assert "method bp ignores beta: its points at beta=1.0 are skipped (trained once, at beta=0.5)" in err
    import pandas as pd

    df = pd.read_csv(out)
    assert sorted(zip(df["method"], df["beta"])) == [("ap", 0.5), ("ap", 1.0), ("bp", 0.5)]


# ---------------------------------------------------------------------------------------------------- tracebacks
def test_10_inline_wiring_that_is_not_json_is_a_message(capsys):
    code, _, err = _run(["train", "--set", "wiring.inline=notjson"], capsys)
    assert code == 2 and "wiring.inline = 'notjson' is not valid JSON" in err, err


def test_11_ctrl_c_while_starting_up_quits_quietly(monkeypatch, capsys):
    def interrupted(*a, **k):  # Ctrl-C while the network is drawn
        raise KeyboardInterrupt

    import importlib

    monkeypatch.setattr(importlib.import_module("apexplorer.build"), "build", interrupted)
    code, _, err = _run(["train", *FAST, "--epochs", "1"], capsys)
    assert code == 130 and "interrupted while starting up; nothing was trained yet" in err


def test_11_ctrl_c_while_torch_loads_quits_quietly():
    """A real SIGINT while the command imports torch and draws a large network."""
    code = ("import sys, apexplorer.cli as c; print('up', file=sys.stderr, flush=True); "
            "sys.exit(c.main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "train", "--preset", "paper-2layer", "--dataset", "digits",
                             "--set", "wiring.options.size=4096", "--epochs", "1", "--json"], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().strip() == "up"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "nothing was trained yet" in err and "Traceback" not in err and "KeyboardInterrupt" not in err


def _loads_torch(pid) -> bool:
    """Whether the process has begun to import torch (its shared library is mapped)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc to see torch being imported")
def test_11_ctrl_c_while_the_package_imports_torch_quits_quietly():
    """A real SIGINT while ``import apexplorer`` is importing torch, before any line of the command ran."""
    proc = subprocess.Popen([sys.executable, "-m", "apexplorer.cli", "train", *FAST, "--epochs", "1", "--json"],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while not _loads_torch(proc.pid) and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.002)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "nothing was trained yet" in err and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out == ""  # not even the start line: it was still importing


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two digits checkpoints of one epoch: seed 0, and seed 3 at another radius (another run)."""
    d = tmp_path_factory.mktemp("ck")
    for name, extra in (("a", []), ("b", ["--seed", "3", "--sr", "0.5"])):
        assert main(["train", *FAST, "--epochs", "1", *extra, "--save", str(d / f"{name}.pt"), "--json"]) == 0
    return d


def _damaged(checkpoints, tmp_path, change):
    import torch

    from apexplorer import checkpoint

    st = torch.load(checkpoints / "a.pt", weights_only=True)
    change(st, torch.load(checkpoints / "b.pt", weights_only=True))
    bad = tmp_path / "bad.pt"
    checkpoint.save_atomic({k: v for k, v in st.items() if k not in ("format", "version")}, bad)
    return bad


@pytest.mark.parametrize("part,needle", [
    ("learner", "it has no learner"), ("epoch", "it has no epoch"),
    ("history", "epoch 1 of its history has no test_acc"),
])
def test_12_a_checkpoint_missing_a_part_is_refused_as_corrupt(part, needle, checkpoints, tmp_path, capsys):
    def drop(st, _):
        if part == "history":
            del st["history"][0]["test_acc"]
        else:
            del st[part]

    bad = _damaged(checkpoints, tmp_path, drop)
    for argv in (["show", str(bad)], ["train", "--epochs", "2", "--resume", str(bad)]):
        code, _, err = _run(argv, capsys)
        assert code == 2 and "is corrupt" in err and needle in err, (argv, err)


@pytest.mark.parametrize("swap,needle", [
    ("learner", "its learner has train.seed 3, but its experiment says 0"),
    ("tensors", "is not the one seed 0 of its experiment draws"),
])
def test_13_a_learner_swapped_for_another_runs_is_refused(swap, needle, checkpoints, tmp_path, capsys):
    def mix(st, other):
        if swap == "learner":
            st["learner"] = other["learner"]
        else:
            st["learner"]["tensors"] = other["learner"]["tensors"]

    bad = _damaged(checkpoints, tmp_path, mix)
    for argv in (["show", str(bad)], ["train", "--epochs", "2", "--resume", str(bad)], ["run", str(bad)]):
        code, _, err = _run(argv, capsys)
        assert code == 2 and needle in err and "another run's" in err, (argv, err)
    assert _run(["show", str(checkpoints / "a.pt")], capsys)[0] == 0  # an untouched one is fine


# ---------------------------------------------------------------------------------------------------- reproduce
@pytest.fixture(scope="module")
def fig3f(tmp_path_factory):
    """Fig. 3f (curves only in the paper) at a tiny scale, two seeds, and the console lines."""
    from apexplorer.paper import result
    from apexplorer.paper.run import reproduce

    r = result("fig3f")
    sc = dataclasses.replace(r.scale("quick"), seeds=2, grid={"t1": (1, 4)}, group_grid={},
                             set={"wiring.options.size": 16, "dataset": "digits", "train.epochs": 3,
                                  "train.batch_size": 64, "train.lr": 0.01, "tasks.main.train_size": 300,
                                  "tasks.main.test_size": 100})
    r = dataclasses.replace(r, scales={**r.scales, "quick": sc})
    out = tmp_path_factory.mktemp("fig3f")
    lines = []
    data = reproduce([r], "quick", None, out, emit=lines.append)
    return out, data, lines


def test_14_a_figure_without_the_papers_numbers_says_so(fig3f):
    out, data, _ = fig3f
    md = (out / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| [Fig. 3f]"))
    assert "none: the paper gives this figure as curves, no numbers" in row
    assert "the paper gives this figure only as curves, without numbers" in md
    summary = (out / "summary.md").read_text()
    lines = summary.splitlines()
    for i, line in enumerate(lines):  # every table has a row under its header
        if line.startswith("|---"):
            assert i + 1 < len(lines) and lines[i + 1].startswith("|"), f"an empty table in summary.md:\n{summary}"
    assert "The paper gives no numbers for Fig. 3f" in summary


def test_14_the_papers_values_are_drawn_over_ours_with_a_readable_legend(fig3f):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from apexplorer.paper import figures

    _, data, _ = fig3f
    block = dict(data["results"][0])
    block["values"] = [{"what": "T1 = 4", "paper": 0.8, "pm": 0.01, "where": {"t1": 4}, "metric": "best_test_acc"}]
    fig = plt.figure()
    try:
        figures.KINDS["axis"](block, fig)
        ax = fig.axes[0]
        marks = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
        assert marks and list(marks[0].get_xdata()) == [4] and list(marks[0].get_ydata()) == [80.0]
        sizes = {t.get_fontsize() for t in ax.get_legend().get_texts()}
        assert min(sizes) >= 9, sizes
        assert "paper" in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)


def test_15_the_console_line_gives_the_reports_numbers(fig3f):
    _, data, lines = fig3f
    points = {p["label"]: p for p in data["results"][0]["points"]}
    said = [line for line in lines if "seeds 0,1:" in line]
    assert len(said) == len(points) > 1, lines
    for line in said:
        p = next(p for label, p in points.items() if f": {label} seeds" in line)
        last, best = p["metrics"]["final_test_acc"]["mean"], p["metrics"]["best_test_acc"]["mean"]
        assert (f"test {100 * last:.2f} % at the last epoch, {100 * best:.2f} % at the best (mean of 2 seeds)"
                in line), (line, last, best)


# ---------------------------------------------------------------------------------------------------- wording
def test_16_run_list_gives_whole_sentences(capsys):
    from apexplorer import examples

    code, out, _ = _run(["run", "--list"], capsys)
    assert code == 0
    entries = {}
    for line in out.splitlines():
        if line[:1] != " ":
            name, _, text = line.partition(" ")
            entries[name] = text.strip()
        else:
            entries[name] += " " + line.strip()
    assert list(entries) == examples.names()
    for name, text in entries.items():
        assert text.endswith("."), (name, text)
        assert " ".join(examples.load(name).notes.split()).startswith(text), name


def test_16_run_takes_the_common_flags_and_says_how_to_set_the_rest(capsys):
    code, out, err = _run(["run", "digits-quick", "--epochs", "1", "--set", "tasks.main.train_size=128", "--json"],
                          capsys)
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["epochs"] == 1
    code, _, err = _run(["run", "digits-quick", "--sr", "0.5"], capsys)
    assert code == 2 and "--set sr=VALUE" in err
    code, _, err = _run(["run", "digits-quick", "--epochs", "1", "--set", "train.epochs=2"], capsys)
    assert code == 2 and "--epochs and --set train.epochs=... both set train.epochs" in err


def test_16_a_wrong_type_is_written_as_the_file_writes_it(tmp_path, capsys):
    f = tmp_path / "e.toml"
    f.write_text("[train]\nlr = true\n")
    code, _, err = _run(["run", str(f)], capsys)
    assert code == 2 and "train.lr = true must be a number > 0" in err and "True" not in err


@pytest.mark.parametrize("typo,meant", [("train.lrr", "train.lr"), ("ap.spectral_raduis", "ap.spectral_radius"),
                                        ("spectral_radius", "ap.spectral_radius")])
def test_16_a_mistyped_key_gets_a_did_you_mean(typo, meant, capsys):
    code, _, err = _run(["train", "--set", f"{typo}=1"], capsys)
    assert code == 2 and f"did you mean {meant!r}?" in err, err


def test_a_checkpoint_from_before_experiments_is_upgraded_once_for_every_command(tmp_path, capsys):
    """A checkpoint without an experiment (a notebook's Trainer.create, or one saved before experiments) is read
    by one function (build.upgrade): show prints its experiment, run trains it, train --resume continues it."""
    from apexplorer import TrainConfig, Trainer, preset
    from apexplorer.data import load_dataset

    d = load_dataset("digits")  # whole: a checkpoint without an experiment does not say which subset it trained
    tr = Trainer.create(preset("digits", d.n_features, d.n_classes), d, config=TrainConfig(epochs=1, batch_size=256))
    tr.run()
    ck = tmp_path / "old.pt"
    tr.save(ck)  # trainer.experiment is None: no experiment in the file
    code, out, err = _run(["show", str(ck), "--json"], capsys)
    assert code == 0, err
    exp = json.loads(out)["experiment"]
    assert exp["tasks"] == {"main": "digits"} and exp["train"]["batch_size"] == 256 and "inline" in exp["wiring"]
    code, out, err = _run(["show", str(ck)], capsys)
    assert code == 0 and "was written before experiments" in out and "[wiring" in out, out
    code, out, err = _run(["train", "--resume", str(ck), "--epochs", "2", "--seed", "3", "--json"], capsys)
    assert code == 2 and "--seed" in err and "would make another run" in err, err  # a resume keeps the run
    code, out, err = _run(["train", "--resume", str(ck), "--epochs", "2", "--json"], capsys)
    assert code == 0, err
    assert _epoch(ck, capsys) == 2
