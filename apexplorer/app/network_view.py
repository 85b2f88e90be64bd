"""The Network panel: a drawing of the wiring and the widgets that edit it.

:func:`graph_overlay` draws a wiring (HoloViews, Bokeh backend): module
blocks coloured by role, input and output ports, feedforward paths solid
(learnable), feedback paths dashed (fixed), paths suppressed in the shown
task grey.  An optional ``highlight`` (from the error-flow player) marks the
module at work, thickens the paths in use and writes each module's |e|.

:class:`NetworkGraph` redraws through an ``hv.streams.Pipe``;
:class:`NetworkEditor` edits a :class:`WiringModel` with widgets: presets,
a table of modules (size, blocks, rho, c), adding and removing modules and
paths, JSON import and export.  Validation errors show in the library's words.
"""

from __future__ import annotations

import io
import math

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..errors import ApexplorerError
from ..presets import MULTITASK, preset_names
from ..wiring import Wiring
from . import layout as L
from .wiring_model import WiringModel

FF_COLOR = "#2166ac"
FB_COLOR = "#d6604d"
OFF_COLOR = "#cccccc"


def _empty_overlay():
    return graph_overlay(None)


def graph_overlay(wiring: Wiring | None, task: str | None = None, highlight: dict | None = None) -> hv.Overlay:
    """The wiring as one HoloViews overlay with a fixed set of layers (so it can stream).

    Parameters
    ----------
    wiring : Wiring or None
    task : str, optional
        Paths inactive in this task are grey.
    highlight : dict, optional
        ``module``: module at work; ``paths``: {path: width} to thicken;
        ``labels``: {module or port: text} written under it.
    """
    hl = highlight or {}
    rect_cols = ["x0", "y0", "x1", "y1", "ref", "label", "size", "color", "role"]
    rows, frames, labels, titles = [], [], [], []
    ff_rows = {True: [], False: []}
    fb_rows = {True: [], False: []}
    heads = []
    if wiring is not None:
        bxs = L.boxes(wiring)
        t = wiring.task(task) if task in [t.name for t in wiring.tasks] else wiring.tasks[0]
        active = set(wiring.active_paths(t))
        frozen = set(t.frozen)
        for b in bxs:
            color = L.role_color(b.block) if b.kind == "block" else L.PORT_COLORS[b.kind]
            role = b.kind if b.kind != "block" else f"block of {b.node}"
            rows.append((b.x0, b.y0, b.x1, b.y1, b.ref, b.label, b.size, color, role))
            labels.append(((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, b.label))
            if b.kind != "block":
                titles.append(((b.x0 + b.x1) / 2, b.y1 + 0.25, "input" if b.kind == "input" else "output"))
        for name, (x0, y0, x1, y1) in L.module_frames(wiring, bxs).items():
            frames.append((x0, y0, x1, y1, name))
            titles.append(((x0 + x1) / 2, y1 + 0.25, name))
        for e in L.edges(wiring, bxs):
            on = e.name in active
            learn = e.kind == "feedforward" and e.name not in frozen
            width = float(hl.get("paths", {}).get(e.name, 2.0 if on else 1.2))
            status = ("active" if on else "suppressed") + ("" if e.kind == "feedback" or learn or not on else ", frozen")
            rec = {"x": np.array(e.xs), "y": np.array(e.ys), "path": e.name,
                   "kind": "feedforward (learnable)" if e.kind == "feedforward" else "feedback (fixed)",
                   "status": status, "width": width}
            (ff_rows if e.kind == "feedforward" else fb_rows)[on].append(rec)
            heads.append((e.xs[-1], e.ys[-1], e.angle - math.pi / 2,
                          (FF_COLOR if e.kind == "feedforward" else FB_COLOR) if on else OFF_COLOR))
    rects = hv.Rectangles(rows, kdims=["x0", "y0", "x1", "y1"], vdims=rect_cols[4:]).opts(
        color="color", line_color="white", line_width=1, tools=["hover"],
        hover_tooltips=[("", "@ref"), ("neurons", "@size"), ("", "@role")])
    outline = hv.Rectangles(frames, kdims=["x0", "y0", "x1", "y1"], vdims=["module"]).opts(
        fill_alpha=0, line_color="#444444", line_width=1.5)
    active_mod = [f for f in frames if f[4] == hl.get("module")]
    focus = hv.Rectangles(active_mod, kdims=["x0", "y0", "x1", "y1"], vdims=["module"]).opts(
        fill_alpha=0, line_color="#ff7f00", line_width=5)

    def paths(recs, color, dash, label):
        if not recs:  # an empty Path cannot be drawn; a NaN one draws nothing and keeps the legend
            recs = [{"x": np.array([np.nan, np.nan]), "y": np.array([np.nan, np.nan]), "path": "", "kind": "",
                     "status": "", "width": 1.0}]
        return hv.Path(recs, vdims=["path", "kind", "status", "width"]).opts(
            color=color, line_width="width", line_dash=dash, tools=["hover"],
            hover_tooltips=[("path", "@path"), ("", "@kind"), ("", "@status")])

    def proxy(color, dash, label):  # hv.Path draws no legend entry: a NaN curve carries it
        return hv.Curve([(np.nan, np.nan)], "x", "y", label=label).opts(color=color, line_dash=dash, line_width=2.5)

    layers = [
        proxy(FF_COLOR, "solid", "feedforward path (learnable)"),
        proxy(FB_COLOR, "dashed", "feedback path (fixed)"),
        proxy(OFF_COLOR, "solid", "suppressed in this task"),
        paths(ff_rows[False], OFF_COLOR, "solid", "suppressed in this task"),
        paths(fb_rows[False], OFF_COLOR, "dashed", "suppressed in this task"),
        paths(ff_rows[True], FF_COLOR, "solid", "feedforward (learnable)"),
        paths(fb_rows[True], FB_COLOR, "dashed", "feedback (fixed)"),
        hv.Points(heads, vdims=["angle", "color"]).opts(marker="triangle", angle="angle", color="color", size=9),
        rects, outline, focus,
        hv.Labels(labels, vdims=["text"]).opts(text_font_size="8pt", text_color="#222222"),
        hv.Labels(titles, vdims=["text"]).opts(text_font_size="10pt", text_font_style="bold", text_color="#222222"),
        hv.Labels([(x, y, s) for (x, y, s) in hl.get("notes", [])], vdims=["text"]).opts(
            text_font_size="9pt", text_color="#b2182b"),
    ]
    ov = hv.Overlay(layers)
    if rows:
        x0, y0, x1, y1 = L.extent(L.boxes(wiring))
        ov = ov.redim.range(x=(x0, x1), y=(y0, y1))
    return ov


class NetworkGraph(pn.viewable.Viewer):
    """A live drawing of a wiring; call :meth:`show` to redraw."""

    height = param.Integer(330)

    def __init__(self, wiring: Wiring | None = None, task: str | None = None, **params):
        super().__init__(**params)
        self._pipe = hv.streams.Pipe(data={"wiring": wiring, "task": task, "highlight": None})
        dmap = hv.DynamicMap(lambda data: graph_overlay(**data), streams=[self._pipe])
        self._pane = pn.pane.HoloViews(dmap.opts(
            hv.opts.Overlay(xaxis=None, yaxis=None, show_grid=False, toolbar="above", responsive=True,
                            height=self.height, legend_position="top_left", show_legend=True,
                            active_tools=[], default_tools=["pan", "wheel_zoom", "reset", "save"],
                            show_frame=False)), sizing_mode="stretch_width", min_height=self.height)

    def show(self, wiring: Wiring | None, task: str | None = None, highlight: dict | None = None) -> None:
        self._pipe.send({"wiring": wiring, "task": task, "highlight": highlight})

    @property
    def data(self) -> dict:
        return self._pipe.data

    def __panel__(self):
        return pn.Column(self._pane, pn.pane.HTML(BLOCK_LEGEND, margin=(0, 10)), sizing_mode="stretch_width")


BLOCK_LEGEND = " ".join(
    f'<span style="display:inline-block;width:12px;height:12px;background:{c};vertical-align:middle"></span> '
    f'<span style="font-size:12px;margin-right:12px">{b}: {d}</span>'
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
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.note = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.preset = pn.widgets.Select(label="Preset", options=preset_names(), value="digits", width=160)
        self.load_preset = pn.widgets.Button(label="Load preset", color="primary", width=110, align="end")
        self.load_preset.on_click(self._on_preset)
        self.modules = pn.widgets.Tabulator(
            self._module_frame(), show_index=False, sizing_mode="stretch_width", layout="fit_data_stretch",
            editors={"module": None}, titles={"spectral_radius": "ρ", "connection_rate": "c"},
            widths={"blocks": 170}, configuration={"columnDefaults": {"headerSort": False}})
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
        self.error.object = m.error
        self.error.visible = bool(m.error)
        self.note.object = "<br>".join(m.notes)
        self.note.visible = bool(m.notes)
        self._refresh_table()
        _set_options(self.del_module, m.module_names)
        _set_options(self.del_path, m.path_names)
        self._refresh_endpoints()
        if not m.error or not self.json.value:
            self.json.value = m.to_json()

    def _refresh_table(self):
        self.modules.value = self._module_frame()

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


__all__ = ["MULTITASK", "NetworkEditor", "NetworkGraph", "format_blocks", "graph_overlay", "parse_blocks"]
