"""The wiring of a multi-region RNN (MR-RNN), as frozen, validated data.

A wiring lists

* **modules**: fixed random recurrent networks, each split into named
  contiguous blocks (default ``RI | SI | RE | SE``);
* **input ports** (data) and **output ports** (softmax readouts);
* **feedforward paths** ``source -> target``: learnable weights from an input
  port or a module block into a module block, or from a module block into an
  output port (the readout);
* **feedback paths** ``source -> target``: fixed random weights carrying the
  output error of an output port, or the error of a module block, into a
  module block;
* **tasks**: an input, an output and the set of paths that are active for the
  task (every other path is suppressed).  ``frozen`` paths are active for
  inference but do not learn in that task.
* **layout** (optional): hints where to draw modules, ``(module, x, y)``: the centre
  of the module's box and its top, in the drawing's units.  They change nothing
  that is built or trained; a module without a hint is placed by the drawing.

Endpoints are written ``"port"`` or ``"module.block"``.  Path names default to
``"source->target"``.  Everything is checked in :meth:`Wiring.validate` (by :mod:`apexplorer.wiring_checks`), which
names the bad item and the valid choices.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Iterable

from .errors import WiringError, WiringWarning, choices
from .wiring_checks import check_wiring

DEFAULT_BLOCKS = ("RI", "SI", "RE", "SE")


@dataclass(frozen=True)
class Module:
    """A fixed recurrent module ``h_{t+1} = tanh(h_t W + b + u)``.

    Parameters
    ----------
    name : str
    size : int
        Number of neurons N.
    blocks : tuple of (name, size)
        Contiguous named blocks, in order; sizes add up to ``size``.
    spectral_radius : float
        Spectral radius rho of W after scaling.
    connection_rate : float
        Fraction c of the N*N entries of W that are non-zero.
    """

    name: str
    size: int
    blocks: tuple = ()
    spectral_radius: float = 0.25
    connection_rate: float = 0.25

    def __post_init__(self):
        if not self.blocks and isinstance(self.size, int) and self.size > 0 and self.size % 4 == 0:
            q = self.size // 4
            object.__setattr__(self, "blocks", tuple((b, q) for b in DEFAULT_BLOCKS))
        if isinstance(self.blocks, dict):
            object.__setattr__(self, "blocks", tuple(self.blocks.items()))
        object.__setattr__(self, "blocks", tuple((str(b), s) for b, s in self.blocks))

    @property
    def block_names(self) -> tuple:
        return tuple(b for b, _ in self.blocks)

    def block_slice(self, block: str) -> slice:
        """Contiguous slice of ``block`` within the module's neurons."""
        start = 0
        for b, s in self.blocks:
            if b == block:
                return slice(start, start + s)
            start += s
        raise WiringError(
            f"module {self.name!r} has no block {block!r}; its blocks are {choices(self.block_names)}"
        )

    def block_size(self, block: str) -> int:
        sl = self.block_slice(block)
        return sl.stop - sl.start


@dataclass(frozen=True)
class Port:
    """An input port (data of ``size`` features) or output port (``size`` classes)."""

    name: str
    size: int


@dataclass(frozen=True)
class Path:
    """A feedforward (learnable) or feedback (fixed) path ``source -> target``."""

    source: str
    target: str
    name: str = ""

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", f"{self.source}->{self.target}")


@dataclass(frozen=True)
class Task:
    """A task: an input port, an output port and its active paths.

    ``paths=None`` means every path of the wiring is active.  ``frozen`` paths
    are active (they carry signal) but are not learned in this task.
    """

    name: str
    input: str
    output: str
    paths: tuple | None = None
    frozen: tuple = ()

    def __post_init__(self):
        if self.paths is not None:
            object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "frozen", tuple(self.frozen))


@dataclass(frozen=True)
class Endpoint:
    """A resolved path end: a port, or a block of a module."""

    node: str  # port or module name
    block: str | None  # None for ports
    kind: str  # "input", "output" or "module"
    size: int
    slice: slice | None  # block slice within the module


