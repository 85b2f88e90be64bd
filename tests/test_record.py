"""A run's history as rows (export), and several rules trained beside each other on the same batches."""

import csv
import io
import json

import pytest

from apexplorer import Experiment, build
from apexplorer.devices import describe, device_choices
from apexplorer.errors import ApexplorerError
from apexplorer.record import History, rows_of
from apexplorer.baseline_runs import BaselineRuns, baseline_experiments, baseline_hidden


@pytest.fixture
def small():
    return Experiment.from_preset("digits").with_changes(
        {"train.epochs": 2, "train.batch_size": 128, "train.device": "cpu", "wiring.options.size": 64})


def test_the_csv_holds_a_row_per_batch_and_task_and_per_epoch_task_and_member(small):
    tr = build(small.with_changes({"train.seeds": 3}))
    events = list(tr.train())
    h = History()
    h.extend(events, run="ap")
    rows = list(csv.DictReader(io.StringIO(h.to_csv())))
    batches = [e for e in events if e.kind == "batch"]
    epochs = [e for e in events if e.kind == "epoch"]
    assert len([r for r in rows if r["kind"] == "batch"]) == len(batches) * (3 + 1) == 2 * tr.n_batches * 4
    assert len([r for r in rows if r["kind"] == "epoch"]) == len(epochs) * (3 + 1)  # each member, and the mean
    for r, e in zip([r for r in rows if r["kind"] == "batch" and r["member"] == ""], batches):
        assert (int(r["epoch"]), int(r["batch"]), float(r["loss"]), float(r["acc"])) == (e.epoch, e.batch, e.loss, e.acc)
    for r, e in zip([r for r in rows if r["kind"] == "batch" and r["member"] == "1"], batches):
        assert (float(r["loss"]), float(r["acc"])) == (e.members["main"]["loss"][1], e.members["main"]["acc"][1])
    assert all(abs(sum(e.members["main"]["acc"]) / 3 - e.acc) < 1e-12 for e in batches)
    means = [r for r in rows if r["kind"] == "epoch" and r["member"] == ""]
    assert [float(r["test_acc"]) for r in means] == [e.test_acc for e in epochs]
    member2 = [r for r in rows if r["kind"] == "epoch" and r["member"] == "2"]
    assert [float(r["test_acc"]) for r in member2] == [e.members["main"]["test_acc"][2] for e in epochs]
    assert json.loads(h.to_json()) == [{k: v for k, v in r.items()} for r in h.rows]
    assert rows_of(events[-1], "ap")[0]["reason"] == "completed"


def test_baselines_beside_ap_see_the_same_batches_and_are_as_wide_as_its_sending_blocks(small):
    cs = baseline_experiments(small, ["bp", "fa", "ep"])
    assert {m: e.method.hidden for m, e in cs.items()} == {"bp": (16, 16), "fa": (16, 16), "ep": (16, 16)}
    assert cs["ep"].train.lr == 1e-3 and cs["bp"].train.lr == small.train.lr
    trs = {"ap": build(small), **{m: build(e) for m, e in cs.items()}}
    seen = {n: [] for n in trs}
    for tr in trs.values():  # the batches each draws: record the indices of every take
        real = tr.streams.take

        def take(names, sizes, real=real, log=seen[next(k for k, v in trs.items() if v is tr)]):
            out = real(names, sizes)
            log.append(out["main"].tolist())
            return out

        tr.streams.take = take
    order = [name for name, ev in BaselineRuns(trs).train() if ev.kind == "batch"]
    assert order[:4] == ["ap", "bp", "fa", "ep"]  # one batch each, in turn
    assert seen["ap"] == seen["bp"] == seen["fa"] == seen["ep"] and len(seen["ap"]) == 2 * trs["ap"].n_batches


def test_baselines_go_beside_one_ap_task(small):
    with pytest.raises(ApexplorerError, match="unknown baseline 'xx'; choices are bp, fa, ep"):
        baseline_experiments(small, ["xx"])
    with pytest.raises(ApexplorerError, match="baselines train one task"):
        baseline_experiments(Experiment.from_preset("fig5b", "digits"), ["bp"])


def test_baseline_width_follows_the_inference_order_of_the_modules():
    from apexplorer import chain

    w = chain([40, 80, 20], 10, 3, blocks=None)
    assert baseline_hidden(w) == (10, 20, 5)


def test_device_menu_and_words_on_a_cpu_machine():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CPU-only check")
    assert device_choices() == ["auto", "cpu"]
    assert describe("auto") == "CPU (no GPU on this machine)" and describe("cpu") == "CPU"
