"""The checks of a :class:`~apexplorer.wiring.Wiring`, apart from the data they check.

:func:`check_wiring` raises a :class:`WiringError` that names the bad item and the valid choices, and
returns the warnings of a valid but probably unintended wiring.  It only reads the wiring (through its
look-ups such as ``endpoint`` and ``active_paths``), so it imports nothing from :mod:`apexplorer.wiring`
at all (no cycle): ``w`` is a Wiring, ``m`` a Module, ``p`` a Path, ``t`` a Task.
"""

from __future__ import annotations

from . import graph
from .errors import WiringError, choices


def check_name(kind: str, name) -> None:
    """A WiringError unless ``name`` can name a module, port, block or task."""
    if not isinstance(name, str) or not name or "." in name or "->" in name or name.strip() != name:
        raise WiringError(
            f"{kind} name {name!r} is not valid: use a non-empty name without '.', '->' or spaces at the ends"
        )


def check_connection_rate(c, where: str = "") -> None:
    """A WiringError naming ``c`` unless it is a number in (0, 1] (the fraction of a reservoir's entries drawn)."""
    if not isinstance(c, (int, float)) or isinstance(c, bool) or not (0 < c <= 1):
        raise WiringError(f"{where}connection rate {c!r} must be in (0, 1]")


def check_wiring(w) -> tuple:
    """Check everything in ``w``; raise :class:`WiringError` naming the bad item; return the warnings."""
    if not w.modules and not w.feedforward:
        raise WiringError("the wiring has no modules and no paths")
    if not w.inputs:
        raise WiringError("the wiring has no input ports")
    if not w.outputs:
        raise WiringError("the wiring has no output ports")
    seen = {}
    for kind, items in (("module", w.modules), ("input", w.inputs), ("output", w.outputs)):
        for it in items:
            check_name(kind, it.name)
            if it.name in seen:
                raise WiringError(f"name {it.name!r} is used twice (as {seen[it.name]} and {kind})")
            seen[it.name] = kind
    for p in w.inputs + w.outputs:
        if not isinstance(p.size, int) or isinstance(p.size, bool) or p.size <= 0:
            raise WiringError(f"port {p.name!r}: size {p.size!r} must be a positive integer")
    for m in w.modules:
        check_module(m)
    names = set()
    for kind, paths in (("feedforward", w.feedforward), ("feedback", w.feedback)):
        for p in paths:
            if p.name in names:
                raise WiringError(f"path name {p.name!r} is used twice; path names must be unique")
            names.add(p.name)
            check_path(w, p, kind)
    ff_edges = [(w.endpoint(p.source).node, w.endpoint(p.target).node) for p in w.feedforward]
    mods = set(w.module_names)
    cyc = graph.find_cycle(w.module_names, [(a, b) for a, b in ff_edges if a in mods and b in mods])
    if cyc:
        raise WiringError(
            f"feedforward paths form a cycle {' -> '.join(cyc)}; inference needs an acyclic order of modules"
        )
    fb_edges = [(w.endpoint(p.source).node, w.endpoint(p.target).node) for p in w.feedback]
    cyc = graph.find_cycle(w.module_names, [(a, b) for a, b in fb_edges if a in mods and b in mods])
    if cyc:
        raise WiringError(
            f"feedback paths form a cycle {' -> '.join(cyc)}; the learning phase needs an acyclic order"
        )
    for name, _, _ in w.layout:
        if name not in mods:
            raise WiringError(f"layout: module {name!r} does not exist; modules are {choices(w.module_names)}")
    if not w.tasks:
        raise WiringError("the wiring has no tasks")
    tnames = set()
    for t in w.tasks:
        if t.name in tnames:
            raise WiringError(f"task name {t.name!r} is used twice")
        tnames.add(t.name)
        check_task(w, t)
    return tuple(m for t in w.tasks for m in task_warnings(w, t))


def check_module(m) -> None:
    """A WiringError naming what is wrong with module ``m`` (its size, blocks, spectral radius, rate)."""
    if not isinstance(m.size, int) or isinstance(m.size, bool) or m.size <= 0:
        raise WiringError(f"module {m.name!r}: size {m.size!r} must be a positive integer")
    if not m.blocks:
        raise WiringError(
            f"module {m.name!r}: give its blocks (size {m.size} is not divisible into 4 equal blocks)"
        )
    bnames = set()
    for b, s in m.blocks:
        check_name(f"module {m.name!r}: block", b)
        if b in bnames:
            raise WiringError(f"module {m.name!r}: block {b!r} is listed twice")
        bnames.add(b)
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise WiringError(f"module {m.name!r}: block {b!r} has size {s!r}; sizes must be integers >= 0")
    total = sum(s for _, s in m.blocks)
    if total != m.size:
        detail = " + ".join(f"{b} {s}" for b, s in m.blocks)
        raise WiringError(f"module {m.name!r}: blocks add up to {total} ({detail}), but the module size is {m.size}")
    rho = m.spectral_radius
    if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not (rho >= 0) or rho == float("inf"):
        raise WiringError(f"module {m.name!r}: spectral radius {rho!r} must be a finite number >= 0")
    check_connection_rate(m.connection_rate, f"module {m.name!r}: ")

