"""Sweeps: grid axes, the results table, resuming, faults, the CLI and Dask."""

import json
import math

import pytest

from apexplorer.errors import ApexplorerError
from apexplorer.experiment import Experiment
from apexplorer.sweep import Sweep, parse_axis, plan, prepare, run, train_point
from apexplorer.sweep import ResultsTable, load_results


@pytest.fixture(scope="module")
def wiring_file(tmp_path_factory):
    """A tiny wiring for the digits: two modules of 32 (blocks of 8); a run takes a fraction of a second."""
    from apexplorer import chain

    f = tmp_path_factory.mktemp("wiring") / "tiny.json"
    chain([32, 32], 64, 10, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8}, name="tiny").to_json(f)
    return str(f)


@pytest.fixture(scope="module")
def fast(wiring_file):
    return {"dataset": "digits", "wiring": wiring_file, "epochs": 1, "batch_size": 128, "lr": 0.02}


@pytest.mark.parametrize("text,key,values", [
    ("sr=0.01,0.1,2", "ap.spectral_radius", (0.01, 0.1, 2.0)),
    ("ap.spectral_radius=0.1,1", "ap.spectral_radius", (0.1, 1.0)),
    ("steps=2,4", "steps", (2, 4)),
    ("batch-size=16,32", "train.batch_size", (16, 32)),
    ("train.lr=1e-3,1e-2", "train.lr", (1e-3, 1e-2)),
    ("mode=ste,epe", "ap.mode", ("ste", "epe")),
    ("preset=digits,paper-1layer", "wiring.preset", ("digits", "paper-1layer")),
    ("tasks.main.batch_size=8,16", "tasks.main.batch_size", (8, 16)),
    ("method.hidden=256,128x2", "method.hidden", ((256,), (128, 128))),
], ids=["alias", "dotted", "int", "dashed-name", "dotted-float", "choice", "preset", "task-key", "int-lists"])
def test_grid_axis_values_are_parsed_by_their_keys_kind(text, key, values):
    assert parse_axis(text) == (key, values)


@pytest.mark.parametrize("text,needle", [
    ("srr=0.1", "'srr' is not a setting; settings are"),
    ("ap.srr=0.1", "'ap.srr' is not a setting"),
    ("steps=2,x", "value 'x'"),
    ("steps=0", "must be an integer >= 1"),
    ("mode=ste,foo", "choices are ste, epe"),
    ("seed=1,2", "use --seeds"),
    ("device=cpu,cuda", "not what it is"),
    ("sr", "KEY=v1,v2"),
    ("sr=0.1,,1", "empty value"),
    ("sr=1,1", "twice"),
], ids=["unknown", "unknown-dotted", "not-int", "range", "choice", "seed", "placement", "no-equals", "empty",
        "duplicate"])
def test_bad_grid_axis_names_the_value_and_the_choices(text, needle):
    with pytest.raises(ApexplorerError, match=needle):
        parse_axis(text)


def test_points_are_the_grid_product_with_stable_ids(fast):
    sw = Sweep.create(fast, {"sr": [0.1, 1], "steps": [2, 4, 8]}, seeds=2)
    pts = sw.points()
    assert [p.columns for p in pts][:3] == [{"sr": 0.1, "steps": 2}, {"sr": 0.1, "steps": 4}, {"sr": 0.1, "steps": 8}]
    exp = Experiment.from_dict(pts[1].experiment)
    assert (exp.ap.spectral_radius, exp.ap.t1, exp.ap.t2, exp.train.epochs) == (0.1, 4, 4, 1)
    assert len(pts) == 6 and len({p.id for p in pts}) == 6
    assert sw.seeds == (0, 1)
    again = Sweep.create({**fast, "device": "cpu"}, {"sr": [0.1, 1], "steps": [2, 4, 8]}, seeds=3)
    assert [p.id for p in again.points()] == [p.id for p in pts]  # device is placement, not identity
    other = Sweep.create({**fast, "epochs": 2}, {"sr": [0.1, 1], "steps": [2, 4, 8]})
    assert not {p.id for p in other.points()} & {p.id for p in pts}


