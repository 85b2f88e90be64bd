"""Measurements on a network while and after it trains, for results that are more than accuracies.

Each probe is a function ``probe(trainer, event)`` for
:func:`~apexplorer.sweep.point.train_point`: it is called after every epoch
(``event`` the EpochEvent) and once at the end (``event`` None), and returns
None or one dict of JSON values per ensemble member.  A result file names a
probe as ``"apexplorer.paper.probes:NAME"``; it runs on the Dask worker that
trains the point and its values come back in the rows.

* :func:`psychometric`: Appendix 2's psychometric curve, the mean output for
  "right" at 25 tilts x 100 images, at the noise level the model trained on.
* :func:`si_errors`: Appendix 3's error magnitudes: mean |e| of each module's
  SI neurons on a fixed batch of training images after every epoch, and every
  SI neuron's at the end.
* :func:`cosines`: Appendix 4's batch cosine similarity of task A's errors
  and updates alone and with task B's simultaneous input, on fixed batches
  after every epoch (and, to tell B's error from B's input, with B's output
  error kept out).
"""

from __future__ import annotations

import torch

from ..analysis import member

#: Fixed training images a probe measures on (Appendix 3: the last batch of training; here a fixed batch
#: of the same size, so that every epoch and every run is measured on the same samples).
PROBE_BATCH = 500
#: Appendix 4: batches measured after every epoch (the paper measured every training batch).
COSINE_BATCHES = 4


def _members(trainer):
    net = trainer.net
    return [member(net, k) for k in range(net.members or 1)]


def _batch(data, n: int, start: int = 0, device="cpu"):
    x, y = data.x_train[start:start + n], data.y_train[start:start + n]
    return x.to(device), y.to(device)


def psychometric(trainer, event) -> list | None:
    """At the end: each member's psychometric curve (``tilt``, ``p_right`` = mean output for "right",
    ``choice`` = fraction of argmax "right") at its task's noise level (Appendix 2)."""
    from ..psychophysics import TILTS, psychometric_curve

    if event is not None:
        return None
    task = trainer.task
    spec = (trainer.experiment.tasks.get(task.name) if trainer.experiment is not None else None)
    noise = 0.0 if spec is None or spec.noise is None else float(spec.noise)
    out = []
    for net in _members(trainer):
        c = psychometric_curve(net, TILTS, n=100, noise=noise, seed=2, task=task)
        out.append({"tilt": c["tilt"], "p_right": c["p_right"], "choice": c["choice"], "noise": noise})
    return out


def si_errors(trainer, event) -> list:
    """Mean |e| of every module's SI neurons (``si``: {module: value}, and ``ratio``: the first module's over
    the last one's) on a fixed batch after each epoch; at the end also each SI neuron's (``neurons``)."""
    from ..analysis import error_magnitudes

    task = trainer.task
    x, y = _batch(trainer.data[task.name], PROBE_BATCH, device=trainer.net.device)
    out = []
    for net in _members(trainer):
        plan = net.plan(task)
        meter = error_magnitudes(net, [({task.input: x}, {task.output: y})], plan)
        mods = [m for m, _ in plan.inference if m in meter.sums]
        per = meter.per_module()
        d = {"si": {m: per[m] for m in mods}}
        if mods and per[mods[-1]] > 0:
            d["ratio"] = per[mods[0]] / per[mods[-1]]
        if event is None:
            neurons = meter.per_neuron()
            d["neurons"] = {m: [round(float(v), 8) for v in neurons[m]] for m in mods}
        out.append(d)
    return out


def _without_output_error(net, task):
    """A copy of ``net`` (sharing every tensor but one) in which ``task``'s output error enters no module."""
    from ..network import Network

    out = net.wiring.task(task).output
    tensors = {g: dict(d) for g, d in net.tensors.items()}
    for q in net.wiring.feedback:
        if q.source == out:
            tensors["feedback"][q.name] = torch.zeros_like(tensors["feedback"][q.name])
    return Network(net.wiring, net.config, seed=net.seed, device=net.device, tensors=tensors)


def cosines(trainer, event) -> list | None:
    """After each epoch: task A's batch cosine similarity of errors and updates, alone against with task
    B's input, averaged over :data:`COSINE_BATCHES` fixed training batches (``error``, ``update``, and
    their minimum over the batches ``error_min``, ``update_min``).

    ``error_quiet_b`` is the same for the errors when B's output error is kept out of the modules (B's
    input still drives them): what is left of the interference when B has nothing left to learn."""
    from ..multitask import simultaneous_cosine

    if event is None:
        return None
    names = [t.name for t in trainer.tasks]
    if "A" not in names or len(names) < 2:
        return None
    dev = trainer.net.device
    n = PROBE_BATCH
    batches = [{t: _batch(trainer.data[t], n, k * n % max(len(trainer.data[t].y_train) - n, 1), dev) for t in names}
               for k in range(COSINE_BATCHES)]
    out = []
    for net in _members(trainer):
        got = [simultaneous_cosine(net, "A", b) for b in batches]
        d = {}
        for what in ("error", "update"):
            keys = got[0][what]
            d[what] = {k: sum(g[what][k] for g in got) / len(got) for k in keys}
            d[f"{what}_min"] = {k: min(g[what][k] for g in got) for k in keys}
        quiet = _without_output_error(net, "B")
        q = [simultaneous_cosine(quiet, "A", b)["error"] for b in batches]
        d["error_quiet_b"] = {k: sum(g[k] for g in q) / len(q) for k in q[0]}
        out.append(d)
    return out


__all__ = ["COSINE_BATCHES", "PROBE_BATCH", "cosines", "psychometric", "si_errors"]
