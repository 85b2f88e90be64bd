"""The panels around the editable network graph (:class:`~.graph_edit.GraphEditor`).

:class:`UndoButtons` are the toolbar's undo and redo of wiring and task edits.
:class:`SelectionPanel` shows what is selected on the graph: a module's size, blocks, ρ and c (edited in
place), or a path's kind; its Delete button; and, while a new path of a wiring with several tasks waits,
the question which tasks get it.
"""

from __future__ import annotations

import panel as pn

from ..errors import ApexplorerError
from .history import History
from .network_view import format_blocks, parse_blocks
from .safe import escape, in_place, set_shown, show


class UndoButtons:
    """Undo and redo of the session's wiring and task edits: a :class:`~.history.History` of its experiments
    (and of an invalid draft of the wiring), and the toolbar's two buttons, which call ``undo`` and ``redo``."""

    def __init__(self, state, undo, redo):
        self.state = state
        self.history = History(state.experiment)
        self.restoring = False  # while an entry is put back: its changes are not recorded again
        self.undo_button = pn.widgets.Button(label="↶ Undo", width=85, disabled=True,
                                             description="Undo the last wiring or task edit (Ctrl+Z)")
        self.redo_button = pn.widgets.Button(label="↷ Redo", width=85, disabled=True,
                                             description="Redo what was undone (Ctrl+Shift+Z)")
        self.undo_button.on_click(lambda e: undo())
        self.redo_button.on_click(lambda e: redo())

    def record(self, draft) -> None:
        """Record the session's experiment, with ``draft`` (the wiring's spec while it is invalid, else None)."""
        if not self.restoring:
            self.history.record(self.state.experiment, draft)
        self.buttons()

    def buttons(self) -> None:
        self.undo_button.disabled = not self.history.can_undo
        self.redo_button.disabled = not self.history.can_redo

    def step(self, verb: str, wm) -> bool:
        """Undo (``verb`` "undid") or redo ("redid") one edit into the session and the wiring editor ``wm``;
        returns whether there was one."""
        entry = (self.history.undo if verb == "undid" else self.history.redo)(self.state.experiment)
        if entry is None:
            return False
        exp, draft = entry
        self.restoring = True
        try:
            # (an invalid draft in the editor goes: the experiment's wiring is shown again)
            self.state.model.set_experiment(exp, f"{verb} a wiring or task edit")
            if draft is not None:
                wm.set_spec(draft)
        finally:
            self.restoring = False
        self.buttons()
        return True


