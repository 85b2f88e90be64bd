"""Comparing runs on one page (no Panel): ensemble bands, ghost labels, training speed.

The Curves view draws an ensemble's mean with a ±sd band (:func:`~apexplorer.analysis.stats.mean_sd`),
keeps the previous runs as faint "ghosts" named after what differed
(:func:`ghost_label`), and tells every run's speed (:class:`Rate`).
"""

from __future__ import annotations

import math

from ..analysis.stats import mean_sd

#: How the page names a dotted key of an experiment in a ghost's label.
SHORT = {
    "ap.spectral_radius": "ρ", "ap.connection_rate": "c", "ap.t1": "T1", "ap.t2": "T2", "ap.mode": "mode",
    "ap.beta": "β", "ap.precision": "precision", "ap.activation": "activation", "train.lr": "lr",
    "train.batch_size": "batch", "train.epochs": "epochs", "train.seed": "seed", "train.seeds": "seeds",
    "train.device": "device", "train.optimizer": "optimiser", "train.schedule": "schedule",
}
#: Keys that never make two runs differ for a reader (a name, notes).
IGNORED = ("name", "notes")


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:g}"


def _module_value(wiring, attr):
    """The value every module of ``wiring`` shares for ``attr`` (rho, c), else None."""
    mods = list(getattr(wiring, "modules", None) or [])
    vals = {getattr(m, attr) for m in mods}
    return vals.pop() if len(vals) == 1 else None


def ghost_label(old, new, old_wiring=None, new_wiring=None, old_baselines=(), new_baselines=(),
                limit: int = 3) -> str:
    """What differs from the run ``old`` to the run ``new`` (two Experiments), in a few words.

    rho and c left to the wiring (None in the experiment) read as the value its
    modules have, so a change reads "ρ 0.25 → 0.5"; wiring and task edits read
    "wiring" and "tasks"; more than ``limit`` changes end with "+N more".  The
    same settings read "same settings".
    """
    a, b = old.flat(), new.flat()
    for key, attr in (("ap.spectral_radius", "spectral_radius"), ("ap.connection_rate", "connection_rate")):
        if a.get(key) is None and old_wiring is not None:
            a[key] = _module_value(old_wiring, attr)
        if b.get(key) is None and new_wiring is not None:
            b[key] = _module_value(new_wiring, attr)
    parts = []
    for k in dict.fromkeys([*a, *b]):
        if k in IGNORED or a.get(k) == b.get(k):
            continue
        if k in SHORT:
            parts.append(f"{SHORT[k]} {_fmt(a.get(k))} → {_fmt(b.get(k))}")
        elif k.startswith("wiring."):
            if "wiring" not in parts:
                parts.append("wiring")
        elif k.startswith("tasks."):
            if k.endswith(".dataset") and k.count(".") == 2:
                parts.append(f"data {_fmt(a.get(k))} → {_fmt(b.get(k))}")
            elif "tasks" not in parts:
                parts.append("tasks")
        else:
            parts.append(f"{k.split('.')[-1]} {_fmt(a.get(k))} → {_fmt(b.get(k))}")
    if sorted(old_baselines) != sorted(new_baselines):
        was = "+".join(m.upper() for m in old_baselines) or "none"
        now = "+".join(m.upper() for m in new_baselines) or "none"
        parts.append(f"baselines {was} → {now}")
    if not parts:
        return "same settings"
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f", +{len(parts) - limit} more"
    return ", ".join(parts)


class Rate:
    """A run's training speed in samples/s, smoothed over its recent batches (exponential mean)."""

    def __init__(self, weight: float = 0.1):
        self.weight = weight
        self.value = None

    def add(self, samples_per_s: float) -> None:
        x = float(samples_per_s)
        if not math.isfinite(x) or x <= 0:
            return
        self.value = x if self.value is None else self.value + self.weight * (x - self.value)

    def text(self) -> str:
        """'1,234 samples/s' (three significant figures at most), or '–' before any batch."""
        if self.value is None:
            return "– samples/s"
        v = float(f"{self.value:.3g}")
        return f"{v:,.0f} samples/s" if v >= 10 else f"{v:.3g} samples/s"


__all__ = ["Rate", "ghost_label", "mean_sd"]
