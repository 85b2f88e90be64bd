"""The CLI: JSON lines, exit code 2 and a message (no traceback) for a user's mistake."""

import json

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
