"""The Run panel: Train, Pause, Step and Reset, the status line and the epoch's progress, slow
motion, the experiment (open, save, its command), the run's history (CSV, JSON) and the whole session.

An experiment file and a session (the library's atomic checkpoint) travel through the
browser: download buttons and file uploads.  Paths on the server are offered only
inside the folder its operator opened (:class:`ServerFiles`).
"""

from __future__ import annotations

import io

import panel as pn

from ..errors import ApexplorerError
from .files import ServerFiles
from .safe import escape, message, show
from .upload import ChunkedUpload
from .session import ExplorerState


class RunControls(pn.viewable.Viewer):
    """Buttons and status line of an :class:`ExplorerState`."""

    def __init__(self, state: ExplorerState, files: ServerFiles | None = None, max_upload: int | None = None,
                 **params):
        super().__init__(**params)
        self.state = state
        self.train = pn.widgets.Button(label="▶ Train", color="success", width=90)
        self.pause = pn.widgets.Button(label="❚❚ Pause", width=90)
        self.step = pn.widgets.Button(label="Step", width=70, description="Train one batch")
        self.reset = pn.widgets.Button(label="Reset", color="warning", variant="outline", width=70,
                                       description="A fresh, untrained network from the current settings")
        self.train.on_click(lambda e: self.state.train())
        self.pause.on_click(lambda e: self.state.pause())
        self.step.on_click(lambda e: self.state.step())
        self.reset.on_click(lambda e: self.state.reset())
        self.cancel = pn.widgets.Button(label="✕ Cancel the build", color="danger", variant="outline", width=170,
                                        visible=False, description="Stop building this network (a large "
                                                                   "ensemble takes long to draw)")
        self.cancel.on_click(lambda e: self.state.cancel_build())
        self.status = pn.pane.Markdown("", css_classes=["ap-status"], sizing_mode="stretch_width",
                                       styles={"font-family": "monospace", "font-size": "13px"})
        self._status_styles = dict(self.status.styles)  # the presenter layout's font size goes on top of these
        self.error = message("danger")
        self.info = message(styles={"color": "#555"})
        self.slow = pn.widgets.FloatSlider(label="Slow motion (s per batch)", start=0.0, end=1.0, step=0.05,
                                           value=0.0, sizing_mode="stretch_width")
        self.slow.param.watch(lambda e: setattr(self.state.runner, "delay", float(e.new)), "value")
        self.download = pn.widgets.FileDownload(callback=self._download, filename="explorer-session.pt",
                                                label="Download this session (.pt)", width=220)
        limit = {"limit": max_upload} if max_upload else {}
        # in pieces: a session of a large network (24 MB for fig5a) is over the websocket's message limit
        self.upload = ChunkedUpload(accept=".pt", label="Load a session file", on_start=self._new_upload,
                                    on_file=self.state.load_upload, on_refused=self._refused, **limit)
        self.export_csv = pn.widgets.FileDownload(callback=lambda: self._history("csv"), filename="history.csv",
                                                  label="History (.csv)", width=150,
                                                  description="Every batch and epoch of this run, per task, seed "
                                                              "and baseline")
        self.export_json = pn.widgets.FileDownload(callback=lambda: self._history("json"), filename="history.json",
                                                   label="History (.json)", width=150,
                                                   description="The same rows as JSON objects")
        self.progress = pn.indicators.Progress(value=0, max=1000, height=8, sizing_mode="stretch_width",
                                               bar_color="success", margin=(0, 10), visible=False)
        self.save_experiment = pn.widgets.FileDownload(callback=self._experiment, filename="experiment.toml",
                                                       label="Download experiment.toml", width=220)
        self.open_experiment = ChunkedUpload(accept=".toml,.json", label="Open an experiment file",
                                             on_start=self._new_upload, on_file=self.state.load_experiment_upload,
                                             on_refused=self._refused, **limit)
        self.command = pn.pane.Markdown("", css_classes=["ap-command"], sizing_mode="stretch_width",
                                        styles={"font-size": "12px"})
        state.model.param.watch(self._on_experiment, "experiment")
        self._on_experiment()
        self.files = files or ServerFiles()
        self.path = pn.widgets.TextInput(label="Session file in the server's folder", value="explorer-session.pt",
                                         sizing_mode="stretch_width",
                                         visible=self.files.enabled)
        self.save = pn.widgets.Button(label="Save on the server", width=150, visible=self.files.enabled)
        self.load = pn.widgets.Button(label="Load from the server", width=160, visible=self.files.enabled)
        self.save.on_click(lambda e: self._on_path(self.state.save))
        self.load.on_click(lambda e: self._on_path(self.state.load, must_exist=True))
        # a session opened over a trained network asks first, as a structural change does
        self.load_ask = message("warning", visible=True)
        self.load_yes = pn.widgets.Button(label="Load the session", color="warning")
        self.load_no = pn.widgets.Button(label="Keep the trained network", variant="outline")
        self.load_yes.on_click(lambda e: self.state.files.confirm())
        self.load_no.on_click(lambda e: self.state.files.keep())
        self.load_confirm = pn.Column(self.load_ask, pn.Row(self.load_yes, self.load_no), visible=False,
                                      sizing_mode="stretch_width", css_classes=["ap-load-confirm"])
        state.files.param.watch(self._on_waiting, "waiting")
        state.param.watch(self._on_state, "status")
        state.notices.param.watch(self._on_state, ["message", "info"])
        # runner.state changes on the worker thread: read it from the drain (refresh), never watch it
        self._on_state()
        self.refresh()

    def _download(self):
        try:
            return io.BytesIO(self.state.session_bytes())
        except ApexplorerError as e:
            self.state.message = f"nothing to download: {e}"
            return None

    def _history(self, fmt):
        """The run's whole history (:meth:`Runner.export`), or a message when there is none."""
        try:
            return io.StringIO(self.state.runner.export(fmt))
        except ApexplorerError as e:
            self.state.message = f"no history to download: {e}"
            return None

    def _experiment(self):
        return io.StringIO(self.state.experiment_text())

    def _new_upload(self, name):
        """A new upload: the messages of earlier ones are history."""
        self.state.message = self.state.info = ""

    def _refused(self, text):
        self.state.info = ""
        self.state.message = text

    def _on_experiment(self, *events):
        card = getattr(self, "_experiment_card", None)
        if card is not None and card.collapsed:  # written when the card is opened: a collapsed Card's pane that
            self._command_stale = True          # changes makes the browser lay the whole page out again
            return
        self._command_stale = False
        exp = self.state.experiment
        cmd = exp.command("experiment.toml")
        where = "" if exp.train_args() is not None else " (with the file downloaded above)"
        self.command.object = f"The same run from a shell{where}:\n\n```bash\n{cmd}\n```"

    def _on_waiting(self, *events):
        name = self.state.files.waiting
        self.load_confirm.visible = bool(name)
        if name:
            self.load_ask.object = (f"Load the session **{escape(name)}**? It replaces the network trained so far, "
                                    "which is lost unless you download this session first.")

    def _on_path(self, action, must_exist=False):
        try:
            path = self.files.path(self.path.value, must_exist=must_exist)
        except ApexplorerError as e:
            self.state.message = str(e)
            return
        action(path)

    def _on_state(self, *events):
        st = self.state
        self.status.object = st.status
        show(self.error, st.message)
        show(self.info, st.info, hide_empty=False)

    def presenter(self, on: bool) -> None:
        """The presenter layout's larger font: the buttons' and the status line's sizes are in pixels, so they
        follow it here."""
        for button, (normal, large) in zip((self.train, self.pause, self.step, self.reset),
                                           ((90, 110), (90, 125), (70, 90), (70, 95))):
            button.width = large if on else normal
        self.status.styles = {**self._status_styles, **({"font-size": "0.8em"} if on else {})}

    def refresh(self):
        """Enable the buttons that make sense now (called on the event loop)."""
        s = self.state.runner.state
        why = self.state.blocker()
        waiting = bool(self.state.waiting)  # in the server's line of trainings: Pause leaves it
        self.train.disabled = s in ("running", "building") or bool(why) or waiting
        tip = f"Train is off: {why}" if why else None  # no tooltip otherwise: it would cover Pause
        if self.train.description != tip:
            self.train.description = tip
        self.pause.disabled = s != "running" and not waiting
        self.step.disabled = s in ("running", "building") or bool(why)
        self.cancel.visible = s == "building"
        p = self.state.progress
        self.progress.visible = bool(p.n_batches) and s in ("running", "paused")
        value = int(1000 * p.fraction)
        if self.progress.value != value:
            self.progress.value = value

    def __panel__(self):
        self._experiment_card = pn.Card(
            self.save_experiment, pn.Row("Open an experiment file:", self.open_experiment), self.command,
            title="Experiment: open, save, command line", collapsed=True, sizing_mode="stretch_width")
        self._experiment_card.param.watch(lambda e: self._command_stale and self._on_experiment(), "collapsed")
        return pn.Column(
            pn.Row(self.train, self.pause, self.step, self.reset),
            self.status, self.cancel, self.progress, self.load_confirm, self.error, self.info, self.slow,
            self._experiment_card,
            pn.Card(pn.pane.Markdown("Every batch and epoch so far: one row per task, per seed of an ensemble and "
                                     "per baseline (the run column).", margin=(0, 5)),
                    pn.Row(self.export_csv, self.export_json),
                    title="Export the history", collapsed=True, sizing_mode="stretch_width"),
            pn.Card(self.download, pn.Row("Load a session file:", self.upload),
                    self.path, pn.Row(self.save, self.load),
                    title="Save / load session", collapsed=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
