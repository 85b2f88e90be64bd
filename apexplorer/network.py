"""An MR-RNN with its tensors, its two phases and the local AP update.

* :func:`init_tensors` draws every tensor from one seed (AP_ALGORITHM.md), by
  the paper's uniform scheme or, with an :class:`Init`, the Gaussian one of the
  authors' Fig. 5 notebooks.
* :class:`Plan` is the order of work for one configuration (a task's active
  paths), derived from the wiring by the pure functions of :mod:`graph`.
* :meth:`Network.inference` (phase 0) and :meth:`Network.learning` (phase 1)
  return plain dataclasses of tensors; :meth:`Network.updates` gives
  ``dA = (1/B) a^T (z0 - z1)`` per learnable path.  No autograd anywhere.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from . import graph
from .dynamics import DERIVATIVES, ZERO_AT_ZERO, activation, relax, support
from .errors import ApexplorerError, BuildCancelled, choices
from .memory import check_memory
from .table import MODES, PRECISIONS, default
from .wiring import Task, Wiring, check_connection_rate



@dataclass(frozen=True)
class APConfig:
    """Settings of the two phases.

    t1, t2 : iterations of the inference and learning phases.
    mode : ``"ste"`` (learning phase restarts from h0 = 0) or ``"epe"``
        (continues from the inference state z0).
    beta : strength of the injected error.
    precision : ``fp32``, ``tf32`` (TF32 matmuls on CUDA) or ``bf16`` (bf16
        matmuls, fp32 states and errors).
    f_prime : multiply each module's local error by f'(z0), the activation's
        derivative at the inference-phase state (for tanh 1 - (z0)^2), before
        it enters the updates (the paper's derivation keeps this factor and
        then drops it; Appendix 1, Fig. 1 compares the two).  Off by default,
        as in the paper and the authors' code.
    """

    t1: int = default("ap.t1")
    t2: int = default("ap.t2")
    mode: str = default("ap.mode")
    beta: float = default("ap.beta")
    activation: str = default("ap.activation")
    precision: str = default("ap.precision")
    f_prime: bool = bool(default("ap.f_prime"))

    def validate(self) -> "APConfig":
        for k in ("t1", "t2"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ApexplorerError(f"{k} = {v!r}: iteration counts must be integers >= 1")
        if self.mode not in MODES:
            raise ApexplorerError(f"unknown mode {self.mode!r}; choices are {choices(MODES)}")
        if not isinstance(self.beta, (int, float)) or self.beta != self.beta:
            raise ApexplorerError(f"beta = {self.beta!r} must be a number")
        if self.precision not in PRECISIONS:
            raise ApexplorerError(f"unknown precision {self.precision!r}; choices are {choices(PRECISIONS)}")
        activation(self.activation)
        if not isinstance(self.f_prime, bool):
            raise ApexplorerError(f"f_prime = {self.f_prime!r} must be true or false")
        return self


# ---------------------------------------------------------------------------
# initialisation
# ---------------------------------------------------------------------------
def spectral_radius(W: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix (computed in float64).

    LAPACK's eigensolver gains little from threads, and on a busy machine
    OpenMP's spin-waiting made it 100x slower, so it runs on one thread.
    """
    if W.numel() == 0:
        return 0.0
    with one_torch_thread():
        return _eig_radius(W)


_THREADS_LOCK = threading.Lock()
_THREADS_HELD = [0, 0]  # [how many sections hold one thread now, torch's thread count before the first]


@contextmanager
def one_torch_thread():
    """Torch on one thread inside, its thread count put back when the last section ends.

    Sessions of the explorer draw networks on their own threads at the same time; with a plain
    save-set-restore, one section could save the other's 1 and "restore" it for good.
    """
    with _THREADS_LOCK:
        if _THREADS_HELD[0] == 0:
            _THREADS_HELD[1] = torch.get_num_threads()
            torch.set_num_threads(1)
        _THREADS_HELD[0] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_HELD[0] -= 1
            if _THREADS_HELD[0] == 0:
                torch.set_num_threads(_THREADS_HELD[1])


def _eig_radius(W: torch.Tensor) -> float:
    return float(torch.linalg.eigvals(W.double().cpu()).abs().max()) if W.numel() else 0.0


_RADII: OrderedDict = OrderedDict()  # digest of a drawn W -> its spectral radius (the draw's costly part)
_RADII_KEEP = 1024
_RADII_LOCK = threading.Lock()  # sessions draw networks on their own threads


