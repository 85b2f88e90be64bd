"""Training off the web server (no Panel): a session's :class:`~apexplorer.app.runner.Runner` in a worker process.

A served explorer's sessions all live in the web server's process.  Were their trainings threads
there too, they would share one GIL and one torch thread pool with the Bokeh event loop, and every
click would wait for them.  :class:`ProcessRunner` speaks the runner's command/event interface
(build, train, pause, step, call, ask, the live settings, drain) while the runner itself, and its
trainer, live in a worker process of their own:

* workers are forked from a *fork server* that has imported torch and apexplorer once, so a
  session's worker starts in a fraction of a second and shares those pages with the others;
* each worker runs at a lower priority than the web server (``nice`` 10) with its own torch
  threads (:func:`~apexplorer.app.explorer.configure_torch_threads`'s rule);
* commands travel as cloudpickle bytes (a factory or a live change is a closure); a built-in
  dataset travels by name and is read once per worker; events come back in batches about 30
  times a second, with the runner's state;
* after an epoch (at most every :data:`~.worker_main.KEEP_EVERY` seconds) and at a run's end the
  worker sends its network's state, which the server keeps in a file of the session's;
* a worker that dies (killed, out of memory) ends that session's training with a message, and no
  other session notices.  The session's page keeps what it has shown, and its network is restored
  from the last kept state in a fresh worker (a ``("restore", {...})`` item, which the session
  opens as a saved session), or, with none kept yet, the next Train starts a fresh network.

The in-process :class:`~apexplorer.app.runner.Runner` stays for notebooks, where one user owns the kernel.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import logging
import multiprocessing
import shutil
import tempfile
import threading
from pathlib import Path

import param

from ..checkpoint import write_atomic
from ..errors import ApexplorerError
from .worker_main import SEND_EVERY, TrainerInfo, dumps, loads

log = logging.getLogger(__name__)

#: what a session is told when its worker process ends under it
DIED = ("the training stopped: its worker process ended ({why}); what the page shows so far stays. "
        "Press Train for a fresh network (Download the session regularly to keep a long run's weights)")
#: what the session is told once its network is restored from the last state kept before its worker ended
RESTORED = ("the training's worker process ended ({why}); its network as of epoch {epoch}, kept before that, "
            "is restored in a fresh worker: press Train to go on")

_CTX = None
_CTX_LOCK = threading.Lock()


def context():
    """The fork server's multiprocessing context (made once; its server imports torch and apexplorer once)."""
    global _CTX
    with _CTX_LOCK:
        if _CTX is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["apexplorer.app.worker_main"])
            _CTX = ctx
        return _CTX


