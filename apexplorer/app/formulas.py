"""The formulas of AP, typeset beside the error-flow player, with the current frame's terms lit.

:data:`TERMS` holds each term of the rule (in the symbols of the paper and of
``AP_ALGORITHM.md``) as LaTeX; :func:`terms_of` says which terms a frame of the
player shows (by its phase: ``input``, ``inference``, ``readout``, ``error``,
``learning``, ``local``, ``update``).  :class:`FormulaPanel` shows them all and
highlights those of the frame on screen.

The math is typeset in the browser by MathJax as SVG: ``pn.pane.LaTeX`` with
``renderer="mathjax"`` uses the MathJax that Bokeh's own server ships
(``static/js/bokeh-mathjax.min.js``), so it needs no CDN and no web font.
The page must load Panel's ``"mathjax"`` extension (``apps/explorer.py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import panel as pn
import param


@dataclass(frozen=True)
class Term:
    """One term of the rule: its name, its formula (LaTeX) and a note on its symbols."""

    key: str
    label: str
    latex: str
    note: str = ""


#: The terms in the order AP uses them (phase 0, readout, phase 1, update).
TERMS = (
    Term("drive", "Drive", r"u^0_k[R] = \textstyle\sum_{p \to R}\, a_p A_p",
         "phase 0: a = x, or z⁰ⱼ[SI] of an upstream module"),
    Term("relax", "Relaxation", r"h_{t+1} = f\left(h_t W_k + b_k + u_k\right)",
         "f = tanh; T₁ steps with u⁰ (phase 0), T₂ with u¹ (phase 1)"),
    Term("readout", "Readout",
         r"o = \mathrm{softmax}\left(z^0_L[\mathrm{SI}]\, A_{\mathrm{out}} + c_{\mathrm{out}}\right)"),
    Term("output_error", "Output error", r"e_{\mathrm{out}} = o - \hat{y}", "ŷ: the one-hot answer"),
    Term("inject", "Injected error", r"u^1_k[R] = u^0_k[R] - \beta\, \varepsilon_q G_q",
         "phase 1: ε = e_out, or eⱼ[SE]; G fixed"),
    Term("local", "Local error", r"e_k = z^0_k - z^1_k", "how far the error moved module k"),
    Term("update", "Update", r"\Delta A_p = \tfrac{1}{B}\, a_p^{\top} e_k[R]",
         "local, no backprop; A ← A − lr·Adam(ΔA)"),
)

_TERM = {t.key: t for t in TERMS}

_BY_PHASE = {
    "input": ("drive",),
    "inference": ("drive", "relax"),
    "readout": ("readout",),
    "error": ("output_error", "inject"),
    "learning": ("inject", "relax"),
    "local": ("local",),
    "update": ("update",),
}

#: How a lit row looks, and an unlit one.
LIT = {"background": "#fff1c1", "border-left": "5px solid #d6604d", "border-radius": "4px"}
UNLIT = {"background": "transparent", "border-left": "5px solid transparent", "border-radius": "4px"}


def _label(t: Term, lit: bool) -> str:
    """A row's label: the term's name, and while it is lit what its symbols stand for."""
    return f"<b>{t.label}</b> · {t.note}" if lit and t.note else f"<b>{t.label}</b>"


def terms_of(phase: str) -> tuple:
    """The keys of the terms a player frame of ``phase`` shows at work.

    Raises ``ValueError`` naming the valid phases for an unknown one.
    """
    try:
        return _BY_PHASE[phase]
    except KeyError:
        raise ValueError(f"phase {phase!r} has no formula; phases are {', '.join(_BY_PHASE)}") from None


class FormulaPanel(pn.viewable.Viewer):
    """Every formula of AP, typeset; the terms named in ``lit`` are highlighted."""

    lit = param.List(default=[], item_type=str, doc="Keys of the highlighted terms (see TERMS).")

    def __init__(self, **params):
        super().__init__(**params)
        self.rows, self.labels = {}, {}
        for t in TERMS:
            # the label names the term; while it is lit it also says what its symbols stand for
            self.labels[t.key] = pn.pane.HTML(_label(t, False), margin=(4, 8, 0, 8), sizing_mode="stretch_width",
                                              styles={"color": "#333", "font-size": "0.85em"})
            math = pn.pane.LaTeX(f"${t.latex}$", renderer="mathjax", margin=(2, 8, 6, 16), sizing_mode="stretch_width",
                                 styles={"font-size": "1em"}, css_classes=["ap-formula"])
            self.rows[t.key] = pn.Column(self.labels[t.key], math, css_classes=["ap-term", f"ap-term-{t.key}"],
                                         styles=dict(UNLIT), margin=(1, 0), sizing_mode="stretch_width")
        self._highlight()

    def show(self, phase: str) -> None:
        """Highlight the terms of a player frame of ``phase``."""
        self.lit = list(terms_of(phase))

    @param.depends("lit", watch=True)
    def _highlight(self):
        unknown = set(self.lit) - set(self.rows)
        if unknown:
            raise ValueError(f"no term {sorted(unknown)[0]!r}; terms are {', '.join(self.rows)}")
        for key, row in self.rows.items():
            on = key in self.lit
            row.styles = dict(LIT if on else UNLIT)
            self.labels[key].object = _label(_TERM[key], on)
            classes = ["ap-term", f"ap-term-{key}"] + (["ap-term-on"] if on else [])
            if row.css_classes != classes:
                row.css_classes = classes

    def __panel__(self):
        title = pn.pane.HTML("The rule at this frame", margin=(4, 8, 6, 8),
                             styles={"font-weight": "600", "font-size": "1.1em"})
        return pn.Column(title, *self.rows.values(),
                         css_classes=["ap-formulas"], sizing_mode="stretch_width")


__all__ = ["FormulaPanel", "TERMS", "Term", "terms_of"]