def _radius(W: torch.Tensor) -> float:
    """:func:`spectral_radius` of a freshly drawn W, remembered by W's bytes: drawing the same
    W again (the same wiring and seed, in another session or run) skips the eigensolver."""
    return _radii([W])[0]


#: Reservoirs at least this large have their eigenvalues found in parallel threads (smaller ones: not worth a thread).
PARALLEL_EIG_SIZE = 256


def _radii(Ws: list) -> list:
    """Spectral radii of freshly drawn matrices, remembered by their bytes (see :func:`_radius`).

    Several large ones not seen before are solved in parallel threads, one LAPACK thread each
    (the eigensolver releases the GIL): on a 2-core machine four reservoirs of 1536 neurons take
    half the time.  Each radius is the same number as when found alone.
    """
    keys = [(tuple(W.shape), hashlib.blake2b(W.numpy().tobytes(), digest_size=20).digest()) for W in Ws]
    out: list = [None] * len(Ws)
    with _RADII_LOCK:
        for i, key in enumerate(keys):
            if key in _RADII:
                _RADII.move_to_end(key)
                out[i] = _RADII[key]
    todo = [i for i, r in enumerate(out) if r is None]
    big = [i for i in todo if Ws[i].shape[0] >= PARALLEL_EIG_SIZE]
    workers = min(len(big), os.cpu_count() or 1)
    if workers > 1:
        with one_torch_thread(), ThreadPoolExecutor(workers, thread_name_prefix="apexplorer-eig") as pool:
            for i, r in zip(big, pool.map(lambda i: _eig_radius(Ws[i]), big)):
                out[i] = r
    for i in todo:
        if out[i] is None:
            out[i] = spectral_radius(Ws[i])
    with _RADII_LOCK:
        for i in todo:
            _RADII[keys[i]] = out[i]
        while len(_RADII) > _RADII_KEEP:
            _RADII.popitem(last=False)
    return out


#: How a reservoir's nonzeros are placed: ``exact`` (round(c n^2) distinct places, the rate c exactly) or
#: ``authors`` (the authors' rand_sparse_matrix in models_LN.py: int(c n^2) places drawn with replacement,
#: the values of repeated places added; about 22 % distinct nonzeros at c = 0.25, 63 % at c = 1).
RESERVOIR_DRAWS = ("exact", "authors")


def _draw_reservoir(n: int, rate: float, gen: torch.Generator, draw: str = "exact", where: str = "") -> torch.Tensor:
    """An n x n float64 matrix of entries U(-1, 1) at random places (not yet scaled), placed by ``draw``:
    ``exact``: round(c n^2) distinct places; ``authors``: int(c n^2) places with replacement, repeats added.

    A rate outside (0, 1] is a :class:`WiringError` (0 would draw an empty W, above 1 more entries than W
    has), also for a wiring that was never validated.
    """
    check_connection_rate(rate, where)
    W = torch.zeros(n * n, dtype=torch.float64)
    if draw == "authors":
        k = int(n * n * rate)
        rows = torch.randint(0, n, (k,), generator=gen)
        cols = torch.randint(0, n, (k,), generator=gen)
        vals = torch.rand(k, generator=gen, dtype=torch.float64) * 2 - 1
        W.index_add_(0, rows * n + cols, vals)
        return W.view(n, n)
    if draw != "exact":
        raise ApexplorerError(f"unknown reservoir draw {draw!r}; choices are {choices(RESERVOIR_DRAWS)}")
    nnz = int(round(rate * n * n))
    idx = torch.randperm(n * n, generator=gen)[:nnz]
    W[idx] = torch.rand(nnz, generator=gen, dtype=torch.float64) * 2 - 1
    return W.view(n, n)


def _scaled(W: torch.Tensor, rho: float, r: float) -> torch.Tensor:
    """W scaled from its spectral radius ``r`` to ``rho``, as float32."""
    if r > 0:
        W *= rho / r
    elif rho > 0:
        W.zero_()
    return W.float()


def random_reservoir(n: int, rho: float, rate: float, gen: torch.Generator, draw: str = "exact") -> torch.Tensor:
    """Sparse random W: entries U(-1, 1) at random places (``draw``: see :data:`RESERVOIR_DRAWS`), scaled to rho."""
    W = _draw_reservoir(n, rate, gen, draw)
    return _scaled(W, rho, _radius(W))


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


