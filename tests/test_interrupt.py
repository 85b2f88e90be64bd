"""Ctrl-C (SIGINT) at a random batch, then --resume: the run equals one that was never interrupted."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--dataset", "digits", "--epochs", "4", "--batch-size", "2", "--lr", "0.002", "--json"]  # ~1 s an epoch
SAME = ("epoch", "train_acc", "test_acc", "loss", "test_loss", "error", "tasks")  # all but the timings


def _cli(args, interrupt_after=None):
    """Run the CLI; with ``interrupt_after`` seconds (counted from its start line), send SIGINT then."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "apexplorer.cli", "train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    if interrupt_after is not None:
        lines.append(json.loads(proc.stdout.readline()))  # the start line: training begins now
        time.sleep(interrupt_after)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    lines += [json.loads(l) for l in out.splitlines()]
    return proc.returncode, lines, err


def _epochs(lines):
    return [{k: l[k] for k in SAME} for l in lines if "train_acc" in l and "kind" not in l]


@pytest.mark.slow
def test_sigint_at_random_batches_then_resume_equals_an_uninterrupted_run(tmp_path):
    code, straight, err = _cli(RUN)
    assert code == 0, err
    want = _epochs(straight)
    assert len(want) == 4
    rng = random.Random(20261201)
    mid_epoch = 0
    for trial in range(3):
        ck = tmp_path / f"run{trial}.pt"
        code, before, err = _cli([*RUN, "--save", str(ck)], interrupt_after=rng.uniform(0.1, 2.5))
        assert code == 130 and "interrupted; checkpoint saved" in err and "Traceback" not in err, err
        state = __import__("torch").load(ck, weights_only=True)
        mid_epoch += bool(state["position"] or state["segment"])
        code, after, err = _cli(["--epochs", "4", "--resume", str(ck), "--json"])
        assert code == 0, err
        assert _epochs(before) + _epochs(after) == want  # every epoch's loss and accuracy, to the last digit
    assert mid_epoch >= 1  # at least one interruption landed inside an epoch


def test_a_second_ctrl_c_quits_at_once_and_keeps_the_last_epochs_checkpoint(tmp_path):
    """The first Ctrl-C asks to stop after the batch in flight; a second one does not wait."""
    from apexplorer.commands.train import _Interrupt

    class Slow:
        stopped = False

        def stop(self):
            self.stopped = True

    said = []
    tr = Slow()
    before = signal.getsignal(signal.SIGINT)  # pytest's or another library's: put back as it was
    with _Interrupt(tr, said.append) as guard:
        assert signal.getsignal(signal.SIGINT) == guard.handle
        guard.handle(signal.SIGINT, None)
        assert tr.stopped and "stopping after this batch" in said[0]
        with pytest.raises(KeyboardInterrupt):
            guard.handle(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is before


def test_an_interrupted_step_leaves_the_trainer_where_it_was(blob_data):
    """A KeyboardInterrupt inside a step (a notebook's stop button) undoes the step's draw of the data."""
    from apexplorer import APConfig, TrainConfig, Trainer, chain

    w = chain([16], blob_data.n_features, blob_data.n_classes, blocks={"RI": 4, "SI": 4, "RE": 4, "SE": 4})
    cfg = TrainConfig(epochs=1, batch_size=16, lr=2e-2, device="cpu")
    a, b = Trainer.create(w, blob_data, APConfig(), cfg), Trainer.create(w, blob_data, APConfig(), cfg)
    a.step()
    b.step()
    real = b.learner.train_batch

    def interrupted(*args):
        raise KeyboardInterrupt

    b.learner.train_batch = interrupted
    with pytest.raises(KeyboardInterrupt):
        b.step()
    b.learner.train_batch = real
    assert (b.position, b.streams.cursor("main")) == (a.position, a.streams.cursor("main"))
    a.step()
    b.step()
    for k in a.net.weights:
        assert (a.net.weights[k] == b.net.weights[k]).all()
