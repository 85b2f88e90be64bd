"""An editable wiring (no Panel): the Network editor's state.

The spec is the library's JSON form (:meth:`Wiring.to_dict`).  Every edit
changes the spec and validates it again with :meth:`Wiring.from_dict`:
``wiring`` is the validated :class:`Wiring`, or None while the spec is
invalid, and ``error`` is then the library's message.  An invalid spec is kept
(adding a module before its paths is a normal step of editing).
"""

from __future__ import annotations

import copy
import json
import warnings

import param

from ..errors import ApexplorerError, WiringError, WiringWarning
from ..presets import preset
from ..wiring import DEFAULT_BLOCKS, Wiring


class WiringModel(param.Parameterized):
    """A wiring being edited: its JSON spec, the validated wiring, the error."""

    spec = param.Dict(default={}, doc="The wiring in the library's JSON form.")
    wiring = param.ClassSelector(class_=Wiring, default=None, allow_None=True, doc="Validated wiring, or None.")
    error = param.String(default="", doc="The library's validation message ('' when valid).")
    notes = param.List(default=[], doc="Validation warnings (e.g. learnable paths no error reaches).")

    def __init__(self, wiring: Wiring | None = None, **params):
        super().__init__(**params)
        if wiring is not None:
            self.set_wiring(wiring)

    # ------------------------------------------------------------- whole
    def set_spec(self, spec: dict) -> bool:
        """Take a new spec and validate it; returns whether it is valid."""
        spec = copy.deepcopy(spec)
        w, err = validate(spec)
        self.param.update(spec=spec, wiring=w, error=err, notes=list(w.warnings) if w is not None else [])
        return w is not None

    def set_wiring(self, wiring: Wiring) -> None:
        self.set_spec(wiring.to_dict())

    def load_preset(self, name: str, n_in: int, n_out: int) -> bool:
        try:
            w = preset(name, n_in, n_out)
        except ApexplorerError as e:
            self.error = str(e)
            return False
        self.set_wiring(w)
        return True

    def load_json(self, text: str) -> bool:
        """Import wiring JSON; a bad text keeps the current spec and reports the library's message."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            self.error = f"wiring JSON is not valid JSON: {e}"
            return False
        if not isinstance(d, dict):
            self.error = f"a wiring must be a JSON object, not {type(d).__name__}"
            return False
        w, err = validate(d)
        if w is None:  # the current spec stays, untouched: nothing is redrawn, the user's text is kept
            self.error = f"not imported: {err}"
            return False
        return self.set_spec(d)

    def to_json(self) -> str:
        return json.dumps(self.spec, indent=2)

    def draft(self) -> Wiring | None:
        """The spec as it stands, for drawing while it is invalid (None when nothing of it can be drawn).

        Unchecked: its modules with valid sizes and blocks, its ports, and the paths whose
        ends exist; tasks keep only those paths.  Never used to build a network."""
        return draft_of(self.spec)

    def _edit(self, fn) -> bool:
        spec = copy.deepcopy(self.spec)
        try:
            fn(spec)
        except ApexplorerError as e:
            self.error = str(e)
            return False
        return self.set_spec(spec)

    # ------------------------------------------------------------ look-ups
    @property
    def module_names(self) -> list:
        return [m["name"] for m in self.spec.get("modules", [])]

    @property
    def path_names(self) -> list:
        return [_pname(p) for k in ("feedforward", "feedback") for p in self.spec.get(k, [])]

    @property
    def task_names(self) -> list:
        return [t["name"] for t in self.spec.get("tasks", [])]

    def endpoints(self, kind: str, end: str) -> list:
        """Valid endpoint names for a new path: ``kind`` feedforward/feedback, ``end`` source/target."""
        ins = [p["name"] for p in self.spec.get("inputs", [])]
        outs = [p["name"] for p in self.spec.get("outputs", [])]
        blocks = [f"{m['name']}.{b}" for m in self.spec.get("modules", []) for b in _blocks(m)]
        if kind == "feedforward":
            return ins + blocks if end == "source" else blocks + outs
        return outs + blocks if end == "source" else blocks

    def active(self, task: str) -> list:
        """Active path names of ``task``."""
        t = _task(self.spec, task)
        return list(self.path_names) if t.get("paths") is None else list(t["paths"])

    # --------------------------------------------------------------- edits
    def add_module(self, name: str, size: int, blocks: dict | None = None, after: str | None = None) -> bool:
        """Add a module (four equal blocks RI | SI | RE | SE by default)."""

        def fn(spec):
            if name in self.module_names:
                raise WiringError(f"module {name!r} already exists; modules are {', '.join(self.module_names)}")
            m = {"name": name, "size": size}
            if blocks:
                m["blocks"] = dict(blocks)
            elif isinstance(size, int) and size > 0 and size % 4 == 0:
                m["blocks"] = {b: size // 4 for b in DEFAULT_BLOCKS}
            mods = spec.setdefault("modules", [])
            ref = mods[0] if mods else {}
            m["spectral_radius"] = ref.get("spectral_radius", 0.25)
            m["connection_rate"] = ref.get("connection_rate", 0.25)
            mods.append(m)

        return self._edit(fn)

    def remove_module(self, name: str) -> bool:
        """Remove a module and every path that touches it."""

        def fn(spec):
            if name not in self.module_names:
                raise WiringError(f"module {name!r} does not exist; modules are {', '.join(self.module_names)}")
            spec["modules"] = [m for m in spec["modules"] if m["name"] != name]
            if isinstance(spec.get("layout"), dict):
                spec["layout"].pop(name, None)
                if not spec["layout"]:
                    spec.pop("layout")
            gone = set()
            for k in ("feedforward", "feedback"):
                keep = []
                for p in spec.get(k, []):
                    ends = [_end(p, 0), _end(p, 1)]
                    if any(e.split(".")[0] == name for e in ends):
                        gone.add(_pname(p))
                    else:
                        keep.append(p)
                spec[k] = keep
            _drop_from_tasks(spec, gone)
            self.removed_paths = len(gone)

        self.removed_paths = 0
        return self._edit(fn)

    def paths_of(self, module: str) -> list:
        """The names of the paths that touch ``module``."""
        return [_pname(p) for k in ("feedforward", "feedback") for p in self.spec.get(k, [])
                if any(_end(p, i).split(".")[0] == module for i in (0, 1))]

    def move_module(self, name: str, x: float, y: float) -> bool:
        """A layout hint: draw module ``name`` centred at ``x``, its top at ``y`` (nothing built changes)."""
        def fn(spec):
            if name not in self.module_names:
                raise WiringError(f"module {name!r} does not exist; modules are {', '.join(self.module_names)}")
            layout = spec.get("layout") if isinstance(spec.get("layout"), dict) else {}
            layout[name] = [round(float(x), 3), round(float(y), 3)]
            spec["layout"] = layout

        return self._edit(fn)

    def new_path(self, source: str, target: str) -> tuple:
        """(kind, '') for a path ``source -> target`` the wiring takes, by its blocks' roles
        (:func:`~apexplorer.wiring_checks.new_path_kind`); ('', the library's message) for one it refuses."""
        from ..wiring_checks import new_path_kind

        w = self.wiring or self.draft()
        if w is None:
            return "", self.error or "the wiring is not valid"
        try:
            kind = new_path_kind(w, source, target)
        except ApexplorerError as e:
            return "", str(e)
        spec = copy.deepcopy(self.spec)
        spec.setdefault(kind, []).append({"source": source, "target": target})
        _, err = validate(spec)
        if err and self.wiring is None and f"{source}->{target}" not in self.path_names:
            return kind, ""  # an invalid wiring being mended: its own problem is shown already
        return (kind, "") if not err else ("", err)

    def resize_module(self, name: str, size=None, blocks: dict | None = None) -> bool:
        """Change a module's size (equal blocks if none given) or its block sizes."""

        def fn(spec):
            m = next((m for m in spec.get("modules", []) if m["name"] == name), None)
            if m is None:
                raise WiringError(f"module {name!r} does not exist; modules are {', '.join(self.module_names)}")
            if blocks is not None:
                m["blocks"] = dict(blocks)
                m["size"] = sum(blocks.values()) if size is None else size
            elif size is not None:
                m["size"] = size
                names = list(_blocks(m)) or list(DEFAULT_BLOCKS)
                if isinstance(size, int) and size > 0 and size % len(names) == 0:
                    m["blocks"] = {b: size // len(names) for b in names}
                else:
                    m["blocks"] = {b: s for b, s in _blocks(m).items()}

        return self._edit(fn)

    def set_module_value(self, name: str, key: str, value) -> bool:
        """Set ``spectral_radius`` or ``connection_rate`` of one module."""

        def fn(spec):
            for m in spec.get("modules", []):
                if m["name"] == name:
                    m[key] = value

        return self._edit(fn)

    def set_all_modules(self, key: str, value) -> bool:
        """Set ``spectral_radius`` or ``connection_rate`` of every module."""

        def fn(spec):
            for m in spec.get("modules", []):
                m[key] = value

        return self._edit(fn)

    def add_path(self, kind: str, source: str, target: str, tasks=None) -> bool:
        """Add a feedforward or feedback path; it becomes active in ``tasks`` (default: every task)."""

        def fn(spec):
            if kind not in ("feedforward", "feedback"):
                raise WiringError(f"path kind {kind!r} must be feedforward or feedback")
            name = f"{source}->{target}"
            if name in self.path_names:
                raise WiringError(f"path {name!r} already exists")
            spec.setdefault(kind, []).append({"source": source, "target": target})
            for t in spec.get("tasks", []):
                if t.get("paths") is not None and (tasks is None or t["name"] in tasks):
                    t["paths"] = list(t["paths"]) + [name]

        return self._edit(fn)

    def remove_path(self, name: str) -> bool:
        def fn(spec):
            if name not in self.path_names:
                raise WiringError(f"path {name!r} does not exist; paths are {', '.join(self.path_names)}")
            for k in ("feedforward", "feedback"):
                spec[k] = [p for p in spec.get(k, []) if _pname(p) != name]
            _drop_from_tasks(spec, {name})

        return self._edit(fn)

    def set_active(self, task: str, path: str, active: bool) -> bool:
        """Suppress (``active=False``) or restore a path in one task."""

        def fn(spec):
            t = _task(spec, task)
            cur = list(self.path_names) if t.get("paths") is None else list(t["paths"])
            if active and path not in cur:
                cur.append(path)
            if not active:
                cur = [p for p in cur if p != path]
                t["frozen"] = [p for p in t.get("frozen", []) if p != path]
            # keep the wiring's path order
            t["paths"] = [p for p in self.path_names if p in cur]
            if not t.get("frozen"):
                t.pop("frozen", None)

        return self._edit(fn)

    def fit_ports(self, task: str, n_in: int, n_out: int) -> bool:
        """Give ``task``'s input and output ports a dataset's sizes (features, classes)."""

        def fn(spec):
            t = _task(spec, task)
            for p in spec.get("inputs", []):
                if p["name"] == t["input"]:
                    p["size"] = n_in
            for p in spec.get("outputs", []):
                if p["name"] == t["output"]:
                    p["size"] = n_out

        return self._edit(fn)


def draft_of(spec: dict) -> Wiring | None:
    """The wiring ``spec`` describes as it stands, unchecked (:meth:`WiringModel.draft`): its modules with valid
    sizes and blocks, its ports, the paths whose ends exist; tasks keep only those paths.  None when nothing
    of it can be drawn."""
    from ..wiring import Module, Path, Port, Task

    d = spec or {}

    def items(key):
        v = d.get(key, [])
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    modules, ports = [], {"inputs": [], "outputs": []}
    for m in items("modules"):
        try:
            size = m["size"]
            mod = Module(str(m["name"]), size, m.get("blocks") or ())
            if not isinstance(size, int) or size <= 0 or sum(b for _, b in mod.blocks) != size:
                continue
        except (KeyError, TypeError, ValueError):
            continue
        modules.append(mod)
    for kind in ports:
        for p in items(kind):
            if isinstance(p.get("size"), int) and p["size"] > 0 and "name" in p:
                ports[kind].append(Port(str(p["name"]), p["size"]))
    w = Wiring(modules=tuple(modules), inputs=tuple(ports["inputs"]), outputs=tuple(ports["outputs"]),
               name=str(d.get("name", "custom")))
    paths = {}
    for kind in ("feedforward", "feedback"):
        keep = []
        for p in items(kind):
            try:
                path = Path(str(p["source"]), str(p["target"]), str(p.get("name", "")))
                w.endpoint(path.source), w.endpoint(path.target)
            except (KeyError, ApexplorerError):
                continue
            keep.append(path)
        paths[kind] = tuple(keep)
    names = {p.name for ps in paths.values() for p in ps}
    tasks = []
    for t in items("tasks"):
        try:
            ps = t.get("paths")
            tasks.append(Task(str(t["name"]), str(t["input"]), str(t["output"]),
                              None if ps is None else tuple(x for x in ps if x in names),
                              tuple(x for x in t.get("frozen", ()) if x in names)))
        except (KeyError, TypeError):
            continue
    if not tasks and w.inputs and w.outputs:
        tasks = [Task("main", w.inputs[0].name, w.outputs[0].name)]
    if not tasks or not (modules or w.inputs or w.outputs):
        return None
    from dataclasses import replace

    return replace(w, feedforward=paths["feedforward"], feedback=paths["feedback"], tasks=tuple(tasks))


def validate(spec: dict) -> tuple:
    """(Wiring, '') for a valid spec, else (None, the library's message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WiringWarning)
            return Wiring.from_dict(copy.deepcopy(spec), warn=False), ""
    except ApexplorerError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - a malformed spec must never break the page
        return None, f"wiring is malformed: {e}"


def _pname(p) -> str:
    if isinstance(p, str):
        return p.replace(" ", "")
    return p.get("name") or f"{p['source']}->{p['target']}"


def _end(p, i) -> str:
    if isinstance(p, str):
        return p.split("->")[i].strip()
    return p["source"] if i == 0 else p["target"]


def _blocks(m) -> dict:
    b = m.get("blocks")
    if isinstance(b, dict):
        return b
    if isinstance(b, list):
        return {k: v for k, v in b}
    s = m.get("size")
    if isinstance(s, int) and s > 0 and s % 4 == 0:
        return {k: s // 4 for k in DEFAULT_BLOCKS}
    return {}


def _task(spec, name) -> dict:
    for t in spec.get("tasks", []):
        if t["name"] == name:
            return t
    names = [t["name"] for t in spec.get("tasks", [])]
    raise WiringError(f"task {name!r} does not exist; tasks are {', '.join(names) or '(none)'}")


def _drop_from_tasks(spec, gone: set) -> None:
    for t in spec.get("tasks", []):
        if t.get("paths") is not None:
            t["paths"] = [p for p in t["paths"] if p not in gone]
        if t.get("frozen"):
            t["frozen"] = [p for p in t["frozen"] if p not in gone]