def test_plan_skips_finished_runs_and_groups_a_points_seeds(fast):
    sw = Sweep.create(fast, {"sr": [0.1, 1]}, seeds=3)
    p0, p1 = sw.points()
    tasks, skipped = plan(sw, {(p0.id, 0), (p0.id, 2), (p1.id, 0), (p1.id, 1), (p1.id, 2)})
    assert skipped == 5
    assert [(t.point.id, t.seeds) for t in tasks] == [(p0.id, (1,))]


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory, fast):
    """sr x steps = 2 x 2 points, 2 seeds, 2 epochs on digits, in this process."""
    out = tmp_path_factory.mktemp("sweep") / "res.csv"
    sw = Sweep.create({**fast, "epochs": 2}, {"sr": [0.1, 0.5], "steps": [2, 4]}, seeds=2)
    return sw, out, run(sw, out)


def test_table_has_a_row_per_point_seed_and_epoch_with_every_setting(small_sweep):
    sw, out, df = small_sweep
    df = load_results(out)
    assert len(df) == 4 * 2 * 2
    assert set(zip(df["point"], df["seed"], df["epoch"])) == {
        (p.id, s, e) for p in sw.points() for s in (0, 1) for e in (1, 2)}
    for col in ("sr", "steps", "t1", "t2", "lr", "batch_size", "epochs", "mode", "beta", "preset", "dataset",
                "test_acc", "train_acc", "loss", "seconds", "status", "ftmle", "experiment"):
        assert col in df.columns, col
    assert (df["status"] == "completed").all()
    assert (df["t1"] == df["steps"]).all() and (df["batch_size"] == 128).all()
    assert df["test_acc"].between(0, 1).all()
    # every row carries the whole experiment of its point, which runs it again
    pts = {p.id: p for p in sw.points()}
    for pid, text in zip(df["point"], df["experiment"]):
        assert Experiment.from_json(text) == Experiment.from_dict(pts[pid].experiment)


def test_ftmle_column_follows_log_rho_for_small_radii(small_sweep):
    _, out, _ = small_sweep
    df = load_results(out)
    for rho, lam in zip(df["sr"], df["ftmle"]):
        assert lam == pytest.approx(math.log(rho), abs=0.35)


def test_rerun_skips_every_finished_run(small_sweep):
    sw, out, df = small_sweep
    table, tasks, skipped, dropped = prepare(sw, out)
    assert tasks == [] and skipped == 8 and dropped == 0
    assert len(table.frame) == len(df)


def test_seeds_trained_together_match_a_seed_trained_alone(fast):
    """Seed 1 of a point is ``train --seed 1``: same network and data order, whoever trains beside it."""
    sw = Sweep.create({**fast, "lr": 0.2}, {"sr": [0.25]})
    p = sw.points()[0]
    together = [r for r in train_point(p.experiment, (0, 1), p.id) if r["seed"] == 1]
    alone = train_point(p.experiment, (1,), p.id)
    seed1 = Experiment.from_dict(p.experiment).with_changes({"train.seed": 1})
    train = train_point(seed1.to_dict(), (1,), p.id)  # what ``apexplorer train --seed 1`` runs
    assert [r["epoch"] for r in together] == [r["epoch"] for r in alone] == [r["epoch"] for r in train] == [1]
    # a different data order moves the epoch's loss by ~3e-2; float noise of the batched run by < 1e-6
    for other in (alone, train):
        assert together[0]["loss"] == pytest.approx(other[0]["loss"], rel=1e-5)
        assert together[0]["test_acc"] == pytest.approx(other[0]["test_acc"], abs=0.02)
    assert together[0]["ftmle"] == pytest.approx(alone[0]["ftmle"])


