"""Text a visitor controls, shown as text: never as HTML, Markdown or math.

Module, task and file names, link values, a sweep table's columns and a report's
text reach the page through the library's messages ("module name '…' is not
valid").  Every pane that shows such text goes through :func:`escape` (Markdown
panes, alerts) or :func:`escape_html` (HTML panes, card titles):

* HTML is escaped (``<img onerror=…>`` shows as text, runs nothing);
* Markdown's punctuation is escaped, so ``[x](javascript:…)`` or ``![](…)`` shows
  as typed and makes no link or image;
* nothing reads as a web address: an empty tag follows every ``.``, ``:`` and ``@``,
  so ``nope.pt`` or ``http://x`` is never made a link (``http://nope.pt/``), even by a
  renderer that joins escaped characters back into the text before it looks for
  addresses (markdown-it-py before 3.0, which Panel 1.4 accepts);
* bidirectional controls (right-to-left marks and overrides) are shown as
  ``‹U+202E›``, so they cannot reorder the rest of the message;
* a very long text is cut at :data:`LIMIT` characters, saying how many were left out.

:func:`message` makes a message pane (math off, long words wrapped) and
:func:`show` fills it.
"""

from __future__ import annotations

import html
import re

import panel as pn

#: the most characters of one message shown (a longer one is cut, saying how much was left out)
LIMIT = 1500
#: right-to-left / left-to-right marks, embeddings, overrides and isolates
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: ASCII punctuation that Markdown (or the page's math) may read; each is backslash-escaped
_MARKDOWN = set("\\`*_{}[]()#+-.!|~:$=")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
#: the characters that join the parts of a web address (a domain's dots, a scheme's colon, an e-mail's @)
_ADDRESS = set(".:@")
#: what follows each of them: an empty tag, invisible, that splits the text where a link finder looks
_BREAK = "<span></span>"
#: what a message pane needs besides escaped text: long names wrap instead of widening the page
WRAP = {"overflow-wrap": "anywhere", "word-break": "break-word"}


def plain(text, limit: int = LIMIT) -> str:
    """``text`` as a string with bidirectional controls made visible and cut at ``limit`` characters."""
    text = "" if text is None else str(text)
    text = BIDI.sub(lambda m: f"‹U+{ord(m.group()):04X}›", text)
    if limit and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters)"
    return text


def escape(text, limit: int = LIMIT) -> str:
    """Markdown source that shows ``text`` literally (see the module)."""
    out = []
    for ch in plain(text, limit):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MARKDOWN:
            out.append("\\" + ch)
        else:
            out.append(ch)
        if ch in _ADDRESS:
            out.append(_BREAK)
    return "".join(out).replace("\n", "  \n")  # a line break stays one


def escape_html(text, limit: int = LIMIT) -> str:
    """HTML that shows ``text`` literally (for HTML panes and card titles)."""
    return html.escape(plain(text, limit), quote=True)


def message(alert_type: str | None = None, in_place: bool = False, **params):
    """A pane for messages that may carry a visitor's text: an Alert of ``alert_type``, or a Markdown pane.

    Fill it with :func:`show` (or give its ``object`` only :func:`escape`'d text).  ``in_place``: the alert is
    shown and hidden by :func:`set_shown` in CSS, not by ``visible`` (for messages said at every click)."""
    params.setdefault("sizing_mode", "stretch_width")
    params["styles"] = {**WRAP, **params.get("styles", {})}
    params.setdefault("disable_math", True)
    if alert_type is not None:
        if in_place:
            params["styles"]["display"] = "none"
        else:
            params.setdefault("visible", False)
        pane = pn.pane.Alert("", alert_type=alert_type, **params)
        pane._ap_in_place = in_place
        return pane
    return pn.pane.Markdown("", **params)


def set_shown(viewable, on: bool) -> None:
    """Show or hide ``viewable``: one made ``in_place`` (:func:`message`, :func:`in_place`) by the page's CSS
    (``display``), any other by ``visible``.

    BokehJS lays the whole page out again, at once, when a model's ``visible`` changes (about 100 ms on fig5c's
    page on a 2-core machine), so a part that comes and goes at each click on the network graph, and whose
    neighbours keep their sizes, is hidden in CSS instead: the browser's own reflow places the rest."""
    if getattr(viewable, "_ap_in_place", False):
        viewable.styles = {**viewable.styles, "display": None if on else "none"}
    else:
        viewable.visible = bool(on)


def is_shown(viewable) -> bool:
    """Whether ``viewable`` is shown (:func:`set_shown`)."""
    if getattr(viewable, "_ap_in_place", False):
        return viewable.styles.get("display") != "none"
    return viewable.visible


def in_place(viewable, shown: bool = False):
    """``viewable``, shown and hidden from now on in CSS by :func:`set_shown` (``shown`` at first)."""
    viewable._ap_in_place = True
    set_shown(viewable, shown)
    return viewable


def show(pane, text, hide_empty: bool = True) -> None:
    """Show ``text`` (plain, possibly a visitor's) in ``pane``, escaped; an empty text hides an alert."""
    pane.object = escape(text)
    if hide_empty:
        set_shown(pane, bool(text))


__all__ = ["BIDI", "LIMIT", "escape", "escape_html", "in_place", "is_shown", "message", "plain", "set_shown", "show"]
