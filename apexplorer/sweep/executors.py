"""Running a sweep: plan what is left, train it here or on Dask, append rows as runs finish.

Dask (dask.distributed) does the scheduling, retries on dead workers and the
dashboard; a missing Dask means training in this process, one point after
another.  The results table is written only here, by one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .grid import STABILITY_AXES, Point, Sweep
from .point import PROGRESS, error_rows, report_to_client, train_point


@dataclass
class Task:
    """The unfinished seeds of one point, trained together as one batched ensemble.

    ``also``: more points that differ from ``point`` only in values each ensemble member carries (the spectral
    radius, beta): their seeds join the same ensemble, one member per point and seed (see
    :func:`~.point.train_point`'s ``group``)."""

    point: Point
    seeds: tuple
    also: tuple = ()

    @property
    def key(self) -> str:
        ids = "-".join(p.id for p in (self.point, *self.also))
        return f"apexplorer-point-{ids}-seed-{'-'.join(map(str, self.seeds))}"

    @property
    def points(self) -> tuple:
        return (self.point, *self.also)


def plan(sweep: Sweep, finished=frozenset()) -> tuple:
    """(tasks to run, number of runs skipped because ``finished`` holds their (point, seed))."""
    tasks, skipped = [], 0
    for p in sweep.points():
        todo = tuple(s for s in sweep.seeds if (p.id, s) not in finished)
        skipped += len(sweep.seeds) - len(todo)
        if todo:
            tasks.append(Task(p, todo))
    return tasks, skipped


def _args(t: Task, sweep: Sweep, threads, ftmle, report) -> tuple:
    """The arguments of :func:`train_point` for one task."""
    group = [(p.id, p.experiment, p.axes) for p in t.points] if t.also else None
    return (t.point.experiment, t.seeds, t.point.id, threads, ftmle, report, t.point.axes, sweep.data_dir,
            sweep.download, t.point.probe, group)


def run_in_process(sweep: Sweep, tasks, ftmle: bool = True, on_epoch=None, stop=None):
    """Train ``tasks`` one after another here; yield ``(task, rows)`` as each finishes.

    ``stop`` (a :class:`threading.Event`), once set, ends the run before the next task; a task it
    cut short (``on_epoch`` may raise to stop it mid-way) is not a result and is not yielded.
    """
    for t in tasks:
        if stop is not None and stop.is_set():
            return
        rows = train_point(*_args(t, sweep, None, ftmle, on_epoch))
        if stop is not None and stop.is_set():
            return
        yield t, rows


def _finished(futures, stop):
    """The futures in the order they finish; with ``stop`` (an Event), polled so that setting it ends
    the wait within a fifth of a second."""
    from distributed import as_completed

    if stop is None:
        yield from as_completed(futures)
        return
    pending = list(futures)
    while pending and not stop.is_set():
        ready, waiting = [], []
        for f in pending:
            (ready if f.done() else waiting).append(f)
        pending = waiting
        yield from ready
        if not ready:
            stop.wait(0.2)


def run_on_dask(sweep: Sweep, tasks, client, threads: int | None = None, ftmle: bool = True, on_epoch=None,
                stop=None):
    """Submit ``tasks`` to a Dask ``client``; yield ``(task, rows)`` in the order they finish.

    Dask reruns the task of a worker that dies; a task that kills its workers
    too often (Dask's ``allowed-failures``) comes back as an ``error`` row.
    ``on_epoch(info)`` gets the workers' per-epoch progress (in the client's
    event-loop thread).  Closing the generator (e.g. on Ctrl-C), or setting
    ``stop`` (a :class:`threading.Event`, from any thread), cancels what is
    still pending.
    """
    report = None
    if on_epoch is not None:
        client.subscribe_topic(PROGRESS, lambda event: on_epoch(event[1]))
        report = report_to_client
    futures = {}
    for t in tasks:
        f = client.submit(train_point, *_args(t, sweep, threads, ftmle, report), key=t.key)
        futures[f] = t
    try:
        for f in _finished(list(futures), stop):
            t = futures[f]
            try:
                rows = f.result()
            except Exception as e:  # noqa: BLE001 - KilledWorker, lost data: record and go on
                rows = [r for p in t.points
                        for r in error_rows({"point": p.id, **p.columns}, t.seeds, f"{type(e).__name__}: {e}")]
            f.release()
            yield t, rows
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        if on_epoch is not None:
            client.unsubscribe_topic(PROGRESS)


def _ignore_interrupt():
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread of the worker process
        pass


def local_cluster(workers: int, dashboard: str | None = "127.0.0.1:0"):
    """A Dask LocalCluster of ``workers`` single-threaded processes, reachable from localhost only.

    Ctrl-C in a terminal reaches every process of the group; the worker
    processes ignore it (also when Dask restarts one), so only this process
    stops, cancels what is pending and closes the cluster, without a
    traceback from every worker.  Called from another thread than the main
    one (a server's), the workers ignore Ctrl-C once the client registers
    ``cluster.ignore_interrupt``.  ``dashboard`` is the dashboard's address; its default port 0 takes a
    free one (the link is ``client.dashboard_link``), so a cluster never fails for a port held by another
    (Dask's 8787).  None: a free port too (Dask's own None would still take 8787 for its HTTP server).
    """
    import logging
    import signal
    import threading

    from distributed import LocalCluster, WorkerPlugin

    class IgnoreInterrupt(WorkerPlugin):
        def setup(self, worker):
            _ignore_interrupt()

    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # inherited by the workers started now
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=dashboard or "127.0.0.1:0", silence_logs=logging.ERROR)
    finally:
        if main:
            signal.signal(signal.SIGINT, old)
    cluster.ignore_interrupt = IgnoreInterrupt()  # registered by the client: workers Dask restarts get it too
    return cluster


