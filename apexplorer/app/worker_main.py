"""A training worker process (no Panel): one session's :class:`~apexplorer.app.runner.Runner`, served over a pipe.

The fork server imports this module once (with torch and the library), so that a session's worker
forks ready to train.  :func:`serve` reads the commands of a
:class:`~apexplorer.app.worker.ProcessRunner` and hands them to its runner, and sends back the
runner's drained events and its state about 30 times a second (see :mod:`apexplorer.app.worker`).
"""

from __future__ import annotations

import io
import os
import threading
import time
import traceback

import torch  # noqa: F401 - imported once by the fork server, shared by its workers

from .. import build as _build  # noqa: F401 - the same: every worker builds networks
from ..checkpoint import to_bytes
from ..errors import ApexplorerError
from .runner import Runner

try:  # the analysis the runner uses while it trains
    from .. import analysis as _analysis  # noqa: F401
except ImportError:  # pragma: no cover
    pass


def _preload() -> None:
    """What every worker needs first, read once by the fork server: scikit-learn (the built-in and toy datasets)
    and the default network's dataset (digits).  A worker that read them itself would take seconds more."""
    try:
        import sklearn.datasets  # noqa: F401

        from ..data import cached_dataset

        cached_dataset("digits")
    except Exception:  # noqa: BLE001 - a worker reads what it lacks itself
        pass


_preload()


#: how much lower a training worker's priority is than the web server's (``$APEXPLORER_WORKER_NICE``)
NICE = 10
#: seconds between two batches of events sent by a worker
SEND_EVERY = 0.03
#: least seconds between two network states a worker sends to be kept, each taken after an epoch (and at the run's
#: end): should the worker die, its session's network is restored from the last one (:class:`~.worker.ProcessRunner`)
KEEP_EVERY = 5.0


# ---------------------------------------------------------------------------- pickling
def _pickler_dumps(obj) -> bytes:
    """cloudpickle bytes of ``obj``; a dataset read by :func:`apexplorer.data.cached_dataset` travels by its key."""
    import cloudpickle

    from .. import data

    cached = {id(ds): key for key, ds in list(data._CACHE.items())}

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, o):
            key = cached.get(id(o))
            if key is not None and isinstance(o, data.Dataset):
                return _cached, (key,)
            return super().reducer_override(o)

    buf = io.BytesIO()
    Pickler(buf, protocol=5).dump(obj)
    return buf.getvalue()


def _cached(key):
    from ..data import cached_dataset

    name, folder, env = key
    if env is not None:
        os.environ.setdefault("APEXPLORER_DATA", env)
    return cached_dataset(name, folder)


def dumps(obj) -> bytes:
    return _pickler_dumps(obj)


def loads(data: bytes):
    import pickle

    return pickle.loads(data)


class TrainerInfo:
    """What the page reads of the trainer in the worker: its epoch, its run's epochs, its config and experiment."""

    class Config:
        def __init__(self, epochs, device):
            self.epochs, self.device = epochs, device

    def __init__(self, epoch, total_epochs, epochs, device, experiment):
        self.epoch, self.total_epochs, self.experiment = epoch, total_epochs, experiment
        self.config = self.Config(epochs, device)


def _info(runner):
    tr = runner.trainer
    if tr is None:
        return None
    cfg = getattr(tr, "config", None)
    return TrainerInfo(tr.epoch, getattr(tr, "total_epochs", None), getattr(cfg, "epochs", None),
                       getattr(cfg, "device", None), getattr(tr, "experiment", None))


def _snapshot(runner, got):
    info = _info(runner)
    return {"got": got, "state": runner.state, "experiment": runner.experiment, "trainer": info,
            "baselines": list(runner.baselines)}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    ta, tb = a["trainer"], b["trainer"]
    return (a["got"] == b["got"] and a["state"] == b["state"] and a["baselines"] == b["baselines"]
            and a["experiment"] is b["experiment"] and (ta is None) == (tb is None)
            and (ta is None or (ta.epoch, ta.total_epochs, ta.config.epochs, ta.config.device, ta.experiment)
                 == (tb.epoch, tb.total_epochs, tb.config.epochs, tb.config.device, tb.experiment)))


class QueueConn:
    """A Dask worker's end of a session (:class:`~apexplorer.app.worker.DaskRunner`): commands come through one
    distributed Queue, events go back through another."""

    def __init__(self, inbox, outbox):
        self.inbox, self.outbox = inbox, outbox
        self.closed = False

    def send_bytes(self, data: bytes) -> None:
        self.outbox.put(data)

    def recv_bytes(self) -> bytes:
        while True:
            if self.closed:
                raise EOFError
            try:
                return self.inbox.get(timeout=1)
            except Exception:  # noqa: BLE001 - a timeout: wait on
                continue

    def close(self) -> None:
        self.closed = True


