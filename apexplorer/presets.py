"""Named wirings: the paper's layered models, the 2AFC model and a small digits default.

Every preset is a function of the data's input and output sizes, so the same
preset serves any dataset.  ``settings`` holds each preset's recommended
training settings (the paper's where it gives them).
"""

from __future__ import annotations

from .errors import WiringError, choices
from .wiring import Module, Path, Port, Task, Wiring, chain


def _paper(n_layers):
    def build(n_in, n_out, size=1024):
        return chain([size] * n_layers, n_in, n_out, name=f"paper-{n_layers}layer")

    build.__doc__ = (f"The paper's model with {n_layers} module(s) of ``size`` neurons (1024: blocks of 256), "
                     "rho 0.25, c 0.25.")
    return build


def _layers(n_in, n_out, layers=2, size=1024, roles=True, ri=None, si=None, re=None, se=None):
    """The paper's layered model with its depth and block sizes as options (Fig. 4d-i, Appendix 3).

    ``roles=True``: every module has four role slots of ``size // 4`` neurons,
    RI | SI | RE | SE; ``ri``, ``si``, ``re``, ``se`` (default the whole slot)
    take the first neurons of their slot and the rest of it stays idle, so a
    module keeps its ``size`` (the authors' ``n_RI``... in ``models_LN.py``).
    With the defaults it is ``paper-<layers>layer``.  ``roles=False`` lifts the
    role constraint (Fig. 4e-f): one block ``N`` of ``size`` neurons receives
    and sends both the inference and the error signals.
    """
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
        raise WiringError(f"layers = {layers!r} must be an integer >= 1")
    if not roles:
        mods = [Module(f"L{i}", size, (("N", size),)) for i in range(1, layers + 1)]
        names = [m.name for m in mods]
        ff = [Path("x", "L1.N"), *(Path(f"{a}.N", f"{b}.N") for a, b in zip(names, names[1:])), Path(f"{names[-1]}.N", "y")]
        fb = [Path("y", f"{names[-1]}.N"), *(Path(f"{b}.N", f"{a}.N") for a, b in reversed(list(zip(names, names[1:]))))]
        return Wiring.create(mods, [Port("x", n_in)], [Port("y", n_out)], ff, fb, name="paper-layers")
    slot = size // 4
    if slot * 4 != size:
        raise WiringError(f"size = {size!r} must be a multiple of 4 (four role slots)")
    blocks = []
    for name, n in (("RI", ri), ("SI", si), ("RE", re), ("SE", se)):
        n = slot if n is None else n
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= slot:
            raise WiringError(f"{name.lower()} = {n!r} must be an integer from 0 to the slot size {slot}")
        blocks += [(name, n)] + ([(f"{name}_idle", slot - n)] if n < slot else [])
    return chain([size] * layers, n_in, n_out, blocks=dict(blocks), name="paper-layers")


def _2afc(n_in, n_out, size=256):
    """Appendix 2: two modules of 256 (blocks of 64), connection rate 1."""
    return chain([size, size], n_in, n_out, connection_rate=1.0, name="2afc")


def _digits(n_in, n_out, size=256):
    """Small and fast: two modules of 256 (blocks of 64) for the 8x8 digits."""
    return chain([size, size], n_in, n_out, name="digits")


def _toy(n_in, n_out, size=64):
    """Two dimensions, seen learning: two modules of 64 (blocks of 16) for the toy tasks (moons, xor, ...)."""
    return chain([size, size], n_in, n_out, name="toy")


