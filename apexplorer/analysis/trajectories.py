"""Phase trajectories of a module, their STE/EPE error vectors and a PCA view (Fig. 3).

* :func:`phase_trajectories` runs both phases with ``record=True`` and returns a
  module's inference trajectory ``z0_t`` and learning trajectory ``z1_t``.
* :func:`ste_vectors` is ``z1_t - z0_t`` step by step (Fig. 3a-b).
* :func:`epe_trajectory` builds the error-perturbed error of Fig. 3d-e: the
  inference phase runs ``inject_at`` steps, the output error is taken there,
  and the module continues from that state under the error.
* :func:`pca_trajectory` projects the steps of both phases onto their top
  principal components (scikit-learn PCA, Materials and methods).

Everything returns plain tensors or NumPy arrays; nothing changes the network.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..dynamics import relax
from ..errors import ApexplorerError, choices
from ..network import Network
from ..plan import Plan
from ._common import single

__all__ = [
    "EPETrajectory", "PCATrajectory", "epe_trajectory", "epe_vectors", "pca_trajectory",
    "phase_trajectories", "ste_vectors",
]


def _as_inputs(net: Network, plan: Plan, inputs, targets):
    if not isinstance(inputs, dict):
        inputs = {plan.inputs[0]: inputs}
    if not isinstance(targets, dict):
        targets = {plan.outputs[0]: targets}
    dev = net.device
    inputs = {k: torch.as_tensor(v, dtype=torch.float32).to(dev) for k, v in inputs.items()}
    targets = {k: torch.as_tensor(v).long().to(dev) for k, v in targets.items()}
    return inputs, targets


def _check_module(net: Network, plan: Plan, module: str, where: str) -> None:
    visited = [m for m, _ in (plan.inference if where == "inference" else plan.learning)]
    if module not in visited:
        raise ApexplorerError(
            f"module {module!r} is not reached in the {where} phase of this task; "
            f"modules there are {choices(visited)}"
        )


@torch.no_grad()
def phase_trajectories(net: Network, inputs, targets, module: str, plan: Plan | None = None):
    """A module's recorded states in both phases for one batch.

    Parameters
    ----------
    net : Network
    inputs : Tensor (B, n_in) or dict {input port: Tensor}
    targets : Tensor (B,) of class indices, or dict {output port: Tensor}
    module : str
        Name of a module that both phases visit.
    plan : Plan, optional
        Default: the network's first task.

    Returns
    -------
    traj0 : Tensor (T1 + 1, B, N)
        Inference states ``z0_0 .. z0_T1`` (``z0_0 = 0``).
    traj1 : Tensor (T2 + 1, B, N)
        Learning states ``z1_0 .. z1_T2`` (``z1_0 = 0`` under STE, ``z0_T1`` under EPE).
    """
    single(net)
    plan = plan or net.plan()
    inputs, targets = _as_inputs(net, plan, inputs, targets)
    _check_module(net, plan, module, "learning")
    p0 = net.inference(inputs, plan, record=True)
    p1 = net.learning(p0, targets, plan, record=True)
    if module not in p0.trajectory:  # reached by the error only: it sits at its initial state
        n = net.reservoirs[module].shape[0]
        B = next(iter(inputs.values())).shape[0]
        traj0 = torch.zeros(net.config.t1 + 1, B, n, device=net.device)
    else:
        traj0 = p0.trajectory[module]
    return traj0, p1.trajectory[module]


def ste_vectors(traj0, traj1):
    """Short-trajectory error vectors ``z1_t - z0_t`` at every shared step (Fig. 3a-b).

    Parameters
    ----------
    traj0 : Tensor or ndarray (T1 + 1, ...)
        Inference trajectory.
    traj1 : Tensor or ndarray (T2 + 1, ...)
        Learning trajectory, same trailing shape.

    Returns
    -------
    Tensor or ndarray (min(T1, T2) + 1, ...)
        ``traj1[t] - traj0[t]``.  The local error AP learns from is
        ``e = z0_T1 - z1_T2``, minus the last vector when ``T1 == T2``.
    """
    if tuple(traj0.shape[1:]) != tuple(traj1.shape[1:]):
        raise ApexplorerError(f"trajectories of shapes {tuple(traj0.shape)} and {tuple(traj1.shape)} "
                              "do not describe the same states")
    k = min(traj0.shape[0], traj1.shape[0])
    return traj1[:k] - traj0[:k]


@dataclass
class EPETrajectory:
    """The error-perturbed error construction for one module (Fig. 3d-e).

    Attributes
    ----------
    inference : Tensor (inject_at + T2 + 1, B, N)
        The unperturbed inference trajectory, run on past the injection step.
    learning : Tensor (T2 + 1, B, N)
        The perturbed branch: ``learning[0] = inference[inject_at]``, then T2
        steps under the inference drive plus the injected error.
    inject_at : int
        Step of the inference trajectory where the error is injected.
    error : Tensor (B, N)
        The EPE that AP learns from, ``inference[inject_at] - learning[-1]``.
    """

    inference: torch.Tensor
    learning: torch.Tensor
    inject_at: int
    error: torch.Tensor

    def aligned(self):
        """(unperturbed, perturbed) continuations from the injection step, both (T2 + 1, B, N)."""
        t, k = self.inject_at, self.learning.shape[0]
        return self.inference[t : t + k], self.learning


@torch.no_grad()
def epe_trajectory(net: Network, inputs, targets, module: str, inject_at: int, plan: Plan | None = None):
    """Inject the error at step ``inject_at`` of the inference phase and continue (Fig. 3d-e).

    The network is run with ``T1 = inject_at`` and EPE: every module relaxes
    ``inject_at`` steps, the output error is computed from that state, and in
    the learning phase each module continues from its state at ``inject_at``
    for T2 steps under its inference drive plus the error it receives.  With
    ``inject_at = T1`` this is exactly the network's own EPE learning phase.

    Parameters
    ----------
    net : Network
    inputs : Tensor (B, n_in) or dict
    targets : Tensor (B,) or dict
    module : str
    inject_at : int
        ``>= 1``: the number of inference steps before the error arrives.
    plan : Plan, optional

    Returns
    -------
    EPETrajectory
    """
    if not isinstance(inject_at, int) or isinstance(inject_at, bool) or inject_at < 1:
        raise ApexplorerError(f"inject_at = {inject_at!r} must be an integer >= 1")
    single(net)
    plan = plan or net.plan()
    inputs, targets = _as_inputs(net, plan, inputs, targets)
    _check_module(net, plan, module, "inference")
    _check_module(net, plan, module, "learning")
    cut = Network(net.wiring, replace(net.config, t1=inject_at, mode="epe"), seed=net.seed, device=net.device,
                  tensors=net.tensors)
    p0 = cut.inference(inputs, plan, record=True)
    p1 = cut.learning(p0, targets, plan, record=True)
    t2 = net.config.t2
    # the unperturbed continuation: the same drive, t2 more steps from z0 at inject_at
    rest = []
    relax(net.reservoirs[module], p0.u[module], t2, p0.z[module], net.config.activation, rest)
    inference = torch.cat([p0.trajectory[module], torch.stack(rest[1:])])
    learning = p1.trajectory[module]
    return EPETrajectory(inference, learning, inject_at, p1.e[module])


def epe_vectors(epe: EPETrajectory):
    """Error-perturbed error vectors: perturbed minus unperturbed state, step by step.

    Returns
    -------
    Tensor (T2 + 1, B, N)
        ``learning[s] - inference[inject_at + s]``; the first is zero.
    """
    ref, pert = epe.aligned()
    return pert - ref


# ---------------------------------------------------------------------------
# PCA
# ---------------------------------------------------------------------------
@dataclass
class PCATrajectory:
    """Both phases' trajectories in the space of their top principal components.

    Attributes
    ----------
    inference : ndarray (T1 + 1, [B,] k)
        Projected inference states.
    learning : ndarray (T2 + 1, [B,] k)
        Projected learning states.
    vectors : ndarray (min(T1, T2) + 1, [B,] k)
        The error vectors ``z1_t - z0_t`` in PCA space (the difference of the
        projected points; PCA is affine, so this is the projected vector).
    explained_variance_ratio : ndarray (k,)
        Fraction of the variance of the stacked states on each component.
    components : ndarray (k, N)
        The principal axes.
    mean : ndarray (N,)
        The mean state that PCA centres on.
    """

    inference: np.ndarray
    learning: np.ndarray
    vectors: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray
    mean: np.ndarray

    @property
    def n_components(self) -> int:
        return self.components.shape[0]


def _numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def pca_trajectory(traj0, traj1, n_components: int = 3) -> PCATrajectory:
    """Project a module's states over the steps of both phases onto their top components.

    The steps of both phases (and every sample, for batched trajectories) are
    stacked into one (rows x N) matrix, PCA is fitted on it, and both
    trajectories are projected.

    Parameters
    ----------
    traj0 : Tensor or ndarray (T1 + 1, N) or (T1 + 1, B, N)
        Inference trajectory.
    traj1 : Tensor or ndarray (T2 + 1, N) or (T2 + 1, B, N)
        Learning trajectory with the same trailing shape.
    n_components : int
        Wanted components; fewer are returned when the stacked matrix has
        fewer rows or columns than that.

    Returns
    -------
    PCATrajectory
    """
    from sklearn.decomposition import PCA

    a, b = _numpy(traj0), _numpy(traj1)
    if a.ndim not in (2, 3) or a.shape[1:] != b.shape[1:]:
        raise ApexplorerError(f"trajectories must be (steps, N) or (steps, B, N) with the same trailing shape; "
                              f"got {a.shape} and {b.shape}")
    if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
        raise ApexplorerError(f"n_components = {n_components!r} must be an integer >= 1")
    n = a.shape[-1]
    X = np.concatenate([a.reshape(-1, n), b.reshape(-1, n)])
    k = min(n_components, X.shape[0], n)
    mean = X.mean(0)
    Xc = X - mean
    if not np.any(np.abs(Xc) > 1e-12 * max(1.0, np.abs(X).max())):
        # every state is the same point: no direction carries variance (and sklearn would divide by 0)
        comps = np.eye(k, n)
        ratio = np.zeros(k)
    else:
        pca = PCA(n_components=k, svd_solver="full").fit(X)
        comps, ratio = pca.components_, pca.explained_variance_ratio_
    proj = lambda t: ((t - mean) @ comps.T)  # noqa: E731 - (steps, [B,] N) -> (steps, [B,] k)
    p0, p1 = proj(a), proj(b)
    m = min(len(p0), len(p1))
    return PCATrajectory(p0, p1, p1[:m] - p0[:m], np.asarray(ratio, dtype=np.float64), comps, mean)