def dask_session(inbox: str, outbox: str, threads=None, settings=None) -> None:
    """A session's long-running task on a Dask worker: it leaves the worker's thread pool and serves the runner
    until the session ends."""
    from distributed import Queue, get_client, secede

    secede()  # a long-running task: the worker's slot is free for the next session
    client = get_client()
    serve(QueueConn(Queue(inbox, client=client), Queue(outbox, client=client)), threads, settings, nice=False)


#: the commands a runner takes with no argument: its method's name
_PLAIN = {"cancel": "cancel_build", "discard": "discard", "train": "train", "pause": "pause", "trace": "request_trace"}


def _command(runner, n: int, cmd: str, arg, answer) -> None:
    """Hand request ``n``'s command to the runner; ``ask`` and ``export`` are answered by threads of their own
    (``answer(n, fn)``), so that the next command is read meanwhile."""
    if cmd in _PLAIN:
        getattr(runner, _PLAIN[cmd])()
    elif cmd in ("build", "call"):
        getattr(runner, cmd)(*arg)
    elif cmd == "step":
        runner.step(arg)
    elif cmd == "set":
        for k, v in arg.items():
            setattr(runner, k, v)
    elif cmd == "ask":
        fn, timeout = arg
        threading.Thread(target=answer, args=(n, lambda: runner.ask(fn, timeout)), daemon=True).start()
    elif cmd == "export":
        threading.Thread(target=answer, args=(n, lambda: runner.export(arg)), daemon=True).start()


def serve(conn, threads=None, settings=None, nice: bool = True) -> None:
    """Serve one session's runner until told to quit or until the server goes."""
    from .explorer import configure_torch_threads

    if nice:
        try:  # below the web server: a click never waits for a training
            os.nice(int(os.environ.get("APEXPLORER_WORKER_NICE") or NICE))
        except (OSError, ValueError):
            pass
        configure_torch_threads(threads)  # a Dask worker's threads are its operator's
    runner = Runner(**(settings or {}))
    lock = threading.Lock()
    got = [0]
    alive = [True]
    built = [0]  # the request that built the runner's network: a kept state is tagged with it
    keeping = [False, -KEEP_EVERY]  # a state is being taken; when the last one was asked for

    def send(msg) -> None:
        data = dumps(msg)
        with lock:
            conn.send_bytes(data)

    def answer(n, fn) -> None:
        try:
            value, ok = fn(), True
        except Exception as e:  # noqa: BLE001 - the asker gets it
            value, ok = (e if isinstance(e, ApexplorerError) else ApexplorerError(f"{type(e).__name__}: {e}")), False
        try:
            send(("answer", n, ok, value))
        except (OSError, ValueError):
            pass

    def keep(tag) -> None:
        try:
            epoch, data = runner.ask(lambda tr: (tr.epoch, to_bytes(tr.state_dict())), 60.0)
            send(("kept", tag, epoch, data))
        except (ApexplorerError, OSError, ValueError):  # no network any more, or the server is gone
            pass
        finally:
            keeping[0] = False

    def kept_after(items) -> None:
        """Take the network's state once an epoch ends (at most every KEEP_EVERY s) and when its run ends."""
        now = time.monotonic()
        if not keeping[0] and any(k == "stop" or (k == "epoch" and now - keeping[1] >= KEEP_EVERY) for k, _ in items):
            keeping[:] = [True, now]
            threading.Thread(target=keep, args=(built[0],), daemon=True, name="apexplorer-keep").start()

    def read() -> None:
        while alive[0]:
            try:
                n, cmd, arg = loads(conn.recv_bytes())
            except (EOFError, OSError):
                break
            except Exception:  # noqa: BLE001 - a command that cannot be read is said, the next one read
                runner._emit("error", "a command could not be read: " + traceback.format_exc(limit=2),
                             important=True)
                continue
            if cmd == "quit":
                break
            if cmd in ("build", "discard"):
                built[0] = n
            _command(runner, n, cmd, arg, answer)
            got[0] = max(got[0], n)
        alive[0] = False

    reader = threading.Thread(target=read, daemon=True, name="apexplorer-commands")
    reader.start()
    last = None
    try:
        while alive[0]:
            time.sleep(SEND_EVERY)
            items = runner.drain()
            snap = _snapshot(runner, got[0])
            if items or not _same(snap, last):
                send(("events", items, snap))
                last = snap
                kept_after(items)
    except (OSError, ValueError, BrokenPipeError):
        pass
    finally:
        alive[0] = False
        runner.close()
        try:
            conn.close()
        except OSError:
            pass
