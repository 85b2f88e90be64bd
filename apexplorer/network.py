"""An MR-RNN with its tensors, its two phases and the local AP update.

* Its tensors come from :func:`apexplorer.init.init_tensors` (one seed; the reservoirs from
  :mod:`apexplorer.reservoirs`), its order of work from :func:`apexplorer.plan.make_plan`.
* :meth:`Network.inference` (phase 0) and :meth:`Network.learning` (phase 1)
  return plain dataclasses of tensors (:mod:`apexplorer.plan`); :meth:`Network.updates` gives
  ``dA = (1/B) a^T (z0 - z1)`` per learnable path.  No autograd anywhere.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from .dynamics import DERIVATIVES, ZERO_AT_ZERO, activation, relax, support
from .errors import ApexplorerError, choices
from .init import Init, init_ensemble, init_tensors
from .memory import check_memory
from .plan import Phase0, Phase1, Plan, make_plan
from .table import MODES, PRECISIONS, default
from .wiring import Task, Wiring



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
