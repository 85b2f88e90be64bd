"""The Tasks panel: a dataset per task, a checkbox per path (unchecked = suppressed in
that task) and, with several tasks, the training schedule; all views of the experiment."""

from __future__ import annotations

import panel as pn

from ..data import dataset_names
from ..trainer import SCHEDULES
from .safe import escape_html, message, show
from .session import ExplorerState

SCHEDULE_HELP = {
    "alternating": "one pass over each task's data in turn, every epoch",
    "simultaneous": "both tasks' batches go through together; their errors share paths",
    "sequential": "all epochs of the first task, then all epochs of the next",
}


class TasksView(pn.viewable.Viewer):
    """Edit the tasks of an :class:`ExplorerState` (its wiring model and datasets)."""

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
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
        state.wiring.param.watch(lambda *events: self._on_check(), ["error", "notes"])
        self._on_check()
        self._widgets = {}
        state.wiring.param.watch(lambda e: self._rebuild(), "spec")
        state.model.param.watch(lambda *events: self._rebuild(), ["experiment", "task"])
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
        key = (tuple(names), tuple(m.path_names), tuple(sorted(st.datasets.items())))
        if key == getattr(self, "_key", None):  # the same tasks: only the ticks may have changed
            for t in names:
                box = self._widgets[t][1]
                if list(box.value) != m.active(t):
                    box.value = m.active(t)
            return
        cards = []
        for t in names:
            ds = pn.widgets.Select(label="Dataset", options=dataset_names(), value=st.datasets.get(t, "digits"),
                                   width=170)
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
        m = self.state.wiring
        for p in set(old) - set(new):
            m.set_active(task, p, False)
        for p in set(new) - set(old):
            m.set_active(task, p, True)

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.pane.Markdown("**Show task**", margin=(8, 5)), self.show),
            self.schedule, self._schedule_help, self.error, self.note, self._tasks, sizing_mode="stretch_width")