# ---------------------------------------------------------------------------- the server's side
class ProcessRunner(param.Parameterized):
    """A :class:`~apexplorer.app.runner.Runner` whose worker thread is in a worker process (see the module).

    The same commands and the same reads: :attr:`state` (with the promise of a command not yet
    served), :attr:`experiment`, :attr:`trainer` (a :class:`TrainerInfo`: the trainer stays in the
    worker), :meth:`drain`, :meth:`ask` and :meth:`export` (answered by the worker).
    """

    delay = param.Number(0.0, bounds=(0, 2), doc="Seconds to wait between batches (slow motion for demos).")
    trace_task = param.String(default="", doc="Task of the recorded sample ('' = first task).")
    trace_index = param.Integer(default=0, bounds=(0, None), doc="Index of the recorded test sample.")
    boundary_every = param.Number(0.15, bounds=(0, None), doc="Seconds between two frames of a decision plane.")

    STATES = ("empty", "building", "ready", "running", "paused", "finished")

    def __init__(self, threads: int | None = None, **params):
        super().__init__(**params)
        self.threads = threads
        self._requests = itertools.count(1)
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._items = collections.deque()
        self._snap = {"got": 0, "state": "empty", "experiment": None, "trainer": None, "baselines": []}
        self._promise = None  # (request number, state)
        self._building = None  # (request number, experiment)
        self._answers: dict = {}
        self._closing = False
        self.meta = {}
        self.baselines = {}
        self._proc = None
        self._network = 0  # the request that built (or discarded) the network: a state kept of an older one is not
        self._kept = None  # (epoch, path) of the network's last kept state
        self._kept_dir = None
        self._start()
        self.param.watch(self._on_setting, ["delay", "trace_task", "trace_index", "boundary_every"])

    # ------------------------------------------------------------ the worker
    def _start(self) -> None:
        self._dead = None
        self._proc, self._conn = self._launch()
        self._reader = threading.Thread(target=self._read, args=(self._conn, self._proc), daemon=True,
                                        name="apexplorer-training-reader")
        self._reader.start()

    def _launch(self) -> tuple:
        """A fresh worker: (its process, the server's end of its pipe)."""
        ctx = context()
        mine, theirs = ctx.Pipe()
        settings = {k: getattr(self, k) for k in ("delay", "trace_task", "trace_index", "boundary_every")}
        proc = ctx.Process(target=_worker_entry, args=(theirs, self.threads, settings), daemon=True,
                           name="apexplorer-training")
        proc.start()
        theirs.close()
        return proc, mine

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _read(self, conn, proc) -> None:
        while True:
            try:
                msg = loads(conn.recv_bytes())
            except (EOFError, OSError):
                break
            except Exception:  # noqa: BLE001 - a message that cannot be read is logged, the next one read
                log.exception("a message of the training worker could not be read")
                continue
            kind = msg[0]
            if kind == "events":
                _, items, snap = msg
                with self._lock:
                    self._items.extend(items)
                    if snap is not None:
                        self._snap = snap
                        self._settle(snap["got"])
            elif kind == "kept":
                self._keep(*msg[1:])
            elif kind == "answer":
                _, n, ok, value = msg
                fut = self._answers.pop(n, None)
                if fut is not None:
                    fut.set_result(value) if ok else fut.set_exception(value)
        proc.join(5)
        if self._closing or proc is not self._proc:
            return
        code = proc.exitcode
        why = getattr(proc, "reason", None) or (
            f"killed by signal {-code}" if code is not None and code < 0 else
            f"exit code {code}" if code is not None else "its connection broke")
        with self._lock:
            last, kept = self._snap.get("trainer"), self._kept
            self._snap = {"got": self._snap["got"], "state": "empty", "experiment": None, "trainer": None,
                          "baselines": []}
            self._promise = self._building = self._kept = None
            self._dead = why
            text = DIED.format(why=why)
            if last is not None:
                text = text.replace("stopped:", f"stopped after epoch {last.epoch}:", 1)
            self._items.append(("error", text))
            self._items.append(("discard", {}))
            if kept is not None:
                epoch, path = kept
                self._items.append(("restore", {"path": path, "epoch": epoch,
                                                "note": RESTORED.format(why=why, epoch=epoch)}))
        for fut in list(self._answers.values()):
            fut.set_exception(ApexplorerError(DIED.format(why=why)))
        self._answers.clear()
        log.warning("a session's training worker (pid %s) ended: %s", proc.pid, why)

    def _keep(self, network: int, epoch: int, data: bytes) -> None:
        """Keep the state the worker sent of the network built by request ``network`` (one of an older is dropped)."""
        with self._lock:
            if network != self._network or self._closing:
                return
            if self._kept_dir is None:
                self._kept_dir = tempfile.mkdtemp(prefix="apexplorer-kept-")
            path = Path(self._kept_dir) / f"network-{network}.pt"
        try:
            write_atomic(data, path)
        except ApexplorerError as e:  # a full disk: the previous state stays kept
            log.warning("a session's network state could not be kept: %s", e)
            return
        with self._lock:
            if network == self._network:
                self._kept = (epoch, path)
        for old in Path(path.parent).glob("network-*.pt"):  # an older network's, restored from once
            if old != path:
                old.unlink(missing_ok=True)

    def _settle(self, got: int) -> None:
        if self._promise is not None and self._promise[0] <= got:
            self._promise = None
        if self._building is not None and self._building[0] <= got:
            self._building = None

    def _send(self, cmd: str, arg=None, state: str | None = None) -> int:
        if self._dead is not None and not self._closing and cmd in ("build", "call", "ask", "export"):
            self._start()  # a fresh worker for the next network
        payload = None
        with self._lock:
            n = next(self._requests)
            if state is not None:
                self._promise = (n, state)
        try:
            payload = dumps((n, cmd, arg))
        except Exception as e:  # noqa: BLE001 - a command that cannot travel is the caller's error
            with self._lock:
                if self._promise is not None and self._promise[0] == n:
                    self._promise = None
            raise ApexplorerError(f"{cmd} cannot be sent to the training worker: {type(e).__name__}: {e}") from None
        try:
            with self._send_lock:
                self._conn.send_bytes(payload)
        except (OSError, ValueError):  # the worker is gone: its reader says so on the page
            pass
        return n

    def _on_setting(self, *events) -> None:
        if not self._closing:
            self._send("set", {e.name: e.new for e in events})

    # ------------------------------------------------------------ what the page reads
    @property
    def state(self) -> str:
        with self._lock:
            return self._promise[1] if self._promise is not None else self._snap["state"]

    @property
    def experiment(self):
        with self._lock:
            if self._building is not None:
                return self._building[1]
            return self._snap["experiment"]

    @property
    def trainer(self):
        with self._lock:
            return self._snap["trainer"]

    @property
    def alive(self) -> bool:
        return not self._closing and self._proc is not None

    # ------------------------------------------------------------ commands
    def build(self, factory, meta: dict | None = None, experiment=None) -> None:
        self.meta = dict(meta or {})
        with self._lock:
            n = self._send("build", (factory, dict(meta or {}), experiment), "building")
            self._building = (n, experiment)
            self._network, self._kept = n, None

    def cancel_build(self) -> None:
        self._send("cancel")

    def discard(self) -> None:
        with self._lock:
            self._network, self._kept = self._send("discard", None, "empty"), None

    def attach(self, trainer, meta: dict | None = None) -> None:
        raise ApexplorerError("a served session trains its own networks; open a trainer in a notebook instead")

    def train(self) -> None:
        if self.trainer is None and self.state != "building":
            return
        self._send("train", None, None if self.state == "building" else "running")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        self._send("step", n, "paused" if self.state in ("ready", "running") else None)

    def call(self, fn, label: str = "", baselines: bool = False) -> None:
        self._send("call", (fn, label, baselines))

    def request_trace(self) -> None:
        self._send("trace")

    def ask(self, fn, timeout: float = 30.0):
        """``fn(trainer)`` run by the worker between two batches; its result (the caller waits)."""
        return self._ask("ask", (fn, timeout), timeout)

    def export(self, fmt: str = "csv") -> str:
        return self._ask("export", fmt, 30.0)

    def _ask(self, cmd, arg, timeout):
        if self.state == "building" or self._closing:
            raise ApexplorerError("the network is being built; try again in a moment" if not self._closing
                                  else "this session has ended")
        if self._dead is not None:
            raise ApexplorerError("there is no network yet: press Step or Train first")
        fut = concurrent.futures.Future()
        with self._lock:
            n = next(self._requests)
            self._answers[n] = fut
        with self._send_lock:
            self._conn.send_bytes(dumps((n, cmd, arg)))
        try:
            return fut.result(timeout + 5)
        except concurrent.futures.TimeoutError:
            self._answers.pop(n, None)
            raise ApexplorerError(f"the network did not answer within {timeout:g} s; try again") from None

    def drain(self, limit: int | None = None) -> list:
        out = []
        with self._lock:
            while self._items and (limit is None or len(out) < limit):
                out.append(self._items.popleft())
        return out

    def close(self, timeout: float = 5.0) -> None:
        """End the worker process (on session end; the server does not wait for it).  Safe to call twice."""
        if self._closing:
            return
        self._closing = True
        proc = self._proc
        try:
            with self._send_lock:
                self._conn.send_bytes(dumps((0, "quit", None)))
        except (OSError, ValueError):
            pass
        conn = self._conn

        def end():  # off the event loop: a worker in the middle of a batch finishes it first
            if proc is not None:
                proc.join(timeout)
                if proc.is_alive():
                    proc.kill()
                    proc.join(timeout)
            try:
                conn.close()
            except OSError:
                pass

        threading.Thread(target=end, daemon=True, name="apexplorer-training-end").start()
        if self._kept_dir is not None:
            shutil.rmtree(self._kept_dir, ignore_errors=True)


