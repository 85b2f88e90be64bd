"""The Tasks panel: a dataset per task, a checkbox per path (unchecked = suppressed in
that task) and, with several tasks, the training schedule; all views of the experiment.

A visitor's own data comes by upload (a ``.csv`` or ``.npz``, read whole by
:func:`apexplorer.userdata.load_bytes`, or refused with its message): it becomes the
shown task's dataset under the visitor's file name, and a choice of every task's
dataset for the rest of the session.
"""

from __future__ import annotations

import logging
import threading

import panel as pn

from ..errors import ApexplorerError
from ..trainer import SCHEDULES
from .safe import escape_html, message, show
from .session import ExplorerState
from .session_data import SessionData
from .upload import ChunkedUpload, size_text

log = logging.getLogger(__name__)

#: What the page says of uploaded data where it is not kept (links, experiment files, sessions).
NOT_KEPT = ("Uploaded data stays in this browser session: a copied link, a downloaded experiment file or a saved "
            "session names the file but does not hold it, so whoever opens them uploads it again.")

SCHEDULE_HELP = {
    "alternating": "one pass over each task's data in turn, every epoch",
    "simultaneous": "both tasks' batches go through together; their errors share paths",
    "sequential": "all epochs of the first task, then all epochs of the next",
}


class TasksView(pn.viewable.Viewer):
    """Edit the tasks of an :class:`ExplorerState` (its wiring model and datasets)."""

    def __init__(self, state: ExplorerState, max_upload: int | None = None, **params):
        super().__init__(**params)
        self.state = state
        limit = {"limit": max_upload} if max_upload else {}
        self.uploader = ChunkedUpload(accept=".csv,.npz", label="Upload a dataset (.csv or .npz)",
                                      on_start=self._on_upload_start, on_file=self._on_upload,
                                      on_refused=self._on_upload_refused, **limit)
        self.label = pn.widgets.TextInput(label="CSV label column (empty: the last)", placeholder="the last column",
                                          width=230)
        self.upload_help = pn.pane.Markdown(
            f"CSV (a header row; string labels name the classes) or NPZ (x and y, or x_train, y_train, x_test, "
            f"y_test), up to **{size_text(self.uploader.limit)}**; the server's operator raises the limit with "
            f"`--max-upload MB`. Features are standardised on the training split; without a test set, 20 % "
            f"is held out. {NOT_KEPT}", margin=(0, 10), css_classes=["ap-upload-help"], disable_math=True)
        self.upload_error = message("danger", css_classes=["ap-upload-error"])
        self.upload_info = message("success", css_classes=["ap-upload-info"])
        self._reads = 0  # uploads read so far: only the newest one's result is used
        self.show = pn.widgets.RadioButtonGroup(label="Task shown", options=[], width=320)
        self.show.param.watch(lambda e: setattr(self.state, "task", e.new) if e.new else None, "value")
        self.schedule = pn.widgets.RadioButtonGroup(label="Schedule", options=list(SCHEDULES),
                                                    value=state.schedule)
        self.schedule.param.watch(lambda e: self.state.set_schedule(e.new) if e.new != self.state.schedule else None,
                                  "value")
        self._schedule_help = pn.pane.Markdown("", margin=(0, 10))
        self._tasks = pn.Column(sizing_mode="stretch_width")
        self.error = message("danger")
        self.note = message("warning")
        self._shown = True
        self._stale = False  # an edit came while the panel was hidden: brought up to date when it is shown
        state.wiring.param.watch(lambda *events: self._follow(), ["error", "notes"])
        self._widgets = {}
        state.wiring.param.watch(lambda e: self._follow(), "spec")
        state.model.param.watch(lambda *events: self._follow(), ["experiment", "task"])
        self._on_check()
        self._rebuild()

    @property
    def shown(self) -> bool:
        """Whether the panel is on the page's screen (the explorer says so as its Tasks tab is shown or hidden).
        While hidden it does not follow the wiring's edits, so that an edit on the network graph sends the browser
        nothing for it; shown again, it is brought up to date at once.  Default True (a panel on its own)."""
        return self._shown

    @shown.setter
    def shown(self, on: bool) -> None:
        self._shown = bool(on)
        if self._shown and self._stale:
            self._follow()

    def _follow(self):
        """The tasks, their paths and the wiring's messages follow the session (now, or once shown)."""
        if not self._shown:
            self._stale = True
            return
        self._stale = False
        with pn.io.hold():
            self._on_check()
            self._rebuild()

    def _rebuild(self):
        st = self.state
        m = st.wiring
        names = m.task_names
        self.show.options = names
        if st.task in names:
            self.show.value = st.task
        self.schedule.value = st.schedule
        self._schedule_help.object = f"*{st.schedule}*: {SCHEDULE_HELP[st.schedule]}"
        multi = len(names) > 1
        self.schedule.visible = multi
        self._schedule_help.visible = multi
        key = (tuple(names), tuple(sorted(st.datasets.items())))
        if key == getattr(self, "_key", None):  # the same tasks: only their paths and ticks may have changed
            for t in names:  # (kept, not rebuilt: a path drawn on the graph is sent as two lists, not new cards)
                box = self._widgets[t][1]
                if list(box.options) != list(m.path_names) or list(box.value) != m.active(t):
                    self._syncing = True  # the box follows the wiring: not an edit of it
                    try:
                        box.param.update(options=list(m.path_names), value=m.active(t))
                    finally:
                        self._syncing = False
            return
        cards = []
        for t in names:
            value = st.datasets.get(t, "digits")
            options = st.dataset_choices()
            ds = pn.widgets.Select(label="Dataset", options=options + ([value] if value not in options else []),
                                   value=value, width=170)
            ds.param.watch(lambda e, t=t: self.state.set_dataset(t, e.new), "value")
            active = m.active(t)
            box = pn.widgets.CheckBoxGroup(options=m.path_names, value=active, inline=False)
            box.param.watch(lambda e, t=t: self._on_paths(t, e.old, e.new), "value")
            self._widgets[t] = (ds, box)
            cards.append(pn.Card(ds, pn.pane.Markdown("Active paths (untick to suppress):", margin=(0, 5)), box,
                                 title=f"Task {escape_html(t)}", sizing_mode="stretch_width", collapsible=True))
        self._key = key
        self._tasks.objects = cards

    def _on_check(self):
        m = self.state.wiring
        show(self.error, m.error)
        show(self.note, "\n".join(m.notes))

    def _on_paths(self, task, old, new):
        if getattr(self, "_syncing", False):
            return
        m = self.state.wiring
        for p in set(old) - set(new):
            m.set_active(task, p, False)
        for p in set(new) - set(old):
            m.set_active(task, p, True)

    # ------------------------------------------------------------------ uploads
    def _on_upload_start(self, name):
        self.upload_error.visible = self.upload_info.visible = False

    def _on_upload_refused(self, text):
        self.upload_info.visible = False
        show(self.upload_error, text)

    def _on_upload(self, data: bytes, name: str) -> None:
        """A whole file arrived: the shown task trains on it, or the library's message says why not.  A served
        page reads it on a thread of its own (a large CSV takes seconds, and the server's event loop serves
        every page), then uses it on the event loop."""
        task = self.state.task
        label = self.label.value_input if self.label.value_input is not None else self.label.value
        label = (label or "").strip() or None
        self._reads += 1
        read = self._reads
        doc = pn.state.curdoc
        if doc is None or getattr(doc, "session_context", None) is None:  # not served (a notebook, a test): now
            self._used(read, task, label, *self._read(data, name, label))
            return
        self.upload_error.visible = False
        show(self.upload_info, f"reading {name} ...")

        def work():
            result = self._read(data, name, label)
            try:
                doc.add_next_tick_callback(lambda: self._used(read, task, label, *result))
            except Exception:  # noqa: BLE001 - the page was closed meanwhile: nobody waits for it
                log.debug("an upload was read after its page closed", exc_info=True)

        threading.Thread(target=work, name="apexplorer-upload", daemon=True).start()

    @staticmethod
    def _read(data: bytes, name: str, label) -> tuple:
        """(dataset, None) or (None, the message that names the visitor's file)."""
        try:
            return SessionData.read(data, name, label), None
        except ApexplorerError as e:
            return None, str(e)
        except (ValueError, TypeError, OSError, MemoryError) as e:  # the loader names its own mistakes; not these
            log.warning("an uploaded dataset could not be read: %s", e)
            return None, (f"{name}: could not be read as a dataset ({type(e).__name__}); give a .csv with a "
                          "header row, or an .npz of x and y")

    def _used(self, read: int, task: str, label, d, error) -> None:
        if read != self._reads:  # a newer upload came meanwhile
            return
        if d is None:
            self.upload_info.visible = False
            show(self.upload_error, error)
            return
        name = self.state.use_upload(d, task, label)
        classes = ", ".join(map(str, d.classes[:12])) + (", ..." if len(d.classes) > 12 else "")
        self.upload_error.visible = False
        show(self.upload_info, f"{name}: {len(d.y_train)} training and {len(d.y_test)} test samples, "
                               f"{d.n_features} features, {d.n_classes} classes ({classes}); task {task} trains "
                               f"on it (sha256 {d.sha256[:12]}...)")

    def __panel__(self):
        upload = pn.Card(pn.Row(self.uploader, self.label), self.upload_help, self.upload_error, self.upload_info,
                         title="Your own data (for the task shown)", sizing_mode="stretch_width", collapsible=True)
        return pn.Column(
            pn.Row(pn.pane.Markdown("**Show task**", margin=(8, 5)), self.show),
            self.schedule, self._schedule_help, self.error, self.note, self._tasks, upload,
            sizing_mode="stretch_width")