def test_a_diverged_point_is_recorded_and_the_sweep_goes_on(tmp_path, fast):
    base = {k: v for k, v in fast.items() if k != "lr"}
    sw = Sweep.create({**base, "batch_size": 32}, {"sr": [0.25, 50], "lr": [0.005, 10]})
    df = run(sw, tmp_path / "d.csv")
    last = df.groupby("point").tail(1).set_index(["sr", "lr"])
    assert last.loc[(50.0, 10.0), "status"] == "diverged"
    assert "diverged" in last.loc[(50.0, 10.0), "message"]
    assert 0 <= last.loc[(50.0, 10.0), "test_acc"] <= 1  # the last good weights
    assert last.loc[(0.25, 0.005), "status"] == "completed"


def test_a_bad_grid_value_is_refused_before_anything_trains(fast):
    with pytest.raises(ApexplorerError, match=r"grid axis 'sr': value '-1': ap.spectral_radius = -1.0 must be a "
                                              r"number >= 0"):
        Sweep.create(fast, {"sr": [0.25, -1]})
    # a value that is fine alone but not with the rest of the point: refused as a whole point
    with pytest.raises(ApexplorerError, match=r"grid point tasks.A.batch_size=8: tasks trained simultaneously"):
        Sweep.create({**fast, "wiring": None, "preset": "fig5b", "dataset": "digits", "schedule": "simultaneous"},
                     {"tasks.A.batch_size": [8]})


def test_a_failing_point_is_an_error_row_and_a_rerun_retries_it(tmp_path, fast):
    # a subset larger than the data passes the experiment's checks but fails when the point loads its data
    sw = Sweep.create(fast, {"tasks.main.train_size": [100, 100000]})
    out = tmp_path / "e.csv"
    df = run(sw, out)
    bad = df[df["tasks.main.train_size"] == 100000]
    assert list(bad["status"]) == ["error"] and "a train subset of 100000 samples" in bad["message"].iloc[0]
    assert list(df[df["tasks.main.train_size"] == 100]["status"]) == ["completed"]
    table, tasks, skipped, dropped = prepare(sw, out)
    assert (skipped, dropped, [t.point.axes for t in tasks]) == (1, 1, [{"tasks.main.train_size": 100000}])
    assert list(load_results(out)["status"]) == ["completed"]


def test_a_table_of_an_older_apexplorer_is_refused_with_a_message(tmp_path, fast):
    out = tmp_path / "old.csv"
    out.write_text("point,seed,epoch,sr,test_acc,status\nabc,0,1,0.1,0.5,completed\n")
    with pytest.raises(ApexplorerError, match="older than experiments"):
        prepare(Sweep.create(fast, {"sr": [0.1]}), out)


def test_a_method_axis_trains_the_baselines_one_seed_at_a_time(tmp_path, fast):
    sw = Sweep.create({**fast, "batch_size": 64}, {"method": ["ap", "bp"]}, seeds=2)
    df = run(sw, tmp_path / "m.csv")
    assert sorted(zip(df["method"], df["seed"])) == [("ap", 0), ("ap", 1), ("bp", 0), ("bp", 1)]
    assert set(df["status"]) == {"completed"} and df["test_acc"].between(0, 1).all()
    bp = df[df["method"] == "bp"]
    assert (bp["members"] == 1).all()


def test_a_csv_row_cut_short_by_a_crash_is_dropped(tmp_path):
    out = tmp_path / "cut.csv"
    t = ResultsTable(out)
    t.append([{"point": "a", "seed": 0, "epoch": 1, "test_acc": 0.5, "status": "completed"}])
    t.append([{"point": "b", "seed": 0, "epoch": 1, "test_acc": 0.7, "status": "completed"}])
    text = out.read_text()
    out.write_text(text[:-6])  # a crash in the middle of the last write
    assert list(load_results(out)["point"]) == ["a"]
    t2 = ResultsTable(out)
    assert t2.finished() == {("a", 0)} and out.read_text().endswith("\n")
    t2.append([{"point": "c", "seed": 1, "epoch": 1, "test_acc": 0.9, "status": "completed"}])
    assert list(load_results(out)["point"]) == ["a", "c"]


