"""Train one network in a worker thread (no Panel): the explorer's engine.

A :class:`Runner` owns one :class:`Trainer` and one daemon thread.  Every
operation on the trainer (build, train, step, trace, save, load, live
settings) runs on that thread, so the weights are only ever touched by it.
The thread pulls the library's own event generator (:meth:`Trainer.train`)
one event at a time: Pause simply stops pulling, Step pulls up to the next
batch, Train pulls until paused or finished.

What the thread produces goes into a bounded deque (``maxlen``): the app
drains it from a periodic callback on the server's event loop; a notebook
may drain it too, or iterate a trainer itself and feed the views directly.
Items are ``(kind, payload)`` with kind ``reset``, ``batch``, ``epoch``,
``stop``, ``trace``, ``spread``, ``alignment``, ``baseline``, ``saved``,
``loaded``, ``error`` or ``info``.

Baselines (BP, FA, EP) may train beside the AP network: each takes one batch
in turn after AP's (as :class:`apexplorer.baseline_runs.BaselineRuns` does) and
their events come as ``("baseline", (name, event))``.  Every event is also kept,
unbounded and in order, in :attr:`Runner.history` (an
:class:`apexplorer.record.History`), for export.  An ensemble's recorded sample
is its first member's; ``spread`` gives every member's mean |e| per module on a
few test samples, and ``alignment`` every member's cosines.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import queue
import threading
import time
import traceback

import param

from ..errors import ApexplorerError, BuildCancelled
from ..events import EpochEvent
from ..init import cancellable
from ..trace import trace_sample
from ..record import History
from ..trainer import StopEvent, Trainer

try:  # the analysis package is optional for the runner
    from ..analysis import member as _member
    from ..analysis import member_errors, task_alignment
    from ..analysis.boundary import boundary_item
except ImportError:
    _member = member_errors = task_alignment = boundary_item = None


def task_data(trainer) -> dict:
    """{task name: Dataset} of a trainer (single-task trainers hold one Dataset)."""
    d = trainer.data
    return dict(d) if isinstance(d, dict) else {trainer.task.name: d}


def batches_done(trainer) -> int:
    """Batches a trainer has done in its current epoch (a session saved mid-epoch resumes there)."""
    segs = trainer.segments() if hasattr(trainer, "segments") else []
    return sum(n for _, n in segs[: getattr(trainer, "segment", 0)]) + getattr(trainer, "position", 0)


def segments_of(trainer) -> list:
    """The passes of the trainer's epoch: [(task(s) joined by '+', batches)] (one pass for one task)."""
    try:
        return [("+".join(t.name for t in ts), int(n)) for ts, n in trainer.segments()]
    except (AttributeError, TypeError):
        return []


def task_names(trainer) -> list:
    return [t.name for t in getattr(trainer, "tasks", [trainer.task])]


