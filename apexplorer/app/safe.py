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


def message(alert_type: str | None = None, **params):
    """A pane for messages that may carry a visitor's text: an Alert of ``alert_type``, or a Markdown pane.

    Fill it with :func:`show` (or give its ``object`` only :func:`escape`'d text)."""
    params.setdefault("sizing_mode", "stretch_width")
    params["styles"] = {**WRAP, **params.get("styles", {})}
    params.setdefault("disable_math", True)
    if alert_type is not None:
        params.setdefault("visible", False)
        return pn.pane.Alert("", alert_type=alert_type, **params)
    return pn.pane.Markdown("", **params)


def show(pane, text, hide_empty: bool = True) -> None:
    """Show ``text`` (plain, possibly a visitor's) in ``pane``, escaped; an empty text hides an alert."""
    pane.object = escape(text)
    if hide_empty:
        pane.visible = bool(text)


__all__ = ["BIDI", "LIMIT", "escape", "escape_html", "message", "plain", "show"]
