"""The initial tensors of a network: paths and readout biases by an :class:`Init` scheme, reservoirs drawn
by :mod:`apexplorer.reservoirs`, all from one seed (AP_ALGORITHM.md); ensembles stacked on a leading axis.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from .errors import ApexplorerError, BuildCancelled, choices
from .reservoirs import RESERVOIR_DRAWS, _draw_reservoir, _radii, _scaled
from .table import default
from .wiring import Wiring


def _uniform(shape, scale, gen):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(scale).float()


def _gaussian(shape, std, gen):
    return torch.randn(shape, generator=gen, dtype=torch.float64).mul_(std).float()


INIT_SCHEMES = ("uniform", "gaussian")
READOUT_BIASES = ("uniform", "zero")


@dataclass(frozen=True)
class Init:
    """How the paths and readout biases are drawn (the reservoirs are the same in every scheme).

    scheme : ``"uniform"`` (the paper's Materials and methods and AP_demo.ipynb:
        feedforward U(-1, 1)/sqrt(n_src), feedback between modules U(-1, 1),
        output error U(-1, 1)/sqrt(n_out)) or ``"gaussian"`` (the authors'
        Fig. 5 notebooks: every feedforward weight N(0, forward_std^2), every
        feedback weight N(0, feedback_std^2)).
    readout_bias : ``"uniform"`` (U(-1, 1)/sqrt(|SI|), fixed) or ``"zero"``;
        None: uniform for the uniform scheme, zero for the Gaussian one.
    reservoir : how the reservoirs' nonzeros are placed, :data:`RESERVOIR_DRAWS`:
        ``"exact"`` (the connection rate exactly) or ``"authors"`` (their draw
        with replacement: fewer distinct nonzeros than the rate says).
    """

    scheme: str = default("init.scheme")
    forward_std: float = default("init.forward_std")
    feedback_std: float = default("init.feedback_std")
    readout_bias: str | None = default("init.readout_bias")
    reservoir: str = "exact"

    def validate(self) -> "Init":
        if self.scheme not in INIT_SCHEMES:
            raise ApexplorerError(f"unknown init scheme {self.scheme!r}; choices are {choices(INIT_SCHEMES)}")
        if self.readout_bias is not None and self.readout_bias not in READOUT_BIASES:
            raise ApexplorerError(f"unknown readout bias {self.readout_bias!r}; choices are {choices(READOUT_BIASES)}")
        if self.reservoir not in RESERVOIR_DRAWS:
            raise ApexplorerError(f"unknown reservoir draw {self.reservoir!r}; choices are {choices(RESERVOIR_DRAWS)}")
        for k in ("forward_std", "feedback_std"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ApexplorerError(f"{k} = {v!r} must be a number > 0")
        return self

    @property
    def bias(self) -> str:
        """The readout bias actually drawn: the given one, else the scheme's."""
        return self.readout_bias or ("zero" if self.scheme == "gaussian" else "uniform")


def init_tensors(wiring: Wiring, seed: int, init: Init | None = None, scale: bool = True) -> dict:
    """Every tensor of the network, drawn in a fixed order from one CPU generator.

    Returns a dict with ``reservoirs``, ``biases`` (modules, zero),
    ``weights`` (feedforward, learnable), ``feedback`` (fixed) and
    ``readout_bias`` (outputs, fixed).  ``init`` picks the scheme of the
    paths (default: the paper's uniform one, :class:`Init`); the draws come
    in the same order in every scheme.  ``scale=False`` leaves the reservoirs as drawn, before their
    scaling to a spectral radius (no eigensolver: what a check of a saved network's fixed tensors needs).
    """
    init = (init or Init()).validate()
    gauss = init.scheme == "gaussian"
    gen = torch.Generator().manual_seed(int(seed))
    out = {"reservoirs": {}, "biases": {}, "weights": {}, "feedback": {}, "readout_bias": {}}
    # every reservoir drawn first (the scaling draws nothing), then their radii found together
    raw = [_draw_reservoir(m.size, m.connection_rate, gen, init.reservoir, f"module {m.name!r}: ")
           for m in wiring.modules]
    for m, W, r in zip(wiring.modules, raw, _radii(raw) if scale else [None] * len(raw)):
        out["reservoirs"][m.name] = _scaled(W, m.spectral_radius, r) if scale else W
        out["biases"][m.name] = torch.zeros(m.size)
    for p in wiring.feedforward:
        s, t = wiring.endpoint(p.source), wiring.endpoint(p.target)
        out["weights"][p.name] = (_gaussian((s.size, t.size), init.forward_std, gen) if gauss
                                  else _uniform((s.size, t.size), s.size ** -0.5, gen))
    for q in wiring.feedback:
        s, t = wiring.endpoint(q.source), wiring.endpoint(q.target)
        if gauss:
            out["feedback"][q.name] = _gaussian((s.size, t.size), init.feedback_std, gen)
        else:
            scale = s.size ** -0.5 if s.kind == "output" else 1.0
            out["feedback"][q.name] = _uniform((s.size, t.size), scale, gen)
    for o in wiring.outputs:
        if init.bias == "zero":
            out["readout_bias"][o.name] = torch.zeros(o.size)
            continue
        srcs = [wiring.endpoint(p.source).size for p in wiring.feedforward if p.target == o.name]
        out["readout_bias"][o.name] = _uniform((o.size,), (srcs[0] if srcs else o.size) ** -0.5, gen)
    return out


def tensor_shapes(wiring: Wiring, members: int | None = None) -> dict:
    """{group: {name: shape}} of the tensors :func:`init_tensors` draws (``members``: an ensemble's leading E)."""
    lead = () if members is None else (members,)
    ep = wiring.endpoint
    out = {"reservoirs": {m.name: lead + (m.size, m.size) for m in wiring.modules},
           "biases": {m.name: lead + (m.size,) for m in wiring.modules},
           "weights": {p.name: lead + (ep(p.source).size, ep(p.target).size) for p in wiring.feedforward},
           "feedback": {q.name: lead + (ep(q.source).size, ep(q.target).size) for q in wiring.feedback},
           "readout_bias": {o.name: lead + (o.size,) for o in wiring.outputs}}
    return out


_CANCEL = threading.local()


@contextmanager
def cancellable(event: threading.Event):
    """Inside, an ensemble drawn on this thread stops with :class:`BuildCancelled` once ``event`` is set
    (checked before each member: a large ensemble takes a minute to draw)."""
    before = getattr(_CANCEL, "event", None)
    _CANCEL.event = event
    try:
        yield
    finally:
        _CANCEL.event = before


def init_ensemble(wiring: Wiring, seeds, radii=None, init: Init | None = None) -> dict:
    """Tensors of several independent members stacked on a leading axis (E, ...).

    Member k is drawn from ``seeds[k]`` (by ``init``'s scheme); with ``radii``
    its modules are scaled to spectral radius ``radii[k]`` (a spectral-radius
    sweep in one run).
    """
    seeds = list(seeds)
    if radii is not None and len(radii) != len(seeds):
        raise ApexplorerError(f"{len(radii)} spectral radii for {len(seeds)} seeds; give one per member")
    parts = []
    stop = getattr(_CANCEL, "event", None)
    for k, sd in enumerate(seeds):
        if stop is not None and stop.is_set():
            raise BuildCancelled(f"the build was cancelled after drawing {k} of {len(seeds)} members")
        w = wiring if radii is None else wiring.with_spectral_radius(float(radii[k]))
        parts.append(init_tensors(w, sd, init))
    return {g: {n: torch.stack([p[g][n] for p in parts]) for n in parts[0][g]} for g in parts[0]}
