"""Launch a small sweep of the page's experiment from the Sweeps tab.

The visitor picks one or two settings by their names (ρ, β, T1, learning rate...),
types their values, sets epochs and seeds small and presses *Run sweep*.  The
library's :class:`~apexplorer.sweep.job.SweepJob` trains the grid in a thread of its
own, on a local Dask cluster of few worker processes (or, without Dask, in the
server's process); a periodic callback on the event loop reads its progress
snapshots and updates the widgets, so no Bokeh model is touched from that thread.
When the sweep ends, its table goes to the tab's plots and table, and can be
downloaded.  Cancel, or the end of the browser session, stops it and closes the
cluster.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import threading
from pathlib import Path

import panel as pn

from ..errors import ApexplorerError, plural
from ..experiment import MULTI
from ..table import axis_rows
from ..sweep import Sweep, SweepJob, have_dask, parse_axis
from ..userdata import is_file_name
from .safe import escape, message, show

#: The settings a visitor can sweep (the table's rows with an axis name), by their names on the page, and their
#: dotted keys; T1 = T2 together (``steps``) follows T2.
AXES = {}
#: Values shown in an empty box, to be typed over.
EXAMPLES = {"steps": "2, 4, 8"}
for _r in axis_rows():
    AXES[_r.axis] = _r.key
    EXAMPLES[_r.key] = _r.examples
    if _r.key == MULTI["steps"][-1]:
        AXES["T1 = T2 (steps)"] = "steps"
del _r
NONE = "(none)"
#: Most points a page may launch: a sweep beside a live demo, not a cluster's work.
MAX_POINTS = 64


def gui_message(label: str, message: str) -> str:
    """A grid error of the library (``grid axis 'sr': value 'x': ap.spectral_radius = 'x' is ...``) in the
    page's words: ``ρ (spectral radius): value 'x' is ...``."""
    m = re.match(r"grid axis '[^']*': (value '[^']*'): \S+ = \S+ (.*)", message)
    if m:
        message = f"{m.group(1)} {m.group(2)}"
    else:
        message = re.sub(r"^grid axis '[^']*'\s*:?\s*", "", message)
    return f"{label}: {message.replace(' (or left out)', '')}"


def parse_values(label: str, text: str) -> tuple:
    """(key, values) of the setting named ``label`` typed as ``text`` (comma-separated); errors in the page's words."""
    if label not in AXES:
        raise ApexplorerError(f"{label!r} cannot be swept here; choose one of {', '.join(AXES)}")
    key = AXES[label]
    if not text.strip():
        raise ApexplorerError(f"{label}: type its values, separated by commas (e.g. {EXAMPLES[key]})")
    try:
        return parse_axis(f"{key}={text}")
    except ApexplorerError as e:
        raise ApexplorerError(gui_message(label, str(e))) from None