# ---------------------------------------------------------------------------- on a Dask cluster
_CLIENTS: dict = {}
_CLIENTS_LOCK = threading.Lock()


def dask_client(address: str):
    """A client of the Dask scheduler at ``address`` (one per server process, made on a thread of its own so
    that its event loop is not the web server's)."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status == "running":
            return client
        box = {}

        def make():
            try:
                from distributed import Client

                box["client"] = Client(address, set_as_default=False, timeout="10s")
            except Exception as e:  # noqa: BLE001 - said to the visitor and the operator
                box["error"] = e

        t = threading.Thread(target=make, daemon=True)
        t.start()
        t.join(30)
        if "client" not in box:
            e = box.get("error")
            raise ApexplorerError(f"the Dask scheduler {address} cannot be reached"
                                  + (f": {type(e).__name__}: {e}" if e else ""))
        _CLIENTS[address] = box["client"]
        return box["client"]


class _DaskTask:
    """A session's task on a Dask worker, seen as a process (join, exitcode, kill) by :class:`ProcessRunner`."""

    pid = None
    exitcode = None

    def __init__(self, future):
        self.future = future
        self.reason = None

    def done(self) -> bool:
        if not self.future.done():
            return False
        if self.reason is None:
            try:
                exc = self.future.exception(timeout=5)
            except Exception as e:  # noqa: BLE001 - cancelled, or the scheduler is gone
                exc = e
            self.reason = (f"its Dask task failed: {type(exc).__name__}: {exc}" if exc is not None
                           else "its Dask task ended")
        return True

    def join(self, timeout=None) -> None:
        try:
            self.future.result(timeout=timeout)
        except Exception:  # noqa: BLE001 - the reason is read by done()
            pass
        self.done()

    def is_alive(self) -> bool:
        return not self.future.done()

    def kill(self) -> None:
        self.future.cancel()