class RunnerWorker(param.Parameterized):
    """The worker thread's baselines of a :class:`Runner`: it serves the queued requests, each by its handler, pulls
    the trainer's events and buffers them.  Only these methods change the trainer and the run's state; the
    attributes they share with the server's baselines are made by :meth:`Runner.__init__`."""

    delay = param.Number(0.0, bounds=(0, 2), doc="Seconds to wait between batches (slow motion for demos).")
    trace_task = param.String(default="", doc="Task of the recorded sample ('' = first task).")
    trace_index = param.Integer(default=0, bounds=(0, None), doc="Index of the recorded test sample.")
    boundary_every = param.Number(0.15, bounds=(0, None), doc="Seconds between two frames of a two-feature "
                                  "task's decision plane while it trains (at least 4 times a frame's own time).")

    # -------------------------------------------------------------- worker
    def _emit(self, kind, payload, important=False):
        if kind == "trace":  # only the newest recorded sample matters, and one can be megabytes
            with self._trace_lock:
                self._seq += 1
                self._latest_trace = (self._seq, kind, payload)
            return
        if kind == "boundary":  # only the newest frame matters; the data points it carries once are kept
            with self._trace_lock:
                self._seq += 1
                old = self._latest_boundary
                if payload.get("points") is None and old is not None and old[2].get("points") is not None:
                    payload = {**payload, "points": old[2]["points"], "test_points": old[2]["test_points"]}
                self._latest_boundary = (self._seq, kind, payload)
            return
        self._seq += 1
        (self.important if important else self.events).append((self._seq, kind, payload))

    def _loop(self):
        while self._alive:
            n = None
            try:
                if self._run.is_set() and self.trainer is not None:
                    if self._gen is None and self._baseline_gens is None:
                        self._start()
                        self._state = "running"
                    try:
                        n, cmd, arg = self._cmd.get_nowait()
                    except queue.Empty:
                        cmd = None
                    if cmd is not None:
                        self._handlers[cmd](arg)
                    else:
                        self._pull()
                        time.sleep(self.delay or 0.0005)  # 0.0005: let the server thread take the GIL
                else:
                    n, cmd, arg = self._cmd.get()
                    self._handlers[cmd](arg)
            except Exception as e:  # noqa: BLE001 - the worker must survive anything
                self._run.clear()
                self._gen = self._baseline_gens = None
                msg = str(e) if isinstance(e, ApexplorerError) else f"{type(e).__name__}: {e}"
                self._emit("error", msg, important=True)
                if not isinstance(e, ApexplorerError):
                    self._emit("info", traceback.format_exc(limit=3), important=True)
                self._state = "ready" if self.trainer is not None else "empty"
            finally:
                self._served(n)

    def _served(self, n) -> None:
        """Request ``n`` is done: the state is the worker's again (unless a later request is waiting)."""
        if n is None:
            return
        with self._promises:
            if self._building is not None and self._building[0] <= n:
                self._building = None
            if self._promise is not None and self._promise[0] <= n:
                self._promise = None

    # ------------------------------------------------------------ the handlers (worker thread)
    def _quit(self, arg) -> None:
        self._alive = False

    def _drop(self) -> None:
        self._gen = self._baseline_gens = None
        for old in [self.trainer, *self.baselines.values()]:
            if old is not None:
                old.stop()
        self.trainer, self.baselines = None, {}

    def _build(self, arg) -> None:
        factory, meta = arg
        self._drop()
        self._cancel.clear()
        try:
            with cancellable(self._cancel):
                tr = factory()
        except (BuildCancelled, ApexplorerError) as e:
            self._state = "empty"
            self._emit("cancelled" if isinstance(e, BuildCancelled) else "error", str(e), important=True)
            return
        tr, baselines = tr if isinstance(tr, tuple) else (tr, {})
        self.trainer, self.baselines = tr, dict(baselines)
        self.meta = meta
        self.history = History()
        for d in tr.history:  # a loaded session's epochs so far
            self.history.add(EpochEvent(**d), "ap")
        net = getattr(tr, "net", None)
        done = batches_done(tr)
        self._emit("reset", {"tasks": task_names(tr), "meta": {**meta, "experiment": getattr(tr, "experiment", None)},
                             "history": list(tr.history), "wiring": getattr(net, "wiring", None), "batch": done,
                             "n_batches": getattr(tr, "n_batches", None) if done else None,
                             "epoch": tr.epoch, "epochs": tr.total_epochs if hasattr(tr, "total_epochs")
                             else tr.config.epochs, "baselines": list(self.baselines),
                             "members": tr.learner_members, "segments": segments_of(tr)}, important=True)
        self._state = "ready" if tr.epoch == 0 and not tr.history and not done else "paused"
        self._trace()
        self._points_sent, self._next_boundary = False, 0.0
        self._boundary()

    def _discard(self, arg) -> None:
        self._drop()
        self._state = "empty"
        self._emit("discard", {}, important=True)

    def _train(self, arg) -> None:
        if self.trainer is None:
            self._run.clear()
            return
        if self._gen is None and self._baseline_gens is None:
            self._start()
        if self._run.is_set():
            self._state = "running"

    def _pause(self, arg) -> None:
        if self._state == "running":
            self._state = "paused"
        self._trace()

    def _step(self, n) -> None:
        if self.trainer is None:
            return
        if self._gen is None and self._baseline_gens is None:
            self._start()
        self._state = "paused"  # a run that is complete says "finished" again at its stop event
        for _ in range(n):
            if not self._pull():
                break
        self._trace()

    def _call(self, arg) -> None:
        fn, label, baselines = arg
        if self.trainer is None:
            self._emit("error", f"{label or 'that'} needs a network: press Reset first", important=True)
            return
        try:
            out = fn(self.trainer, self.baselines) if baselines else fn(self.trainer)
        except ApexplorerError as e:
            self._emit("error", str(e), important=True)
            return
        self._gen = self._baseline_gens = None  # the next pull starts fresh generators that read the changes
        if isinstance(out, Trainer):  # a loaded checkpoint replaces the trainer
            self._build((lambda: out, dict(self.meta, loaded=True)))
            self._emit("loaded", label, important=True)
        elif label:
            self._emit("info", label, important=True)

    def _ask(self, arg) -> None:
        fn, fut = arg
        if self.trainer is None:
            fut.set_exception(ApexplorerError("there is no network yet: press Step or Train first"))
            return
        try:
            fut.set_result(fn(self.trainer))
        except Exception as e:  # noqa: BLE001 - the asker gets it, the worker goes on
            fut.set_exception(e)

    def _start(self) -> None:
        """Fresh generators of the network and of each baseline (they continue where each stands)."""
        self._gen = self.trainer.train()
        self._baseline_gens = {n: tr.train() for n, tr in self.baselines.items()}

    def _pull(self) -> bool:
        """One batch of the network, then one of each baseline; returns False when every run has ended."""
        if self._gen is None and self._baseline_gens is None:
            return False
        if self._gen is not None and not self._pull_main():
            self._gen = None
        for name in list(self._baseline_gens or {}):
            if not self._pull_baseline(name):
                del self._baseline_gens[name]
        if self._gen is None and not self._baseline_gens:
            self._gen = self._baseline_gens = None
            self._run.clear()
            self._state = "finished"
            return False
        return True

    def _pull_main(self) -> bool:
        """Pull the network's events up to its next batch; False when its run ended."""
        while True:
            try:
                ev = next(self._gen)
            except StopIteration:
                return False
            self.history.add(ev, "ap")
            kind = getattr(ev, "kind", "batch")
            if kind == "batch":
                self._emit("batch", ev)
                if time.monotonic() - self._last_trace > self.trace_every:
                    self._trace()
                if time.monotonic() > self._next_boundary:
                    self._boundary()
                return True
            elif kind == "epoch":
                self._emit("epoch", ev, important=True)
                self._trace()
                self._alignment()
            else:  # stop
                self._emit("stop", ev, important=True)
                self._trace()
                self._boundary()
                return False

    def _pull_baseline(self, name: str) -> bool:
        """Pull baseline ``name``'s events up to its next batch; False when its run ended."""
        while True:
            try:
                ev = next(self._baseline_gens[name])
            except StopIteration:
                return False
            self.history.add(ev, name)
            kind = getattr(ev, "kind", "batch")
            self._emit("baseline", (name, ev), important=kind != "batch")
            if kind != "epoch":
                return kind == "batch"

    def _trace(self, force=False):
        tr = self.trainer
        net = getattr(tr, "net", None) if tr is not None else None
        if net is None:
            return
        self._last_trace = time.monotonic()
        data = task_data(tr)
        task = self.trace_task if self.trace_task in data else next(iter(data))
        d = data[task]
        i = min(self.trace_index, len(d.y_test) - 1)
        one = _member(net, 0) if net.members and _member is not None else net  # an ensemble: its first member
        self._emit("trace", trace_sample(one, d.x_test[i], int(d.y_test[i]), task))
        if net.members and member_errors is not None:
            self._emit("spread", member_errors(net, d, task))

    def _retrace(self, arg=None) -> None:
        """The page asks again (another task shown): a fresh recorded sample and decision plane."""
        self._trace(force=True)
        self._points_sent, self._next_boundary = False, 0.0
        self._boundary()

    def _boundary(self):
        """The decision plane of a task with two input features (:func:`apexplorer.analysis.boundary_item`),
        its data points with the first frame of a network; none for other tasks."""
        tr = self.trainer
        net = getattr(tr, "net", None) if tr is not None else None
        if boundary_item is None or net is None:
            return
        data = task_data(tr)
        task = self.trace_task if self.trace_task in data else next(iter(data))
        d = data[task]
        if d.n_features != 2:
            self._next_boundary = float("inf")  # this network's tasks cannot change their width
            return
        start = time.monotonic()
        try:
            item = boundary_item(net, d, tr.epoch, batches_done(tr), plan=net.plan(task), points=not self._points_sent)
        except ApexplorerError as e:
            self._emit("info", f"decision plane: {e}", important=True)
            self._next_boundary = float("inf")
            return
        self._points_sent = True
        self._emit("boundary", {**item, "task": task})
        took = time.monotonic() - start
        self._next_boundary = time.monotonic() + max(self.boundary_every, 4 * took)  # at most a fifth of the time

    def _alignment(self):
        """AP-vs-BP alignment per path on up to 256 test samples (:func:`apexplorer.analysis.task_alignment`)."""
        tr = self.trainer
        net = getattr(tr, "net", None) if tr is not None else None
        if task_alignment is None or net is None:
            return
        data = task_data(tr)
        task = self.trace_task if self.trace_task in data else next(iter(data))
        try:
            values = task_alignment(net, data[task], task)
        except ApexplorerError as e:
            self._emit("info", f"alignment: {e}", important=True)
            return
        self._emit("alignment", {"epoch": tr.epoch, "task": task, "values": values}, important=True)


