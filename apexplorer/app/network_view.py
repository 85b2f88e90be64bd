"""The Network panel: a drawing of the wiring and the widgets that edit it.

:func:`graph_data` lays a wiring out for drawing: module
blocks coloured by role, input and output ports, feedforward paths solid
(learnable), feedback paths dashed (fixed), paths suppressed in the shown
task grey.  An optional ``highlight`` (from the error-flow player) marks the
module at work, thickens the paths in use and writes each module's |e|.

:class:`NetworkGraph` draws it with Bokeh and redraws by swapping the data of its sources;
:class:`NetworkEditor` edits a :class:`WiringModel` with widgets: presets,
a table of modules (size, blocks, rho, c), adding and removing modules and
paths, JSON import and export.  Validation errors show in the library's words.
"""

from __future__ import annotations

import io
import math

import panel as pn
import param

from ..errors import ApexplorerError
from ..presets import MULTITASK, preset_names
from ..wiring import Wiring
from . import layout as L
from .plots import edits_models
from .safe import message, show
from .wiring_model import WiringModel

FF_COLOR = "#2166ac"
FB_COLOR = "#d6604d"
OFF_COLOR = "#cccccc"
#: A pending edit (waiting for "Reset and apply"): new paths dashed in this colour, removed ones crossed out.
NEW_COLOR = "#e7298a"
GONE_COLOR = "#b2182b"
#: The selection's outline, and the block a half-made path starts from.
SELECT_COLOR = "#ffb000"
START_COLOR = "#1b9e77"


SOURCES = ("blocks", "frames", "focus", "ff_on", "ff_off", "fb_on", "fb_off", "heads", "labels", "titles", "notes",
           "marks", "picked", "added", "removed", "crosses", "ghost")


def union(wiring: Wiring, built: Wiring) -> tuple:
    """(what to draw, added path names, removed path names, removed modules): ``wiring`` with what
    ``built`` has and it lacks put back, so that a pending edit can be drawn over the network that runs."""
    from dataclasses import replace

    names = set(wiring.path_names)
    old = set(built.path_names)
    added = [n for n in wiring.path_names if n not in old]
    gone_mods = [m for m in built.modules if m.name not in set(wiring.module_names)]
    removed = {}
    for kind in ("feedforward", "feedback"):
        removed[kind] = tuple(p for p in getattr(built, kind) if p.name not in names)
    # a removed path is drawn only where both its ends are drawn: a module kept under its name may have
    # other blocks now (a preset loaded while the old network still builds), and a port may be gone
    ok = {p.name for p in wiring.inputs + wiring.outputs}
    ok |= {f"{m.name}.{b}" for m in wiring.modules + tuple(gone_mods) for b, _ in m.blocks}
    keep = {k: tuple(p for p in v if p.source in ok and p.target in ok) for k, v in removed.items()}
    drawn = replace(wiring, modules=wiring.modules + tuple(gone_mods),
                    feedforward=wiring.feedforward + keep["feedforward"],
                    feedback=wiring.feedback + keep["feedback"])
    return drawn, added, [p.name for v in keep.values() for p in v], [m.name for m in gone_mods]