def default_workers() -> int:
    """One worker per GPU, else one per two CPU cores (torch uses the other thread)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // 2)


def have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


SCALE_OUT = ("To spread the points over this machine's cores or GPUs, or over a cluster: "
             "pip install 'apexplorer[sweep]', then pass --workers N (a local Dask cluster) "
             "or --scheduler tcp://HOST:8786 (an existing one).")


def prepare(sweep: Sweep, out, append: bool = False) -> tuple:
    """Open the results table ``out`` and plan what is left to train.

    Returns ``(table, tasks, skipped, dropped)``: the runs already finished in
    the table are skipped; rows of runs that failed are dropped and redone.
    A table holding another sweep's rows is refused (:func:`check_same_sweep`)
    unless ``append``.
    """
    from .table import ResultsTable, check_target

    table = ResultsTable(check_target(out))
    table.check_resumable()
    if not append:
        check_same_sweep(table, sweep)
    dropped = table.drop_unfinished()
    tasks, skipped = plan(sweep, table.finished())
    return table, tasks, skipped, dropped


def check_same_sweep(table, sweep: Sweep) -> None:
    """Refuse to continue a table whose rows are not points of ``sweep`` (nor of a grid it extends).

    Each old row's experiment, with this sweep's axis values read from it, must be a point of this sweep:
    the same base, the same kind of grid.  Anything else is another sweep, whose rows would mix with
    these in the table and its plots; the error names the keys that differ.
    """
    import json

    from ..errors import ApexplorerError
    from ..experiment import Experiment
    from .grid import PLACEMENT, column, point_id

    df = table.frame
    if not len(df) or "experiment" not in df.columns:
        return
    for text in dict.fromkeys(t for t in df["experiment"] if isinstance(t, str)):
        try:
            old = Experiment.from_dict(json.loads(text))
        except (ValueError, ApexplorerError):
            continue  # a row this apexplorer cannot read is not a point of any sweep it runs; check_resumable's part
        values = {}
        for k in sweep.axis_names:
            if k == "steps":
                values[k] = old.ap.t1
            elif k == "dataset":
                values[k] = next(iter(old.tasks.values())).dataset
            else:
                try:
                    values[k] = old.get(k)
                except ApexplorerError:
                    values = None
                    break
        try:
            mine = sweep.base.with_changes(values) if values else (sweep.base if values == {} else None)
        except ApexplorerError:
            mine = None
        if mine is not None and point_id(mine) == point_id(old):
            continue
        diff = {} if mine is None else {k: v for k, v in mine.diff(old).items() if k not in PLACEMENT}
        def said(v):
            return "left out" if v is None else repr(v)

        shown = "; ".join(f"{column(k)} = {said(b)} there, {said(a)} here" for k, (a, b) in list(diff.items())[:3])
        what = f" (it differs in {shown})" if shown else ""
        raise ApexplorerError(
            f"{str(table.path)!r} holds the rows of another sweep{what}. A table continues only the same sweep, "
            "or one that adds values to its grid axes; give another --out, or --append to add these rows to it "
            "anyway")


def sweep_signature(sweep: Sweep) -> str:
    """What a table's ``sweep`` column records of the sweep that wrote a row: its axes and its base's id."""
    import json

    from .grid import point_id

    return json.dumps({"axes": list(sweep.axis_names), "base": point_id(sweep.base)}, separators=(",", ":"))


def execute(sweep: Sweep, tasks, table, client=None, threads=None, ftmle=None, on_epoch=None, stop=None):
    """Train ``tasks``, appending their rows to ``table``; yield ``(task, rows)`` after each is written.

    ``client`` is a Dask client, or None to train in this process.
    ``on_epoch(info)`` gets per-epoch progress (see :func:`~.point.train_point`).
    ``ftmle`` defaults to True when a grid axis changes the reservoirs (sr, rate, preset, wiring).
    ``stop`` (a :class:`threading.Event`) ends the run early when set (see :func:`run_in_process`,
    :func:`run_on_dask`).
    """
    ftmle = any(a in STABILITY_AXES for a in sweep.axis_names) if ftmle is None else ftmle
    it = (run_on_dask(sweep, tasks, client, threads, ftmle, on_epoch, stop) if client is not None
          else run_in_process(sweep, tasks, ftmle, on_epoch, stop))
    signature = sweep_signature(sweep)
    try:
        for t, rows in it:
            for r in rows:
                r.setdefault("sweep", signature)
            table.append(rows)
            yield t, rows
    finally:
        it.close()


def run(sweep: Sweep, out, client=None, threads=None, ftmle=None, append: bool = False):
    """Run what is left of ``sweep`` into the table ``out`` and return the whole table (a DataFrame).

    The notebook form of ``apexplorer sweep``; pass a Dask ``client`` to scale out.
    """
    table, tasks, _, _ = prepare(sweep, out, append)
    for _ in execute(sweep, tasks, table, client, threads, ftmle):
        pass
    return table.frame


def summary(rows) -> dict:
    """The last row of a run, for progress lines: status, epochs and final accuracy."""
    last = rows[-1]
    return {k: last.get(k) for k in ("point", "seed", "status", "epoch", "test_acc", "train_acc", "ftmle", "message")}