def check_path(w, p, kind: str) -> None:
    """A WiringError unless ``p`` joins endpoints that a ``kind`` (feedforward or feedback) path may join."""
    where = f"{kind} path {p.name!r}"
    src = w.endpoint(p.source, where)
    dst = w.endpoint(p.target, where)
    if kind == "feedforward":
        if src.kind == "output":
            raise WiringError(
                f"{where}: source {p.source!r} is an output port; feedforward paths start at an input port "
                "or a module block (output errors travel on feedback paths)"
            )
        if dst.kind == "input":
            raise WiringError(f"{where}: target {p.target!r} is an input port; targets are module blocks or outputs")
        if src.kind == "input" and dst.kind == "output":
            raise WiringError(f"{where}: a path from input {p.source!r} straight to output {p.target!r} skips every module")
    else:
        if src.kind == "input":
            raise WiringError(
                f"{where}: source {p.source!r} is an input port; feedback paths start at an output port "
                "(its error) or a module block"
            )
        if dst.kind != "module":
            raise WiringError(f"{where}: target {p.target!r} must be a module block")

#: What a block's name says of it, by its first two letters (RI | SI | RE | SE).
ROLES = {"RI": "receives inference", "SI": "sends inference", "RE": "receives error", "SE": "sends error"}


def role(w, ref: str) -> str:
    """The role of endpoint ``ref``: ``input``, ``output``, ``RI``, ``SI``, ``RE``, ``SE``, or ``""`` for a
    block whose name gives none."""
    e = w.endpoint(ref)
    if e.kind != "module":
        return e.kind
    return next((r for r in ROLES if e.block.upper().startswith(r)), "")


def new_path_kind(w, source: str, target: str) -> str:
    """The kind of a path drawn from ``source`` to ``target`` by the blocks' roles: ``feedforward`` (input or
    SI to RI, SI to an output) or ``feedback`` (SE or an output to RE); a WiringError says why any other
    pair cannot be joined.  (Whether the wiring takes it, it says itself once the path is in.)"""
    where = f"path {source} -> {target}"
    src, dst = role(w, source), role(w, target)
    if src in ("RI", "RE"):
        raise WiringError(f"{where}: {source} {ROLES[src]}, so no path starts there; paths start at an input "
                          "port, an SI block (inference) or an SE block or output port (error)")
    if dst in ("SI", "SE", "input"):
        what = "is an input port" if dst == "input" else ROLES[dst]
        raise WiringError(f"{where}: {target} {what}, so no path ends there; paths end at an RI block "
                          "(inference), an RE block (error) or an output port")
    if src == "" or dst == "":
        ref = source if src == "" else target
        raise WiringError(f"{where}: block {ref} has no role in its name; a block's name starts with "
                          f"{choices(ROLES)} (or add the path in the Paths form)")
    if src in ("input", "SI"):
        if dst == "RE":
            raise WiringError(f"{where}: {source} sends inference, but {target} {ROLES['RE']}; "
                              "inference goes to an RI block or an output port")
        if src == "input" and dst == "output":
            raise WiringError(f"{where}: a path from input {source!r} straight to output {target!r} skips "
                              "every module")
        return "feedforward"
    if dst in ("RI", "output"):
        raise WiringError(f"{where}: {source} sends error, but {target} "
                          f"{'is an output port' if dst == 'output' else ROLES['RI']}; error goes to an RE block")
    return "feedback"


def check_task(w, t) -> None:
    """A WiringError unless task ``t`` names existing ports and paths and its output can be reached."""
    where = f"task {t.name!r}"
    ins = [p.name for p in w.inputs]
    outs = [p.name for p in w.outputs]
    if t.input not in ins:
        raise WiringError(f"{where}: input {t.input!r} is not an input port; inputs are {choices(ins)}")
    if t.output not in outs:
        raise WiringError(f"{where}: output {t.output!r} is not an output port; outputs are {choices(outs)}")
    active = w.active_paths(t)
    for n in list(active) + list(t.frozen):
        if n not in w.path_names:
            raise WiringError(f"{where}: path {n!r} does not exist; paths are {choices(w.path_names)}")
    for n in t.frozen:
        if n not in active:
            raise WiringError(f"{where}: frozen path {n!r} is not one of the task's active paths")
    active = set(active)
    ff = [p for p in w.feedforward if p.name in active]
    edges = [(w.endpoint(p.source).node, w.endpoint(p.target).node) for p in ff]
    reach = graph.reachable([t.input], edges)
    if t.output not in reach:
        raise WiringError(
            f"{where}: output {t.output!r} cannot be reached from input {t.input!r} through the task's "
            f"active feedforward paths ({choices(p.name for p in ff)})"
        )

def task_warnings(w, t) -> list:
    """The oddities of task ``t``: learnable paths into modules that no error reaches."""
    active = set(w.active_paths(t))
    # a feedback path into (or out of) an empty block carries no error
    fb_edges = [
        (w.endpoint(p.source).node, w.endpoint(p.target).node)
        for p in w.feedback
        if p.name in active and w.endpoint(p.source).size > 0 and w.endpoint(p.target).size > 0
    ]
    errs = graph.reachable([t.output], fb_edges)
    out = []
    for p in w.feedforward:
        if p.name not in active or p.name in t.frozen:
            continue
        dst = w.endpoint(p.target)
        if dst.kind == "module" and dst.node not in errs:
            out.append(
                f"task {t.name!r}: learnable path {p.name!r} feeds module {dst.node!r}, which no error reaches; "
                "it will not learn (AP reduces to reservoir computing there)"
            )
    return out