def graph_data(wiring: Wiring | None, task: str | None = None, highlight: dict | None = None,
               pending: Wiring | None = None, marks: dict | None = None) -> dict:
    """The columns of every layer of the drawing, and the extent (pure; no Bokeh).

    Parameters
    ----------
    wiring : Wiring or None
    task : str, optional
        Paths inactive in this task go grey (default: the first task).
    highlight : dict, optional
        ``module``: the module at work (orange frame); ``paths``: {path: line
        width} for the paths in use; ``notes``: [(x, y, text)] written in red.

    Returns
    -------
    dict
        One column dict per layer in :data:`SOURCES`, ``extent`` (x0, y0, x1, y1) and the figure's
        ``height`` in pixels (enough for every row's label).
    """
    hl = highlight or {}
    out = {
        "blocks": {k: [] for k in ("left", "right", "bottom", "top", "ref", "label", "size", "color", "role")},
        "frames": {k: [] for k in ("left", "right", "bottom", "top", "module")},
        "focus": {k: [] for k in ("left", "right", "bottom", "top")},
        "heads": {k: [] for k in ("x", "y", "angle", "color")},
        "labels": {k: [] for k in ("x", "y", "text")},
        "titles": {k: [] for k in ("x", "y", "text")},
        "notes": {k: [] for k in ("x", "y", "text")},
        "marks": {k: [] for k in ("left", "right", "bottom", "top", "color", "dash")},
        "picked": {k: [] for k in ("xs", "ys")},
        "added": {k: [] for k in ("xs", "ys", "path", "kind", "status", "width")},
        "removed": {k: [] for k in ("xs", "ys", "path", "kind", "status", "width")},
        "crosses": {k: [] for k in ("xs", "ys")},
        "ghost": {k: [] for k in ("left", "right", "bottom", "top")},
        "extent": (-1.0, -1.0, 1.0, 1.0),
        "height": L.MIN_PX,
    }
    for k in ("ff_on", "ff_off", "fb_on", "fb_off"):
        out[k] = {c: [] for c in ("xs", "ys", "path", "kind", "status", "width")}
    if wiring is None:
        return out
    added, removed, gone_mods = (), (), ()
    if pending is not None:
        wiring, added, removed, gone_mods = union(wiring, pending)
    added, removed = set(added), set(removed)
    bxs = L.boxes(wiring)
    names = [t.name for t in wiring.tasks]
    t = wiring.task(task) if task in names else wiring.tasks[0]
    B = out["blocks"]
    for b in bxs:
        color = L.role_color(b.block) if b.kind == "block" else L.PORT_COLORS[b.kind]
        role = f"block of module {b.node}" if b.kind == "block" else f"{b.kind} port"
        for k, v in zip(("left", "bottom", "right", "top", "ref", "label", "size", "color", "role"),
                        (b.x0, b.y0, b.x1, b.y1, b.ref, b.label, b.size, color, role)):
            B[k].append(v)
        out["labels"]["x"].append((b.x0 + b.x1) / 2)
        out["labels"]["y"].append((b.y0 + b.y1) / 2)
        out["labels"]["text"].append(b.label)
        if b.kind != "block":
            out["titles"]["x"].append((b.x0 + b.x1) / 2)
            out["titles"]["y"].append(b.y1 + 0.12)
            out["titles"]["text"].append("input" if b.kind == "input" else "output")
    for name, (x0, y0, x1, y1) in L.module_frames(wiring, bxs).items():
        for k, v in zip(("left", "bottom", "right", "top", "module"), (x0, y0, x1, y1, name)):
            out["frames"][k].append(v)
        out["titles"]["x"].append((x0 + x1) / 2)
        out["titles"]["y"].append(y1 + 0.12)
        out["titles"]["text"].append(name)
        if name == hl.get("module"):
            for k, v in zip(("left", "bottom", "right", "top"), (x0 - 0.06, y0 - 0.06, x1 + 0.06, y1 + 0.06)):
                out["focus"][k].append(v)
        if name in gone_mods:
            out["crosses"]["xs"] += [[x0, x1], [x0, x1]]
            out["crosses"]["ys"] += [[y0, y1], [y1, y0]]
    eds = L.edges(wiring, bxs)
    _edge_columns(out, eds, wiring, t, hl.get("paths") or {}, added, removed)
    for x, y, text in hl.get("notes", []):
        out["notes"]["x"].append(x)
        out["notes"]["y"].append(y)
        out["notes"]["text"].append(text)
    _marks(out, marks or {}, bxs, L.module_frames(wiring, bxs), eds)
    out["extent"] = L.extent(bxs, eds)
    out["height"] = L.height_px(out["extent"])
    return out


