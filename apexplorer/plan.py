"""The order of work of one configuration (a task's active paths), computed once from the wiring by the
pure functions of :mod:`apexplorer.graph`, and the plain results of the two phases."""

from __future__ import annotations

from dataclasses import dataclass

from . import graph
from .wiring import Task, Wiring


@dataclass(frozen=True)
class Plan:
    """What each phase visits, in order, for a set of active paths.

    ``inference``: ``[(module, [(path, source endpoint, target slice)])]`` in
    topological order of the active feedforward paths reached from the inputs.
    ``readout``: ``{output: [(path, source endpoint)]}``.
    ``learning``: ``[(module, [(path, source endpoint, target slice)])]`` in
    topological order of the active feedback paths reached from the outputs.
    ``learn``: ``[(path, source endpoint, target endpoint)]`` learnable paths.
    """

    inputs: tuple
    outputs: tuple
    inference: tuple
    readout: dict
    learning: tuple
    learn: tuple
    active: frozenset


def make_plan(wiring: Wiring, tasks) -> Plan:
    """Plan the phases for one task or several tasks run together (their paths united)."""
    tasks = [tasks] if isinstance(tasks, Task) else list(tasks)
    inputs = tuple(dict.fromkeys(t.input for t in tasks))
    outputs = tuple(dict.fromkeys(t.output for t in tasks))
    active = set()
    learnable = set()
    for t in tasks:
        active |= set(wiring.active_paths(t))
        learnable |= set(wiring.learnable_paths(t))
    ep = wiring.endpoint
    ff = [p for p in wiring.feedforward if p.name in active]
    fb = [q for q in wiring.feedback if q.name in active]
    mods = wiring.module_names

    ff_edges = [(ep(p.source).node, ep(p.target).node) for p in ff]
    reached = graph.reachable(inputs, ff_edges)
    inf_mods = graph.topological_order([m for m in mods if m in reached], ff_edges)
    inference = tuple(
        (m, tuple((p.name, ep(p.source), ep(p.target).slice) for p in ff if ep(p.target).node == m and ep(p.source).node in reached))
        for m in inf_mods
    )
    readout = {
        o: tuple((p.name, ep(p.source)) for p in ff if p.target == o and ep(p.source).node in reached) for o in outputs
    }

    fb_edges = [(ep(q.source).node, ep(q.target).node) for q in fb]
    err = graph.reachable(outputs, fb_edges)
    err_mods = graph.topological_order([m for m in mods if m in err], fb_edges)
    learning = tuple(
        (m, tuple((q.name, ep(q.source), ep(q.target).slice) for q in fb if ep(q.target).node == m and ep(q.source).node in err))
        for m in err_mods
    )
    learn = tuple(
        (p.name, ep(p.source), ep(p.target))
        for p in ff
        if p.name in learnable and ep(p.source).node in reached
    )
    return Plan(inputs, outputs, inference, readout, learning, learn, frozenset(active))


# ---------------------------------------------------------------------------
# phase results
# ---------------------------------------------------------------------------
@dataclass
class Phase0:
    """Inference phase: final states z0, drives u0, output probabilities, optional trajectories."""

    inputs: dict
    z: dict
    u: dict
    logits: dict
    probs: dict
    trajectory: dict | None = None  # module -> (T1 + 1, B, N)
    cols: dict | None = None  # module -> the columns its drive reaches (None: all), see dynamics.support


@dataclass
class Phase1:
    """Learning phase: states z1, local errors e = z0 - z1, output errors, optional trajectories."""

    z: dict
    e: dict
    e_out: dict
    trajectory: dict | None = None  # module -> (T2 + 1, B, N)
