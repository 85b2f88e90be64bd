"""Named wirings: the paper's layered models, the 2AFC model and a small digits default.

Every preset is a function of the data's input and output sizes, so the same
preset serves any dataset.  ``settings`` holds each preset's recommended
training settings (the paper's where it gives them).
"""

from __future__ import annotations

from .errors import WiringError, choices
from .wiring import Wiring, chain


def _paper(n_layers):
    def build(n_in, n_out):
        return chain([1024] * n_layers, n_in, n_out, name=f"paper-{n_layers}layer")

    build.__doc__ = f"The paper's model with {n_layers} module(s) of 1024 neurons, blocks of 256, rho 0.25, c 0.25."
    return build


def _2afc(n_in, n_out):
    """Appendix 2: two modules of 256 (blocks of 64), connection rate 1."""
    return chain([256, 256], n_in, n_out, connection_rate=1.0, name="2afc")


def _digits(n_in, n_out):
    """Small and fast: two modules of 256 (blocks of 64) for the 8x8 digits."""
    return chain([256, 256], n_in, n_out, name="digits")


PRESETS = {
    "paper-1layer": _paper(1),
    "paper-2layer": _paper(2),
    "paper-3layer": _paper(3),
    "2afc": _2afc,
    "digits": _digits,
}

#: Recommended settings per preset (used when the user gives none).
SETTINGS = {
    "paper-1layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "paper-2layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "paper-3layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "2afc": dict(batch_size=50, lr=2e-2, t1=8, t2=4, mode="epe", epochs=20),
    "digits": dict(batch_size=32, lr=5e-3, t1=8, t2=8, mode="ste", epochs=30),
}

#: The preset used for each dataset when none is named.
DEFAULT_PRESET = {"digits": "digits", "2afc": "2afc"}


def preset_names() -> list:
    return list(PRESETS)


def preset(name: str, n_in: int, n_out: int) -> Wiring:
    """Build preset ``name`` for ``n_in`` input features and ``n_out`` classes."""
    if name not in PRESETS:
        raise WiringError(f"unknown preset {name!r}; presets are {choices(PRESETS)}")
    return PRESETS[name](n_in, n_out)