def _edge_columns(out: dict, eds: list, wiring: Wiring, task, widths: dict, added: set, removed: set) -> None:
    """Add the paths ``eds`` to :func:`graph_data`'s columns ``out``: each in its layer (feedforward or feedback,
    active in ``task`` or not, added or removed by a pending edit, the removed ones crossed out), its
    line width (``widths``: the paths in use, the others thin) and its arrow head."""
    active = set(wiring.active_paths(task))
    frozen = set(task.frozen)
    for e in eds:
        on = e.name in active
        learn = e.kind == "feedforward" and e.name not in frozen
        status = ("active" if on else "suppressed in this task") + (", frozen in this task" if on and
                                                                    e.kind == "feedforward" and not learn else "")
        key = ("ff" if e.kind == "feedforward" else "fb") + ("_on" if on else "_off")
        if e.name in added:
            key, status = "added", "new: waiting for Reset and apply"
        elif e.name in removed:
            key, status = "removed", "removed: waiting for Reset and apply"
            i = len(e.xs) // 2
            mx, my, r = e.xs[i], e.ys[i], 0.18
            out["crosses"]["xs"] += [[mx - r, mx + r], [mx - r, mx + r]]
            out["crosses"]["ys"] += [[my - r, my + r], [my + r, my - r]]
        col = out[key]
        col["xs"].append(list(e.xs))
        col["ys"].append(list(e.ys))
        col["path"].append(e.name)
        col["kind"].append("feedforward, learnable" if e.kind == "feedforward" else "feedback, fixed")
        col["status"].append(status)
        col["width"].append(float(widths.get(e.name, 2.2 if on else 1.4)) if not widths or e.name in widths
                            else 1.0)
        out["heads"]["x"].append(e.xs[-1])
        out["heads"]["y"].append(e.ys[-1])
        out["heads"]["angle"].append(e.angle - math.pi / 2)
        out["heads"]["color"].append(NEW_COLOR if e.name in added else OFF_COLOR if e.name in removed or not on
                                     else FF_COLOR if e.kind == "feedforward" else FB_COLOR)


def _marks(out: dict, marks: dict, bxs: list, frames: dict, eds: list) -> None:
    """The editing marks (:func:`graph_data`'s ``marks``) as outlines and a thick underlay."""
    by_ref = {b.ref: (b.x0, b.y0, b.x1, b.y1) for b in bxs}
    M = out["marks"]
    for key, color, pad, dash in (("select", SELECT_COLOR, 0.08, "solid"), ("start", START_COLOR, 0.05, "solid"),
                                  ("cursor", "#222222", 0.11, "dashed")):
        ref = marks.get(key)
        box = frames.get(ref) or by_ref.get(ref)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        for k, v in zip(("left", "bottom", "right", "top", "color", "dash"),
                        (x0 - pad, y0 - pad, x1 + pad, y1 + pad, color, dash)):
            M[k].append(v)
    for e in eds:
        if e.name == marks.get("path"):
            out["picked"]["xs"].append(list(e.xs))
            out["picked"]["ys"].append(list(e.ys))