def test_parquet_table_round_trips_and_grows(tmp_path):
    pytest.importorskip("pyarrow")
    out = tmp_path / "r.parquet"
    t = ResultsTable(out)
    t.append([{"point": "a", "seed": 0, "epoch": 1, "steps": None, "status": "completed"}])
    t.append([{"point": "a", "seed": 1, "epoch": 1, "steps": 4, "status": "diverged", "ftmle": -1.0}])
    df = load_results(out)
    assert list(df["seed"]) == [0, 1] and list(df.columns)[:3] == ["point", "seed", "epoch"]
    assert ResultsTable(out).finished() == {("a", 0), ("a", 1)}


@pytest.mark.parametrize("name,needle", [("r.txt", "unknown format '.txt'"), ("r", "(no suffix)")],
                         ids=["txt", "none"])
def test_results_file_must_be_csv_or_parquet(tmp_path, name, needle):
    with pytest.raises(ApexplorerError, match=needle):
        ResultsTable(tmp_path / name)


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------
def _cli(argv, capsys):
    from apexplorer.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def test_cli_prints_start_runs_and_done_then_a_rerun_does_nothing(tmp_path, capsys, wiring_file):
    out = tmp_path / "s.csv"
    argv = ["sweep", "--dataset", "digits", "--wiring", wiring_file, "--epochs", "1", "--batch-size", "128", "--grid", "sr=0.1,0.5",
            "--seeds", "2", "--workers", "0", "--out", str(out), "--json"]
    code, lines, err = _cli(argv, capsys)
    assert code == 0, err
    assert lines[0]["kind"] == "start" and lines[0]["runs"] == 4 and lines[0]["executor"] == "in-process"
    runs = [l for l in lines if l["kind"] == "run"]
    assert sorted((r["sr"], r["seed"]) for r in runs) == [(0.1, 0), (0.1, 1), (0.5, 0), (0.5, 1)]
    assert all(r["status"] == "completed" and 0 <= r["test_acc"] <= 1 for r in runs)
    assert lines[-1] == {**lines[-1], "kind": "done", "ran": 4, "skipped": 0, "rows": 4}
    code, lines, _ = _cli(argv, capsys)
    assert code == 0 and lines[0]["skipped"] == 4 and lines[-1]["ran"] == 0


def test_cli_sweeps_an_experiment_file_over_dotted_keys(tmp_path, capsys, wiring_file):
    exp = tmp_path / "base.toml"
    assert _cli(["train", "--dataset", "digits", "--wiring", wiring_file, "--epochs", "1", "--batch-size", "128",
                 "--dump-experiment", str(exp), "--json"], capsys)[0] == 0
    out = tmp_path / "s.csv"
    code, lines, err = _cli(["sweep", "--experiment", str(exp), "--grid", "ap.spectral_radius=0.1,0.5",
                             "--grid", "train.lr=0.01", "--workers", "0", "--out", str(out), "--json"], capsys)
    assert code == 0, err
    assert lines[0]["axes"] == {"ap.spectral_radius": [0.1, 0.5], "train.lr": [0.01]}
    runs = [l for l in lines if l["kind"] == "run"]
    assert sorted(r["sr"] for r in runs) == [0.1, 0.5]
    df = load_results(out)
    assert sorted(df["sr"]) == [0.1, 0.5] and set(df["lr"]) == {0.01}
    code, _, err = _cli(["sweep", "--experiment", str(exp), "--lr", "0.1", "--grid", "sr=0.1", "--workers", "0",
                         "--out", str(out)], capsys)
    assert code == 2 and "--lr would change it" in err


