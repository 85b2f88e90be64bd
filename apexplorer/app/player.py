"""The error-flow player: step or scrub through both phases of one sample on the graph.

:func:`flow_frames` turns a :class:`Trace` and its wiring into a list of
frames, in the order AP does the work: the input arrives; each module relaxes
in the inference phase (one frame per step); the readout gives o; the output
error ``o - y`` enters through the feedback paths; each module relaxes again
with the error injected (one frame per step); each module's local error
``e = z0 - z1``; and each learnable path's update ``dA = a^T e``.  A frame
says which module works, which paths carry signal, and what to plot beside
the graph; the formula panel beside it lights the frame's terms
(:mod:`.formulas`).  :class:`ErrorFlowPlayer` shows the frames with a Player widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import panel as pn
import param
from bokeh.core.properties import value
from bokeh.models import ColorBar, DataRange1d, FactorRange, LinearColorMapper, Range1d
from bokeh.palettes import Greys256
from bokeh.plotting import figure

from ..trace import Trace
from ..wiring import Wiring
from . import layout as L
from .formulas import FormulaPanel
from .live import LiveView, not_ap
from .network_view import NetworkGraph
from .plots import edits_models, hover, make_figure, place_legend, source
from .safe import escape, plain


@dataclass
class Frame:
    """One moment of the error flow."""

    title: str
    text: str
    phase: str  # input, inference, readout, error, learning, local, update
    module: str | None = None
    step: int = 0
    paths: dict = field(default_factory=dict)  # path -> drawn width
    notes: dict = field(default_factory=dict)  # module or port -> text under it


def _names(paths) -> str:
    """Path names as inline code (Markdown would turn 'L2.RE' into a link); a name with a backtick, escaped."""
    return ", ".join(f"`{plain(n)}`" if "`" not in plain(n) else escape(n) for n in paths) or "no path"


def flow_frames(p: Trace, wiring: Wiring) -> list:
    """The frames of one sample's pass through both phases (see the module docstring)."""
    out = [Frame("Input", f"Test sample of class {p.y} enters at input {escape(repr(p.input))} ({len(p.x)} values).",
                 "input")]
    t1 = {m: len(v) - 1 for m, v in p.traj0.items()}
    t2 = {m: len(v) - 1 for m, v in p.traj1.items()}
    for m in p.inference_order:
        paths = {n: 5.0 for n in p.feedforward_in.get(m, ())}
        for t in range(1, t1.get(m, 0) + 1):
            out.append(Frame(
                f"Phase 0 · {m} relaxes · step {t}/{t1[m]}",
                f"Inference: module **{escape(m)}** iterates h ← tanh(h W + u⁰) under the drive u⁰ of "
                f"{_names(paths)}. Its recurrent W is fixed.", "inference", m, t, paths))
    ro = {q.name: 5.0 for q in wiring.feedforward if q.target == p.output and q.name in
          set(wiring.active_paths(wiring.task(p.task)))}
    ok = "correct" if p.predicted == p.y else "wrong"
    out.append(Frame("Readout", f"o = softmax(z⁰ A_out + c): the network says **{p.predicted}** "
                     f"(p = {p.probs[p.predicted]:.2f}); the answer is **{p.y}** ({ok}).", "readout", None, 0, ro))
    fb_out = {n: 5.0 for m, ns in p.feedback_in.items() for n in ns if wiring.path(n).source == p.output}
    out.append(Frame("The error enters", f"e_out = o − y (mean |e_out| = {np.abs(p.e_out).mean():.3f}) is sent "
                     f"back through the fixed feedback path(s) {_names(fb_out)}.", "error", None, 0,
                     fb_out, {p.output: f"|e|={np.abs(p.e_out).mean():.3f}"}))
    notes = {p.output: f"|e|={np.abs(p.e_out).mean():.3f}"}
    for m in p.learning_order:
        paths = {n: 5.0 for n in p.feedback_in.get(m, ())}
        start = "from 0 (STE)" if p.mode == "ste" else "from z⁰ (EPE)"
        for t in range(1, t2.get(m, 0) + 1):
            out.append(Frame(
                f"Phase 1 · {m} relaxes with the error · step {t}/{t2[m]}",
                f"Learning: module **{escape(m)}** restarts {start} and iterates h ← tanh(h W + u⁰ − β ε G) with the "
                f"error ε injected through {_names(paths)} (β = {p.beta:g}).",
                "learning", m, t, paths, dict(notes)))
        notes[m] = f"|e|={np.abs(p.e[m]).mean():.3g}"
        out.append(Frame(f"Local error of {m}", f"e = z⁰ − z¹: how much the injected error moved **{escape(m)}** "
                         f"(mean |e| = {np.abs(p.e[m]).mean():.3g}). Its SE block sends it on.", "local", m, 0,
                         {}, dict(notes)))
    norms = p.update_norms()
    top = max(norms.values(), default=0.0) or 1.0
    widths = {n: 1.5 + 8.0 * v / top for n, v in norms.items()}
    lines = ", ".join(f"`{n}`: {v:.3g}" for n, v in sorted(norms.items(), key=lambda kv: -kv[1]))
    out.append(Frame("Updates", "Each learnable path learns locally, ΔA = aᵀ e[target block] (its source's activity "
                     f"times its target's error). Line width ∝ ‖ΔA‖: {lines or 'no learnable path'}.", "update",
                     None, 0, widths, dict(notes)))
    return out


