"""Undo and redo of the page's wiring and task edits (no Panel).

Experiments and wirings are frozen data, so the history is a list of experiments and a position in it.
:class:`History` keeps one entry per change of the *wiring and tasks* of the page's experiment
(:func:`edit_part`: the wiring, the tasks and their data, ρ and c), however it was made: the graph,
the tables, an import, a preset.  :meth:`History.undo` gives the experiment to show: the current one
with the previous entry's wiring and tasks (the other settings, a learning rate say, stay as they are).
"""

from __future__ import annotations

import copy

from ..experiment import Experiment

#: The dotted keys (and prefixes) of an experiment that undo and redo go over.
EDIT_KEYS = ("wiring.", "tasks.", "ap.spectral_radius", "ap.connection_rate", "train.schedule")


def edit_part(exp: Experiment) -> dict:
    """The wiring and task keys of ``exp`` (:data:`EDIT_KEYS`), as :meth:`Experiment.flat` gives them."""
    return {k: v for k, v in exp.flat().items() if k.startswith(EDIT_KEYS)}


def with_part(exp: Experiment, source: Experiment) -> Experiment:
    """``exp`` with the wiring, tasks, ρ and c of ``source``."""
    d, s = exp.to_dict(), source.to_dict()
    d["wiring"] = s["wiring"]
    d["tasks"] = s["tasks"]
    for sec, keys in (("ap", ("spectral_radius", "connection_rate")), ("train", ("schedule",))):
        part = dict(d.get(sec, {}))
        for k in keys:
            part.pop(k, None)
            if k in s.get(sec, {}):
                part[k] = s[sec][k]
        d[sec] = part
    return Experiment.from_dict(d)


class History:
    """The page's wiring and task edits, oldest first, and where the page stands among them.

    An entry is an experiment, and the wiring editor's spec when it is not the experiment's (an
    invalid edit, such as a module removed before its replacement is joined, is a step too)."""

    def __init__(self, exp: Experiment, limit: int = 200):
        self.entries = [(exp, None)]
        self.at = 0
        self.limit = limit

    def record(self, exp: Experiment, draft: dict | None = None) -> bool:
        """Note ``exp`` (and ``draft``, the editor's invalid spec, if any) as the page's state now; an edit of
        its wiring or tasks becomes a new entry (what was undone before it is dropped).  Returns whether it did."""
        old, old_draft = self.entries[self.at]
        if edit_part(exp) == edit_part(old) and draft == old_draft:
            return False
        del self.entries[self.at + 1:]
        self.entries.append((exp, copy.deepcopy(draft)))
        if len(self.entries) > self.limit:
            del self.entries[0]
        self.at = len(self.entries) - 1
        return True

    @property
    def can_undo(self) -> bool:
        return self.at > 0

    @property
    def can_redo(self) -> bool:
        return self.at < len(self.entries) - 1

    def undo(self, now: Experiment) -> tuple | None:
        """(experiment, draft) to show for one edit back (``now``'s other settings kept), or None at the start."""
        if not self.can_undo:
            return None
        self.at -= 1
        exp, draft = self.entries[self.at]
        return with_part(now, exp), draft

    def redo(self, now: Experiment) -> tuple | None:
        """(experiment, draft) to show for one edit forward again, or None when nothing was undone."""
        if not self.can_redo:
            return None
        self.at += 1
        exp, draft = self.entries[self.at]
        return with_part(now, exp), draft


__all__ = ["EDIT_KEYS", "History", "edit_part", "with_part"]