class Runner(RunnerWorker):
    """One trainer, one worker thread, one bounded buffer of events.

    Only the worker thread changes the trainer and the run's state: every call from
    the server (build, train, pause, step, live settings, save) puts a request in a
    queue, which the worker serves in order, each by its handler in :attr:`_handlers`.
    :attr:`state` reads what the worker last set, or, while a request that changes it
    waits in the queue, the state that request leads to (so that nobody reads the
    previous run's "finished" just after pressing Train).

    Parameters
    ----------
    maxlen : int
        Capacity of the event buffer; when a reader falls behind, the oldest
        batch events are dropped (epochs, stops and resets are kept apart, and
        only the newest recorded sample is kept).
    trace_every : float
        Seconds between two recorded samples (trajectories, PCA, player) while training.
    """

    STATES = ("empty", "building", "ready", "running", "paused", "finished")

    def __init__(self, maxlen: int = 4096, trace_every: float = 0.5, **params):
        super().__init__(**params)
        self.trainer: Trainer | None = None
        self.baselines: dict = {}  # baselines trained beside the AP network: name -> Trainer
        self._baseline_gens: dict | None = None
        self.history = History()  # every event of the run, in order (written on the worker thread only)
        self.events = collections.deque(maxlen=maxlen)  # batch events (and traces): may drop the oldest
        self.important = collections.deque(maxlen=1024)  # resets, epochs, stops, errors: small and never crowded out
        self._seq = 0
        self._latest_trace = None  # the newest recorded sample, not yet drained (shared with drain(): _trace_lock)
        self._latest_boundary = None  # the newest decision-plane frame, not yet drained (the same lock)
        self._points_sent, self._next_boundary = False, float("inf")
        self._trace_lock = threading.Lock()
        self.trace_every = trace_every
        self._cmd = queue.Queue()
        self._requests = itertools.count(1)
        self._promises = threading.RLock()  # a request's promise is made and kept (cleared) one at a time
        self._state = "empty"  # written by the worker only
        self._promise = None  # (request number, state): what a queued request makes of the state
        self._building = None  # the experiment of the network a queued build makes
        self._run = threading.Event()
        self._cancel = threading.Event()  # set: the build under way stops (BuildCancelled)
        self._alive = True
        self._gen = None
        self._last_trace = 0.0
        self.meta = {}  # what the views need to know of the current network besides its experiment (wiring, file)
        self._handlers = {"quit": self._quit, "build": self._build, "discard": self._discard, "train": self._train,
                          "pause": self._pause, "step": self._step, "call": self._call, "ask": self._ask,
                          "trace": self._retrace}
        self._thread = threading.Thread(target=self._loop, name="apexplorer-runner", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ what the page reads
    @property
    def state(self) -> str:
        """empty: no network; building; ready: built, not trained; running; paused; finished: the run ended."""
        promise = self._promise
        return promise[1] if promise is not None else self._state

    @property
    def experiment(self):
        """The experiment of the network that runs (the trainer's own), or of the one a queued build makes;
        None without a network."""
        if self._building is not None:
            return self._building[1]
        tr = self.trainer
        return getattr(tr, "experiment", None) if tr is not None else None

    # ------------------------------------------------------------ commands (any thread)
    def _request(self, cmd: str, arg=None, state: str | None = None) -> int:
        with self._promises:
            n = next(self._requests)
            if state is not None:
                self._promise = (n, state)
            self._cmd.put((n, cmd, arg))
        return n

    def build(self, factory, meta: dict | None = None, experiment=None) -> None:
        """Replace the trainer by ``factory()`` (called on the worker thread); a factory may return
        ``(trainer, {name: baseline trainer})`` to train baselines beside it.  ``experiment``: the one
        it builds (:attr:`experiment` until the trainer is there)."""
        self._run.clear()
        with self._promises:
            n = self._request("build", (factory, dict(meta or {})), "building")
            self._building = (n, experiment)

    def cancel_build(self) -> None:
        """Stop the build under way (checked between the members of an ensemble); safe from any thread."""
        self._cancel.set()

    def discard(self) -> None:
        """Drop the network (the page now describes one that cannot be built)."""
        self._run.clear()
        self._request("discard", None, "empty")

    def attach(self, trainer: Trainer, meta: dict | None = None) -> None:
        """Use an existing trainer (a notebook user's own run)."""
        self.build(lambda: trainer, meta, getattr(trainer, "experiment", None))

    def train(self) -> None:
        if self.trainer is None and self.state != "building":
            return
        self._run.set()
        self._request("train", None, None if self.state == "building" else "running")

    def pause(self) -> None:
        """Stop pulling events after the current batch."""
        self._run.clear()
        self._request("pause")

    def step(self, n: int = 1) -> None:
        """Train ``n`` batches (when paused or ready)."""
        self._run.clear()
        self._request("step", n, "paused" if self.state in ("ready", "running") else None)

    def call(self, fn, label: str = "", baselines: bool = False) -> None:
        """Run ``fn(trainer)`` on the worker between two batches (live settings, save, load); with ``baselines``,
        ``fn(trainer, {name: baseline trainer})``.  ``fn`` reaches the trainer through its arguments only (a
        :class:`~apexplorer.app.worker.ProcessRunner` runs it in another process)."""
        self._request("call", (fn, label, baselines))

    def ask(self, fn, timeout: float = 30.0):
        """Run ``fn(trainer)`` on the worker between two batches and return its result (the caller waits).

        Raises what ``fn`` raised, or ApexplorerError when there is no network (or
        one is being built: the caller does not wait for that) or the worker does
        not answer within ``timeout`` seconds.
        """
        if self.state == "building" or not self.alive:
            raise ApexplorerError("the network is being built; try again in a moment" if self.alive
                                  else "this session has ended")
        fut = concurrent.futures.Future()
        self._request("ask", (fn, fut))
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            raise ApexplorerError(f"the network did not answer within {timeout:g} s; try again") from None

    def request_trace(self) -> None:
        self._request("trace")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker thread (on session end).  Safe to call twice."""
        self._alive = False
        self._run.clear()
        for tr in [self.trainer, *self.baselines.values()]:
            if tr is not None:
                tr.stop()
        self._request("quit")
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def drain(self, limit: int | None = None) -> list:
        """Take every buffered item, oldest first (important items keep their order)."""
        out = []
        for dq in (self.important, self.events):
            while dq and (limit is None or len(out) < limit):
                try:
                    out.append(dq.popleft())
                except IndexError:
                    break
        with self._trace_lock:  # a sample recorded meanwhile is replaced by the next, a frame too
            latest = [self._latest_trace, self._latest_boundary]
            self._latest_trace = self._latest_boundary = None
        out.extend(x for x in latest if x is not None)
        out.sort(key=lambda it: it[0])
        return [(k, v) for _, k, v in out]

    def export(self, fmt: str = "csv") -> str:
        """The whole history (every batch and epoch, per task and member, baselines too) as CSV or JSON text;
        asked of the worker between two batches, so it is one consistent moment of the run."""
        return self.ask(lambda tr: self.history.to_csv() if fmt == "csv" else self.history.to_json())


__all__ = ["Runner", "RunnerWorker", "StopEvent", "task_data", "task_names"]
