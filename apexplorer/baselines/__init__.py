"""Baselines to compare AP with: BP and FA (Table 1) and Equilibrium Propagation (Fig. 4a-c).

Each follows the :class:`~apexplorer.learner.Learner` protocol, so the
:class:`~apexplorer.trainer.Trainer`, its events and its checkpoints work
unchanged; :mod:`apexplorer.methods` lists them by kind (``bp``, ``fa``,
``ep``).  :func:`make_learner` builds one from sizes and a
:class:`~apexplorer.trainer.TrainConfig`.
"""

from __future__ import annotations

from ..errors import ApexplorerError, choices
from ..table import EP_LR, METHODS
from .ep import EPConfig, EPLearner, init_ep
from .mlp import BPLearner, FALearner, MLPConfig, MLPLearner, init_mlp

#: Default hidden layers: Table 1's 1 x 256 for BP/FA, the paper's 2-HL comparison for EP.
DEFAULT_HIDDEN = {"bp": (256,), "fa": (256,), "ep": (256, 256)}



def parse_hidden(text) -> tuple:
    """``"256"`` or ``"256,256,256"`` (or ``"256x3"``) -> a tuple of layer sizes."""
    if text is None or isinstance(text, tuple):
        return text
    s = str(text).strip()
    try:
        if "x" in s and "," not in s:
            size, k = s.split("x")
            out = (int(size),) * int(k)
        else:
            out = tuple(int(p) for p in s.split(",") if p.strip())
    except ValueError:
        raise ApexplorerError(f"hidden layers {text!r}: give sizes like 256, 256,256,256 or 256x3") from None
    if not out or min(out) < 1:
        raise ApexplorerError(f"hidden layers {text!r}: give at least one positive size")
    return out


def make_learner(method: str, n_in: int, n_out: int, config, hidden=None, device=None, **ep_options):
    """A BP, FA or EP learner for ``n_in`` features and ``n_out`` classes.

    Parameters
    ----------
    method : ``bp``, ``fa`` or ``ep``
    n_in, n_out : int
    config : TrainConfig
        Supplies the seed and the optimiser (name and learning rate).
    hidden : tuple or str, optional
        Hidden layer sizes (default :data:`DEFAULT_HIDDEN`).
    device : torch.device, optional
        Default: ``config.device`` resolved.
    **ep_options
        EPConfig fields for ``ep`` (``t1``, ``t2``, ``epsilon``, ``beta``, ``random_sign``).
    """
    from ..devices import resolve_device
    from ..optim import make_optimizer

    if method not in DEFAULT_HIDDEN:
        raise ApexplorerError(f"unknown baseline {method!r}; choices are {choices(DEFAULT_HIDDEN)}")
    hidden = parse_hidden(hidden) or DEFAULT_HIDDEN[method]
    dev = device if device is not None else resolve_device(config.device)
    opt = make_optimizer(config.optimizer, config.lr)
    if method == "ep":
        opts = {k: v for k, v in ep_options.items() if v is not None}
        return EPLearner(EPConfig(n_in, n_out, hidden, seed=config.seed, **opts), opt, dev)
    if ep_options and any(v is not None for v in ep_options.values()):
        raise ApexplorerError(f"options {', '.join(k for k, v in ep_options.items() if v is not None)} are for ep, "
                              f"not {method}")
    cls = BPLearner if method == "bp" else FALearner
    return cls(MLPConfig(n_in, n_out, hidden, seed=config.seed), opt, dev)


__all__ = [
    "BPLearner", "DEFAULT_HIDDEN", "EPConfig", "EPLearner", "FALearner", "METHODS", "MLPConfig", "MLPLearner",
    "EP_LR", "init_ep", "init_mlp", "make_learner", "parse_hidden",
]
