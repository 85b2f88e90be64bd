"""The paper package's error: a result file that does not validate, or a result or scale that does not exist."""

from __future__ import annotations

from ..errors import ApexplorerError


class PaperError(ApexplorerError):
    """A result file that does not validate, or a request for a result or scale that does not exist."""


__all__ = ["PaperError"]