def make_sweep(experiment, axes, epochs: int = 1, seeds: int = 1, train_size: int = 0) -> Sweep:
    """The sweep of ``experiment`` over ``axes`` [(label, text), ...], with ``epochs``, ``seeds`` per point
    and, when ``train_size`` > 0, each task trained on its first ``train_size`` samples."""
    parsed = [parse_values(label, text) for label, text in axes]
    keys = [k for k, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ApexplorerError("the same setting is chosen twice; choose two different settings")
    if "steps" in keys and {"ap.t1", "ap.t2"} & set(keys):
        raise ApexplorerError("T1 = T2 (steps) sets T1 and T2 together; it cannot be swept beside T1 or T2")
    for name, value in (("Epochs", epochs), ("Seeds per point", seeds)):
        if not isinstance(value, int) or value < 1:
            raise ApexplorerError(f"{name} {value!r} must be a whole number >= 1")
    if not isinstance(train_size, int) or train_size < 0:
        raise ApexplorerError(f"Training samples {train_size!r} must be a whole number >= 0 (0: all)")
    files = [s.dataset for s in experiment.tasks.values() if is_file_name(s.dataset)]
    if files:  # a sweep runs on the server from the experiment alone, and an upload is not there
        raise ApexplorerError(f"the page sweeps the built-in datasets; {files[0]} is your own file, which the "
                              f"sweep's workers do not have: run `apexplorer sweep` where the file is")
    changes = {"train.epochs": epochs, "train.seeds": 1}
    if train_size:
        changes.update({f"tasks.{t}.train_size": train_size for t in experiment.tasks})
    base = experiment.with_changes(changes)
    n = 1
    for _, values in parsed:
        n *= len(values)
    if n > MAX_POINTS:
        raise ApexplorerError(f"{n} points is more than the page runs ({MAX_POINTS}); use fewer values, or run "
                              "`apexplorer sweep` in a terminal")
    try:
        return Sweep(base, tuple(parsed), tuple(range(base.train.seed, base.train.seed + seeds))).validate()
    except ApexplorerError as e:
        raise ApexplorerError(str(e).replace("grid point ", "the point ")) from None


class SweepLauncher(pn.viewable.Viewer):
    """The controls that launch a sweep of the page's experiment, its progress, Cancel and the download.

    Parameters
    ----------
    experiment : callable
        Returns the page's current Experiment (read when Run is pressed).
    on_result : callable
        ``on_result(frame, name)`` with the results table when a sweep ends (on the event loop).
    dask : bool
        Use a local Dask cluster where dask.distributed is installed.
    live : bool
        Poll the running sweep periodically (tests pass False and call :meth:`poll`).
    """

    def __init__(self, experiment, on_result, dask: bool = True, live: bool = True, period: int = 300, **params):
        super().__init__(**params)
        self.experiment = experiment
        self.on_result = on_result
        self.dask = dask and have_dask()
        self.live = live
        self.period = period
        self.job = None
        self._cancelling = False  # Cancel was pressed: the status says so until the sweep has stopped
        self.runs = 0
        self._callback = None
        self._folder = None
        labels = list(AXES)
        self.axis1 = pn.widgets.Select(label="Setting", options=labels, value=labels[0], width=160)
        self.values1 = pn.widgets.TextInput(label="Values (comma-separated)", value="0.1, 0.5",
                                            placeholder=EXAMPLES[AXES[labels[0]]], width=170)
        self.axis2 = pn.widgets.Select(label="Second setting", options=[NONE, *labels], value=NONE, width=160)
        self.values2 = pn.widgets.TextInput(label="Its values", value="", placeholder="", width=170, disabled=True)
        self.axis1.param.watch(lambda e: self._on_axis(self.values1, e.new), "value")
        self.axis2.param.watch(lambda e: self._on_axis(self.values2, e.new), "value")
        self.epochs = pn.widgets.IntInput(label="Epochs per point", value=1, start=1, width=105)
        self.seeds = pn.widgets.IntInput(label="Seeds per point", value=1, start=1, width=105,
                                         description="Each point trains seeds seed … seed+K−1 (the page's seed)")
        self.train_size = pn.widgets.IntInput(label="Train samples", value=0, start=0, width=105,
                                              description="Train each task on its first N samples (0: all of them)")
        self.run_button = pn.widgets.Button(label="Run sweep", color="primary", width=120)
        self.cancel_button = pn.widgets.Button(label="Cancel", color="warning", width=90, disabled=True)
        self.run_button.on_click(lambda e: self.run())
        self.cancel_button.on_click(lambda e: self.cancel())
        self.progress = pn.indicators.Progress(value=0, max=1, height=10, bar_color="success", visible=False,
                                               sizing_mode="stretch_width", css_classes=["ap-sweep-progress"])
        self.status = pn.pane.Markdown(self._where(), css_classes=["ap-sweep-status"], margin=(0, 5),
                                       styles={"color": "#555", "font-size": "13px"}, sizing_mode="stretch_width")
        self.error = message("danger", css_classes=["ap-sweep-error"])
        self.download = pn.widgets.FileDownload(callback=self._download_bytes, filename="sweep.csv",
                                                label="Download the results (.csv)", visible=False, width=260)
        if live and pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(lambda ctx: self.close())

    # ------------------------------------------------------------- the form
    def _on_axis(self, box, label):
        if label == NONE:
            box.param.update(value="", placeholder="", disabled=True)
            return
        box.param.update(placeholder=f"e.g. {EXAMPLES[AXES[label]]}", disabled=False)

    def _where(self) -> str:
        if self.dask:
            return "Points train on a local Dask cluster beside the server."
        return ("Dask is not installed on the server: the points train one after another in the server's "
                "process (install apexplorer[sweep] to use a local Dask cluster).")

    def axes(self) -> list:
        """The chosen settings and their typed values: [(label, text), ...]."""
        out = [(self.axis1.value, self.values1.value)]
        if self.axis2.value != NONE:
            out.append((self.axis2.value, self.values2.value))
        return out

    def sweep(self) -> Sweep:
        """The sweep the form describes, of the page's current experiment; raises ApexplorerError."""
        return make_sweep(self.experiment(), self.axes(), self.epochs.value, self.seeds.value,
                          self.train_size.value or 0)

    # ------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.progress().final

    def run(self) -> bool:
        """Start the sweep the form describes; False (and a message) when it is invalid or one is running."""
        if self.running:
            return False
        try:
            sweep = self.sweep()
        except ApexplorerError as e:
            self._show_error(str(e))
            return False
        self.error.visible = False
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="apexplorer-sweep-"))
        self.runs += 1
        out = self._folder / f"sweep-{self.runs}.csv"
        self.job = SweepJob(sweep, out, dask=self.dask).start()
        self._cancelling = False
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.download.visible = False
        self.progress.param.update(value=0, max=max(1, len(sweep.points())), visible=True, bar_color="success")
        self._show(self.job.progress())
        if self.live and self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.poll, period=self.period)
        return True

    def cancel(self) -> None:
        """Stop the running sweep (the cluster closes in the sweep's thread)."""
        if self.running:
            self.job.cancel()
            self._cancelling = True
            self._show(self.job.progress())

    def poll(self) -> None:
        """Show the job's progress; when it has ended, hand over its table (called on the event loop)."""
        job = self.job
        if job is None:
            return
        p = job.progress()
        self._show(p)
        if not p.final:
            return
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.run_button.disabled = False
        self.cancel_button.disabled = True
        df = job.frame()
        if p.state == "failed":
            self._show_error(p.message)
        if df is not None and len(df):
            self.download.filename = Path(job.out).name
            self.download.visible = True
            self.on_result(df, Path(job.out).name)

    def _show(self, p) -> None:
        self.progress.param.update(value=p.done, max=max(1, p.total))
        where = {"dask": "on a local Dask cluster", "in-process": "in the server's process"}.get(p.executor, "")
        if self._cancelling and not p.final:  # the point in flight may still finish: it is kept
            text = f"**Cancelling…** {p.done} of {p.total} points trained so far are kept"
        elif p.state == "starting":
            text = f"Starting ({p.message})…"
        elif p.state == "running":
            text = (f"**{p.done} of {p.total} points** trained {where}" + (f" · now {escape(p.current)}" if p.current else "")
                    + f" · {p.seconds:.0f} s")
        elif p.state == "finished":
            text = (f"**Finished: {p.done} of {p.total} points** in {p.seconds:.0f} s {where}"
                    + (f"; {plural(p.errors, 'point')} failed, the first with: {escape(p.error)}" if p.errors else ""))
        elif p.state == "cancelled":
            text = f"**Cancelled** after {p.done} of {p.total} points" + ("; those are shown" if p.done else "")
            self.progress.bar_color = "secondary"
        else:
            text = f"**The sweep failed** after {p.done} of {p.total} points."
            self.progress.bar_color = "danger"
        self.status.object = text

    def _show_error(self, msg: str) -> None:
        show(self.error, msg)

    def _download_bytes(self):
        df = None if self.job is None else self.job.frame()
        if df is None:
            return None
        return io.BytesIO(df.to_csv(index=False).encode())

    def close(self) -> None:
        """Stop the sweep and the polling; the results folder goes once the sweep's thread has ended."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        job, folder = self.job, self._folder
        if job is not None:
            job.cancel()
        if folder is not None:
            def clean():
                if job is not None:
                    job.join(120)
                shutil.rmtree(folder, ignore_errors=True)

            threading.Thread(target=clean, name="apexplorer-sweep-cleanup", daemon=True).start()
        self._folder = None

    def __panel__(self):
        run = pn.Column(pn.Spacer(height=22), pn.Row(self.run_button, self.cancel_button, margin=0), margin=0)
        return pn.Column(
            pn.pane.Markdown("### Run a sweep of this page's experiment", margin=(0, 5)),
            pn.Row(self.axis1, self.values1, self.axis2, self.values2),
            pn.Row(self.epochs, self.seeds, self.train_size, run),
            self.progress, pn.Row(self.status, self.download, sizing_mode="stretch_width"), self.error,
            sizing_mode="stretch_width", styles={"border-bottom": "1px solid #ddd"}, margin=(0, 0, 10, 0),
        )
