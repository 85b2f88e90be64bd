"""Measurements a result needs beyond training, run in this process (they take seconds).

* ``lyapunov`` (Fig. 2c): MLE and FTMLE of random reservoirs over the
  spectral radii of the result's grid, by
  :func:`apexplorer.analysis.spectral_radius_sweep`.  Options (a scale's
  ``analysis.lyapunov``): ``radii``, ``size`` (1024), ``rate`` (0.25),
  ``steps`` (8), ``mle_steps`` (1000), ``trials`` (4), ``drive`` (0), ``seed``.

Their outputs are cached as JSON in the reproduction's folder, so a rerun
does not measure them again.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..sweep.grid import axis_key
from .errors import PaperError


def _radii(result, scale: str) -> list:
    sc = result.scale(scale)
    for g in result.groups:
        for k, vals in g.grid:
            if axis_key(k) == "ap.spectral_radius":
                return list(sc.axis_values(g.label, k, vals))
    return [0.01, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]


def lyapunov(result, scale: str) -> list:
    """``[{sr, log_sr, mle, ftmle}]`` over the result's spectral radii (Fig. 2c's MLE/FTMLE curves)."""
    from ..analysis.lyapunov import spectral_radius_sweep

    opts = dict(result.scale(scale).analysis.get("lyapunov", {}))
    radii = opts.pop("radii", None) or _radii(result, scale)
    allowed = ("size", "rate", "steps", "mle_steps", "trials", "drive", "seed")
    bad = [k for k in opts if k not in allowed]
    if bad:
        raise PaperError(f"result {result.id!r}: lyapunov option {bad[0]!r} is unknown; options are radii, "
                         + ", ".join(allowed))
    return spectral_radius_sweep([float(r) for r in radii], **opts)


ANALYSES = {"lyapunov": lyapunov}


def run_analyses(result, scale: str, folder) -> dict:
    """{name: output} of the result's analyses, measured now or read from ``folder`` (a cache)."""
    out = {}
    folder = Path(folder)
    for name in result.analyses:
        path = folder / f"{result.id}-{name}-{scale}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
            continue
        out[name] = ANALYSES[name](result, scale)
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out[name], indent=1))
    return out


__all__ = ["ANALYSES", "lyapunov", "run_analyses"]
