"""A sweep running in the background: a thread trains it, anyone reads its progress, it can be cancelled.

:class:`SweepJob` is what a GUI (the explorer's Sweeps tab) or a notebook uses to
run a small sweep without blocking: :meth:`SweepJob.start` returns at once, a
thread starts a local Dask cluster (or, without Dask, trains in this process),
submits one task per point and appends rows to the results table as points
finish.  :meth:`SweepJob.progress` is a frozen snapshot, safe to read from any
thread; nothing here calls back into the caller's thread.  :meth:`SweepJob.cancel`
stops the sweep: pending points are cancelled and the cluster is closed by the
thread itself, so the caller never waits for it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace

from ..errors import plural
from .grid import Sweep

#: What a job is doing; the last three are final.
STATES = ("idle", "starting", "running", "finished", "cancelled", "failed")
FINAL = ("finished", "cancelled", "failed")


@dataclass(frozen=True)
class SweepProgress:
    """A snapshot of a job: its state, points done of total, what trains now, a message, and how many
    points failed (``errors``) with the first one's message (``error``)."""

    state: str = "idle"
    done: int = 0
    total: int = 0
    current: str = ""
    message: str = ""
    executor: str = ""
    errors: int = 0
    error: str = ""
    seconds: float = 0.0

    @property
    def final(self) -> bool:
        return self.state in FINAL


class _Cancelled(Exception):
    """Raised from the per-epoch hook of an in-process point when the job is cancelled."""


def app_workers(points: int) -> int:
    """Worker processes for a sweep launched beside a server: one per two cores beyond the first, at least one."""
    return max(1, min(points, ((os.cpu_count() or 2) - 1) // 2 or 1))


class SweepJob:
    """Train ``sweep`` into the results table ``out`` in a background thread.

    Parameters
    ----------
    sweep : Sweep
    out : str or Path
        The results table (.csv or .parquet); an existing one is continued.
    dask : bool
        Use a local Dask cluster (when ``distributed`` is installed); False
        trains the points one after another in this process.
    workers : int, optional
        Worker processes of the cluster (default :func:`app_workers`).
    """

    def __init__(self, sweep: Sweep, out, dask: bool = True, workers: int | None = None):
        from .executors import have_dask

        self.sweep = sweep
        self.out = out
        self.dask = dask and have_dask()
        self.workers = workers
        self.table = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress = SweepProgress(total=len(sweep.points()))
        self._labels = {p.id: ", ".join(f"{k}={v}" for k, v in p.columns.items()) for p in sweep.points()}
        self._thread = None
        self._t0 = 0.0

    # ----------------------------------------------------------- reading
    def progress(self) -> SweepProgress:
        """The latest snapshot (safe from any thread)."""
        with self._lock:
            p = self._progress
        return p if p.final or not self._t0 else replace(p, seconds=time.perf_counter() - self._t0)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def frame(self):
        """The results table so far, as a DataFrame (None before the table opens)."""
        return None if self.table is None else self.table.frame

    def _set(self, **kw) -> None:
        with self._lock:
            self._progress = replace(self._progress, **kw)

    # ----------------------------------------------------------- control
    def start(self) -> "SweepJob":
        """Start the thread; returns at once."""
        if self._thread is not None:
            return self
        self._t0 = time.perf_counter()
        self._set(state="starting", message="starting")
        self._thread = threading.Thread(target=self._run, name="apexplorer-sweep", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the sweep to stop: what is in flight is dropped, the cluster closes. Returns at once."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def close(self, timeout: float | None = 30) -> bool:
        """Cancel and wait for the thread (and so the cluster) to end."""
        self.cancel()
        return self.join(timeout)

    # ----------------------------------------------------------- the thread
    def _run(self) -> None:
        from ..errors import ApexplorerError
        from .executors import prepare

        try:
            self.table, tasks, skipped, _ = prepare(self.sweep, self.out)
            done = self._progress.total - len(tasks)
            self._set(done=done)
            if self.dask:
                self._on_dask(tasks)
            else:
                self._in_process(tasks)
        except Exception as e:  # noqa: BLE001 - the caller reads the message; nothing may escape a thread
            msg = str(e) if isinstance(e, ApexplorerError) else f"{type(e).__name__}: {e}"
            self._finish("failed", f"the sweep failed: {msg}")
            return
        if self._stop.is_set():
            self._finish("cancelled", "cancelled")
        else:
            self._finish("finished", "finished")

    def _finish(self, state: str, message: str) -> None:
        self._set(state=state, message=message, current="", seconds=time.perf_counter() - self._t0)

    def _record(self, task, rows) -> None:
        """Count a point whose rows the table holds now (and its failure, if it failed)."""
        p = self._progress
        bad = next((r for r in rows if r.get("status") == "error"), None)
        first = p.error
        if bad is not None and not first:
            first = f"{self._labels.get(task.point.id, task.point.id)}: {bad.get('message')}"
        self._set(done=p.done + 1, errors=p.errors + (bad is not None), error=first)

    def _on_epoch(self, info: dict) -> None:
        self._set(current=f"{self._labels.get(info['point'], info['point'])}: epoch {info['epoch']}/{info['epochs']}")

    def _in_process(self, tasks) -> None:
        from .executors import execute

        self._set(state="running", executor="in-process", message="training in the server's process")

        def hook(info):
            if self._stop.is_set():
                raise _Cancelled  # the point in flight stops at its next epoch (and is not recorded)
            self._on_epoch(info)

        def announced():  # each point's name shows while its first epoch trains
            for t in tasks:
                self._set(current=self._labels.get(t.point.id, t.point.id))
                yield t

        for t, rows in execute(self.sweep, announced(), self.table, on_epoch=hook, stop=self._stop):
            self._record(t, rows)

    def _on_dask(self, tasks) -> None:
        from distributed import Client

        from .executors import execute, local_cluster

        workers = self.workers or app_workers(len(tasks))
        threads = max(1, ((os.cpu_count() or 2) - 1) // workers)
        processes = plural(workers, "worker process", "worker processes")
        self._set(message=f"starting a local Dask cluster of {processes}")
        cluster = client = None
        try:
            cluster = local_cluster(workers, dashboard=None)
            if self._stop.is_set():
                return
            client = Client(cluster)
            client.register_plugin(cluster.ignore_interrupt)
            self._set(state="running", executor="dask",
                      message=f"training on a local Dask cluster ({processes})")
            for t, rows in execute(self.sweep, tasks, self.table, client, threads, on_epoch=self._on_epoch,
                                   stop=self._stop):
                self._record(t, rows)
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
