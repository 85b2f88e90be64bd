"""A sweep in the background (SweepJob): it finishes with one row per point and seed, reports its
progress, and a cancel stops it and leaves no worker process behind."""

import time

import pytest

from apexplorer.experiment import Experiment
from apexplorer.sweep import Sweep, SweepJob, load_results


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A two-point sweep of a tiny digits network, one epoch, one seed."""
    from apexplorer import chain

    f = tmp_path_factory.mktemp("wiring") / "tiny.json"
    chain([32, 32], 64, 10, blocks={"RI": 8, "SI": 8, "RE": 8, "SE": 8}, name="tiny").to_json(f)
    exp = Experiment.from_settings({"dataset": "digits", "wiring": str(f), "epochs": 1, "batch_size": 128})
    return Sweep.create(exp, {"sr": [0.1, 0.5]}, seeds=1)


@pytest.fixture
def port_8787():
    """Dask's default dashboard port, held for the test (as another Dask or apexplorer's own sweep would):
    a local cluster must start anyway, on a free port."""
    import socket

    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8787))
        s.listen()
    except OSError:  # held by someone else already: the same situation
        pass
    yield
    s.close()


def _children():
    """This process's live children, less multiprocessing's resource tracker (one per process, by design)."""
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())]


def _wait_final(job, timeout=120, messages=None):
    """(the final progress, the (state, done) pairs seen); ``messages`` (a set) collects the messages seen."""
    end = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < end:
        p = job.progress()
        seen.add((p.state, p.done))
        if messages is not None:
            messages.add(p.message)
        if p.final:
            return p, seen
        time.sleep(0.05)
    raise AssertionError(f"the job never ended: {job.progress()}")


def test_a_job_in_process_trains_every_point_into_the_table(tiny, tmp_path):
    out = tmp_path / "t.csv"
    job = SweepJob(tiny, out, dask=False).start()
    p, seen = _wait_final(job)
    assert job.join(10)
    assert (p.state, p.done, p.total, p.executor, p.errors) == ("finished", 2, 2, "in-process", 0)
    df = load_results(out)
    assert sorted(df["sr"]) == [0.1, 0.5] and set(df["status"]) == {"completed"}
    assert len(job.frame()) == 2


def test_a_job_on_a_local_dask_cluster_finishes_and_closes_the_cluster(tiny, tmp_path, port_8787):
    pytest.importorskip("distributed")
    before = {p.pid for p in _children()}
    job = SweepJob(tiny, tmp_path / "t.csv", workers=1).start()
    messages = set()
    p, seen = _wait_final(job, messages=messages)
    assert job.join(30)
    assert (p.state, p.done, p.total, p.executor) == ("finished", 2, 2, "dask"), p
    assert "training on a local Dask cluster (1 worker process)" in messages, messages  # the Sweeps tab's words
    assert ("running", 0) in seen or ("running", 1) in seen  # progress was readable while it ran
    assert len(job.frame()) == 2 and set(job.frame()["status"]) == {"completed"}
    time.sleep(0.5)
    extra = [p.cmdline() for p in _children() if p.pid not in before]
    assert not extra, f"the cluster's worker processes outlived the job: {extra}"


def test_a_cancelled_dask_job_stops_writes_nothing_more_and_leaves_no_process(tiny, tmp_path):
    pytest.importorskip("distributed")
    before = {p.pid for p in _children()}
    slow = Sweep.create(tiny.base.with_changes({"train.epochs": 50}), {"sr": [0.1, 0.5]}, seeds=1)
    job = SweepJob(slow, tmp_path / "t.csv", workers=1).start()
    end = time.monotonic() + 60
    while job.progress().state != "running" and time.monotonic() < end:
        time.sleep(0.05)
    job.cancel()
    assert job.join(30), "the job's thread did not end after cancel"
    p = job.progress()
    assert (p.state, p.done) == ("cancelled", 0), p
    assert len(job.frame()) == 0
    time.sleep(0.5)
    extra = [p.cmdline() for p in _children() if p.pid not in before]
    assert not extra, f"the cluster's worker processes outlived the cancel: {extra}"


def test_a_cancelled_in_process_job_keeps_no_row_of_the_point_cut_short(tiny, tmp_path):
    slow = Sweep.create(tiny.base.with_changes({"train.epochs": 200}), {"sr": [0.1, 0.5]}, seeds=1)
    job = SweepJob(slow, tmp_path / "t.csv", dask=False).start()
    end = time.monotonic() + 60
    while "epoch" not in job.progress().current and time.monotonic() < end:
        time.sleep(0.02)
    job.cancel()
    assert job.join(30)
    assert job.progress().state == "cancelled" and len(job.frame()) == 0


def test_a_job_whose_table_cannot_be_written_fails_with_a_message(tiny, tmp_path):
    job = SweepJob(tiny, tmp_path / "t.xlsx", dask=False).start()
    p, _ = _wait_final(job)
    assert p.state == "failed" and "unknown format '.xlsx'" in p.message


def test_the_commands_local_cluster_takes_a_free_dashboard_port(port_8787):
    pytest.importorskip("distributed")
    from distributed import Client

    from apexplorer.sweep import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        link = client.dashboard_link
        assert link and ":8787/" not in link
