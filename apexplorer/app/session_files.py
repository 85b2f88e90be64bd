"""Sessions and experiments saved and opened through the page (no Panel).

A *session* is a checkpoint: the experiment, the weights, the optimiser and the
position in the run (:meth:`Trainer.save`); opening one restores all of it, an
old checkpoint's experiment upgraded by :func:`apexplorer.build.upgrade`.  An
*experiment* is a ``.toml`` or ``.json`` file (``apexplorer run FILE`` trains it).
A visitor never sees a server path: messages name the file as the visitor named it.

A session opened while a network has trained would throw that network away, so it asks
first, as a structural change does: the file is read at once (a broken one is refused
then), and it waits (:attr:`SessionFiles.waiting`) until the visitor loads it
(:meth:`~SessionFiles.confirm`) or keeps the trained network (:meth:`~SessionFiles.keep`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import param

from ..build import resume, upgrade
from ..checkpoint import load as load_checkpoint
from ..errors import ApexplorerError
from ..experiment import Experiment
from .experiment_model import ExperimentModel
from .files import Upload
from .notices import gui_words

__all__ = ["SessionFiles"]


#: The runner's states in which a network has trained: opening a session then asks first.
TRAINED = ("running", "paused", "finished")


class SessionFiles(param.Parameterized):
    """Save and open the page's session and experiment (the model's, trained by its runner)."""

    waiting = param.String(default="", doc=(
        "The session file that waits for a yes: loading it would replace a network that has trained."))

    def __init__(self, model: ExperimentModel):
        super().__init__()
        self.model = model
        self.runner, self.notices = model.runner, model.notices
        self._waiting = None  # loads the waiting session

    def save(self, path) -> None:
        """Write the session (its experiment, weights, optimiser, position) as an atomic checkpoint."""
        self.runner.call(lambda tr: tr.save(path) and None, f"saved the session as {Path(path).name}")

    def session_bytes(self) -> bytes:
        """The session as checkpoint bytes, for a download (waits for the worker between two batches)."""
        with tempfile.TemporaryDirectory(prefix="apexplorer-") as d:
            path = Path(d) / "session.pt"
            self.runner.ask(lambda tr: tr.save(path))
            return path.read_bytes()

    def experiment_text(self) -> str:
        """The experiment as a TOML file (``apexplorer run FILE`` trains it); a change waiting for "Reset and
        apply" is in it once applied (:attr:`ExperimentModel.shared`)."""
        return self.model.shared.to_toml()

    def load_experiment_upload(self, data: bytes, filename: str) -> bool:
        """Open an uploaded experiment file (.toml or .json)."""
        with Upload(data, filename) as path:
            try:
                exp = Experiment.load(path)
            except ApexplorerError as e:
                self.notices.error(str(e).replace(str(path), Path(filename).name))
                return False
        return self.model.set_experiment(exp, f"opened the experiment {Path(filename).name}", lasting=True)

    def load_upload(self, data: bytes, filename: str, ask: bool = True) -> bool:
        """Restore a session from an uploaded file's bytes; the temporary copy is removed once read.  Over a
        network that has trained it waits for a yes (``ask``), holding the bytes, not a file."""
        up = Upload(data, filename, ".pt")
        if ask and self.runner.state in TRAINED:
            return self._ask(up.path, up.name, lambda: self.load_upload(data, filename, ask=False), done=up.remove)
        return self.load(up.path, up.name, done=up.remove, ask=False)

    def restore(self, kept: dict) -> bool:
        """Restore the network from the state kept before its worker process ended (a ``restore`` item of
        :class:`~apexplorer.app.worker.ProcessRunner`: its ``path``, ``epoch`` and ``note``), in a fresh worker."""
        return self.load(kept["path"], f"kept at epoch {kept['epoch']}", ask=False, restored=kept["note"])

    def load(self, path, name: str | None = None, done=None, ask: bool = True, restored: str = "") -> bool:
        """Restore a saved session: its experiment (every widget shows it) and its trained network.

        ``name`` is what messages call the file, and ``done()`` is called once the
        file has been read (or refused).  Over a network that has trained, the file
        waits for a yes (``ask``; :meth:`confirm`, :meth:`keep`).  ``restored`` is what the page
        says once a network is restored (:meth:`restore`), instead of "loaded the session".
        """
        name = name or Path(path).name  # a visitor never sees server paths
        if ask and self.runner.state in TRAINED:
            return self._ask(path, name, lambda: self.load(path, name, ask=False), done)
        read = self._read(path, name)
        if read is None:
            if done is not None:
                done()
            return False
        exp, notes, cache, wiring = read
        m = self.model
        say = _words(path, name)
        m.show(exp, wiring)
        device = exp.train.device

        def factory():
            try:
                return resume(path, {"train.device": device}, datasets=cache)
            except ApexplorerError as e:
                raise type(e)(say(e)) from None
            finally:
                if done is not None:
                    done()

        m.asked = True
        meta = {"wiring": wiring, "loaded": name, "previous": m.built, **({"restored": restored} if restored else {})}
        self.runner.build(factory, meta, experiment=exp)
        m.built_baselines = []
        m.baselines = []  # after the build is asked for: the loaded network is the one they compare with
        m.pending = []
        self.notices.error(m.settings.check())
        if notes:
            self.notices.note("; ".join(notes), machine=True)
        return True

    def _read(self, path, name: str):
        """(experiment, notes, datasets, wiring) of the session file at ``path``, or None when it is refused
        (the message says why)."""
        m = self.model
        try:
            exp = upgrade(load_checkpoint(path), path)
            if exp is None or exp.method.name != "ap":
                method = exp.method.name.upper() if exp is not None else "a baseline"
                self.notices.error(f"{name!r} trained {method}; the explorer shows AP runs")
                return None
            exp, notes = m.fit_machine(exp, data=False)
            cache, wiring = m.data_cache(exp), m.wiring_of(exp)
            refused = m.over_limit(exp, wiring)
            if refused:
                self.notices.error(f"{name!r} cannot be loaded here: {refused}")
                return None
            return exp, notes, cache, wiring
        except (ApexplorerError, KeyError, TypeError, AttributeError) as e:
            self.notices.error(_words(path, name)(e) if isinstance(e, ApexplorerError)
                               else f"cannot load {name!r}: it lacks {e}")
            return None

    def _ask(self, path, name: str, load, done=None) -> bool:
        """Read the session now (a broken one is refused at once), then let ``load()`` wait for a yes."""
        try:
            ok = self._read(path, name) is not None
        finally:
            if done is not None:
                done()
        if ok:
            self._waiting = load
            self.waiting = ""  # a second file in a row asks again
            self.waiting = name
        return ok

    def confirm(self) -> bool:
        """Load the waiting session: the trained network is replaced."""
        load, self._waiting = self._waiting, None
        self.waiting = ""
        return load() if load is not None else False

    def keep(self) -> None:
        """Keep the trained network: the waiting session is not loaded."""
        name = self.waiting
        self._waiting = None
        self.waiting = ""
        if name:
            self.notices.note(f"kept the trained network; the session {name} was not loaded")


def _words(path, name: str):
    """A library error as a visitor reads it: the file named as the visitor named it, never a server path."""
    return lambda e: gui_words(str(e).replace(str(path), name))