@contextmanager
def matmul_precision(device, precision: str):
    """fp32 matrix products in full fp32 (``fp32``) or TF32 (``tf32``, ``bf16``) on CUDA, then as before.

    In ``bf16`` the relax products run in bf16; the drives and updates use TF32.
    The CPU is left alone.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    old = torch.get_float32_matmul_precision()
    want = "highest" if precision == "fp32" else "high"
    if old != want:
        torch.set_float32_matmul_precision(want)
    try:
        yield
    finally:
        if old != want:
            torch.set_float32_matmul_precision(old)


def _rows(v: torch.Tensor, B: int) -> torch.Tensor:
    """Repeat a (..., N) vector over a batch: a new (..., B, N) tensor."""
    return v.unsqueeze(-2).expand(*v.shape[:-1], B, v.shape[-1]).clone()


def _batched(a: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """``a`` (B, n) or (E, B, n) as a batch over the ensemble axis of ``A`` (E, n, N): a shared input is broadcast."""
    return a if a.dim() == 3 else a.unsqueeze(0).expand(A.shape[0], *a.shape)


def _acc(out: torch.Tensor, a: torch.Tensor, A: torch.Tensor, alpha: float = 1.0) -> None:
    """``out += alpha * a @ A`` in place (fused for plain matrices, broadcast for ensembles)."""
    if out.dim() == 2 and a.dim() == 2 and A.dim() == 2:
        out.addmm_(a, A, alpha=alpha)
    elif out.dim() == 3 and A.dim() == 3 and a.dim() in (2, 3):  # an ensemble; a shared input is broadcast
        out.baddbmm_(_batched(a, A), A, alpha=alpha)
    else:
        out.add_(torch.matmul(a, A), alpha=alpha)


def _drive(base: torch.Tensor, terms, B: int, alpha: float = 1.0, vector: bool = True) -> torch.Tensor:
    """A new tensor ``base + alpha * sum(a @ W)`` over ``terms = [(a, W, target slice)]``.

    ``base`` is a bias vector (..., N) broadcast over the batch (``vector``), or
    a (..., B, N) drive, left unchanged.  A single plain term over the whole
    module is one fused kernel (addmm with the bias broadcast).
    """
    N = base.shape[-1]
    if len(terms) == 1:
        a, W, dst = terms[0]
        full = dst.start in (0, None) and dst.stop in (N, None)
        if full and a.dim() == 2 and W.dim() == 2 and base.dim() == (1 if vector else 2):
            return torch.addmm(base, a, W, alpha=alpha)
        if full and W.dim() == 3 and a.dim() in (2, 3) and base.dim() == (2 if vector else 3):
            # an ensemble: one batched product, the bias (or the phase-0 drive) broadcast in
            return torch.baddbmm(base.unsqueeze(-2) if vector else base, _batched(a, W), W, alpha=alpha)
    out = _rows(base, B) if vector else base.clone()
    for a, W, dst in terms:
        _acc(out[..., dst], a, W, alpha=alpha)
    return out


# ---------------------------------------------------------------------------
# plan: the order of work for one configuration
# ---------------------------------------------------------------------------
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


@dataclass
class Network:
    """A wiring with its tensors on one device.

    Parameters
    ----------
    wiring : Wiring
    config : APConfig
    seed : int
        Seed of every random tensor.
    device : str or torch.device
    seeds : sequence of int, optional
        Train an ensemble: one independent member per seed, every tensor
        stacked on a leading axis E, states (E, B, N).  Inputs are (B, n),
        shared by the members, or (E, B, n), one batch each (the trainer
        gives each member its own order of the data).
    radii : sequence of float, optional
        With ``seeds``: each member's spectral radius.
    init : Init, optional
        How the paths are drawn (default: the paper's uniform scheme).  Only
        used when ``tensors`` is not given.
    """

    wiring: Wiring
    config: APConfig = field(default_factory=APConfig)
    seed: int = 0
    device: str = "cpu"
    tensors: dict | None = None
    seeds: tuple | None = None
    radii: tuple | None = None
    init: Init | None = None

    def __post_init__(self):
        self.config = self.config.validate()
        self.device = torch.device(self.device)
        if self.seeds is not None:
            self.seeds = tuple(int(s) for s in self.seeds)
            self.radii = None if self.radii is None else tuple(float(r) for r in self.radii)
        if self.tensors is None:
            # say so in plain words before torch tries (a huge module would freeze, then fail raw)
            check_memory(self.wiring, members=len(self.seeds or ()) or 1, precision=self.config.precision,
                         device=self.device)
            if self.seeds is not None:
                self.tensors = init_ensemble(self.wiring, self.seeds, self.radii, self.init)
            else:
                self.tensors = init_tensors(self.wiring, self.seed, self.init)
        self.tensors = {k: {n: t.to(self.device) for n, t in d.items()} for k, d in self.tensors.items()}
        self._plans = {}
        self._low = {}
        self._bias_zero = {}
        self._zero = torch.zeros((), device=self.device)

    # -------------------------------------------------------------- access
    @property
    def weights(self) -> dict:
        """Learnable feedforward weights A_p (readouts included), by path name."""
        return self.tensors["weights"]

    @property
    def feedback(self) -> dict:
        return self.tensors["feedback"]

    @property
    def reservoirs(self) -> dict:
        return self.tensors["reservoirs"]

    @property
    def members(self) -> int | None:
        """Ensemble size E, or None for a single network."""
        return None if self.seeds is None else len(self.seeds)

    def plan(self, tasks=None) -> Plan:
        """The cached plan of a task (name or Task), a list of tasks, or the first task."""
        if tasks is None:
            tasks = self.wiring.tasks[0]
        if isinstance(tasks, (str, Task)):
            tasks = [tasks]
        tasks = tuple(self.wiring.task(t) if isinstance(t, str) else t for t in tasks)
        key = tasks
        if key not in self._plans:
            self._plans[key] = make_plan(self.wiring, tasks)
        return self._plans[key]

    def _cols(self, m, slices):
        """Where module ``m``'s drive may be nonzero: the target ``slices`` of its drive terms, or
        everywhere when its bias is nonzero or f(0) != 0 (see :func:`dynamics.support`)."""
        if self.config.activation not in ZERO_AT_ZERO:
            return None
        b = self.tensors["biases"][m]
        key = (id(b), b._version)
        if self._bias_zero.get(m, (None,))[0] != key:
            self._bias_zero[m] = (key, not bool(b.any()))  # once per bias tensor: fixed, it never learns
        if not self._bias_zero[m][1] or not slices:
            return None
        return support(slices, b.shape[-1])

    def _low_precision(self, m):
        if self.config.precision != "bf16":
            return None
        if m not in self._low:
            self._low[m] = self.reservoirs[m].to(torch.bfloat16)
        return self._low[m]

    # -------------------------------------------------------------- phases
    @torch.no_grad()
    def inference(self, inputs, plan: Plan | None = None, record: bool = False) -> Phase0:
        """Phase 0: relax modules in topological order from h0 = 0 for T1 steps.

        Parameters
        ----------
        inputs : Tensor (B, n_in) or dict {input port: Tensor}
        plan : Plan, default the first task's
        record : bool
            Keep every step's state (module -> (T1 + 1, B, N)).

        Ensembles give every state and output a leading axis E.
        """
        with matmul_precision(self.device, self.config.precision):
            return self._inference(inputs, plan, record)

    @torch.no_grad()
    def learning(self, phase0: Phase0, targets, plan: Plan | None = None, record: bool = False) -> Phase1:
        """Phase 1: inject ``-beta * error`` along feedback paths and relax again for T2 steps.

        Parameters
        ----------
        phase0 : Phase0
        targets : Tensor (B,) of class indices, or dict {output port: Tensor}
        """
        with matmul_precision(self.device, self.config.precision):
            return self._learning(phase0, targets, plan, record)

    @torch.no_grad()
    def updates(self, phase0: Phase0, phase1: Phase1, plan: Plan | None = None) -> dict:
        """Local updates ``dA_p = (1/B) a^T e[target block]`` for every learnable active path.

        The readout's "error" is the output error ``o - y``.  A path whose target
        module no error reaches gets no entry (it does not learn).
        """
        with matmul_precision(self.device, self.config.precision):
            return self._updates(phase0, phase1, plan)

    def _inference(self, inputs, plan: Plan | None = None, record: bool = False) -> Phase0:
        plan = plan or self.plan()
        if not isinstance(inputs, dict):
            inputs = {plan.inputs[0]: inputs}
        T = self.tensors
        cfg = self.config
        B = next(iter(inputs.values())).shape[-2]
        z, u, cols, traj = {}, {}, {}, ({} if record else None)
        for m, incoming in plan.inference:
            terms = [(inputs[src.node] if src.kind == "input" else z[src.node][..., src.slice], T["weights"][name], dst)
                     for name, src, dst in incoming]
            drive = _drive(T["biases"][m], terms, B)
            rec = [] if record else None
            cols[m] = self._cols(m, [dst for *_, dst in terms])
            z[m] = relax(T["reservoirs"][m], drive, cfg.t1, None, cfg.activation, rec, self._low_precision(m),
                         cfg.precision, cols[m])
            u[m] = drive
            if record:
                traj[m] = torch.stack(rec)
        logits, probs = {}, {}
        for o, incoming in plan.readout.items():
            bias = T["readout_bias"][o]
            terms = [(z[src.node][..., src.slice], T["weights"][name], slice(0, bias.shape[-1])) for name, src in incoming]
            logits[o] = _drive(bias, terms, B)
            probs[o] = torch.softmax(logits[o], dim=-1)
        return Phase0(inputs, z, u, logits, probs, traj, cols)

    def _learning(self, phase0: Phase0, targets, plan: Plan | None = None, record: bool = False) -> Phase1:
        plan = plan or self.plan()
        if not isinstance(targets, dict):
            targets = {plan.outputs[0]: targets}
        T = self.tensors
        cfg = self.config
        e_out = {}
        for o in plan.outputs:
            p = phase0.probs[o]
            idx = targets[o].long().unsqueeze(-1).expand(*p.shape[:-1], 1)
            e_out[o] = p - torch.zeros_like(p).scatter_(-1, idx, 1.0)  # no host sync (CUDA graphs)
        B = next(iter(e_out.values())).shape[-2]
        z1, e, traj = {}, {}, ({} if record else None)
        for m, incoming in plan.learning:
            z0 = phase0.z.get(m)
            terms = [(e_out[src.node] if src.kind == "output" else e[src.node][..., src.slice], T["feedback"][name], dst)
                     for name, src, dst in incoming]
            if z0 is None:  # not reached in inference: initial state, drive = bias
                W = T["reservoirs"][m]
                z0 = torch.zeros(*W.shape[:-2], B, W.shape[-1], device=self.device, dtype=W.dtype)
                drive = _drive(T["biases"][m], terms, B, -cfg.beta)
            else:
                drive = _drive(phase0.u[m], terms, B, -cfg.beta, vector=False)
            h0 = None if cfg.mode == "ste" else z0
            rec = [] if record else None
            fed = [dst for *_, dst in terms]
            if h0 is not None:
                cols = None
            elif phase0.z.get(m) is None:  # the drive is the bias and the feedback
                cols = self._cols(m, fed)
            else:  # phase 0's drive and the feedback (a phase 0 that does not say where its drive was: all)
                c0 = (phase0.cols or {}).get(m)
                cols = None if c0 is None else self._cols(m, [*c0, *fed])
            z1[m] = relax(T["reservoirs"][m], drive, cfg.t2, h0, cfg.activation, rec, self._low_precision(m),
                          cfg.precision, cols)
            e[m] = z0 - z1[m]
            if record:
                traj[m] = torch.stack(rec)
        return Phase1(z1, e, e_out, traj)

    def _updates(self, phase0: Phase0, phase1: Phase1, plan: Plan | None = None) -> dict:
        plan = plan or self.plan()
        out = {}
        for name, src, dst in plan.learn:
            if dst.kind == "output":
                err = phase1.e_out.get(dst.node)
            else:
                err = phase1.e.get(dst.node)
                err = None if err is None else err[..., dst.slice]
                if err is not None and self.config.f_prime:  # e * f'(z0) (Appendix 1)
                    z0 = phase0.z.get(dst.node)  # a module that inference did not reach starts from 0
                    z0 = torch.zeros_like(err) if z0 is None else z0[..., dst.slice]
                    err = err * DERIVATIVES[self.config.activation](z0)
            if err is None:
                continue
            a = phase0.inputs[src.node] if src.kind == "input" else phase0.z[src.node][..., src.slice]
            if a.dim() == 2 and err.dim() == 2:  # one fused kernel: (1/B) a^T e
                zero = self._zero if self._zero.dtype == a.dtype else self._zero.to(a.dtype)  # float64 networks
                out[name] = torch.addmm(zero, a.t(), err, beta=0, alpha=1.0 / a.shape[-2])
            else:
                out[name] = torch.matmul(a.transpose(-1, -2), err).div_(a.shape[-2])
        return out

    def forward(self, inputs, plan: Plan | None = None):
        """Output probabilities of the inference phase (dict by output port)."""
        return self.inference(inputs, plan).probs

    def __repr__(self):
        return f"Network({self.wiring.name!r}, modules={list(self.wiring.module_names)}, device={self.device})"
