"""Several learning rules trained beside each other on the same batches, for comparing them live.

:func:`baseline_experiments` gives the experiment of each baseline (BP, FA, EP) next to
an AP experiment: the same task, data, seed, batch size, epochs and optimiser,
and hidden layers as wide as AP's modules' sending (SI) blocks, layer by
layer (the paper's comparison with EP keeps the numbers of feedforward and
feedback connections equal: a module is four times its EP layer).  Trainers
with the same seed and batch size draw the same batches, so
:class:`BaselineRuns`, which steps each in turn, shows every rule the same
samples at the same moment.
"""

from __future__ import annotations

from .errors import ApexplorerError, choices

BASELINES = ("bp", "fa", "ep")
#: How a page or a table names each baseline.
BASELINE_NAMES = {"bp": "BP (backprop)", "fa": "FA (feedback alignment)", "ep": "EP (equilibrium prop.)"}


def baseline_hidden(wiring, task=None) -> tuple:
    """Hidden sizes for a baseline beside ``wiring``: each inference module's sending block, in order."""
    from .plan import make_plan

    plan = make_plan(wiring, wiring.task(task) if isinstance(task, str) or task is None else task)
    sizes = []
    for m, _ in plan.inference:
        out = [p for p in wiring.feedforward if wiring.endpoint(p.source).node == m
               and p.name in plan.active]
        sizes.append(wiring.endpoint(out[0].source).size if out else wiring.module(m).size)
    return tuple(sizes)


def baseline_experiments(exp, methods, wiring=None) -> dict:
    """{method: Experiment} of each baseline in ``methods`` beside the AP experiment ``exp``.

    ``wiring`` (the AP run's, for its module sizes) defaults to the experiment's
    own, built for its data.
    """
    bad = [m for m in methods if m not in BASELINES]
    if bad:
        raise ApexplorerError(f"unknown baseline {bad[0]!r}; choices are {choices(BASELINES)}")
    if exp.method.name != "ap":
        raise ApexplorerError(f"baselines go beside an AP run; this experiment's method is {exp.method.name!r}")
    if len(exp.tasks) != 1:
        raise ApexplorerError(f"baselines train one task; the experiment has {', '.join(exp.tasks)} "
                              "(compare them on one task)")
    if wiring is None:
        from .build import load_data, make_wiring

        wiring = make_wiring(exp, load_data(exp))
    hidden = baseline_hidden(wiring, next(iter(exp.tasks)))
    out = {}
    for m in methods:
        changes = {"method.name": m, "method.hidden": hidden, "train.seeds": 1}
        if exp.method_lr(m) != exp.train.lr:
            changes["train.lr"] = exp.method_lr(m)  # EP's hard-sigmoid units saturate at larger rates
        out[m] = exp.with_changes(changes)
    return out


class BaselineRuns:
    """Step several trainers one batch each, in turn, and report their events with their names.

    Parameters
    ----------
    trainers : dict {name: Trainer}
        Built with the same seed and batch size, they train on the same batches.
    """

    def __init__(self, trainers: dict):
        if not trainers:
            raise ApexplorerError("give at least one trainer")
        self.trainers = dict(trainers)

    def train(self, batch_events: bool = True):
        """Yield ``(name, event)`` from every trainer in turn until each has stopped."""
        gens = {n: tr.train(batch_events=batch_events) for n, tr in self.trainers.items()}
        while gens:
            for name in list(gens):
                try:
                    yield name, next(gens[name])
                except StopIteration:
                    del gens[name]

    def stop(self) -> None:
        for tr in self.trainers.values():
            tr.stop()
