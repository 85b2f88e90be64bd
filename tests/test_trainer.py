"""Training loop: learning, event stream, control from another thread, divergence, checkpoints."""

import threading
import time

import pytest
import torch

from dataclasses import replace

from apexplorer import (APConfig, BatchEvent, CheckpointError, EpochEvent, Network, StopEvent, TrainConfig, Trainer,
                         chain)
from tests.single_thread import one_thread  # noqa: F401 - autouse


def test_training_learns_blobs(blob_data, make_trainer):
    tr = make_trainer(blob_data, epochs=10)
    hist = tr.run()
    assert hist[-1]["test_acc"] > 0.9
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_event_stream_has_batches_epochs_and_a_stop(blob_data, make_trainer):
    tr = make_trainer(blob_data, epochs=2)
    events = list(tr.train())
    kinds = [type(e) for e in events]
    assert kinds.count(EpochEvent) == 2
    assert kinds.count(BatchEvent) == 2 * tr.n_batches
    assert isinstance(events[-1], StopEvent) and events[-1].reason == "completed"
    b = next(e for e in events if isinstance(e, BatchEvent))
    assert set(b.error) == {"L1", "L2", "y"} and b.samples_per_s > 0
    ep = next(e for e in events if isinstance(e, EpochEvent))
    assert ep.seconds > 0 and 0 <= ep.test_acc <= 1 and set(ep.tasks) == {"main"}


def test_an_epoch_of_batches_that_do_not_divide_the_data(tiny_data, make_trainer):
    """80 samples in batches of 24 (blob_data's 240 in 16s hide it): a last batch of 8, each sample once, the
    epoch's loss and accuracy weighted by samples, and an evaluation in batches of 7 that equals one pass."""
    tr = make_trainer(tiny_data, epochs=1, batch_size=24, eval_batch_size=7)
    taken = []
    take = tr.streams.take
    tr.streams.take = lambda names, bs: taken.append(take(names, bs)) or taken[-1]
    events = list(tr.train())
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert [len(t["main"]) for t in taken] == [24, 24, 24, 8] and tr.n_batches == 4
    assert [e.n_batches for e in batches] == [4] * 4
    assert sorted(torch.cat([t["main"] for t in taken]).tolist()) == list(range(80))
    ep = next(e for e in events if isinstance(e, EpochEvent))
    sizes = [24, 24, 24, 8]
    for e, b in zip(batches, sizes):  # a batch's accuracy: its correct count over its own size
        assert e.acc * b == pytest.approx(round(e.acc * b)) and e.tasks["main"]["acc"] == pytest.approx(e.acc)
    assert batches[-1].acc > 0
    assert ep.train_acc == pytest.approx(sum(e.acc * b for e, b in zip(batches, sizes)) / 80)
    assert ep.loss == pytest.approx(sum(e.loss * b for e, b in zip(batches, sizes)) / 80)
    assert ep.loss != pytest.approx(sum(e.loss for e in batches) / 4, rel=1e-4)  # the last batch weighs less
    p = tr.learner.predict(tiny_data.x_test, tr.task)
    acc, loss = tr.evaluate("test")
    assert acc == pytest.approx(float((p.argmax(1) == tiny_data.y_test).double().mean()))
    assert loss == pytest.approx(float(-torch.log(p[torch.arange(40), tiny_data.y_test]).double().mean()), rel=1e-5)


def test_stop_and_pause_from_another_thread(blob_data, make_trainer):
    tr = make_trainer(blob_data, epochs=1000, early_stop=2.0)  # never stops by itself, however fast it trains
    seen = []

    def consume():
        for ev in tr.train():
            seen.append(ev)

    th = threading.Thread(target=consume)
    th.start()
    while len(seen) < 3:
        time.sleep(0.01)
    tr.pause()
    time.sleep(0.2)
    n = len(seen)
    time.sleep(0.3)
    assert len(seen) <= n + 1  # at most the batch in flight
    assert tr.paused
    tr.unpause()
    time.sleep(0.2)
    assert len(seen) > n + 1
    tr.stop()
    th.join(5)
    assert not th.is_alive()
    assert isinstance(seen[-1], StopEvent) and seen[-1].reason == "stopped"


def test_early_stop_at_train_accuracy(blob_data, make_trainer):
    tr = make_trainer(blob_data, epochs=50, early_stop=0.5)
    events = list(tr.train(batch_events=False))
    assert events[-1].reason == "early_stop"
    assert tr.epoch < 50


