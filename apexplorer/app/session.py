"""The state of one explorer session (no Panel): wiring, tasks, settings and the runner.

:class:`ExplorerState` ties a :class:`WiringModel`, :class:`Settings`, the
datasets of the tasks and a :class:`Runner` together.  It builds trainers with
the library (``Trainer.create``), asks before a structural change throws a
trained network away (``pending``), applies the other settings live, and
writes the status line from the event stream.  Datasets are cached for the
whole process: they are read-only tensors, never Bokeh objects.
"""

from __future__ import annotations

import tempfile
import threading
import warnings
from pathlib import Path

import param

from ..checkpoint import load as load_checkpoint
from ..data import dataset_names, load_dataset
from ..errors import ApexplorerError, WiringWarning
from ..memory import check_memory
from ..presets import MULTITASK, SETTINGS, preset
from ..trainer import SCHEDULES, Trainer, resolve_device
from ..wiring import Wiring
from .files import Upload
from .runner import Runner, apply_live
from .settings import LIVE, Settings
from .wiring_model import WiringModel

_DATA = {}
_DATA_LOCK = threading.Lock()


def get_dataset(name: str):
    """Load a dataset once per process (datasets are shared read-only between sessions)."""
    with _DATA_LOCK:
        if name not in _DATA:
            _DATA[name] = load_dataset(name)
        return _DATA[name]


def available(name: str) -> bool:
    try:
        get_dataset(name)
    except ApexplorerError:
        return False
    return True


