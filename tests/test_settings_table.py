"""The table of settings (apexplorer/table.py) is the one declaration of every experiment key.

(a) A made-up key added to a copy of the table, and to nothing else, appears in the CLI's ``--help`` and
    sets the experiment, goes through the URL query and the shown command, gets a Settings widget and a
    sweep axis and column.
(b) No numeric default of a setting is written outside the table.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import apexplorer
from apexplorer import table
from apexplorer.sections import APSettings, TrainSettings, live_keys, resumable_keys

PACKAGE = Path(apexplorer.__file__).parent

#: the row added to the copy of the table: a made-up [ap] key with a flag, a widget and a sweep axis
MADE_UP = ('    S("ap.made_up", "float", 0.5, "a made-up knob", alias="made_up", flag="--made-up", low=0, '
           'label="Made-up knob", soft=(0.0, 1.0), step=0.1, axis="Made-up knob", examples="0.1, 0.9"),\n')

#: what the copy runs: every place the key must show up, as a user meets it
PROBE = r'''
import contextlib, io, json, sys
out = {}
from apexplorer.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
    main(["train", "--help"])
out["help"] = " ".join(buf.getvalue().split())
buf = io.StringIO()
with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
    main(["run", "--help"])
out["run_help"] = " ".join(buf.getvalue().split())

import argparse
from apexplorer.commands.options import add_model_args, experiment_from_args
p = argparse.ArgumentParser()
add_model_args(p)
exp = experiment_from_args(p.parse_args(["--dataset", "digits", "--made-up", "0.75"]))
out["from_flag"] = exp.get("ap.made_up")
try:
    p.parse_args(["--made-up", "x"])
except SystemExit:
    out["bad_flag_refused"] = True

from apexplorer.experiment import Experiment, parse_value
from apexplorer.errors import ApexplorerError
try:
    parse_value("made_up", "-1")
except ApexplorerError as e:
    out["bad_value"] = str(e)
q = exp.to_query()
out["query"] = q
out["round_trip"] = Experiment.from_query(q) == exp and Experiment.from_query(q).get("made_up") == 0.75
out["command"] = exp.command()
out["toml_round_trip"] = Experiment.from_toml(exp.to_toml()) == exp

from apexplorer.app.settings import KEYS, Settings
from apexplorer.app.settings_view import LABELS, WIDGETS
s = Settings()
s.follow(exp)
out["widget_value"] = s.made_up
s.made_up = 0.25
out["widget_changes"] = s.changes(exp)
out["widget"] = [KEYS.get("made_up"), LABELS.get("made_up"),
                 WIDGETS["made_up"].__name__ if "made_up" in WIDGETS else None]
from apexplorer.app.session import ExplorerState
from apexplorer.app.settings_view import SettingsView
view = SettingsView(ExplorerState(experiment=exp))
w = view.widgets["made_up"]
out["view_widget"] = [w.name, w.value, w in list(view.__panel__().select(type(w)))]

from apexplorer.app.sweep_launch import AXES, make_sweep
out["axis"] = AXES.get("Made-up knob")
sw = make_sweep(exp, [("Made-up knob", "0.1, 0.9")])
out["sweep_points"] = sorted(pt.experiment["ap"]["made_up"] for pt in sw.points())
from apexplorer.sweep.point import settings_row
out["column"] = settings_row(exp).get("made_up")
print("PROBE " + json.dumps(out))
'''


def test_a_made_up_key_in_a_copy_of_the_table_reaches_every_place(tmp_path):
    copy = tmp_path / "apexplorer"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    src = (copy / "table.py").read_text()
    anchor = "    # [train]: the run\n"
    assert anchor in src
    (copy / "table.py").write_text(src.replace(anchor, MADE_UP + anchor))  # the one file touched
    changed = [p.relative_to(copy) for p in copy.rglob("*.py")
               if p.read_bytes() != (PACKAGE / p.relative_to(copy)).read_bytes()]
    assert changed == [Path("table.py")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("PROBE ")]
    assert r.returncode == 0 and lines, r.stderr[-3000:]
    out = json.loads(lines[-1][len("PROBE "):])
    # the CLI: an option with its help and type; it sets the key
    assert "--made-up MADE_UP a made-up knob (default 0.5)" in out["help"]
    assert out["from_flag"] == 0.75 and out["bad_flag_refused"]
    assert "ap.precision, ap.f_prime, ap.made_up; train.epochs" in out["run_help"]  # the keys of --set
    assert out["bad_value"] == "ap.made_up = -1.0 must be a number >= 0"
    # the URL and the command the explorer shows
    assert out["query"].get("ap.made_up") == "0.75" and out["round_trip"] and out["toml_round_trip"]
    assert "--made-up 0.75" in out["command"]
    # the Settings widgets
    assert out["widget"] == ["ap.made_up", "Made-up knob", "FloatInput"]
    assert out["widget_value"] == 0.75 and out["widget_changes"] == {"ap.made_up": 0.25}
    assert out["view_widget"] == ["Made-up knob", 0.75, True]
    # the sweep launcher's axes and the sweep table's columns
    assert out["axis"] == "ap.made_up" and out["sweep_points"] == [0.1, 0.9]
    assert out["column"] == 0.75


#: Literals that are the default of a setting, and where each may still be written (path: why).
DEFAULT_LITERALS = {
    "the learning rate 1e-3": r"\b(?:1e-3|0\.001)\b",
    "early_stop 0.9999": r"\b0\.9999\b",
    "eval_batch_size 2000": r"\b2000\b",
    "T1 = T2 = 8": r"\b[tT][12]\s*(?::\s*int)?\s*=\s*8\b",
    "batch size 500": r"\bbatch_size\s*(?::\s*int)?\s*=\s*500\b",
    "epochs 10": r"\bepochs\s*(?::\s*int)?\s*=\s*10\b",
    "beta 1.0": r"\bbeta\s*(?::\s*float)?\s*=\s*1\.0\b",
    "the gaussian init's s.d. 0.1 / 0.5": r"\b(?:forward|feedback)_std\s*(?::\s*float)?\s*=\s*0\.[15]\b",
}
#: Where such a literal is not a setting's default.
UNRELATED = {
    "presets.py": "each preset's own settings (presets.SETTINGS: the paper's values for its presets)",
    "lessons.py": "a pixel tolerance, atol=1e-3",
    "paper/analyses.py": "an analysis's convergence tolerance, tol 1e-3",
    "experiment.py": "an example in a message: e.g. train.lr=1e-3",
    "commands/sweep.py": "an example in the help: --grid train.lr=1e-3,1e-2",
    "baselines/ep.py": "EP's own defaults (EPConfig: beta 1.0) and a docstring's measured run (Adam 1e-3)",
    "trace.py": "the record of one traced sample, whose mode and beta are always set from the traced network's config",
}


def _hits(root: Path) -> list:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "table.py" or rel in UNRELATED:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for what, pattern in DEFAULT_LITERALS.items():
                if re.search(pattern, line):
                    out.append(f"{rel}:{n}: {what}: {line.strip()}")
    return out


def test_no_numeric_default_of_a_setting_is_written_outside_the_table(tmp_path):
    assert _hits(PACKAGE) == []
    # the search can fail: a copy with TrainConfig's old default written out again is caught
    copy = tmp_path / "pkg"
    (copy / "sub").mkdir(parents=True)
    (copy / "sub" / "trainer.py").write_text("class TrainConfig:\n    lr: float = 1e-3\n    t1: int = 8\n")
    assert [h.split(": ")[1] for h in _hits(copy)] == ["the learning rate 1e-3", "T1 = T2 = 8"]


def test_the_library_takes_its_defaults_from_the_table():
    from apexplorer.network import APConfig, Init
    from apexplorer.optim import SGD, Adam
    from apexplorer.trainer import TrainConfig

    assert (APConfig().t1, APConfig().beta, APConfig().mode) == (table.default("ap.t1"), table.default("ap.beta"),
                                                                 table.default("ap.mode"))
    tc = TrainConfig()
    for k in ("epochs", "batch_size", "lr", "optimizer", "seed", "device", "early_stop", "eval_batch_size"):
        assert getattr(tc, k) == table.default(f"train.{k}") == getattr(TrainSettings(), k)
    assert Adam().lr == SGD().lr == table.default("train.lr")
    assert Init().forward_std == table.default("init.forward_std")
    assert APSettings().t1 == APConfig().t1


def test_live_and_resumable_keys_are_the_tables():
    assert set(live_keys()) == {"ap.t1", "ap.t2", "ap.mode", "ap.beta", "train.lr", "train.epochs"}
    assert set(resumable_keys()) == {"train.epochs", "train.lr", "train.batch_size", "train.device",
                                     "train.early_stop", "train.eval_batch_size", "train.max_loss"}
    from apexplorer.build import RESUMABLE
    from apexplorer.commands.train import RESUME_FLAGS

    assert set(RESUMABLE) == {*resumable_keys(), "name", "notes"}
    assert set(RESUME_FLAGS) == {"--epochs", "--lr", "--batch-size", "--device"}


@pytest.mark.parametrize("method, lr, want", [("ap", 5e-3, 5e-3), ("ep", 5e-3, table.EP_LR), ("ep", 1e-4, 1e-4)])
def test_eps_learning_rate_rule_is_one_method_of_the_experiment(method, lr, want):
    from apexplorer.experiment import Experiment

    exp = Experiment.from_preset("digits").with_changes({"train.lr": lr})
    assert exp.method_lr(method) == want
