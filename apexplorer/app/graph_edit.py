"""Wiring on the graph: clicks, taps, drags and keys on the network drawing edit the wiring.

:class:`GraphEditor` puts the page's :class:`~.network_view.NetworkGraph` to work (Bokeh's own
Tap and Pan events, answered in Python; no front-end framework):

* a click on a sending block (SI, SE, an input or output port) starts a path, a click on a receiving
  block (RI, RE, an output port) finishes it; its kind follows the blocks' roles
  (:func:`apexplorer.wiring_checks.new_path_kind`), and a pair the wiring refuses is refused with
  the library's message beside the graph.  A wiring of several tasks asks which tasks get the path;
* a click on a module's name or a block selects the module (its size, blocks, ρ and c in the panel beside
  the graph), a click on a path selects the path; Delete removes what is selected;
* with "a click on a path toggles it in task T" chosen, a click on a path suppresses it in T, or restores it;
* a drag moves a module: its position becomes a layout hint of the wiring (:meth:`Wiring.with_position`);
* "+ module", undo and redo (:class:`~.history.History`), and the keyboard: Tab through the blocks,
  Enter to click the one outlined, Esc to cancel, Delete, Ctrl+Z and Ctrl+Shift+Z (the page's bridge).

A structural edit of a trained network is drawn as pending until "Reset and apply" (new paths dashed,
removed ones crossed out).

Its parts: :class:`PathMaker` (the path being made by clicks, and a click's toggle in a task),
:class:`ModuleDrag` (a drag that moves a module), :func:`hit` (what a click is on), :func:`hint_text`
(the hint line), and in :mod:`.graph_panel` the panel beside the graph and the undo buttons.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import panel as pn

from ..errors import ApexplorerError
from ..wiring_checks import role
from . import layout as L
from .graph_panel import SelectionPanel, UndoButtons
from .network_view import NetworkGraph
from .plots import edits_models
from .safe import escape, message, set_shown, show
from .session_files import TRAINED

#: What a click on a path does: select it, or toggle it in a task (TOGGLES + the task's name).
SELECTS = "a click on a path selects it"
TOGGLES = "a click on a path toggles it in task "
#: How near (in the drawing's units) a click must be to a path to pick it.
NEAR = 0.22
#: a drag shorter than this (graph units, a box is about 1 wide) in both directions is a click, not a move
_STILL = 0.002


def hit(d: dict, x: float, y: float) -> tuple:
    """What a click at (x, y) is on, in :func:`~.network_view.graph_data`'s drawing ``d``:
    ``("block", ref)`` (a block or a port), ``("module", name)`` (a module's name above its box),
    ``("path", name)`` or ``(None, None)``."""
    B = d["blocks"]
    for i, ref in enumerate(B["ref"]):
        if B["left"][i] <= x <= B["right"][i] and B["bottom"][i] <= y <= B["top"][i]:
            return "block", ref
    F = d["frames"]
    for i, name in enumerate(F["module"]):
        if F["left"][i] <= x <= F["right"][i] and F["top"][i] <= y <= F["top"][i] + L.TITLE_H:
            return "module", name
    best, near = None, NEAR
    for key in ("ff_on", "fb_on", "ff_off", "fb_off", "added", "removed"):
        col = d.get(key) or {}
        for name, xs, ys in zip(col.get("path", []), col.get("xs", []), col.get("ys", [])):
            dist = _distance(x, y, xs, ys)
            if dist < near:
                best, near = name, dist
    return ("path", best) if best else (None, None)


def _distance(x, y, xs, ys) -> float:
    """The distance from (x, y) to the polyline (xs, ys)."""
    best = math.inf
    for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:]):
        dx, dy = x1 - x0, y1 - y0
        n = dx * dx + dy * dy
        t = 0.0 if n == 0 else max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / n))
        best = min(best, math.hypot(x - x0 - t * dx, y - y0 - t * dy))
    return best


def module_of(ref: str) -> str:
    return ref.split(".")[0]


def hint_text(start: str | None, mode: str, cursor: str | None) -> str:
    """The hint line above the graph: what a click does now (a path begun at ``start``, the click ``mode``)
    and, with a block outlined by the keyboard (``cursor``), what the keys do."""
    if start is not None:
        text = f"Path from **{escape(start)}**: click a receiving block (RI, RE or an output port); Esc cancels."
    elif mode.startswith(TOGGLES):
        text = f"Click a path: it is suppressed, or active again, in task {escape(mode[len(TOGGLES):])}."
    else:
        text = ("Click a sending block (SI, SE, a port), then a receiving one (RI, RE, an output) to join them; "
                "click a module's name or a path to select it; drag a module to move it.")
    if cursor is not None:
        text += f" Keyboard on **{escape(cursor)}**: Enter clicks it, Tab goes on."
    return text


def _drawn_once(method):
    """The action draws the graph once, at its end (:meth:`GraphEditor.one_draw`), and everything it changes on
    the page reaches the browser together, in one message (``pn.io.hold``): the page lays itself out once for it,
    not once for each panel shown or hidden on the way (a toggle shown and hidden again is not sent at all)."""
    import functools

    @functools.wraps(method)
    def once(self, *args, **kwargs):
        with pn.io.hold(), self.one_draw():
            return method(self, *args, **kwargs)

    return once


class ModuleDrag:
    """The drags on the drawing of ``editor`` (a :class:`GraphEditor`): one that starts on a module's box or name
    moves the module (a ghost box follows the pointer, the release calls :meth:`GraphEditor.move`); one shorter
    than ``_STILL`` both ways is a click."""

    def __init__(self, editor):
        self.editor = editor
        self.grabbed = None  # (module, x, y, its box) while a drag moves a module

    def __call__(self, stage: str, x: float, y: float) -> None:
        """A drag's ``stage`` (start, move or end) at (x, y)."""
        ed = self.editor
        if ed.state.experiment.method.name != "ap":
            return
        if stage == "start":
            F = ed.graph.data["frames"]
            self.grabbed = None
            for i, name in enumerate(F["module"]):
                if name not in ed.wm.module_names:
                    continue  # a module an edit removed (drawn crossed out until it is applied)
                if F["left"][i] <= x <= F["right"][i] and F["bottom"][i] <= y <= F["top"][i] + L.TITLE_H:
                    self.grabbed = (name, x, y, (F["left"][i], F["bottom"][i], F["right"][i], F["top"][i]))
            return
        if self.grabbed is None:
            return
        name, x0, y0, (l, b, r, t) = self.grabbed
        dx, dy = x - x0, y - y0
        ghost = ed.graph.sources["ghost"]
        if stage == "move":
            ghost.data = {"left": [l + dx], "right": [r + dx], "bottom": [b + dy], "top": [t + dy]}
            return
        self.grabbed = None
        ghost.data = {"left": [], "right": [], "bottom": [], "top": []}
        if abs(dx) < _STILL and abs(dy) < _STILL:
            return
        ed.move(name, (l + r) / 2 + dx, t + dy)


class PathMaker:
    """The paths made by clicks on the graph of ``editor`` (a :class:`GraphEditor`): a click on a sending block
    begins one (``start``), a click on a receiving block finishes it, its kind following the blocks' roles; a
    wiring of several tasks first asks beside the graph which tasks get it (``offer``).  A pair the wiring
    refuses is refused with the library's message.  A click on a path in a task's toggle mode is here too."""

    def __init__(self, editor):
        self.editor = editor
        self.start = None  # the block a half-made path starts from
        self.offer = None  # (source, target, kind): a path waiting for its tasks

    def click_block(self, ref: str) -> None:
        """A click on block or port ``ref``: it finishes the path begun, or begins one, or selects its module."""
        ed = self.editor
        w = ed.wm.wiring
        try:
            r = role(w, ref) if w is not None else ""
        except ApexplorerError:
            r = ""
        mod = module_of(ref) if "." in ref else None
        if self.start is not None and r in ("RI", "RE", "output"):
            self.finish(self.start, ref)
            return
        if self.start is not None and r not in ("SI", "SE", "input"):
            self.finish(self.start, ref)  # a block with no role, or RI as target: the library says why
            return
        if r in ("SI", "SE", "input", "output"):
            self.start = ref
        else:
            self.start = None
        ed.selected = ("module", mod) if mod else None

    def finish(self, source: str, target: str) -> None:
        """Join ``source`` to ``target``, or ask for its tasks first, or say why the wiring refuses it."""
        ed = self.editor
        kind, err = ed.wm.new_path(source, target)
        if err:
            show(ed.refusal, f"Not joined: {err}")
            return
        tasks = [t for t in ed.wm.spec.get("tasks", []) if t.get("paths") is not None]
        if len(ed.wm.task_names) > 1 and tasks:  # which tasks take it: asked beside the graph
            self.offer = (source, target, kind)
            ed.panel.ask(source, target, kind, ed.wm.task_names)
            return
        self.add(source, target, kind, None)

    def take_offer(self, tasks: list) -> bool:
        """Add the offered path, active in ``tasks``; whether a path was offered."""
        if self.offer is None:
            return False
        source, target, kind = self.offer
        self.offer = None
        self.add(source, target, kind, tasks)
        return True

    def add(self, source, target, kind, tasks) -> None:
        """Add the ``kind`` path ``source -> target``, active in ``tasks`` (None: every task), and select it."""
        ed = self.editor
        self.start = None
        if ed.wm.add_path(kind, source, target, tasks):
            ed.selected = ("path", f"{source}->{target}")
            show(ed.done, f"added the {kind} path {source} → {target}")
        else:
            show(ed.refusal, f"Not joined: {ed.wm.error}")

    def toggle(self, task: str, path: str) -> None:
        """Suppress ``path`` in ``task``, or make it active again; one the task needs stays as it was."""
        ed = self.editor
        try:
            on = path in ed.wm.active(task)
        except ApexplorerError as e:
            show(ed.refusal, str(e))
            return
        if ed.wm.set_active(task, path, not on):
            show(ed.done, f"{path} is {'suppressed' if on else 'active again'} in task {task}")
        else:
            err = ed.wm.error
            ed.wm.set_active(task, path, on)  # the task needs it: it stays as it was
            show(ed.refusal, f"{path} stays {'active' if on else 'suppressed'} in task {task}: {err}")


class GraphEditor(pn.viewable.Viewer):
    """The network drawing, editable by clicks, drags and keys, with its toolbar and selection panel.

    Parameters
    ----------
    state : ExplorerState
        The session; its wiring editor (``state.model.wiring``) takes every edit.
    """

    def __init__(self, state, **params):
        super().__init__(**params)
        self.state = st = state
        self.wm = st.model.wiring
        self.graph = NetworkGraph(self.wm.wiring, st.task, editable=True)
        self.graph.on_tap = self.tap
        self.graph.on_drag = self.drag = ModuleDrag(self)
        self.undos = UndoButtons(st, self.undo, self.redo)
        self.selected = None  # ("module", name) or ("path", name)
        self.cursor = None  # the keyboard's block (an index into refs())
        self.paths = PathMaker(self)  # the half-made path, and one waiting for its tasks
        self._deferred = None  # inside one_draw: None outside, else whether a draw is owed
        self.redraws = 0  # how many times the graph was drawn (for the timing script)
        self.hint = pn.pane.Markdown("", margin=(0, 10), css_classes=["ap-wire-hint"], sizing_mode="stretch_width")
        # said at almost every click: shown and hidden in CSS (a Bokeh ``visible`` lays the whole page out again)
        self.refusal = message("danger", in_place=True, margin=(0, 10), css_classes=["ap-wire-refusal"])
        self.done = message("info", in_place=True, margin=(0, 10), css_classes=["ap-wire-done"])
        self.add = pn.widgets.Button(label="+ module", width=95, description="Add a module (drag it where you like)")
        self.add.on_click(lambda e: self.add_module())
        self.click_mode = pn.widgets.Select(options=[SELECTS], value=SELECTS, width=290, css_classes=["ap-click-mode"],
                                            description="What a click on a path does: select it (Delete removes "
                                                        "it), or suppress it in a task (a click again restores it)")
        self.click_mode.param.watch(lambda e: self._say_hint(), "value")
        self.panel = SelectionPanel(self)  # the selection, its fields and the tasks question
        self.wm.param.watch(self._on_wiring, "spec")
        st.model.param.watch(lambda e: self.draw(), ["pending", "task"])
        st.model.param.watch(self._on_experiment, "experiment")
        self._say_hint()
        self._tasks_changed()

    # ------------------------------------------------------------------ drawing
    def marks(self) -> dict:
        sel = self.selected or (None, None)
        refs = self.refs()
        return {"select": sel[1] if sel[0] == "module" else None, "path": sel[1] if sel[0] == "path" else None,
                "start": self.paths.start,
                "cursor": refs[self.cursor] if self.cursor is not None and self.cursor < len(refs) else None}

    def pending_wiring(self):
        """The wiring of the network that runs, while a structural edit of it waits (else None)."""
        m = self.state.model
        if m.built is None or "wiring" not in m.pending or self.wm.wiring is None:
            return None
        if m.runner.state not in TRAINED:  # a network still building is replaced without a question
            return None
        try:
            return m.wiring_of(m.built)
        except ApexplorerError:
            return None

    @contextmanager
    def one_draw(self):
        """Draw once when the block ends, however many changes it makes (an edit redraws on the wiring's
        change, the pending set's and the marks')."""
        if self._deferred is not None:
            yield
            return
        self._deferred = False
        try:
            yield
        finally:
            again, self._deferred = self._deferred, None
            if again:
                self.draw()

    @edits_models
    def draw(self) -> None:
        """Redraw the graph: the wiring (or the invalid draft), the pending edit and the marks."""
        if self._deferred is not None:
            self._deferred = True
            return
        st, wm = self.state, self.wm
        if st.experiment.method.name != "ap":
            return  # the explorer draws a baseline's layers
        self.redraws += 1
        if wm.wiring is not None:
            self.graph.show(wm.wiring, st.task, pending=self.pending_wiring(), marks=self.marks())
        else:  # an invalid edit: drawn as it stands, with its problem, never the last valid wiring
            self.graph.show(wm.draft(), st.task, problem=wm.error or "the wiring is not valid", marks=self.marks())

    def refs(self) -> list:
        """The blocks and ports, in the drawing's order (what Tab goes through)."""
        return list(self.graph.data.get("blocks", {}).get("ref", []))

    # ------------------------------------------------------------------ the model's changes
    def _on_wiring(self, *events):
        w = self.wm
        if w.wiring is None:  # an invalid step of an edit: undone like the others
            self.undos.record(w.spec)
        if self.selected and self.selected[0] == "module" and self.selected[1] not in w.module_names:
            self.selected = None
        if self.selected and self.selected[0] == "path" and self.selected[1] not in w.path_names:
            self.selected = None
        if self.paths.start and module_of(self.paths.start) not in w.module_names and self.paths.start not in self._ports():
            self.paths.start = None
        self._tasks_changed()
        self.panel.fill()
        self.draw()

    def _on_experiment(self, *events):
        self.undos.record(None if self.wm.wiring is not None else self.wm.spec)

    def _tasks_changed(self):
        names = self.wm.task_names
        opts = [SELECTS] + [TOGGLES + t for t in names]
        if self.click_mode.options != opts:
            value = self.click_mode.value
            self.click_mode.options = opts
            self.click_mode.value = value if value in opts else SELECTS

    def _ports(self) -> list:
        return [p["name"] for k in ("inputs", "outputs") for p in self.wm.spec.get(k, [])]

    # ------------------------------------------------------------------ clicks
    def tap(self, x: float, y: float) -> None:
        """A click (or a tap) at (x, y) on the drawing."""
        if self.state.experiment.method.name != "ap":
            return  # a baseline's layers are drawn: nothing to wire
        what, ref = hit(self.graph.data, x, y)
        self.click(what, ref)

    @_drawn_once
    def click(self, what, ref) -> None:
        """A click on ``what`` (block, module, path or None) named ``ref``."""
        set_shown(self.refusal, False)
        set_shown(self.done, False)
        self.paths.offer = None
        gone = (what == "path" and ref not in self.wm.path_names) or \
            (what in ("module", "block") and "." in (ref or "") + ("." if what == "module" else "") and
             module_of(ref) not in self.wm.module_names)
        if gone:  # drawn crossed out: the running network's, removed by an edit that waits
            show(self.done, f"{ref} is removed by the edit waiting for Reset and apply (Keep the trained network "
                            "brings it back)")
            what = None
        if what == "block":
            self.paths.click_block(ref)
        elif what == "module":
            self.paths.start = None
            self.selected = ("module", ref)
        elif what == "path":
            self.paths.start = None
            mode = self.click_mode.value
            if mode.startswith(TOGGLES):
                self.paths.toggle(mode[len(TOGGLES):], ref)
            else:
                self.selected = ("path", ref)
        else:
            self.paths.start = None
            self.selected = None
        self._refresh()

    @_drawn_once
    def make_offer(self) -> None:
        """"Add this path": the offered path, active in the tasks ticked."""
        if self.paths.take_offer(list(self.panel.tasks.value)):
            self._refresh()

    def _refresh(self) -> None:
        """After a click or a key: the selection panel, the hint line and the graph follow the new state."""
        self.panel.fill()
        self._say_hint()
        self.draw()

    def escape(self) -> bool:
        """Esc: cancel a half-made path (or the tasks question), else clear the selection; whether it did."""
        had = self.paths.start is not None or self.paths.offer is not None or self.selected is not None
        self.paths.start = self.paths.offer = self.selected = None
        set_shown(self.refusal, False)
        self._refresh()
        return had

    @_drawn_once
    def delete(self) -> None:
        """Delete or Backspace: remove the selected path or module (a module's paths go with it)."""
        sel = self.selected
        if sel is None:
            return
        kind, name = sel
        if name not in (self.wm.path_names if kind == "path" else self.wm.module_names):
            self.selected = None
            return
        if kind == "path":
            self.wm.remove_path(name)
            if name not in self.wm.path_names:
                show(self.done, f"removed the path {name}")
        else:
            self.wm.remove_module(name)
            if name not in self.wm.module_names:
                n = self.wm.removed_paths
                show(self.done, f"removed module {name} and its {n} path{'s' if n != 1 else ''}")
        self.selected = None
        self._refresh()

    @_drawn_once
    def add_module(self) -> None:
        """"+ module": a module like the last one (four equal blocks), named L1, L2, ... (the first free name)."""
        names = self.wm.module_names
        i = 1
        while f"L{i}" in names:
            i += 1
        mods = self.wm.spec.get("modules", [])
        size = mods[-1].get("size", 64) if mods else 64
        if not isinstance(size, int) or size <= 0 or size % 4:
            size = 64
        if self.wm.add_module(f"L{i}", size):
            self.selected = ("module", f"L{i}")
            self.paths.start = None
            show(self.done, f"added module L{i} ({size} neurons): drag it where you like, and click its blocks "
                            "to join it")
        self.panel.fill()
        self.draw()

    # ------------------------------------------------------------------ drags
    @_drawn_once
    def move(self, name: str, x: float, y: float) -> None:
        """Put module ``name`` centred at ``x``, its top at ``y`` (a layout hint of the wiring)."""
        if self.wm.wiring is None:
            show(self.refusal, f"a module is moved once the wiring is valid: {self.wm.error}")
            return
        self.wm.move_module(name, x, y)

    # ------------------------------------------------------------------ keys
    def key(self, name: str) -> bool:
        """A key on the graph: ``next`` / ``prev`` (Tab, Shift+Tab), ``enter``, ``leave``; returns whether
        the graph took it."""
        refs = self.refs()
        if not refs:
            return False
        if name in ("next", "prev"):
            step = 1 if name == "next" else -1
            if self.cursor is None:
                self.cursor = 0 if step > 0 else len(refs) - 1
            else:
                self.cursor = (self.cursor + step) % len(refs)
        elif name == "enter":
            if self.cursor is None:
                self.cursor = 0
            else:
                self.click("block", refs[self.cursor])
                return True
        elif name == "leave":
            self.cursor = None
        self._say_hint()
        self.draw()
        return True

    # ------------------------------------------------------------------ undo
    @_drawn_once
    def undo(self) -> None:
        """↶ Undo (Ctrl+Z): the last wiring or task edit."""
        self._restore("undid")

    @_drawn_once
    def redo(self) -> None:
        """↷ Redo (Ctrl+Shift+Z): what was undone."""
        self._restore("redid")

    def _restore(self, verb: str) -> None:
        if not self.undos.step(verb, self.wm):
            show(self.done, "nothing to " + ("undo" if verb == "undid" else "redo"))
            return
        show(self.done, f"{verb} a wiring or task edit")
        self.paths.start = self.paths.offer = None

    # ------------------------------------------------------------------ the hint line
    def _say_hint(self) -> None:
        self.hint.object = hint_text(self.paths.start, self.click_mode.value, self.marks()["cursor"])

    def __panel__(self):
        bar = pn.Row(self.add, self.undos.undo_button, self.undos.redo_button, self.click_mode, margin=(0, 5))
        return pn.Column(bar, self.hint, self.refusal, self.done,
                         pn.Row(self.graph, self.panel, sizing_mode="stretch_width"), sizing_mode="stretch_width")


__all__ = ["GraphEditor", "hit"]