class _QueueConn:
    """The server's end of a Dask session: commands go through one distributed Queue, events come back through
    another (a thread sends, so that the web server's event loop never waits for the scheduler)."""

    def __init__(self, inbox, outbox, task):
        import queue

        self.inbox, self.outbox, self.task = inbox, outbox, task
        self._out = queue.Queue()
        self._closed = False
        threading.Thread(target=self._sender, daemon=True, name="apexplorer-dask-sender").start()

    def _sender(self) -> None:
        while True:
            data = self._out.get()
            if data is None:
                return
            try:
                self.inbox.put(data)
            except Exception:  # noqa: BLE001 - the reader notices the task's end
                log.warning("a command could not reach the Dask worker")

    def send_bytes(self, data: bytes) -> None:
        if self._closed:
            raise OSError("closed")
        self._out.put(data)

    def recv_bytes(self) -> bytes:
        while True:
            if self._closed:
                raise EOFError
            try:
                return self.outbox.get(timeout=1)
            except Exception:  # noqa: BLE001 - a timeout: is the task still there?
                if self._closed or self.task.done():
                    raise EOFError from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._out.put(None)


class DaskRunner(ProcessRunner):
    """A :class:`ProcessRunner` whose session trains on a worker of a Dask cluster (``--scheduler``): a
    long-running task there hosts the runner (:func:`apexplorer.app.worker_main.dask_session`), and its
    commands and events travel through two of distributed's Queues."""

    def __init__(self, address: str, **params):
        self.address = address
        super().__init__(**params)

    def _launch(self) -> tuple:
        import uuid

        from distributed import Queue

        from .worker_main import dask_session

        client = dask_client(self.address)
        name = f"apexplorer-session-{uuid.uuid4().hex}"
        inbox, outbox = Queue(f"{name}-commands", client=client), Queue(f"{name}-events", client=client)
        settings = {k: getattr(self, k) for k in ("delay", "trace_task", "trace_index", "boundary_every")}
        future = client.submit(dask_session, inbox.name, outbox.name, self.threads, settings, key=name, pure=False)
        task = _DaskTask(future)
        return task, _QueueConn(inbox, outbox, task)


def _worker_entry(conn, threads, settings) -> None:
    from .worker_main import serve

    serve(conn, threads, settings)


__all__ = ["DIED", "DaskRunner", "ProcessRunner", "SEND_EVERY", "TrainerInfo", "context", "dumps", "loads"]