class SelectionPanel(pn.viewable.Viewer):
    """The selection's panel beside the graph of ``editor`` (a :class:`~.graph_edit.GraphEditor`): it reads the
    editor's ``selected`` and ``paths.offer``, edits its wiring (``editor.wm``) and shows refusals in ``editor.refusal``."""

    def __init__(self, editor, **params):
        super().__init__(**params)
        self.editor = ed = editor
        self.title = pn.pane.Markdown("", margin=(0, 5))
        self.size = pn.widgets.IntInput(label="Size", width=80, start=1)
        self.blocks = pn.widgets.TextInput(label="Blocks", width=250)
        self.rho = pn.widgets.FloatInput(label="ρ", width=70, step=0.05, start=0)
        self.rate = pn.widgets.FloatInput(label="c", width=70, step=0.05, start=0.01, end=1)
        self.delete_button = pn.widgets.Button(label="Delete", color="danger", variant="outline",
                                               width=90, description="Remove it (Delete or Backspace)")
        self.delete_button.on_click(lambda e: ed.delete())
        self.size.param.watch(lambda e: self._edit_module("size", e.new), "value")
        self.blocks.param.watch(lambda e: self._edit_module("blocks", e.new), "value")
        self.rho.param.watch(lambda e: self._edit_module("spectral_radius", e.new), "value")
        self.rate.param.watch(lambda e: self._edit_module("connection_rate", e.new), "value")
        self._filling = False
        # the panel's parts come and go at each click: shown and hidden in CSS (:func:`~.safe.set_shown`), not by a
        # Bokeh ``visible``, which would lay the whole page out again each time
        self.module_fields = in_place(pn.Column(pn.Row(self.size, self.rho, self.rate), self.blocks, margin=0))
        in_place(self.delete_button)
        # the path's tasks (a popover beside the graph)
        self.tasks = pn.widgets.CheckBoxGroup(label="Tasks", options=[], inline=False)
        self.make = pn.widgets.Button(label="Add this path", color="primary", width=120)
        self.cancel = pn.widgets.Button(label="Cancel", width=80)
        self.make.on_click(lambda e: ed.make_offer())
        self.cancel.on_click(lambda e: ed.escape())
        self.ask_tasks = in_place(pn.Column(pn.pane.Markdown("", margin=(0, 5)), self.tasks,
                                            pn.Row(self.make, self.cancel), css_classes=["ap-path-tasks"], margin=0))
        # the panel itself comes and goes by ``visible``: the graph beside it is narrowed by Bokeh's layout
        self.layout = pn.Column(self.title, self.module_fields, self.delete_button, self.ask_tasks, width=300,
                                visible=False, css_classes=["ap-wire-panel"],
                                styles={"background": "#fffef5", "border": "1px solid #bbb", "border-radius": "6px",
                                        "padding": "4px 8px"})

    def ask(self, source: str, target: str, kind: str, tasks: list) -> None:
        """Ask which of ``tasks`` get the new path ``source -> target`` (all are ticked)."""
        self.ask_tasks[0].object = f"**{escape(source)} → {escape(target)}** ({kind}) is active in:"
        self.tasks.options = list(tasks)
        self.tasks.value = list(tasks)

    def fill(self) -> None:
        """Show the editor's selection and offer (hidden when there is neither)."""
        ed = self.editor
        sel, wm = ed.selected, ed.wm
        set_shown(self.ask_tasks, ed.paths.offer is not None)
        self.layout.visible = sel is not None or ed.paths.offer is not None
        set_shown(self.module_fields, bool(sel and sel[0] == "module"))
        set_shown(self.delete_button, sel is not None)
        if sel is None:
            self.title.object = ""
            return
        kind, name = sel
        if kind == "path":
            ff = any(p.get("name", f"{p['source']}->{p['target']}") == name
                     for p in wm.spec.get("feedforward", []) if isinstance(p, dict))
            self.title.object = (f"**Path {escape(name)}** ({'feedforward, learnable' if ff else 'feedback, fixed'})"
                                 "  \nDelete removes it.")
            return
        m = next((m for m in wm.spec.get("modules", []) if m.get("name") == name), None)
        if m is None:
            return
        self.title.object = (f"**Module {escape(name)}**: {len(wm.paths_of(name))} paths  \n"
                             "Delete removes it with its paths.")
        self._filling = True
        try:
            size = m.get("size")
            self.size.value = size if isinstance(size, int) and size > 0 else None
            self.blocks.value = format_blocks(m.get("blocks", {}))
            self.rho.value = float(m.get("spectral_radius", 0.25))
            self.rate.value = float(m.get("connection_rate", 0.25))
        finally:
            self._filling = False

    def _edit_module(self, key: str, value) -> None:
        sel, wm = self.editor.selected, self.editor.wm
        if self._filling or not sel or sel[0] != "module" or value is None:
            return
        name = sel[1]
        if key == "size":
            wm.resize_module(name, size=value)
        elif key == "blocks":
            try:
                wm.resize_module(name, blocks=parse_blocks(str(value)))
            except ApexplorerError as e:
                wm.error = f"module {name!r}: {e}"
        else:
            wm.set_module_value(name, key, value)
        if wm.error:
            show(self.editor.refusal, wm.error)

    def __panel__(self):
        return self.layout


__all__ = ["SelectionPanel", "UndoButtons"]
