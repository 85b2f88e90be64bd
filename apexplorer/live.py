"""What may change on a running network, between two batches, and how (:meth:`Trainer.update`).

The phases' settings (T1, T2, mode, β), the learning rate and the number of
epochs change a run in place; every other setting makes another network (a
fresh build).  A change is checked whole before anything changes, and the
trainer's experiment follows, so that a checkpoint saved afterwards holds the
run as it now trains.
"""

from __future__ import annotations

import math
from dataclasses import replace

from .errors import ApexplorerError, choices
from .table import live_keys

__all__ = ["LIVE_KEYS", "update"]

#: The settings that may change on a running network, between two batches (the settings table's ``live``
#: column); every other one makes another network.
LIVE_KEYS = live_keys()


def _check(given: dict) -> dict:
    """{dotted key: value} of ``given`` (dotted keys, or their last part: ``lr``, ``t1``)."""
    short = {k.split(".")[-1]: k for k in LIVE_KEYS}
    wanted = {}
    for k, v in given.items():
        key = short.get(k, k)
        if key not in LIVE_KEYS:
            raise ApexplorerError(f"{k!r} cannot change on a running network; live settings are "
                                  f"{choices(LIVE_KEYS)} (anything else needs a new network)")
        wanted[key] = v
    return wanted


def update(trainer, changes: dict) -> dict:
    """Apply ``changes`` (see :data:`LIVE_KEYS`) to ``trainer`` in place; returns them as dotted keys.

    Raises ApexplorerError naming a key that cannot change live, or a bad value; then nothing changed.
    """
    wanted = _check(changes)
    ap = {k[3:]: v for k, v in wanted.items() if k.startswith("ap.")}
    net = trainer.net
    if ap and net is None:
        raise ApexplorerError(f"{', '.join('ap.' + k for k in ap)}: this run trains no AP network")
    new_ap = replace(net.config, **ap).validate() if ap else None
    config = trainer.config
    if "train.lr" in wanted:
        lr = wanted["train.lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
            raise ApexplorerError(f"learning rate {lr!r} must be a positive number")
        config = replace(config, lr=float(lr))
    if "train.epochs" in wanted:
        config = replace(config, epochs=wanted["train.epochs"])
    config = config.validate()
    exp = trainer.experiment
    exp = exp.with_changes(wanted) if exp is not None and wanted else exp
    if new_ap is not None:
        net.config = new_ap
    if "train.lr" in wanted:
        trainer.opt.lr = config.lr
    trainer.config = config
    trainer.experiment = exp
    forget = getattr(trainer.learner, "forget_graphs", None)
    if forget is not None:  # captured CUDA graphs bake the old settings in: free them
        forget()
    return wanted