def _fig5a(n_in, n_out, size=256):
    """Fig. 5a: two tasks reuse two modules, each through its own paths (6 blocks of ``size``, 1536 neurons).

    Task A: xA -> L1.RI1 -> L1.SI1 -> L2.RI1 -> L2.SI1 -> yA, error yA -> L2.RE, L2.SE -> L1.RE.
    Task B: the same through RI2/SI2 and its own error weights.  The tasks
    share modules and blocks but no path, so training B leaves A untouched.
    """
    (ia, ib), (oa, ob) = n_in, n_out
    blocks = (("RI1", size), ("RI2", size), ("SI1", size), ("SI2", size), ("RE", size), ("SE", size))
    mods = [Module("L1", 6 * size, blocks), Module("L2", 6 * size, blocks)]
    ff, fb, tasks = [], [], []
    for k, (t, i, o) in enumerate((("A", ia, oa), ("B", ib, ob)), 1):
        own = [Path(f"x{t}", f"L1.RI{k}"), Path(f"L1.SI{k}", f"L2.RI{k}"), Path(f"L2.SI{k}", f"y{t}")]
        err = [Path(f"y{t}", "L2.RE"), Path("L2.SE", "L1.RE", f"{t}:L2.SE->L1.RE")]
        ff += own
        fb += err
        tasks.append(Task(t, f"x{t}", f"y{t}", tuple(p.name for p in own + err)))
    ports_in = [Port("xA", ia), Port("xB", ib)]
    ports_out = [Port("yA", oa), Port("yB", ob)]
    return Wiring.create(mods, ports_in, ports_out, ff, fb, tasks, name="fig5a")


def _two_task_paths(n_in, n_out, mods, into_l4: Path):
    """The ports and paths every Fig. 5b/5c wiring shares; ``into_l4`` is the path that brings A's error to L4."""
    (ia, ib), (oa, ob) = n_in, n_out
    ff_a = [Path("xA", "L1.RI"), Path("L1.SI", "L2.RI"), Path("L2.SI", "yA")]
    ff_b = [Path("xB", "L3.RI"), Path("L3.SI", "L4.RI"), Path("L4.SI", "yB")]
    fb_b = [Path("yB", "L4.RE"), Path("L4.SE", "L3.RE")]
    fb_a = [Path("yA", "L2.RE"), into_l4, Path("L3.SE", "L1.RE")]
    ports = [Port("xA", ia), Port("xB", ib)], [Port("yA", oa), Port("yB", ob)]
    return mods, ports, ff_a, ff_b, fb_a, fb_b


def _fig5_via_l2_paths(n_in, n_out, size):
    """Four modules of ``size`` (RI | SI | RE | SE); A's error reaches L4 from L2's SE block."""
    mods = [Module(f"L{i}", size) for i in range(1, 5)]
    return _two_task_paths(n_in, n_out, mods, Path("L2.SE", "L4.RE"))


def _two_task_wiring(parts, name: str, recruit=(), frozen=()) -> Wiring:
    """The Fig. 5b/5c wiring of ``parts``: A shares B's error path L4.SE -> L3.RE; with ``recruit`` A also
    uses those paths and B's L3.SI -> L4.RI for inference, and does not learn the ``frozen`` ones."""
    mods, (pin, pout), ff_a, ff_b, fb_a, fb_b = parts
    recruit = list(recruit)
    shared = ("L4.SE->L3.RE",) + (("L3.SI->L4.RI",) if recruit else ())
    tasks = [Task("A", "xA", "yA", tuple(p.name for p in ff_a + recruit + fb_a) + shared, frozen=tuple(frozen)),
             Task("B", "xB", "yB", tuple(p.name for p in ff_b + fb_b))]
    return Wiring.create(mods, pin, pout, ff_a + recruit + ff_b, fb_a + fb_b, tasks, name=name)


def _fig5b_via_l2(n_in, n_out, size=1024):
    """A variant of Fig. 5b (apexplorer's first reading of it): A's error travels yA -> L2 -> L4 -> L3 -> L1.

    Four modules of ``size`` (RI | SI | RE | SE).  A's output error enters only
    L2; L2's SE block relays it to L4, whose SE block sends it on through B's
    error path L4.SE -> L3.RE, and L3.SE -> L1.RE.  It teaches that an error may
    take one more module-to-module hop and still train L1; the authors' own
    wiring (:func:`_fig5b`) sends A's output error to L4 directly.
    """
    return _two_task_wiring(_fig5_via_l2_paths(n_in, n_out, size), "fig5b-via-l2")


