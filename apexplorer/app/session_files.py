"""Sessions and experiments saved and opened through the page (no Panel).

A *session* is a checkpoint: the experiment, the weights, the optimiser and the
position in the run (:meth:`Trainer.save`); opening one restores all of it, an
old checkpoint's experiment upgraded by :func:`apexplorer.build.upgrade`.  An
*experiment* is a ``.toml`` or ``.json`` file (``apexplorer run FILE`` trains it).
A visitor never sees a server path: messages name the file as the visitor named it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..build import resume, upgrade
from ..checkpoint import load as load_checkpoint
from ..errors import ApexplorerError
from ..experiment import Experiment
from .experiment_model import ExperimentModel
from .files import Upload
from .notices import gui_words

__all__ = ["SessionFiles"]


class SessionFiles:
    """Save and open the page's session and experiment (the model's, trained by its runner)."""

    def __init__(self, model: ExperimentModel):
        self.model = model
        self.runner, self.notices = model.runner, model.notices

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
        """The experiment as a TOML file (``apexplorer run FILE`` trains it)."""
        return self.model.experiment.to_toml()

    def load_experiment_upload(self, data: bytes, filename: str) -> bool:
        """Open an uploaded experiment file (.toml or .json)."""
        with Upload(data, filename) as path:
            try:
                exp = Experiment.load(path)
            except ApexplorerError as e:
                self.notices.error(str(e).replace(str(path), Path(filename).name))
                return False
        return self.model.set_experiment(exp, f"opened the experiment {Path(filename).name}", lasting=True)

    def load_upload(self, data: bytes, filename: str) -> bool:
        """Restore a session from an uploaded file's bytes; the temporary copy is removed once read."""
        up = Upload(data, filename, ".pt")
        return self.load(up.path, up.name, done=up.remove)

    def load(self, path, name: str | None = None, done=None) -> bool:
        """Restore a saved session: its experiment (every widget shows it) and its trained network.

        ``name`` is what messages call the file, and ``done()`` is called once the
        file has been read (or refused).
        """
        name = name or Path(path).name  # a visitor never sees server paths
        say = lambda e: gui_words(str(e).replace(str(path), name))  # noqa: E731 - messages name the user's file

        def refuse(text):
            self.notices.error(text)
            if done is not None:
                done()
            return False

        m = self.model
        try:
            exp = upgrade(load_checkpoint(path), path)
            if exp is None or exp.method.name != "ap":
                method = exp.method.name.upper() if exp is not None else "a baseline"
                return refuse(f"{name!r} trained {method}; the explorer shows AP runs")
            exp, notes = m.fit_machine(exp, data=False)
            cache = m.data_cache(exp)
            wiring = m.wiring_of(exp)
            refused = m.over_limit(exp, wiring)
            if refused:
                return refuse(f"{name!r} cannot be loaded here: {refused}")
        except (ApexplorerError, KeyError, TypeError, AttributeError) as e:
            return refuse(say(e) if isinstance(e, ApexplorerError) else f"cannot load {name!r}: it lacks {e}")
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
        self.runner.build(factory, {"wiring": wiring, "loaded": name}, experiment=exp)
        m.built_baselines = []
        m.baselines = []  # after the build is asked for: the loaded network is the one they compare with
        m.pending = []
        self.notices.error(m.settings.check())
        if notes:
            self.notices.note("; ".join(notes), machine=True)
        return True