class ErrorFlowPlayer(LiveView):
    """Step or scrub through both phases of the recorded sample on the network graph."""

    frame = param.Integer(0, bounds=(0, None))
    follow_live = param.Boolean(True, label="Follow the live sample",
                                doc="Take each newly recorded sample (untick to keep this one while scrubbing).")
    height = param.Integer(230)
    legend_rows = param.Integer(1, bounds=(1, 3), doc=(
        "Rows of the graph's paths legend: the explorer's narrow player takes 2. In JupyterLab a legend of 2 rows "
        "stops the player's graph from redrawing (Next changes nothing), so a notebook keeps 1."))

    def __init__(self, **params):
        super().__init__(**params)
        self.trace: Trace | None = None
        self.wiring: Wiring | None = None
        self.frames: list = []
        self.graph = NetworkGraph(height=300, key="flow-graph", legend_rows=self.legend_rows)
        self.player = pn.widgets.Player(start=0, end=1, value=0, interval=400, loop_policy="once",
                                        sizing_mode="stretch_width", show_value=False)
        self.player.link(self, value="frame")
        self.title = pn.pane.Markdown("### Error-flow player\nTrain or step once to record a sample.",
                                      margin=(0, 10))
        self.text = pn.pane.Markdown("", margin=(0, 10), sizing_mode="stretch_width")
        self.formulas = FormulaPanel()
        self._build_detail()
        self.detail = pn.Column(self._detail_panes["image"], sizing_mode="stretch_width")
        self.back = pn.widgets.Button(label="◀ Back", width=80)
        self.next = pn.widgets.Button(label="Next ▶", width=80, color="primary")
        self.back.on_click(lambda e: self._go(-1))
        self.next.on_click(lambda e: self._go(1))
        self.sample = pn.widgets.IntInput(label="Test sample index", value=0, start=0, width=140)
        self.record = pn.widgets.Button(label="Record this sample", width=150, align="end")
        self._runner = None

    def use_runner(self, runner) -> None:
        """Let the sample controls ask ``runner`` for a new recording."""
        self._runner = runner

        def ask(event=None):
            runner.trace_index = int(self.sample.value or 0)
            runner.request_trace()
            self.follow_live = True

        self.record.on_click(ask)

    def _go(self, delta: int) -> None:
        if self.frames:
            self.frame = max(0, min(len(self.frames) - 1, self.frame + delta))

    # ---------------------------------------------------------------- data
    def on_reset(self, info):
        if info.get("wiring") is not None:
            self.wiring = info["wiring"]
        self.trace = None
        note = not_ap(info)
        if note:  # a baseline has no phases to play: the last AP network's sample goes
            self.frames, self.wiring = [], None
            self.title.object = f"### Error-flow player\n{note}"
            self.text.object = ""
            self.graph.show(None)
        elif self.title.object.startswith("### Error-flow player\nThis run trains"):
            self.title.object = "### Error-flow player\nTrain or step once to record a sample."

    def on_trace(self, p: Trace):
        if self.trace is not None and not self.follow_live:
            return
        self.trace = p
        self._dirty = True

    @edits_models
    def set_trace(self, p: Trace, wiring: Wiring) -> None:
        """Show ``p`` (recorded on ``wiring``)."""
        self.wiring = wiring
        self.trace = p
        self._dirty = True
        self.flush()

    def flush(self):
        if not getattr(self, "_dirty", False) or self.trace is None or self.wiring is None:
            return
        self._dirty = False
        self.frames = flow_frames(self.trace, self.wiring)
        end = max(len(self.frames) - 1, 1)
        self.player.end = end
        if self.frame > end:
            self.frame = end
        self._show()

    @param.depends("frame", watch=True)
    @edits_models
    def _show(self):
        if not self.frames:
            return
        i = min(self.frame, len(self.frames) - 1)
        f = self.frames[i]
        if self.player.value != i:
            self.player.value = i
        self.title.object = f"### {escape(f.title)}\nframe {i + 1} of {len(self.frames)}"
        self.text.object = f.text
        self.formulas.show(f.phase)
        notes = []
        if self.wiring is not None:
            bxs = L.boxes(self.wiring)
            frames_ = L.module_frames(self.wiring, bxs)
            ports = {b.node: b for b in bxs if b.kind != "block"}
            for node, txt in f.notes.items():
                if node in frames_:
                    x0, y0, x1, _ = frames_[node]
                elif node in ports:
                    b = ports[node]
                    x0, y0, x1 = b.x0, b.y0, b.x1
                else:
                    continue
                notes.append(((x0 + x1) / 2, y0 - 0.3, txt))
        self.graph.show(self.wiring, self.trace.task, {"module": f.module, "paths": f.paths, "notes": notes})
        self._draw_detail(f, self.trace)
        # In a notebook a click's raw Bokeh edits (the graph, the plots) left unsent when its handler
        # returns are dropped (Panel sends only its own panes' changes): send them now
        self.send()

    # ------------------------------------------------------------- detail
    def _build_detail(self):
        """Four small figures; each frame shows the one that fits it."""
        h = self.height
        self.state_src = source(x=[], y=[])
        self.state_src.name = "flow-state"
        self.ref_src = source(x=[], y=[])
        self.block_src = source(left=[], right=[], color=[], block=[])
        f = make_figure("", "neuron index", "state h (tanh units)", h)
        f.quad(left="left", right="right", bottom=-1e3, top=1e3, source=self.block_src, fill_color="color",
               fill_alpha=0.22, line_color=None, legend_field="block")
        ref = f.line("x", "y", source=self.ref_src, color="#8c8c8c", line_width=1.5, legend_label="z⁰ (end of phase 0)")
        cur = f.line("x", "y", source=self.state_src, color="#2166ac", line_width=1.5, legend_label="h")
        f.y_range = DataRange1d(renderers=[ref, cur])
        place_legend(f)
        f.add_layout(f.legend[0], "right")  # beside the plot, never over the neurons
        self.state_fig, self.ref_line, self.cur_line = f, ref, cur
        self.out_src = source(x=[], v=[], color=[])
        g = make_figure("", "class · quantity", "probability / error", h, x_range=FactorRange())
        g.vbar(x="x", top="v", width=0.8, source=self.out_src, color="color")
        g.xaxis.major_label_orientation = 0.9
        g.xaxis.group_text_font_size = "11px"
        self.out_fig = g
        self.upd_src = source(path=[], norm=[])
        u = make_figure("Size of each learnable path's update for this sample", "learnable path",
                        "‖ΔA‖ (Frobenius norm)", h, x_range=FactorRange())
        r = u.vbar(x="path", top="norm", width=0.7, source=self.upd_src, color="#2166ac")
        u.add_tools(hover([r], [("path", "@path"), ("‖ΔA‖", "@norm{0.0000}")]))
        u.xaxis.major_label_orientation = 0.5
        u.y_range.start = 0
        self.upd_fig = u
        self.img_src = source(image=[], dw=[], dh=[])
        self.img_mapper = LinearColorMapper(palette=Greys256[::-1], low=0, high=1)  # dark ink on light paper
        im = figure(title="", height=h, width=h + 60, tools="save", toolbar_location="above",
                    x_axis_label="pixel column", y_axis_label="pixel row", x_range=Range1d(0, 8),
                    y_range=Range1d(0, 8))
        im.toolbar.logo = None
        im.image(image="image", x=0, y=0, dw="dw", dh="dh", source=self.img_src, color_mapper=self.img_mapper)
        im.add_layout(ColorBar(color_mapper=self.img_mapper, title="input value", width=10), "right")
        self.img_fig = im
        self.feat_src = source(x=[], y=[])
        ft = make_figure("", "input feature", "input value", h)
        ft.line("x", "y", source=self.feat_src, color="#238b45")
        self.feat_fig = ft
        self._detail_panes = {k: pn.pane.Bokeh(fig, sizing_mode="stretch_width" if k != "image" else "fixed")
                              for k, fig in (("state", f), ("out", g), ("update", u), ("image", im),
                                             ("feature", ft))}

    def _draw_detail(self, f: Frame, p: Trace):
        show = None
        if f.phase in ("inference", "learning", "local") and f.module:
            m = f.module
            z0, z1 = p.traj0.get(m), p.traj1.get(m)
            n = (z0 if z0 is not None else z1).shape[1]
            x = list(range(n))
            self.block_src.data = {"left": [s - 0.5 for _, s, e in p.blocks[m] if e > s],
                                   "right": [e - 0.5 for _, s, e in p.blocks[m] if e > s],
                                   "color": [L.role_color(b) for b, s, e in p.blocks[m] if e > s],
                                   "block": [b for b, s, e in p.blocks[m] if e > s]}
            if f.phase == "inference":
                self.ref_src.data = {"x": [], "y": []}
                cur, color, label = z0[f.step], "#2166ac", f"h at step {f.step} of phase 0"
                ylab = "state h (tanh units)"
                title = f"Module {m}, phase 0: every neuron's state"
            elif f.phase == "learning":
                self.ref_src.data = {"x": x, "y": list(map(float, z0[-1]))} if z0 is not None else {"x": [], "y": []}
                cur, color, label = z1[f.step], "#d6604d", f"h at step {f.step} of phase 1"
                ylab = "state h (tanh units)"
                title = f"Module {m}, phase 1: states with the error injected"
            else:
                self.ref_src.data = {"x": [], "y": []}
                cur, color, label = p.e[m], "#b2182b", "local error e = z⁰ − z¹"
                ylab = "e = z⁰ − z¹ (state units)"
                title = f"Module {m}: local error of every neuron"
            self.state_src.data = {"x": x, "y": list(map(float, cur))}
            self.cur_line.glyph.line_color = color
            self.state_fig.legend.items[-1].label = value(label)
            self.state_fig.yaxis.axis_label = ylab
            self.state_fig.title.text = title
            show = "state"
        elif f.phase in ("readout", "error"):
            keys, vals, cols = [], [], []
            for c in range(len(p.probs)):
                keys += [(str(c), "o"), (str(c), "o−y")]
                vals += [float(p.probs[c]), float(p.e_out[c])]
                cols += ["#fd8d3c", "#b2182b"]
            self.out_fig.x_range.factors = keys
            self.out_src.data = {"x": keys, "v": vals, "color": cols}
            self.out_fig.title.text = (f"Output {p.output}: o = probabilities (orange), o − y = error (red); "
                                       f"the right class is {p.y}")
            show = "out"
        elif f.phase == "update":
            rows = sorted(p.update_norms().items(), key=lambda kv: -kv[1])
            self.upd_fig.x_range.factors = [k for k, _ in rows]
            self.upd_src.data = {"path": [k for k, _ in rows], "norm": [v for _, v in rows]}
            show = "update"
        else:
            img = np.asarray(p.x, dtype=float)
            side = int(round(np.sqrt(len(img))))
            if side * side == len(img):
                self.img_src.data = {"image": [img.reshape(side, side)[::-1]], "dw": [side], "dh": [side]}
                self.img_fig.x_range.end = self.img_fig.y_range.end = side
                self.img_mapper.low, self.img_mapper.high = float(img.min()), float(max(img.max(), img.min() + 1e-6))
                self.img_fig.title.text = f"Input sample (class {p.y})"
                show = "image"
            else:
                self.feat_src.data = {"x": list(range(len(img))), "y": list(map(float, img))}
                self.feat_fig.title.text = f"Input sample (class {p.y})"
                show = "feature"
        if show and self.detail.objects != [self._detail_panes[show]]:
            self.detail.objects = [self._detail_panes[show]]

    def __panel__(self):
        """One layout for the player's life: :meth:`send` finds the notebook outputs that show it."""
        if getattr(self, "_layout", None) is None:
            self._layout = self._build_layout()
        return self._layout

    def _build_layout(self):
        steps = pn.Column(
            self.title,
            pn.Row(self.back, self.next, pn.widgets.Checkbox.from_param(self.param.follow_live, align="center")),
            self.player,
            self.text,
            self.graph,
            self.detail,
            pn.Row(self.sample, self.record),
            sizing_mode="stretch_width")
        # the formulas beside the steps, from the top; opaque, so a wide legend of the graph slips under them
        rule = pn.Column(self.formulas, width=380, sizing_mode="fixed",
                         styles={"background": "white", "z-index": "1", "position": "relative"})
        return pn.Row(steps, rule, sizing_mode="stretch_width")
