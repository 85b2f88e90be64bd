"""The error-flow player: step or scrub through both phases of one sample on the graph.

:func:`flow_frames` turns a :class:`Probe` and its wiring into a list of
frames, in the order AP does the work: the input arrives; each module relaxes
in the inference phase (one frame per step); the readout gives o; the output
error ``o - y`` enters through the feedback paths; each module relaxes again
with the error injected (one frame per step); each module's local error
``e = z0 - z1``; and each learnable path's update ``dA = a^T e``.  A frame
says which module works, which paths carry signal, and what to plot beside
the graph.  :class:`ErrorFlowPlayer` shows the frames with a Player widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..probe import Probe
from ..wiring import Wiring
from . import layout as L
from .live import LiveView
from .network_view import NetworkGraph

NEURON = hv.Dimension("neuron", label="neuron index")
VALUE = hv.Dimension("value", label="state h (tanh units)")


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


def _block_text(p: Probe, m: str) -> str:
    return ", ".join(f"{b} {e - s}" for b, s, e in p.blocks.get(m, ()))


def flow_frames(p: Probe, wiring: Wiring) -> list:
    """The frames of one sample's pass through both phases (see the module docstring)."""
    out = [Frame("Input", f"Test sample of class {p.y} enters at input {p.input!r} ({len(p.x)} values).",
                 "input")]
    t1 = {m: len(v) - 1 for m, v in p.traj0.items()}
    t2 = {m: len(v) - 1 for m, v in p.traj1.items()}
    for m in p.inference_order:
        paths = {n: 5.0 for n in p.feedforward_in.get(m, ())}
        for t in range(1, t1.get(m, 0) + 1):
            out.append(Frame(
                f"Phase 0 · {m} relaxes · step {t}/{t1[m]}",
                f"Inference: module **{m}** iterates h ← tanh(h W + u⁰) under the drive u⁰ of "
                f"{', '.join(paths) or 'no path'}. Its recurrent W is fixed.", "inference", m, t, paths))
    ro = {q.name: 5.0 for q in wiring.feedforward if q.target == p.output and q.name in
          set(wiring.active_paths(wiring.task(p.task)))}
    ok = "correct" if p.predicted == p.y else "wrong"
    out.append(Frame("Readout", f"o = softmax(z⁰ A_out + c): the network says **{p.predicted}** "
                     f"(p = {p.probs[p.predicted]:.2f}); the answer is **{p.y}** ({ok}).", "readout", None, 0, ro))
    fb_out = {n: 5.0 for m, ns in p.feedback_in.items() for n in ns if wiring.path(n).source == p.output}
    out.append(Frame("The error enters", f"e_out = o − y (mean |e_out| = {np.abs(p.e_out).mean():.3f}) is sent "
                     f"back through the fixed feedback path(s) {', '.join(fb_out) or '(none)'}.", "error", None, 0,
                     fb_out, {p.output: f"|e|={np.abs(p.e_out).mean():.3f}"}))
    notes = {p.output: f"|e|={np.abs(p.e_out).mean():.3f}"}
    for m in p.learning_order:
        paths = {n: 5.0 for n in p.feedback_in.get(m, ())}
        start = "from 0 (STE)" if p.mode == "ste" else "from z⁰ (EPE)"
        for t in range(1, t2.get(m, 0) + 1):
            out.append(Frame(
                f"Phase 1 · {m} relaxes with the error · step {t}/{t2[m]}",
                f"Learning: module **{m}** restarts {start} and iterates h ← tanh(h W + u⁰ − β ε G) with the "
                f"error ε injected through {', '.join(paths) or 'no path'} (β = {p.beta:g}).",
                "learning", m, t, paths, dict(notes)))
        notes[m] = f"|e|={np.abs(p.e[m]).mean():.3g}"
        out.append(Frame(f"Local error of {m}", f"e = z⁰ − z¹: how much the injected error moved **{m}** "
                         f"(mean |e| = {np.abs(p.e[m]).mean():.3g}). Its SE block sends it on.", "local", m, 0,
                         {}, dict(notes)))
    norms = p.update_norms()
    top = max(norms.values(), default=0.0) or 1.0
    widths = {n: 1.5 + 8.0 * v / top for n, v in norms.items()}
    lines = ", ".join(f"{n}: {v:.3g}" for n, v in sorted(norms.items(), key=lambda kv: -kv[1]))
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

    def __init__(self, **params):
        super().__init__(**params)
        self.probe: Probe | None = None
        self.wiring: Wiring | None = None
        self.frames: list = []
        self.graph = NetworkGraph(height=300)
        self.player = pn.widgets.Player(start=0, end=1, value=0, interval=400, loop_policy="once",
                                        sizing_mode="stretch_width", show_value=True, label="frame")
        self.player.link(self, value="frame")
        self.title = pn.pane.Markdown("### Error-flow player\nTrain or step once to record a sample.",
                                      margin=(0, 10))
        self.text = pn.pane.Markdown("", margin=(0, 10), sizing_mode="stretch_width")
        # the detail plot changes type from frame to frame (states, bars, image): a plain pane, not a DynamicMap
        self.detail = pn.pane.HoloViews(self._detail(None), sizing_mode="stretch_width")
        self.sample = pn.widgets.IntInput(label="Test sample index", value=0, start=0, width=140)
        self.record = pn.widgets.Button(label="Record this sample", width=150, align="end")
        self._runner = None

    def use_runner(self, runner) -> None:
        """Let the sample controls ask ``runner`` for a new recording."""
        self._runner = runner

        def ask(event=None):
            runner.probe_index = int(self.sample.value or 0)
            runner.request_probe()
            self.follow_live = True

        self.record.on_click(ask)

    # ---------------------------------------------------------------- data
    def on_reset(self, info):
        if info.get("wiring") is not None:
            self.wiring = info["wiring"]
        self.probe = None

    def on_probe(self, p: Probe):
        if self.probe is not None and not self.follow_live:
            return
        self.probe = p
        self._dirty = True

    def set_probe(self, p: Probe, wiring: Wiring) -> None:
        """Show ``p`` (recorded on ``wiring``)."""
        self.wiring = wiring
        self.probe = p
        self._dirty = True
        self.flush()

    def flush(self):
        if not getattr(self, "_dirty", False) or self.probe is None or self.wiring is None:
            return
        self._dirty = False
        self.frames = flow_frames(self.probe, self.wiring)
        end = max(len(self.frames) - 1, 1)
        self.player.end = end
        if self.frame > end:
            self.frame = end
        self._show()

    @param.depends("frame", watch=True)
    def _show(self):
        if not self.frames:
            return
        i = min(self.frame, len(self.frames) - 1)
        f = self.frames[i]
        if self.player.value != i:
            self.player.value = i
        self.title.object = f"### {f.title}\nframe {i + 1} of {len(self.frames)}"
        self.text.object = f.text
        notes = []
        if self.wiring is not None:
            bxs = L.boxes(self.wiring)
            frames_ = L.module_frames(self.wiring, bxs)
            ports = {b.node: b for b in bxs if b.kind != "block"}
            for node, txt in f.notes.items():
                if node in frames_:
                    x0, y0, x1, y1 = frames_[node]
                elif node in ports:
                    b = ports[node]
                    x0, y0, x1, y1 = b.x0, b.y0, b.x1, b.y1
                else:
                    continue
                notes.append(((x0 + x1) / 2, y0 - 0.3, txt))
        self.graph.show(self.wiring, self.probe.task, {"module": f.module, "paths": f.paths, "notes": notes})
        self.detail.object = self._detail({"frame": f, "probe": self.probe})

    def _detail(self, data):
        opts = dict(responsive=True, height=self.height, show_grid=True, toolbar="above")
        if not data:
            return hv.Curve([], NEURON, VALUE).opts(title="", **opts)
        f, p = data["frame"], data["probe"]
        if f.phase in ("inference", "learning") and f.module:
            m = f.module
            z0 = p.traj0.get(m)
            z1 = p.traj1.get(m)
            n = (z0 if z0 is not None else z1).shape[1]
            x = np.arange(n)
            layers = _block_spans(p, m, hv.Dimension("value", label="state h (tanh units)"))
            if f.phase == "inference":
                layers.append(hv.Curve((x, z0[f.step]), NEURON, VALUE).relabel(f"h at step {f.step} (phase 0)")
                              .opts(color="#2166ac", line_width=1.5))
            else:
                if z0 is not None:
                    layers.append(hv.Curve((x, z0[-1]), NEURON, VALUE).relabel("z⁰ (end of phase 0)")
                                  .opts(color="#9e9e9e", line_width=1.5))
                layers.append(hv.Curve((x, z1[f.step]), NEURON, VALUE).relabel(f"h at step {f.step} (phase 1)")
                              .opts(color="#d6604d", line_width=1.5))
            return hv.Overlay(layers).opts(title=f"Module {m}: every neuron's state (blocks {_block_text(p, m)})",
                                           legend_position="top_right", **opts)
        if f.phase == "local" and f.module:
            m = f.module
            edim = hv.Dimension("e", label="e = z⁰ − z¹")
            layers = _block_spans(p, m, edim)
            layers.append(hv.Curve((np.arange(len(p.e[m])), p.e[m]), NEURON, edim).relabel("local error e")
                          .opts(color="#b2182b", line_width=1.5))
            return hv.Overlay(layers).opts(title=f"Local error of {m}", legend_position="top_right", **opts)
        if f.phase in ("readout", "error", "input") and f.phase != "input":
            cls = hv.Dimension("class", label="class")
            val = hv.Dimension("v", label="probability / error")
            rows = [(str(c), "o (probability)", float(p.probs[c])) for c in range(len(p.probs))]
            rows += [(str(c), "e_out = o − y", float(p.e_out[c])) for c in range(len(p.e_out))]
            return hv.Bars(rows, [cls, hv.Dimension("what", label="")], val).opts(
                title=f"Output {p.output}: the right class is {p.y}", multi_level=False, tools=["hover"],
                cmap=["#fd8d3c", "#b2182b"], legend_position="bottom_right", xlabel="class", **opts)
        if f.phase == "update":
            pdim = hv.Dimension("path", label="learnable path")
            ndim = hv.Dimension("norm", label="‖ΔA‖ (Frobenius norm)")
            rows = sorted(p.update_norms().items(), key=lambda kv: -kv[1])
            return hv.Bars(rows, pdim, ndim).opts(title="Size of each path's update for this sample",
                                                  color="#2166ac", tools=["hover"], xrotation=20, **opts)
        img = p.x
        side = int(round(np.sqrt(len(img))))
        if side * side == len(img):
            return hv.Image(img.reshape(side, side)[::-1], bounds=(0, 0, side, side),
                            kdims=[hv.Dimension("px", label="pixel x"), hv.Dimension("py", label="pixel y")],
                            vdims=[hv.Dimension("x", label="input value")]).opts(
                cmap="gray_r", title=f"Input sample (class {p.y})", colorbar=True, data_aspect=1,
                height=self.height, responsive=True)
        return hv.Curve((np.arange(len(img)), img), hv.Dimension("i", label="input feature"),
                        hv.Dimension("x", label="input value")).opts(title=f"Input sample (class {p.y})", **opts)

    def __panel__(self):
        return pn.Column(
            self.title,
            pn.Row(self.player, pn.widgets.Checkbox.from_param(self.param.follow_live), sizing_mode="stretch_width"),
            self.text,
            pn.Row(pn.Column(self.graph, sizing_mode="stretch_width"),
                   pn.Column(self.detail, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.Row(self.sample, self.record),
            sizing_mode="stretch_width")


def _block_spans(p: Probe, m: str, vdim) -> list:
    """Shaded neuron ranges of each block, coloured by role, labelled in the legend."""
    out = []
    for b, s, e in p.blocks.get(m, ()):
        if e > s:
            out.append(hv.VSpan(s - 0.5, e - 0.5).opts(color=L.role_color(b), alpha=0.18))
    return out