class NetworkGraph(pn.viewable.Viewer):
    """A drawing of a wiring (Bokeh); call :meth:`show` to redraw it."""

    height = param.Integer(330, doc="Height before the first drawing; each drawing sets the height it needs.")
    legend_rows = param.Integer(1, bounds=(1, 3), doc=(
        "Rows of the paths' legend above the drawing (2 where the figure is narrow: the error-flow player's)."))
    key = param.String("graph", doc="Prefix of the sources' names (graph-blocks, graph-titles...).")
    editable = param.Boolean(False, doc=(
        "Clicks (taps) and drags on the drawing reach Python (:attr:`on_tap`, :attr:`on_drag`): a drag moves "
        "a module, so the figure has no pan tool (the wheel zooms, reset shows it all)."))

    def __init__(self, wiring: Wiring | None = None, task: str | None = None, **params):
        super().__init__(**params)
        from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem, Range1d
        from bokeh.plotting import figure

        self.data = {}
        self.problem = ""
        self.sources = {k: ColumnDataSource(data=v, name=f"{self.key}-{k}") for k, v in graph_data(None).items()
                        if k in SOURCES}
        S = self.sources
        # editable: a drag moves a module, so the view has no pan tool (wheel zoom and reset stay)
        f = figure(height=self.height, sizing_mode="stretch_width",
                   tools="wheel_zoom,reset,save" if self.editable else "pan,wheel_zoom,reset,save",
                   toolbar_location="above", x_range=Range1d(-1, 1), y_range=Range1d(-1, 1))
        f.axis.visible = False
        f.grid.visible = False
        f.outline_line_color = None
        f.toolbar.logo = None
        lines = {}
        f.multi_line("xs", "ys", source=S["picked"], line_color=SELECT_COLOR, line_width=9, line_alpha=0.6)
        for key, color, dash in (("ff_off", OFF_COLOR, "solid"), ("fb_off", OFF_COLOR, "dashed"),
                                 ("ff_on", FF_COLOR, "solid"), ("fb_on", FB_COLOR, "dashed")):
            lines[key] = f.multi_line("xs", "ys", source=S[key], line_color=color, line_dash=dash,
                                      line_width="width", line_alpha=0.9)
        lines["added"] = f.multi_line("xs", "ys", source=S["added"], line_color=NEW_COLOR, line_dash=[8, 5],
                                      line_width=3.2)
        lines["removed"] = f.multi_line("xs", "ys", source=S["removed"], line_color=GONE_COLOR, line_width=2,
                                        line_alpha=0.45)
        f.scatter("x", "y", source=S["heads"], marker="triangle", angle="angle", color="color", size=10)
        rects = f.quad(left="left", right="right", bottom="bottom", top="top", source=S["blocks"],
                       fill_color="color", line_color="white", line_width=1)
        f.quad(left="left", right="right", bottom="bottom", top="top", source=S["frames"], fill_alpha=0,
               line_color="#444444", line_width=1.5)
        f.quad(left="left", right="right", bottom="bottom", top="top", source=S["focus"], fill_alpha=0,
               line_color="#ff7f00", line_width=5)
        f.quad(left="left", right="right", bottom="bottom", top="top", source=S["marks"], fill_alpha=0,
               line_color="color", line_dash="dash", line_width=3.5)
        f.multi_line("xs", "ys", source=S["crosses"], line_color=GONE_COLOR, line_width=3.5)
        f.quad(left="left", right="right", bottom="bottom", top="top", source=S["ghost"], fill_color=SELECT_COLOR,
               fill_alpha=0.15, line_color=SELECT_COLOR, line_dash="dashed", line_width=2.5)
        f.text("x", "y", "text", source=S["labels"], text_align="center", text_baseline="middle",
               text_font_size="11px", text_color="#222222")
        f.text("x", "y", "text", source=S["titles"], text_align="center", text_baseline="bottom",
               text_font_size="13px", text_font_style="bold", text_color="#222222")
        f.text("x", "y", "text", source=S["notes"], text_align="center", text_baseline="top",
               text_font_size="12px", text_color="#b2182b", text_font_style="bold")
        f.add_tools(HoverTool(renderers=list(lines.values()), tooltips=[("path", "@path"), ("", "@kind"),
                                                                         ("", "@status")], line_policy="interp"))
        f.add_tools(HoverTool(renderers=[rects], tooltips=[("", "@ref"), ("neurons", "@size"), ("", "@role")]))
        # legend swatches drawn by off-screen proxies: an empty renderer draws no swatch
        far = [[-1e6, -1e6 + 1]]
        proxies = [f.multi_line(far, [[-1e6, -1e6]], line_color=c, line_dash=d, line_width=2.5)
                   for c, d in ((FF_COLOR, "solid"), (FB_COLOR, "dashed"), (OFF_COLOR, "solid"))]
        legend = Legend(items=[LegendItem(label="feedforward path (learnable)", renderers=[proxies[0]]),
                               LegendItem(label="feedback path (fixed)", renderers=[proxies[1]]),
                               LegendItem(label="suppressed in this task", renderers=[proxies[2]])],
                        location="top_left", orientation="horizontal", label_text_font_size="11px",
                        nrows=self.legend_rows if self.legend_rows > 1 else "auto",
                        background_fill_alpha=0.8, padding=2, margin=2)
        f.add_layout(legend, "above")
        self.figure = f
        #: on_tap(x, y) and on_drag(stage, x, y) (stage: start, move, end), in the drawing's units
        self.on_tap = self.on_drag = None
        if self.editable:
            from bokeh import events

            f.name = "ap-network"
            # a second click soon after the first is a double tap to Bokeh: a click all the same
            for ev in (events.Tap, events.DoubleTap):
                f.on_event(ev, lambda e: self.on_tap and self.on_tap(e.x, e.y))
            for ev, stage in ((events.PanStart, "start"), (events.Pan, "move"), (events.PanEnd, "end")):
                f.on_event(ev, lambda e, stage=stage: self.on_drag and self.on_drag(stage, e.x, e.y))
        self._pane = pn.pane.Bokeh(f, sizing_mode="stretch_width")
        self.show(wiring, task)

    @edits_models
    def show(self, wiring: Wiring | None, task: str | None = None, highlight: dict | None = None,
             problem: str = "", pending: Wiring | None = None, marks: dict | None = None) -> None:
        """Redraw for ``wiring`` with ``task``'s suppressed paths grey and an optional highlight.

        ``problem``: the wiring is an invalid draft (:meth:`WiringModel.draft`): it is drawn as it
        stands, framed in red, with the problem written above it."""
        try:
            d = graph_data(wiring, task, highlight, pending, marks)
        except Exception:  # noqa: BLE001 - a draft the layout cannot place: the problem alone is drawn
            if not problem:
                raise
            d = graph_data(None)
        if problem:
            x0, y0, x1, y1 = d["extent"]
            d["notes"] = {"x": [*d["notes"]["x"], (x0 + x1) / 2], "y": [*d["notes"]["y"], y1 + 0.6],
                          "text": [*d["notes"]["text"], "⚠ not valid: " + _wrap(problem)]}
            lines = 1 + d["notes"]["text"][-1].count("\n")
            d["extent"] = (x0, y0, x1, y1 + 0.7 + 0.35 * lines)
            d["height"] = L.height_px(d["extent"])
        self.problem = problem
        self.figure.outline_line_color = "#b2182b" if problem else None
        self.figure.outline_line_width = 3 if problem else 1
        old, self.data = self.data, d
        for k, src in self.sources.items():
            if old.get(k) != d[k]:  # what did not change is not sent again (a click changes only its marks)
                src.data = d[k]
        x0, y0, x1, y1 = d["extent"]
        f = self.figure
        f.x_range.start, f.x_range.end = x0, x1
        f.y_range.start, f.y_range.end = y0, y1
        if (wiring is not None or problem) and f.height != d["height"]:
            f.height = d["height"]

    def __panel__(self):
        return pn.Column(self._pane, pn.pane.HTML(BLOCK_LEGEND, margin=(0, 10)), sizing_mode="stretch_width")


