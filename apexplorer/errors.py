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


class DivergenceError(ApexplorerError):
    """Training produced NaN/inf or an exploding loss."""


class BuildCancelled(ApexplorerError):
    """A network's build was cancelled (see :func:`apexplorer.network.cancellable`)."""


class WiringWarning(UserWarning):
    """A valid but probably unintended wiring (e.g. a learnable path no error reaches)."""


def choices(names) -> str:
    """Format valid choices for an error message."""
    names = list(names)
    return ", ".join(str(n) for n in names) if names else "(none)"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 seed``, ``2 seeds`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
