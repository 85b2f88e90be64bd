"""The page's messages (no Panel): which one shows, and for how long.

Two lines tell a visitor what happened: :attr:`Notices.message` (an error, in the
library's words) and :attr:`Notices.info` (a notice: saved, loaded, settings
applied).  This is the one place that decides what they say and when a message
goes:

* a *problem* (what stops a network from being built) stays true: it is checked
  again after every edit and goes only once fixed (:meth:`Notices.recheck`);
* "a fresh network is ready" or "loaded the session" goes once the network trains;
* what this machine changed in an experiment (a missing dataset, a GPU) is not
  replaced by "a fresh network is ready";
* a file, a link or a paper's figure just opened stays in front of "a fresh network is ready".
"""

from __future__ import annotations

import param

__all__ = ["Notices", "gui_words"]


def gui_words(message: str) -> str:
    """A library message as a page visitor reads it (the page has menus, not flags)."""
    return message.replace("use --device cpu or auto", "choose auto or cpu under Settings → Device")


class Notices(param.Parameterized):
    """The error and the notice the page shows, and how long each stays."""

    message = param.String(default="", doc="The latest error, in the library's words.")
    info = param.String(default="", doc="The latest notice (saved, loaded, settings applied).")
    problem = param.String(default="", doc=(
        "The message, while it is a problem that stops a network from being built (kept true until fixed)."))
    ready = param.Boolean(default=False, doc="The notice says the network is ready or loaded (gone once it trains).")
    machine = param.Boolean(default=False, doc=(
        "The notice says what this machine changed in the experiment (a fresh network does not replace it)."))
    lead = param.String(default="", doc="A notice that stays in front of 'a fresh network is ready'.")

    def note(self, text: str, ready: bool = False, machine: bool = False) -> None:
        """Show a notice; ``ready``: it says the network is ready (gone once it trains); ``machine``: it says
        what this machine changed (a fresh network does not replace it)."""
        self.param.update(info=text, ready=ready, machine=machine)

    def error(self, text: str) -> None:
        self.message = text

    def clear(self) -> None:
        """No error and no problem (a new run, an experiment that can be built)."""
        self.param.update(message="", problem="")

    def show_problem(self, err: str) -> None:
        """Show what stops building (kept true by :meth:`recheck`; '' clears it)."""
        self.param.update(problem=err, message=err)

    @property
    def shown_problem(self) -> str:
        """The problem the page shows now ('' when the message is something else)."""
        return self.problem if self.problem and self.message == self.problem else ""

    def recheck(self, problems) -> None:
        """A shown problem stays true: ``problems()`` says it again, another one, or '' once fixed."""
        if self.shown_problem:
            self.show_problem(problems())

    def opened(self, note: str, notes: list, lasting: bool) -> None:
        """An experiment replaced the page's: ``note`` says what happened, ``notes`` what this machine changed;
        a ``lasting`` note (a file, a link, a figure) stays in front of 'a fresh network is ready'."""
        self.clear()
        if notes:
            self.note("; ".join([note, *notes] if lasting and note else notes), machine=True)
        elif note:
            self.note(note, ready=True)
            self.lead = note if lasting else ""

    def observe(self, kind: str, ev) -> None:
        """What an item drained from the runner says to the visitor."""
        if kind == "reset":
            self.clear()
            meta = ev.get("meta") or {}
            loaded = meta.get("loaded")
            if meta.get("restored"):
                self.note(meta["restored"], ready=True)
            elif loaded or not self.machine:
                lead = f"{self.lead}: " if self.lead and self.ready else ""
                self.note(f"loaded the session {loaded}" if loaded else f"{lead}a fresh network is ready", ready=True)
            self.lead = ""
        elif kind == "cancelled":
            self.note(f"{ev}: change the settings (fewer seeds?) or press Train to build it again")
        elif kind in ("discard", "batch"):
            if self.ready:  # it trains (or is gone): "ready" is no longer news
                self.note("")
        elif kind == "stop":
            if ev.reason == "diverged":
                self.message = ev.message
            else:
                self.note(ev.message)
        elif kind == "error":
            self.message = gui_words(ev)
        elif kind in ("info", "loaded") and ev and not ev.startswith("Traceback"):
            self.note(ev if kind == "info" else f"loaded {ev}")