def _fig5c_learned(n_in, n_out, size=1024):
    """A variant of Fig. 5c on :func:`_fig5b_via_l2`: A learns its recruited paths L1.SI -> L3.RI and L4.SI -> yA.

    A still uses B's path L3.SI -> L4.RI without learning it (frozen for A).
    The paper and the authors' notebook never learn the recruited paths
    (:func:`_fig5c`); learning them shows what the recruited modules add when
    they are trained too.
    """
    recruit = [Path("L1.SI", "L3.RI"), Path("L4.SI", "yA")]
    return _two_task_wiring(_fig5_via_l2_paths(n_in, n_out, size), "fig5c-learned", recruit, ("L3.SI->L4.RI",))


#: The blocks of Fig. 5b/5c's modules, six of ``size`` each in the order of the authors' notebooks
#: (their ``Aindx2Nrange`` block indices 1..6).  ``idleK``: block K takes part in no path, yet its
#: neurons are part of the module's recurrent dynamics.
FIG5_BLOCKS = {
    "L1": ("RI", "idle2", "SI", "SI2", "idle5", "RE"),
    "L2": ("RI", "idle2", "SI", "RE", "idle5", "idle6"),
    "L3": ("RI2", "SI", "RE", "SE", "RI", "idle6"),
    "L4": ("RI", "SI2", "SI", "RE", "RE2", "SE"),
}


def _fig5_paths(n_in, n_out, size):
    """Fig. 5b's modules, ports and paths, as the authors' notebooks wire them (see :func:`_fig5b`):
    A's output error enters L4 directly."""
    mods = [Module(m, 6 * size, tuple((b, size) for b in blocks)) for m, blocks in FIG5_BLOCKS.items()]
    return _two_task_paths(n_in, n_out, mods, Path("yA", "L4.RE2"))


def _fig5b(n_in, n_out, size=256):
    """Fig. 5b as the authors ran it: four modules of six blocks of ``size`` (1536 neurons by default).

    Task A (FMNIST): xA -> L1.RI, L1.SI -> L2.RI, L2.SI -> yA.  Its output error
    enters L2 (yA -> L2.RE) and, directly, B's second module (yA -> L4.RE2);
    from L4 it takes B's own error path L4.SE -> L3.RE (shared), then
    L3.SE -> L1.RE.  Task B (MNIST): xB -> L3.RI, L3.SI -> L4.RI, L4.SI -> yB,
    error yB -> L4.RE, L4.SE -> L3.RE.  L3 and L4 are not in A's inference:
    under A alone they relax from their initial state under A's error.
    (AP_resuing_pathB_reusingfeedback.ipynb, ``FRNN_ML4.backward1/2``.)
    """
    return _two_task_wiring(_fig5_paths(n_in, n_out, size), "fig5b")


def _fig5c(n_in, n_out, size=256):
    """Fig. 5c as the authors ran it: as 5b, and task A also recruits L3 and L4 for inference.

    A adds L1.SI2 -> L3.RI2 and L4.SI2 -> yA and uses B's path L3.SI -> L4.RI;
    A learns none of the three ("without learning it"; the notebook never
    updates them): they are frozen for A, and B learns L3.SI -> L4.RI as in
    5b.  A's error takes 5b's route.
    (AP_reusing_pathC_reusingfeedback_ongoing_activity.ipynb, ``forward12``.)
    """
    recruit = [Path("L1.SI2", "L3.RI2"), Path("L4.SI2", "yA")]
    frozen = tuple(p.name for p in recruit) + ("L3.SI->L4.RI",)
    return _two_task_wiring(_fig5_paths(n_in, n_out, size), "fig5c", recruit, frozen)


PRESETS = {
    "paper-1layer": _paper(1),
    "paper-2layer": _paper(2),
    "paper-3layer": _paper(3),
    "paper-layers": _layers,
    "2afc": _2afc,
    "digits": _digits,
    "toy": _toy,
    "toy-relu": _toy,
    "fig5a": _fig5a,
    "fig5b": _fig5b,
    "fig5c": _fig5c,
    "fig5b-via-l2": _fig5b_via_l2,
    "fig5c-learned": _fig5c_learned,
}

#: Presets with several tasks: their builders take a list of input and output sizes, one per task.
MULTITASK = {k: ("fashion-mnist", "mnist") for k in ("fig5a", "fig5b", "fig5c", "fig5b-via-l2", "fig5c-learned")}