def test_without_dask_the_cli_trains_here_and_says_how_to_scale_out(tmp_path, capsys, monkeypatch, wiring_file):
    monkeypatch.setattr("apexplorer.sweep.have_dask", lambda: False)
    code, _, err = _cli(["sweep", "--dataset", "digits", "--wiring", wiring_file, "--epochs", "1", "--batch-size", "256", "--grid", "sr=0.25",
                         "--out", str(tmp_path / "n.csv")], capsys)
    assert code == 0
    assert "not installed" in err and "pip install 'apexplorer[sweep]'" in err and "--scheduler" in err


@pytest.mark.parametrize("extra,needle", [
    (["--grid", "sr=0.1", "--sr", "0.5"], "--sr is given and is also a grid axis"),
    (["--grid", "steps=2", "--t1", "4"], "steps axis sets T1 = T2"),
    (["--grid", "sr=0.1", "--grid", "sr=1"], "given twice"),
    (["--grid", "nope=1"], "'nope' is not a setting"),
    (["--grid", "sr=0.1", "--scheduler", "notanaddress"], "cannot reach the Dask scheduler 'notanaddress'"),
    (["--grid", "sr=0.1", "--out", "x.xlsx"], "unknown format '.xlsx'"),
    (["--grid", "sr=0.1", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "cannot be combined"),
], ids=["axis-and-option", "steps-and-t1", "twice", "unknown", "bad-scheduler", "format", "scheduler-and-workers"])
def test_cli_mistakes_exit_2_with_a_message(tmp_path, capsys, extra, needle, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", "--dataset", "digits", "--epochs", "1", "--out", "s.csv", *extra]
    if "--out" in extra[2:]:
        argv = ["sweep", "--dataset", "digits", "--epochs", "1", *extra]
    code, _, err = _cli(argv, capsys)
    assert code == 2 and needle in err and "Traceback" not in err


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------
def test_dask_workers_give_the_same_table_as_this_process(tmp_path, fast):
    distributed = pytest.importorskip("distributed")
    sw = Sweep.create(fast, {"sr": [0.1, 1]}, seeds=2)
    here = run(sw, tmp_path / "here.csv")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        there = run(sw, tmp_path / "there.csv", client=client)
    key = ["point", "seed", "epoch"]
    a, b = here.sort_values(key).reset_index(drop=True), there.sort_values(key).reset_index(drop=True)
    assert list(a["point"]) == list(b["point"]) and list(a["seed"]) == list(b["seed"])
    assert list(a["test_acc"]) == pytest.approx(list(b["test_acc"]))


@pytest.mark.slow
def test_a_killed_worker_loses_no_point(tmp_path, fast):
    """Dask reruns the task of a worker process that dies; every point still reaches the table."""
    import os
    import signal

    distributed = pytest.importorskip("distributed")
    from apexplorer.sweep import execute, local_cluster

    sw = Sweep.create({**fast, "epochs": 3, "batch_size": 32}, {"sr": [0.1, 0.25, 0.5, 1]}, seeds=2)
    table, tasks, _, _ = prepare(sw, tmp_path / "k.csv")
    with local_cluster(2, dashboard="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        done = []
        for task, rows in execute(sw, tasks, table, client, threads=1):
            done.append(task.point.id)
            if len(done) == 1:
                os.kill(pids[0], signal.SIGKILL)
    assert sorted(done) == sorted(p.id for p in sw.points())
    df = load_results(tmp_path / "k.csv")
    assert len(df) == 4 * 2 * 3 and set(df["status"]) == {"completed"}


def test_a_baseline_method_sweeps_over_its_own_settings(tmp_path, capsys):
    from apexplorer.cli import main

    code = main(["sweep", "--dataset", "digits", "--method", "bp", "--grid", "lr=0.01,0.02", "--epochs", "1",
                 "--batch-size", "256", "--workers", "0", "--out", str(tmp_path / "m.csv"), "--json"])
    assert code == 0, capsys.readouterr().err
    df = load_results(tmp_path / "m.csv")
    assert set(df["method"]) == {"bp"} and sorted(df["lr"]) == [0.01, 0.02]
