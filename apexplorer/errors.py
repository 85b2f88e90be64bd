"""Errors that reach users: each names the bad value and the valid choices."""

from __future__ import annotations


class ApexplorerError(Exception):
    """A user's mistake (bad wiring, bad option, missing data).

    The CLI prints the message and exits with code 2; the app shows it inline.
    """


class WiringError(ApexplorerError, ValueError):
    """A wiring that does not validate."""


class DataError(ApexplorerError):
    """A dataset that is missing, unknown or corrupt."""


class BuildCancelled(ApexplorerError):
    """A network's build was cancelled (see :func:`apexplorer.init.cancellable`)."""


class WiringWarning(UserWarning):
    """A valid but probably unintended wiring (e.g. a learnable path no error reaches)."""


def choices(names) -> str:
    """Format valid choices for an error message."""
    names = list(names)
    return ", ".join(str(n) for n in names) if names else "(none)"


def did_you_mean(word: str, names) -> str:
    """``"; did you mean 'x'?"`` for the name closest to a mistyped ``word``, or ``""`` when none is close."""
    import difflib

    names = [str(n) for n in names]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not close and "." in word:  # the part after the section: train.lrr -> train.lr
        head, _, tail = word.rpartition(".")
        same = [n for n in names if n.startswith(head + ".")]
        close = [f"{head}.{m}" for m in difflib.get_close_matches(tail, [n[len(head) + 1:] for n in same], n=1,
                                                                   cutoff=0.5)]
    return f"; did you mean {close[0]!r}?" if close else ""


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 seed``, ``2 seeds`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
