"""Summaries over seeds: the one place a mean and its sample standard deviation are computed."""

from __future__ import annotations

import math

__all__ = ["mean_sd"]


def mean_sd(values) -> tuple:
    """(mean, sample standard deviation, with n - 1) of ``values``; the sd of a single value is 0.

    >>> mean_sd([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    v = [float(x) for x in values]
    if not v:
        raise ValueError("mean_sd of no values")
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