def test_divergence_stops_with_a_message_and_keeps_last_good_weights(blob_data, make_trainer):
    tr = make_trainer(blob_data, epochs=5, lr=50.0, max_loss=20.0)
    tr.net.wiring  # noqa: B018
    good = None
    events = []
    for ev in tr.train():
        events.append(ev)
        if isinstance(ev, BatchEvent):
            good = ev
    stop = events[-1]
    assert stop.reason == "diverged" and "diverged" in stop.message and "learning rate" in stop.message
    for w in tr.net.weights.values():
        assert torch.isfinite(w).all()
    # the kept weights are the ones that produced the last good batch's loss
    assert good is not None


def test_checkpoint_resume_gives_the_same_next_epoch(tmp_path, blob_data, make_trainer):
    straight = make_trainer(blob_data, epochs=3)
    straight.run()
    first = make_trainer(blob_data, epochs=3)
    first.run(epochs=1)
    first.save(tmp_path / "ck.pt")
    resumed = Trainer.load(tmp_path / "ck.pt", blob_data)
    hist = resumed.run()
    assert hist[-1]["epoch"] == 3
    for k in straight.net.weights:
        assert torch.equal(straight.net.weights[k], resumed.net.weights[k]), k
    assert [h["test_acc"] for h in straight.history] == [h["test_acc"] for h in resumed.history]


def test_checkpoint_mid_epoch_resumes_exactly(tmp_path, blob_data, make_trainer):
    straight = make_trainer(blob_data, epochs=1)
    straight.run()
    part = make_trainer(blob_data, epochs=1)
    for _ in range(5):
        part.step()
    part.save(tmp_path / "mid.pt")
    resumed = Trainer.load(tmp_path / "mid.pt", blob_data)
    resumed.run()
    for k in straight.net.weights:
        assert torch.equal(straight.net.weights[k], resumed.net.weights[k]), k


def test_checkpoint_write_is_atomic(tmp_path, blob_data, monkeypatch, make_trainer):
    tr = make_trainer(blob_data, epochs=1)
    path = tmp_path / "ck.pt"
    tr.save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    tr.step()
    with pytest.raises(CheckpointError, match="disk full; the previous checkpoint there is unchanged"):
        tr.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, blob_data):
    p = tmp_path / "bad.pt"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        Trainer.load(p, blob_data)


