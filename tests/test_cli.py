"""The CLI: JSON lines, exit code 2 and a message (no traceback) for a user's mistake."""

import json
from pathlib import Path

import pytest

from apexplorer.cli import main


def test_train_json_prints_one_object_per_epoch(capsys):
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--json"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    epochs = [l for l in lines if "train_acc" in l]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert {"epoch", "train_acc", "test_acc", "loss", "seconds"} <= set(e)


def test_unknown_block_in_wiring_file_exits_2_and_names_it(tmp_path, capsys):
    from apexplorer import preset

    d = preset("digits", 64, 10).to_dict()
    d["feedforward"][0]["target"] = "L1.RX"
    f = tmp_path / "w.json"
    f.write_text(json.dumps(d))
    assert main(["train", "--dataset", "digits", "--wiring", str(f), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "'RX'" in err and "RI, SI, RE, SE" in err and "Traceback" not in err


def test_divergent_run_stops_with_a_message(capsys):
    code = main(["train", "--dataset", "digits", "--sr", "50", "--lr", "10", "--epochs", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert "diverged" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("argv,needle", [
    (["train", "--dataset", "mnist", "--data-dir", "/tmp"], "not found"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"], "--data-dir '/nonexistent' does not exist"),
    (["train", "--device", "tpu"], "train.device = 'tpu' is not valid; choices are auto, cpu, cuda"),
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--lr", "-1"], "train.lr = -1.0 must be a number > 0"),
], ids=["missing-data", "mistyped-data-dir", "device", "preset", "lr"])
def test_user_mistakes_exit_2(argv, needle, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("apexplorer.data.CACHE", tmp_path)
    monkeypatch.delenv("APEXPLORER_DATA", raising=False)
    monkeypatch.setattr("apexplorer.data.search_dirs", lambda name, d=None: [tmp_path / "none"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_save_and_resume_continue_the_epoch_count(tmp_path, capsys):
    ck = tmp_path / "run.pt"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--save", str(ck), "--json"]) == 0
    capsys.readouterr()
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--resume", str(ck), "--json"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["epoch"] for l in lines if "train_acc" in l] == [2]


def test_run_help_says_what_it_trains(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the run an experiment" not in out
    assert out.count("train the experiment of a file (.toml, .json), of a checkpoint (.pt) or of a shipped example") == 1
    assert "Train the experiment of a file (.toml, .json), of a checkpoint (.pt) or of a shipped example." in out


def test_a_save_under_a_file_says_that_the_file_is_not_a_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--save", "afile/x.pt"]) == 2
    err = capsys.readouterr().err
    assert "cannot save to 'afile/x.pt': 'afile' is a file, not a folder" in err, err
    assert "File exists" not in err and "Traceback" not in err


def test_output_into_a_pipe_whose_reader_has_gone_ends_quietly(tmp_path):
    """``apexplorer show run.pt | head``: the reader closes the pipe; the command stops without a traceback."""
    import os
    import subprocess
    import sys

    from apexplorer.experiment import Experiment

    path = tmp_path / "run.toml"
    path.write_text(Experiment.from_preset("digits", ["digits"]).to_toml())
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: every write meets a broken pipe
    try:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        p = subprocess.run([sys.executable, "-m", "apexplorer.cli", "show", str(path)], stdout=write,
                           stderr=subprocess.PIPE, text=True, timeout=120, cwd=root, env=env)
    finally:
        os.close(write)
    assert p.stderr == "" and p.returncode == 141, (p.returncode, p.stderr)