#: A long module name wraps inside its column (even without spaces) instead of pushing the others out of view.
TABLE_CSS = (".tabulator-cell[tabulator-field='module'] { white-space: pre-wrap; overflow-wrap: anywhere; "
             "word-break: break-word; }")


def layers_wiring(method: str, n_in: int, hidden, n_out: int) -> Wiring:
    """A baseline's layered network (BP, FA, EP), drawn with the graph's boxes: the input, one box per
    hidden layer (its neurons, one block ``layer``: no AP roles) and the output, joined by its learned
    weights.  For drawing only."""
    from ..baselines import DEFAULT_HIDDEN, parse_hidden
    from ..wiring import Module, Path, Port

    sizes = parse_hidden(tuple(hidden) if isinstance(hidden, list) else hidden) or DEFAULT_HIDDEN.get(method, (256,))
    mods = [Module(f"hidden {i}", n, (("layer", n),)) for i, n in enumerate(sizes, 1)]
    ends = ["x", *(f"{m.name}.layer" for m in mods), "y"]
    paths = [Path(a, b) for a, b in zip(ends, ends[1:])]
    return Wiring.create(mods, [Port("x", n_in)], [Port("y", n_out)], paths, [], name=method, warn=False)


def _wrap(text: str, width: int = 70) -> str:
    """``text`` in lines of about ``width`` characters (the figure draws no wrapping of its own)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


BLOCK_LEGEND = " ".join(
    f'<span style="white-space:nowrap"><span style="display:inline-block;width:0.9em;height:0.9em;background:{c};'
    f'vertical-align:middle"></span> '
    f'<span class="ap-block-legend" style="font-size:0.9em;margin-right:0.9em">{b}: {d}</span></span>'
    for b, c, d in (("RI", L.ROLE_COLORS["RI"], "receives inference"), ("SI", L.ROLE_COLORS["SI"], "sends inference"),
                    ("RE", L.ROLE_COLORS["RE"], "receives error"), ("SE", L.ROLE_COLORS["SE"], "sends error"),
                    ("x", L.PORT_COLORS["input"], "input port"), ("y", L.PORT_COLORS["output"], "output port")))


def parse_blocks(text: str) -> dict:
    """'RI 64, SI 64, RE 64, SE 64' (or 'RI:64 ...') -> {'RI': 64, ...}; errors say what is wrong."""
    out = {}
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        bits = part.replace(":", " ").replace("=", " ").split()
        if len(bits) != 2:
            raise ApexplorerError(f"block {part!r} must look like 'RI 64' (a name and a size)")
        try:
            out[bits[0]] = int(bits[1])
        except ValueError:
            raise ApexplorerError(f"block {bits[0]!r}: size {bits[1]!r} is not an integer") from None
    return out


def format_blocks(blocks) -> str:
    items = blocks.items() if isinstance(blocks, dict) else blocks
    return ", ".join(f"{b} {s}" for b, s in items)


class NetworkEditor(pn.viewable.Viewer):
    """Widgets that edit a :class:`WiringModel`; the graph redraws on every valid edit.

    Parameters
    ----------
    model : WiringModel
    load_preset : callable (name) -> None, optional
        What the "Load preset" button does (the explorer also picks the
        datasets and settings); default: the preset for 64 features, 10 classes.
    """

    def __init__(self, model: WiringModel, load_preset=None, **params):
        super().__init__(**params)
        self.model = model
        self._load = load_preset
        self.error = message("danger")
        self.note = message("warning")
        self.preset = pn.widgets.Select(label="Preset", options=preset_names(), value="digits", width=160)
        self.load_preset = pn.widgets.Button(label="Load preset", color="primary", width=110, align="end")
        self.load_preset.on_click(self._on_preset)
        self.modules = pn.widgets.Tabulator(
            self._module_frame(), show_index=False, sizing_mode="stretch_width", layout="fit_data",
            editors={"module": None}, titles={"spectral_radius": "ρ", "connection_rate": "c"},
            # every column as wide as its text, never cut ("100,0"); long block lists wrap
            formatters={"blocks": {"type": "textarea"}, "module": {"type": "textarea"}},
            configuration={"columnDefaults": {"headerSort": False}},
            stylesheets=[TABLE_CSS])
        self.modules.on_edit(self._on_module_edit)
        self.new_name = pn.widgets.TextInput(label="New module", placeholder="L3", width=90)
        self.new_size = pn.widgets.IntInput(label="Size", value=256, width=90)
        self.add_module = pn.widgets.Button(label="Add module", width=110, align="end")
        self.add_module.on_click(self._on_add_module)
        self.del_module = pn.widgets.Select(label="Module", options=[], width=110)
        self.remove_module = pn.widgets.Button(label="Remove module", color="danger", variant="outline",
                                               width=130, align="end")
        self.remove_module.on_click(lambda e: self.model.remove_module(self.del_module.value))
        self.path_kind = pn.widgets.RadioButtonGroup(options=["feedforward", "feedback"], value="feedforward",
                                                     align="end")
        self.path_src = pn.widgets.Select(label="Source", options=[], width=120)
        self.path_dst = pn.widgets.Select(label="Target", options=[], width=120)
        self.add_path = pn.widgets.Button(label="Add path", width=90, align="end")
        self.add_path.on_click(self._on_add_path)
        self.del_path = pn.widgets.Select(label="Path", options=[], width=200)
        self.remove_path = pn.widgets.Button(label="Remove path", color="danger", variant="outline",
                                             width=120, align="end")
        self.remove_path.on_click(lambda e: self.model.remove_path(self.del_path.value))
        self.path_kind.param.watch(lambda e: self._refresh_endpoints(), "value")
        self.json = pn.widgets.TextAreaInput(label="Wiring JSON", height=220, sizing_mode="stretch_width")
        self.import_json = pn.widgets.Button(label="Import JSON", color="primary", width=120)
        self.import_json.on_click(lambda e: self.model.load_json(self.json.value))
        self.upload = pn.widgets.FileInput(accept=".json", multiple=False, width=220)
        self.upload.param.watch(self._on_upload, "value")
        self.download = pn.widgets.FileDownload(callback=self._export, filename="wiring.json", 
                                                label="Export wiring.json", width=180)
        model.param.watch(self._on_model, ["spec", "error", "notes"])
        self._on_model()

    # -------------------------------------------------------------- events
    def _on_preset(self, event=None):
        name = self.preset.value
        if self._load is not None:
            self._load(name)
        else:
            n = len(MULTITASK.get(name, (None,)))
            self.model.load_preset(name, [64] * n if n > 1 else 64, [10] * n if n > 1 else 10)

    def _on_add_module(self, event=None):
        name = self.new_name.value.strip() or self._free_name()
        self.model.add_module(name, self.new_size.value)
        if not self.model.error:
            self.new_name.value = ""

    def _free_name(self):
        i = len(self.model.module_names) + 1
        while f"L{i}" in self.model.module_names:
            i += 1
        return f"L{i}"

    def _on_module_edit(self, event):
        row = self.modules.value.iloc[event.row]
        name = row["module"]
        if event.column == "size":
            self.model.resize_module(name, size=_int(event.value))
        elif event.column == "blocks":
            try:
                self.model.resize_module(name, blocks=parse_blocks(str(event.value)))
            except ApexplorerError as e:
                self.model.error = f"module {name!r}: {e}"
        elif event.column in ("spectral_radius", "connection_rate"):
            self.model.set_module_value(name, event.column, _num(event.value))
        self._refresh_table()

    def _on_add_path(self, event=None):
        self.model.add_path(self.path_kind.value, self.path_src.value, self.path_dst.value)

    def _on_upload(self, event):
        if not event.new:
            return
        raw = event.new
        text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
        self.json.value = text
        self.model.load_json(text)

    def _export(self):
        return io.StringIO(self.model.to_json())

    def _on_model(self, *events):
        m = self.model
        show(self.error, m.error)
        show(self.note, "\n".join(m.notes))
        self._refresh_table()
        _set_options(self.del_module, m.module_names)
        _set_options(self.del_path, m.path_names)
        self._refresh_endpoints()
        if not m.error or not self.json.value:
            self.json.value = m.to_json()

    def _refresh_table(self):
        df = self._module_frame()
        widths = column_widths(df, {"spectral_radius": "ρ", "connection_rate": "c"}, wrap={"blocks": 180,
                                                                                            "module": 76})
        if widths != self.modules.widths:  # Tabulator fits its columns to the first data only
            self.modules.widths = widths
        old = self.modules.value
        if old is None or list(old.columns) != list(df.columns) or not old.equals(df):  # a new path: the same rows
            self.modules.value = df

    def _refresh_endpoints(self):
        k = self.path_kind.value
        _set_options(self.path_src, self.model.endpoints(k, "source"))
        _set_options(self.path_dst, self.model.endpoints(k, "target"))

    def _module_frame(self):
        import pandas as pd

        rows = []
        for mod in self.model.spec.get("modules", []):
            rows.append({"module": mod["name"], "size": mod.get("size"),
                         "blocks": format_blocks(mod.get("blocks", {})),
                         "spectral_radius": mod.get("spectral_radius", 0.25),
                         "connection_rate": mod.get("connection_rate", 0.25)})
        return pd.DataFrame(rows, columns=["module", "size", "blocks", "spectral_radius", "connection_rate"])

    def __panel__(self):
        return pn.Column(
            pn.Row(self.preset, self.load_preset),
            self.error, self.note,
            pn.pane.Markdown("**Modules** (edit size, blocks, ρ or c in the table; blocks read `RI 64, SI 64, ...`)",
                             margin=(0, 5)),
            self.modules,
            pn.Row(self.new_name, self.new_size, self.add_module),
            pn.Row(self.del_module, self.remove_module),
            pn.pane.Markdown("**Paths** (feedforward paths learn; feedback paths carry the error and stay fixed)",
                             margin=(0, 5)),
            pn.Row(self.path_kind),
            pn.Row(self.path_src, self.path_dst, self.add_path),
            pn.Row(self.del_path, self.remove_path),
            pn.Card(self.json, pn.Row(self.import_json, self.download), pn.Row("Or upload a file:", self.upload),
                    title="Import / export wiring JSON", collapsed=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )


def column_widths(df, titles: dict, wrap: dict | None = None, px_per_char: float = 7.2, pad: int = 16) -> dict:
    """Pixel width of each column of ``df``: its longest text (numbers as the table writes them,
    the title in bold), at most ``wrap[column]`` for a column whose text wraps."""
    out = {}
    for c in df.columns:
        cells = [f"{v:,}" if isinstance(v, int) else str(v) for v in df[c].tolist()]
        need = max([len(t) * px_per_char + pad for t in cells] + [len(titles.get(c, c)) * 8.5 + 24])  # bold title
        out[c] = int(min(need, (wrap or {}).get(c, 10**6)))
    return out


def _set_options(select, options):
    """New options, keeping the value when it is still valid (else the first option)."""
    value = select.value
    select.options = list(options)
    select.value = value if value in options else (options[0] if options else None)


def _int(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f == int(f) else f


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


__all__ = ["NetworkEditor", "NetworkGraph", "format_blocks", "graph_data", "parse_blocks"]