def test_input_size_mismatch_names_both_sizes(blob_data):
    w = chain([32], 99, 3, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    with pytest.raises(Exception, match=r"input 'x' has size 99, but dataset 'blobs' has 16 features"):
        Trainer.create(w, blob_data, APConfig(), TrainConfig(device="cpu"))


def test_sgd_trains_at_batch_size_one():
    from apexplorer import load_dataset, preset

    d = load_dataset("digits")
    tr = Trainer.create(preset("digits", 64, 10), d, APConfig(),
                        TrainConfig(epochs=2, batch_size=1, lr=0.5, optimizer="sgd", device="cpu"))
    hist = tr.run()
    assert hist[-1]["test_acc"] >= 0.85


def test_ensemble_members_are_the_runs_of_their_seeds(blob_data):
    """Member k of ``seeds=(1, 2)`` is ``--seed k`` alone: its own initialisation and its own data order."""
    w = chain([32, 32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    cfg = TrainConfig(epochs=2, batch_size=16, lr=2e-2, device="cpu", seed=1)
    ens = Trainer.create(w, blob_data, APConfig(), cfg, seeds=(1, 2))
    hist = ens.run()
    assert len(hist[-1]["members"]["main"]["test_acc"]) == 2
    solos = [Trainer.create(w, blob_data, APConfig(), replace(cfg, seed=sd)) for sd in (1, 2)]
    for k, solo in enumerate(solos):
        h = solo.run()
        assert hist[-1]["members"]["main"]["test_acc"][k] == pytest.approx(h[-1]["test_acc"], abs=0.02)
        for name, wt in solo.net.weights.items():
            torch.testing.assert_close(ens.net.weights[name][k], wt, rtol=1e-3, atol=1e-4)
    # the two seeds saw their data in different orders: member 1 is not seed 2's network on seed 1's order
    shared = Trainer(Network(w, APConfig(), seed=2), blob_data, cfg)
    shared.run()
    assert max(float((ens.net.weights[n][1] - shared.net.weights[n]).abs().max()) for n in shared.net.weights) > 1e-2


def test_ensemble_checkpoint_resumes(tmp_path, blob_data):
    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    cfg = TrainConfig(epochs=2, batch_size=16, lr=2e-2, device="cpu")
    a = Trainer.create(w, blob_data, APConfig(), cfg, seeds=(1, 2, 3))
    a.run(epochs=1)
    a.save(tmp_path / "e.pt")
    b = Trainer.load(tmp_path / "e.pt", blob_data)
    assert b.net.seeds == (1, 2, 3)
    a.run()
    b.run()
    for name in a.net.weights:
        assert torch.equal(a.net.weights[name], b.net.weights[name])


def test_an_ensemble_checkpoint_with_one_shared_data_order_still_resumes(tmp_path, blob_data):
    """Checkpoints of earlier versions hold one data stream for all members; they go on sharing it."""
    from apexplorer import checkpoint

    w = chain([32], blob_data.n_features, blob_data.n_classes, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8})
    cfg = TrainConfig(epochs=2, batch_size=16, lr=2e-2, device="cpu")
    a = Trainer.create(w, blob_data, APConfig(), cfg, seeds=(1, 2))
    a.step()
    st = a.state_dict()
    st["rng"] = a.streams.gens[0].get_state()
    st["streams"] = {n: [p[0], i] for n, (p, i) in st["streams"].items()}
    checkpoint.save_atomic(st, tmp_path / "old.pt")
    b = Trainer.load(tmp_path / "old.pt", blob_data)
    assert len(b.streams.gens) == 1
    idx = b.streams.take(["main"], b.batch_sizes)["main"]
    assert idx.shape == (16,)  # one batch, shared by the members
    b.streams.undo()
    b.run()
    assert b.epoch == 2 and b.stopped_reason == "completed"


@pytest.mark.parametrize("lr,expect", [(2e-2, "completed"), (50.0, "diverged")], ids=["normal", "divergent"])
def test_fused_step_trains_like_the_plain_step_and_rolls_back(blob_data, lr, expect, make_trainer):
    from apexplorer.learner import APLearner

    plain = make_trainer(blob_data, epochs=2, lr=lr, max_loss=20.0)
    fused = make_trainer(blob_data, epochs=2, lr=lr, max_loss=20.0)
    fused.learner.force_fused = True
    ev_plain = list(plain.train(batch_events=False))
    ev_fused = list(fused.train(batch_events=False))
    assert ev_plain[-1].reason == ev_fused[-1].reason == expect
    for k in plain.net.weights:
        torch.testing.assert_close(plain.net.weights[k], fused.net.weights[k])
    assert isinstance(fused.learner, APLearner)


def test_update_changes_a_running_network_and_its_experiment(tmp_path):
    """Trainer.update changes the live settings between two batches, keeps trainer.experiment true (a checkpoint
    saved afterwards resumes the run as it now trains), and refuses a key that needs another network, or a bad
    value, before anything changes."""
    from apexplorer.trainer import LIVE_KEYS
    from apexplorer.build import build, resume
    from apexplorer.errors import ApexplorerError
    from apexplorer.experiment import Experiment

    exp = Experiment.from_preset("digits").with_changes({"train.epochs": 1, "tasks.main.train_size": 64,
                                                         "tasks.main.test_size": 32})
    tr = build(exp)
    tr.step()
    done = tr.update(lr=0.02, t1=7, epochs=2, **{"ap.beta": 0.5})
    assert done == {"train.lr": 0.02, "ap.t1": 7, "train.epochs": 2, "ap.beta": 0.5}
    assert (tr.opt.lr, tr.config.lr, tr.config.epochs, tr.total_epochs) == (0.02, 0.02, 2, 2)
    assert (tr.net.config.t1, tr.net.config.beta) == (7, 0.5)
    assert {k: tr.experiment.get(k) for k in done} == done
    before = (tr.net.config, tr.config, tr.experiment)
    with pytest.raises(ApexplorerError, match=r"'train.batch_size' cannot change on a running network.*ap.t1"):
        tr.update({"train.batch_size": 8})
    with pytest.raises(ApexplorerError, match="learning rate -1"):
        tr.update(t2=9, lr=-1)  # nothing of a refused update applies, not even its valid part
    assert (tr.net.config, tr.config, tr.experiment) == before and tr.opt.lr == 0.02
    assert set(LIVE_KEYS) >= set(done)
    tr.save(tmp_path / "run.pt")
    back = resume(tmp_path / "run.pt")
    assert (back.net.config.t1, back.config.lr, back.experiment.get("ap.beta")) == (7, 0.02, 0.5)