@dataclass(frozen=True)
class Wiring:
    """A validated MR-RNN wiring.  Build with :meth:`create` or :meth:`from_dict`."""

    modules: tuple = ()
    inputs: tuple = ()
    outputs: tuple = ()
    feedforward: tuple = ()
    feedback: tuple = ()
    tasks: tuple = ()
    name: str = "custom"
    layout: tuple = ()
    _warnings: tuple = field(default=(), compare=False, repr=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def create(cls, modules, inputs, outputs, feedforward, feedback, tasks=(), name="custom", warn=True,
               layout=()):
        """Build and validate a wiring; a missing task list gives one task over every path."""
        w = cls(
            modules=tuple(modules),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            feedforward=tuple(feedforward),
            feedback=tuple(feedback),
            tasks=tuple(tasks),
            name=name,
            layout=_layout(layout),
        )
        if not w.tasks and w.inputs and w.outputs:
            w = replace(w, tasks=(Task("main", w.inputs[0].name, w.outputs[0].name),))
        return w.validate(warn=warn)

    # ------------------------------------------------------------- look-ups
    @property
    def module_names(self) -> tuple:
        return tuple(m.name for m in self.modules)

    @property
    def path_names(self) -> tuple:
        return tuple(p.name for p in self.feedforward) + tuple(p.name for p in self.feedback)

    def module(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise WiringError(f"module {name!r} does not exist; modules are {choices(self.module_names)}")

    def task(self, name: str | None = None) -> Task:
        if name is None:
            return self.tasks[0]
        for t in self.tasks:
            if t.name == name:
                return t
        raise WiringError(f"task {name!r} does not exist; tasks are {choices(t.name for t in self.tasks)}")

    def path(self, name: str) -> Path:
        for p in self.feedforward + self.feedback:
            if p.name == name:
                return p
        raise WiringError(f"path {name!r} does not exist; paths are {choices(self.path_names)}")

    def active_paths(self, task: Task) -> tuple:
        return self.path_names if task.paths is None else task.paths

    def learnable_paths(self, task: Task) -> tuple:
        """Feedforward paths that are active and not frozen in ``task``."""
        active = set(self.active_paths(task))
        return tuple(p.name for p in self.feedforward if p.name in active and p.name not in task.frozen)

    def endpoint(self, ref: str, where: str = "") -> Endpoint:
        """Resolve ``"port"`` or ``"module.block"``; errors name the valid choices."""
        ctx = f"{where}: " if where else ""
        if not isinstance(ref, str) or not ref:
            raise WiringError(f"{ctx}endpoint {ref!r} is not a string like 'x' or 'L1.SI'")
        if "." in ref:
            mod, block = ref.split(".", 1)
            m = next((m for m in self.modules if m.name == mod), None)
            if m is None:
                raise WiringError(f"{ctx}module {mod!r} does not exist; modules are {choices(self.module_names)}")
            if block not in m.block_names:
                raise WiringError(
                    f"{ctx}module {mod!r} has no block {block!r}; its blocks are {choices(m.block_names)}"
                )
            sl = m.block_slice(block)
            return Endpoint(mod, block, "module", sl.stop - sl.start, sl)
        for p in self.inputs:
            if p.name == ref:
                return Endpoint(ref, None, "input", p.size, None)
        for p in self.outputs:
            if p.name == ref:
                return Endpoint(ref, None, "output", p.size, None)
        valid = [p.name for p in self.inputs + self.outputs] + [
            f"{m.name}.{b}" for m in self.modules for b in m.block_names
        ]
        raise WiringError(f"{ctx}endpoint {ref!r} does not exist; valid endpoints are {choices(valid)}")

    # ----------------------------------------------------------- validation
    def validate(self, warn: bool = True) -> "Wiring":
        """Check everything (:func:`~apexplorer.wiring_checks.check_wiring`); raise :class:`WiringError`
        naming the bad item, warn on oddities."""
        msgs = check_wiring(self)
        if warn:
            for msg in msgs:
                warnings.warn(msg, WiringWarning, stacklevel=3)
        return replace(self, _warnings=msgs)

    @property
    def warnings(self) -> tuple:
        """Warnings found by the last validation (learnable paths that no error reaches)."""
        return self._warnings

    def position(self, module: str):
        """The layout hint ``(x, y)`` of ``module``, or None."""
        return next(((x, y) for m, x, y in self.layout if m == module), None)

    def without_layout(self) -> "Wiring":
        """The same network with no layout hints (what is built is the same)."""
        return replace(self, layout=())

    # ------------------------------------------------------------ transform
    def with_position(self, module: str, x: float, y: float) -> "Wiring":
        """A layout hint for ``module``: draw its box centred at ``x`` with its top at ``y``."""
        self.module(module)  # names the modules when there is no such one
        layout = tuple(h for h in self.layout if h[0] != module) + ((module, float(x), float(y)),)
        return replace(self, layout=layout).validate(warn=False)

    def with_spectral_radius(self, rho: float) -> "Wiring":
        return replace(self, modules=tuple(replace(m, spectral_radius=rho) for m in self.modules)).validate(warn=False)

    def with_connection_rate(self, c: float) -> "Wiring":
        return replace(self, modules=tuple(replace(m, connection_rate=c) for m in self.modules)).validate(warn=False)

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "modules": [
                {
                    "name": m.name,
                    "size": m.size,
                    "blocks": dict(m.blocks),
                    "spectral_radius": m.spectral_radius,
                    "connection_rate": m.connection_rate,
                }
                for m in self.modules
            ],
            "inputs": [{"name": p.name, "size": p.size} for p in self.inputs],
            "outputs": [{"name": p.name, "size": p.size} for p in self.outputs],
            "feedforward": [_path_dict(p) for p in self.feedforward],
            "feedback": [_path_dict(p) for p in self.feedback],
            "tasks": [
                {
                    "name": t.name,
                    "input": t.input,
                    "output": t.output,
                    **({"paths": list(t.paths)} if t.paths is not None else {}),
                    **({"frozen": list(t.frozen)} if t.frozen else {}),
                }
                for t in self.tasks
            ],
            **({"layout": {m: [x, y] for m, x, y in self.layout}} if self.layout else {}),
        }

    @classmethod
    def from_dict(cls, d: dict, warn: bool = True) -> "Wiring":
        if not isinstance(d, dict):
            raise WiringError(f"a wiring must be a JSON object, not {type(d).__name__}")
        known = {"name", "modules", "inputs", "outputs", "feedforward", "feedback", "tasks", "layout"}
        unknown = set(d) - known
        if unknown:
            raise WiringError(f"unknown wiring key(s) {sorted(unknown)}; valid keys are {choices(sorted(known))}")
        try:
            modules = []
            for m in d.get("modules", []):
                _keys(m, "module", {"name", "size", "blocks", "spectral_radius", "connection_rate"})
                blocks = m.get("blocks", ())
                if isinstance(blocks, dict):
                    blocks = tuple(blocks.items())
                elif isinstance(blocks, list):
                    blocks = tuple(tuple(b) for b in blocks)
                modules.append(
                    Module(
                        m["name"],
                        m["size"],
                        blocks,
                        m.get("spectral_radius", 0.25),
                        m.get("connection_rate", 0.25),
                    )
                )
            inputs = [Port(p["name"], p["size"]) for p in d.get("inputs", [])]
            outputs = [Port(p["name"], p["size"]) for p in d.get("outputs", [])]
            ff = [_path(p, "feedforward") for p in d.get("feedforward", [])]
            fb = [_path(p, "feedback") for p in d.get("feedback", [])]
            tasks = []
            for t in d.get("tasks", []):
                _keys(t, "task", {"name", "input", "output", "paths", "frozen"})
                tasks.append(Task(t["name"], t["input"], t["output"], t.get("paths"), tuple(t.get("frozen", ()))))
        except KeyError as e:
            raise WiringError(f"wiring JSON is missing the key {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            raise WiringError(f"wiring JSON is malformed: {e}") from None
        return cls.create(modules, inputs, outputs, ff, fb, tasks, name=d.get("name", "custom"), warn=warn,
                          layout=d.get("layout", ()))

    def to_json(self, path=None, indent=2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            FsPath(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path, warn: bool = True) -> "Wiring":
        """Load from a JSON string or a file path."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            p = FsPath(text)
            if not p.exists():
                raise WiringError(f"wiring file {str(p)!r} does not exist")
            text = p.read_text()
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise WiringError(f"wiring JSON is not valid JSON: {e}") from None
        return cls.from_dict(d, warn=warn)


def _layout(hints) -> tuple:
    """Layout hints as ``((module, x, y), ...)`` from that form or a JSON object {module: [x, y]}."""
    if isinstance(hints, dict):
        items = list(hints.items())
    elif isinstance(hints, (list, tuple)):
        items = []
        for h in hints:
            if not isinstance(h, (list, tuple)) or len(h) != 3:
                raise WiringError(f"layout hint {h!r} must be (module, x, y)")
            items.append((h[0], h[1:]))
    else:
        raise WiringError(f"layout must be a JSON object {{module: [x, y]}}, not {type(hints).__name__}")
    out = []
    for m, xy in items:
        if not isinstance(xy, (list, tuple)) or len(xy) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
                for v in xy):
            raise WiringError(f"layout of module {m!r}: {xy!r} must be [x, y], two finite numbers")
        out.append((str(m), float(xy[0]), float(xy[1])))
    return tuple(out)


def _keys(d, kind, valid):
    if not isinstance(d, dict):
        raise WiringError(f"each {kind} must be a JSON object, got {d!r}")
    unknown = set(d) - valid
    if unknown:
        raise WiringError(f"{kind} {d.get('name', '')!r}: unknown key(s) {sorted(unknown)}; valid keys are {choices(sorted(valid))}")


def _path(p, kind) -> Path:
    if isinstance(p, str):
        if "->" not in p:
            raise WiringError(f"{kind} path {p!r} must look like 'source->target'")
        s, t = (x.strip() for x in p.split("->", 1))
        return Path(s, t)
    _keys(p, f"{kind} path", {"name", "source", "target"})
    return Path(p["source"], p["target"], p.get("name", ""))


def _path_dict(p: Path) -> dict:
    d = {"source": p.source, "target": p.target}
    if p.name != f"{p.source}->{p.target}":
        d["name"] = p.name
    return d


def chain(
    sizes: Iterable[int],
    n_in: int,
    n_out: int,
    blocks: dict | None = None,
    spectral_radius: float = 0.25,
    connection_rate: float = 0.25,
    name: str = "custom",
    input_name: str = "x",
    output_name: str = "y",
) -> Wiring:
    """A layered MR-RNN ``x -> L1 -> ... -> Ln -> y`` with error paths back down (Fig. 1c).

    ``blocks`` gives the block sizes of every module (default: four equal
    blocks RI | SI | RE | SE).
    """
    sizes = list(sizes)
    mods = []
    for i, n in enumerate(sizes, 1):
        b = tuple(blocks.items()) if blocks else ()
        mods.append(Module(f"L{i}", n, b, spectral_radius, connection_rate))
    names = [m.name for m in mods]
    ff = [Path(input_name, f"{names[0]}.RI")]
    ff += [Path(f"{a}.SI", f"{b}.RI") for a, b in zip(names, names[1:])]
    ff.append(Path(f"{names[-1]}.SI", output_name))
    fb = [Path(output_name, f"{names[-1]}.RE")]
    fb += [Path(f"{b}.SE", f"{a}.RE") for a, b in reversed(list(zip(names, names[1:])))]
    return Wiring.create(mods, [Port(input_name, n_in)], [Port(output_name, n_out)], ff, fb, name=name)