#: Recommended settings per preset (used when the user gives none).
SETTINGS = {
    "paper-1layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "paper-2layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "paper-3layer": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "paper-layers": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "2afc": dict(batch_size=50, lr=2e-2, t1=8, t2=4, mode="epe", epochs=20),
    "digits": dict(batch_size=32, lr=5e-3, t1=8, t2=8, mode="ste", epochs=30),
    # measured on moons and xor (three seeds each; README "Toy tasks"): tanh with no bias is odd, f(-x) = -f(x),
    # so a network of it gives x and -x opposite decisions and cannot learn xor (x and -x share a label); relu can
    "toy": dict(batch_size=16, lr=5e-2, t1=8, t2=8, mode="ste", epochs=10),
    "toy-relu": dict(batch_size=16, lr=5e-2, t1=8, t2=8, mode="ste", epochs=10, activation="relu"),
    # Fig. 5 as the authors' notebooks ran it: EPE with 8 steps, Gaussian paths, zero readout bias
    **{k: dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="epe", init=dict(scheme="gaussian"))
       for k in ("fig5a", "fig5b", "fig5c")},
    "fig5b-via-l2": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
    "fig5c-learned": dict(batch_size=500, lr=1e-3, t1=8, t2=8, mode="ste"),
}

#: The preset used for each dataset when none is named.
DEFAULT_PRESET = {"digits": "digits", "2afc": "2afc", **{t: "toy" for t in ("moons", "circles", "spirals", "blobs")},
                  "xor": "toy-relu"}

def default_preset(dataset: str | None) -> str:
    """The preset a dataset gets when none is named: its own, ``digits`` (two modules of 256) for your own
    ``.csv`` / ``.npz`` file, else the paper's two-layer model."""
    from .userdata import is_file_name

    if is_file_name(dataset):
        return "digits"
    return DEFAULT_PRESET.get(dataset or "digits", "paper-2layer")


#: Each preset's own data (one name for every task, or one per task).
PRESET_DATA = {"digits": "digits", "2afc": "2afc", "toy": "moons", "toy-relu": "xor", **{k: "fashion-mnist" for k in PRESETS if k.startswith("paper-")},
               **{k: list(v) for k, v in MULTITASK.items()}}


def preset_names() -> list:
    return list(PRESETS)


def preset_tasks(name: str) -> tuple:
    """The task names of preset ``name``, in order."""
    k = len(MULTITASK.get(name, (None,)))
    sizes = [1] * k if name in MULTITASK else 1
    return tuple(t.name for t in preset(name, sizes, sizes).tasks)


def preset_options(name: str) -> tuple:
    """The keyword options of preset ``name`` (e.g. ``size``), beyond its input and output sizes."""
    import inspect

    if name not in PRESETS:
        raise WiringError(f"unknown preset {name!r}; presets are {choices(PRESETS)}")
    return tuple(p for p in inspect.signature(PRESETS[name]).parameters if p not in ("n_in", "n_out"))


def preset(name: str, n_in, n_out, **options) -> Wiring:
    """Build preset ``name`` for ``n_in`` input features and ``n_out`` classes.

    Multi-task presets (:data:`MULTITASK`) take one size per task, e.g.
    ``preset("fig5b", [784, 64], [10, 10])``; a single int is used for every task.
    ``options`` are the preset's own (:func:`preset_options`, e.g. ``size``).
    """
    if name not in PRESETS:
        raise WiringError(f"unknown preset {name!r}; presets are {choices(PRESETS)}")
    if name in MULTITASK:
        k = len(MULTITASK[name])
        n_in = [n_in] * k if isinstance(n_in, int) else list(n_in)
        n_out = [n_out] * k if isinstance(n_out, int) else list(n_out)
        if len(n_in) != k or len(n_out) != k:
            raise WiringError(f"preset {name!r} has {k} tasks; give {k} input and output sizes")
    elif not isinstance(n_in, int) or not isinstance(n_out, int):
        raise WiringError(f"preset {name!r} has one task; give one input and one output size")
    valid = preset_options(name)
    for k in options:
        if k not in valid:
            raise WiringError(f"{k!r} is not an option of preset {name!r}; its options are {choices(valid)}")
    return PRESETS[name](n_in, n_out, **options)