class ExplorerState(param.Parameterized):
    """Everything one explorer session knows, apart from its views."""

    task = param.String(default="main", doc="The task shown on the graph and recorded by the probes.")
    datasets = param.Dict(default={}, doc="Dataset name of every task.")
    schedule = param.Selector(default="alternating", objects=list(SCHEDULES), doc="How several tasks share training.")
    message = param.String(default="", doc="The latest error, in the library's words.")
    info = param.String(default="", doc="The latest notice (saved, loaded, settings applied).")
    pending = param.List(default=[], doc="Changed structural settings awaiting confirmation.")
    status = param.String(default="no network yet: press Train")
    built = param.Dict(default={}, doc="What the current network was built from (spec, settings).")

    def __init__(self, dataset: str = "digits", preset_name: str | None = None, runner: Runner | None = None,
                 **params):
        super().__init__(**params)
        self.settings = Settings()
        self.wiring = WiringModel()
        self.runner = runner or Runner()
        self._last = {}
        self._loading = False
        self._problem = ""  # the shown message, when it is a problem that stops building (kept true)
        self._ready_note = False  # the notice says the network is ready or loaded (gone once it trains)
        name = preset_name or ("digits" if dataset == "digits" else "paper-2layer")
        self.load_preset(name, [dataset])
        self.settings.param.watch(self._on_settings, list(self.settings.values()))
        self.wiring.param.watch(self._on_wiring, "spec")
        self.param.watch(lambda e: self._update_pending(), ["datasets", "schedule"])

    # --------------------------------------------------------------- setup
    def load_preset(self, name: str, datasets: list | None = None) -> bool:
        """Load a preset for the given datasets (one per task), with its recommended settings."""
        n_tasks = len(MULTITASK.get(name, (None,)))
        if datasets is None or len(datasets) != n_tasks:
            datasets = self._default_datasets(name, n_tasks)
        try:
            ds = [get_dataset(d) for d in datasets]
        except ApexplorerError as e:
            self.message = str(e)
            return False
        wanted = list(MULTITASK.get(name, ()))
        missing = [w for w, d in zip(wanted, datasets) if w != d]
        sizes_in = [d.n_features for d in ds]
        sizes_out = [d.n_classes for d in ds]
        try:
            w = preset(name, sizes_in if n_tasks > 1 else sizes_in[0], sizes_out if n_tasks > 1 else sizes_out[0])
        except ApexplorerError as e:
            self.message = str(e)
            return False
        self._loading = True  # a new network: nothing is applied to the running one
        try:
            self.wiring.set_wiring(w)
            self.datasets = {t.name: d for t, d in zip(w.tasks, datasets)}
            self.task = w.tasks[0].name
            self.settings.apply_preset(name)
            if w.modules:
                self.settings.param.update(spectral_radius=w.modules[0].spectral_radius,
                                           connection_rate=w.modules[0].connection_rate)
        finally:
            self._loading = False
        self._update_pending()
        self.message = ""
        if missing:
            self.info = (f"{', '.join(missing)} is not on this machine, so "
                         + ", ".join(f"task {t.name} uses {d}" for t, d, w_ in zip(w.tasks, datasets, wanted)
                                     if d != w_) + " (choose on the Tasks tab)")
        else:
            self._note(f"loaded preset {name}", about_state=True)
        return True

    def _default_datasets(self, name, n_tasks):
        wanted = list(MULTITASK.get(name, ()))
        cur = list(self.datasets.values())
        if not wanted:  # a preset named after a dataset (digits, 2afc) goes with it
            return [name if name in dataset_names() else (cur[0] if cur else "digits")]
        out = []
        for d in wanted:  # the paper's pair where present, else what this machine has
            out.append(d if available(d) else "digits")
        return out

    def set_dataset(self, task: str, name: str) -> None:
        """Give ``task`` a dataset and fit its ports to it."""
        try:
            d = get_dataset(name)
        except ApexplorerError as e:
            self.message = str(e)
            return
        self._loading = True  # one change: the ports follow the dataset before anything is rebuilt
        try:
            self.datasets = dict(self.datasets, **{task: name})
            self.wiring.fit_ports(task, d.n_features, d.n_classes)
        finally:
            self._loading = False
        self.message = ""
        self._update_pending()

    def _on_wiring(self, event):
        names = self.wiring.task_names
        if names and self.task not in names:
            self.task = names[0]
        ds = {t: self.datasets.get(t, next(iter(self.datasets.values()), "digits")) for t in names}
        if ds != self.datasets:
            self.datasets = ds
        self._update_pending()
        self._recheck()

    # ------------------------------------------------------------ settings
    def _on_settings(self, *events):
        names = [e.name for e in events]
        if not self._loading and any(n in ("spectral_radius", "connection_rate") for n in names):
            for n in names:
                if n in ("spectral_radius", "connection_rate"):
                    self.wiring.set_all_modules(n, getattr(self.settings, n))
        err = self.settings.check()
        if err:
            self._show_problem(err)
        else:
            self._recheck()
        if err or not self.built or self._loading:
            return
        live = [n for n in names if n in LIVE]
        if live and self.runner.trainer is not None:
            ap, tc = self.settings.configs()
            self.runner.call(lambda tr: apply_live(tr, ap=ap, lr=tc.lr, epochs=tc.epochs),
                             f"applied {', '.join(live)} to the running network")
        self._update_pending()

    def _update_pending(self):
        """Structural changes since the network was built (they need a fresh network)."""
        b = self.built
        if self._loading:
            return
        if not b:
            self.pending = []
            return
        out = [k for k, v in self.settings.values().items() if k not in LIVE and b["settings"].get(k) != v]
        if self.wiring.spec != b["spec"]:
            out.append("wiring")
        if self.datasets != b["datasets"] or self.schedule != b["schedule"]:
            out.append("tasks")
        gone = self.runner.state == "empty"  # dropped, or its build failed: build again once it can be built
        if (out or gone) and self.runner.state in ("ready", "empty"):  # nothing trained: nothing to lose, no question
            err = self.problems()
            if not err:
                self.reset()
                return
            if self.runner.trainer is not None and err != self.wiring.error:
                # the shown network is not the one the page describes, and that one cannot be built
                self._show_problem(err)
                self.runner.discard()
        self.pending = out

    def structural_changes(self) -> list:
        self._update_pending()
        return list(self.pending)

    # ---------------------------------------------------------------- run
    def problems(self) -> str:
        """What stops a network from being built ('' when nothing): the wiring, the settings, or
        the memory it needs (checked before anything is allocated)."""
        err = self.wiring.error or self.settings.check()
        if err:
            return err
        try:
            ap, tc = self.settings.configs()
            check_memory(self.wiring.wiring, batch_size=tc.batch_size, precision=ap.precision,
                         device=resolve_device(tc.device))
        except ApexplorerError as e:
            return str(e)
        return ""

    def _show_problem(self, err: str) -> None:
        self._problem = self.message = err

    def _recheck(self) -> None:
        """A shown problem stays true: it goes when fixed (Keep the trained network, an edit), or changes."""
        if self._problem and self.message == self._problem:
            self._show_problem(self.problems())

    def _note(self, text: str, about_state: bool = False) -> None:
        self.info = text
        self._ready_note = about_state

    def reset(self) -> bool:
        """Build a fresh network from the current wiring, tasks and settings."""
        err = self.problems()
        if err:
            self._show_problem(err)
            return False
        wiring: Wiring = self.wiring.wiring
        ap, tc = self.settings.configs()
        names = [t.name for t in wiring.tasks]
        try:
            data = {n: get_dataset(self.datasets.get(n, "digits")) for n in names}
        except ApexplorerError as e:
            self.message = str(e)
            return False
        schedule = self.schedule

        def factory():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WiringWarning)
                return Trainer.create(wiring, data, ap, tc, task=names, schedule=schedule)

        self.built = {"spec": self.wiring.spec, "settings": self.settings.values(), "datasets": dict(self.datasets),
                      "schedule": schedule}
        self.pending = []
        self.message = ""
        self._last = {}
        self.runner.build(factory, {"datasets": dict(self.datasets), "wiring": wiring})
        return True

    def train(self) -> bool:
        """Train, building a network first when there is none; a finished run goes on only
        when Epochs was raised (Reset starts a fresh one)."""
        r = self.runner
        if r.trainer is None and r.state != "building":
            if not self.reset():
                return False
        elif self.structural_changes():
            return False  # the app asks first
        tr = r.trainer
        total = getattr(tr, "total_epochs", None)
        if r.state == "finished" and tr is not None and total is not None and tr.epoch >= total:
            self._note(f"the run is complete ({tr.epoch}/{total} epochs): raise Epochs on the Settings tab to go "
                       "on, or press Reset for a fresh network")
            return False
        self.message = ""  # a new run: the last one's error is history
        r.train()
        return True

    def pause(self):
        self.runner.pause()

    def step(self) -> bool:
        if self.runner.trainer is None and self.runner.state != "building":
            if not self.reset():
                return False
        self.runner.step(1)
        return True

    def save(self, path) -> None:
        """Write the session (wiring, settings, weights, optimiser, position) as an atomic checkpoint."""
        self.runner.call(lambda tr: tr.save(path) and None, f"saved the session as {Path(path).name}")

    def session_bytes(self) -> bytes:
        """The session as checkpoint bytes, for a download (waits for the worker between two batches)."""
        with tempfile.TemporaryDirectory(prefix="apexplorer-") as d:
            path = Path(d) / "session.pt"
            self.runner.ask(lambda tr: tr.save(path))
            return path.read_bytes()

    def load_upload(self, data: bytes, filename: str) -> bool:
        """Restore a session from an uploaded file's bytes; the temporary copy is removed once read."""
        up = Upload(data, filename, ".pt")
        return self.load(up.path, up.name, done=up.remove)

    def load(self, path, name: str | None = None, done=None) -> bool:
        """Restore a saved session: its datasets, wiring, settings and trained weights.

        Every setting takes the checkpoint's value (the widgets show them) without
        touching the running network; ``name`` is what messages call the file, and
        ``done()`` is called once the file has been read (or refused).
        """
        name = name or Path(path).name  # a visitor never sees server paths
        say = lambda e: str(e).replace(str(path), name)  # noqa: E731 - messages name the user's file
        try:
            st = load_checkpoint(path)
            data = {n: get_dataset(d) for n, d in st["datasets"].items()}
            lw = st["learner"]
            wiring = Wiring.from_dict(lw["wiring"], warn=False)
            tc, apc = dict(st["train_config"]), dict(lw.get("ap_config", {}))
        except (ApexplorerError, KeyError, TypeError, AttributeError) as e:
            self.message = say(e) if isinstance(e, ApexplorerError) else f"cannot load {name!r}: it lacks {e}"
            if done is not None:
                done()
            return False
        self._loading = True  # the checkpoint's network replaces the current one: nothing is applied or rebuilt
        try:
            self.wiring.set_wiring(wiring)
            self.datasets = {n: d for n, d in st["datasets"].items()}
            self.schedule = st.get("schedule", "alternating")
            values = {k: v for k, v in {**apc, **tc}.items() if k in self.settings.param and k != "name"}
            if wiring.modules:
                values.update(spectral_radius=wiring.modules[0].spectral_radius,
                              connection_rate=wiring.modules[0].connection_rate)
            self.settings.param.update(**values)
        finally:
            self._loading = False
        self.built = {"spec": self.wiring.spec, "settings": self.settings.values(), "datasets": dict(self.datasets),
                      "schedule": self.schedule}
        self.pending = []
        self.message = self.settings.check()

        def factory():
            try:
                return Trainer.load(path, data)
            except ApexplorerError as e:
                raise type(e)(say(e)) from None
            finally:
                if done is not None:
                    done()

        self.runner.build(factory, {"datasets": dict(self.datasets), "wiring": wiring, "loaded": name})
        return True

    def close(self):
        self.runner.close()

    # -------------------------------------------------------------- status
    def observe(self, items) -> None:
        """Update the status line and messages from drained runner items."""
        for kind, ev in items:
            if kind == "reset":
                self._last = {"epochs": ev["epochs"], "epoch": ev["epoch"]}
                if ev.get("batch"):  # a session saved in the middle of an epoch
                    self._last.update(epoch=ev["epoch"] + 1, batch=ev["batch"], n_batches=ev["n_batches"])
                if ev["history"]:
                    self._last["test_acc"] = ev["history"][-1]["test_acc"]
                self.message = self._problem = ""
                loaded = (ev.get("meta") or {}).get("loaded")
                self._note(f"loaded the session {loaded}" if loaded else "a fresh network is ready", about_state=True)
            elif kind == "discard":
                self._last = {}
                if self._ready_note:
                    self._note("")
            elif kind == "batch":
                if self._ready_note:  # it trains: "ready" is no longer news
                    self._note("")
                self._last.update(epoch=ev.epoch, batch=ev.batch, n_batches=ev.n_batches, sps=ev.samples_per_s)
            elif kind == "epoch":
                self._last.update(test_acc=ev.test_acc, epochs=ev.epochs, tasks=ev.tasks)
            elif kind == "stop":
                if ev.reason == "diverged":
                    self.message = ev.message
                else:
                    self._note(ev.message)
            elif kind == "error":
                self.message = ev
            elif kind in ("info", "loaded") and ev and not ev.startswith("Traceback"):
                self._note(ev if kind == "info" else f"loaded {ev}")
        state = self.runner.state
        if state == "empty":
            self.status = "no network: see the message below" if self.message else "no network yet: press Train"
        else:
            self.status = status_line(self._last, state, getattr(self.runner.trainer, "total_epochs", None))


def status_line(last: dict, state: str, total_epochs=None) -> str:
    """``epoch e/E · batch b/B · test acc x% · n samples/s`` (and the run's state)."""
    E = last.get("epochs") or total_epochs or "?"
    e = last.get("epoch", 0)
    parts = [f"epoch {e}/{E}"]
    if "batch" in last:
        parts.append(f"batch {last['batch']}/{last['n_batches']}")
    tasks = last.get("tasks") or {}
    if len(tasks) > 1:
        parts.append("test acc " + ", ".join(f"{t} {v['test_acc']:.1%}" for t, v in tasks.items()))
    elif "test_acc" in last:
        parts.append(f"test acc {last['test_acc']:.1%}")
    else:
        parts.append("test acc –")
    if "sps" in last:
        parts.append(f"{last['sps']:,.0f} samples/s")
    return " · ".join(parts) + f"  ({state})"


__all__ = ["ExplorerState", "SETTINGS", "available", "dataset_names", "get_dataset", "status_line"]
