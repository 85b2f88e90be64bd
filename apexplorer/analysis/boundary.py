"""The decision over the input plane of a two-feature task, and what each module computes there.

TensorFlow Playground paints a network's decision over the input plane and, for
each unit, what it computes.  For an MR-RNN the natural unit is the module: each
module's inference-phase state over the plane, summarised by its first principal
component (or one chosen neuron's state).  Everything is one batched inference
pass of the network over the grid (:meth:`Network.inference`), the same relaxation
that classifies the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import ApexplorerError, choices
from ..network import Network, Plan

__all__ = ["RESOLUTION", "DecisionPlane", "boundary_item", "decision_plane", "plane_grid"]


@dataclass
class DecisionPlane:
    """A network's decision over a grid of the input plane (raw coordinates, as the data's file has them).

    ``probs`` (R, R, K): class probabilities, row ``i`` at ``ys[i]``, column ``j`` at ``xs[j]``;
    ``predicted`` (R, R) class index; ``confidence`` (R, R) its probability; ``modules``: {module: (R, R)}
    each module's picture (its first principal component over the grid, or ``neuron``'s state), and
    ``explained`` the share of the state's variance that component carries (1 for a neuron).
    """

    xs: np.ndarray
    ys: np.ndarray
    probs: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    modules: dict = field(default_factory=dict)
    explained: dict = field(default_factory=dict)
    neuron: int | None = None

    @property
    def extent(self) -> tuple:
        """(x0, y0, x1, y1) of the grid."""
        return float(self.xs[0]), float(self.ys[0]), float(self.xs[-1]), float(self.ys[-1])


def plane_grid(points, resolution: int = 80, margin: float = 0.15):
    """``xs``, ``ys`` (``resolution`` each) covering ``points`` (n, 2) with ``margin`` of their span on each side,
    and the grid's points (R*R, 2), rows along y."""
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 2 <= resolution <= 1000:
        raise ApexplorerError(f"resolution = {resolution!r}; give a whole number from 2 to 1000")
    p = torch.as_tensor(points, dtype=torch.float32)
    lo, hi = p.min(0).values, p.max(0).values
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    lo, hi = lo - margin * span, hi + margin * span
    xs = torch.linspace(float(lo[0]), float(hi[0]), resolution)
    ys = torch.linspace(float(lo[1]), float(hi[1]), resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return xs.numpy(), ys.numpy(), torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def _first_component(z: torch.Tensor):
    """The first principal component's score of each row of ``z`` (G, N), its sign fixed so that its largest
    loading is positive (pictures do not flip between frames), and its share of the variance."""
    zc = z - z.mean(0, keepdim=True)
    total = float((zc * zc).sum())
    if total <= 1e-20:
        return torch.zeros(z.shape[0]), 0.0
    # the top right singular vector of zc from the small N x N Gram matrix (N is a module's size)
    vals, vecs = torch.linalg.eigh(zc.T.double() @ zc.double())
    v = vecs[:, -1].float()
    v = v * torch.sign(v[v.abs().argmax()])
    return zc @ v, float(vals[-1]) / total


@torch.no_grad()
def decision_plane(net: Network, dataset, plan: Plan | None = None, resolution: int = 80, margin: float = 0.15,
                   modules: bool = True, neuron: int | None = None, member: int = 0, output: str | None = None,
                   bounds=None) -> DecisionPlane:
    """The network's decision and its modules' pictures over the input plane of ``dataset`` (two features).

    ``bounds``: the points the grid must cover (default: the dataset's training and test points, raw);
    ``member``: which member of an ensemble; ``neuron``: draw that neuron's state in every module that has it
    instead of the first principal component.
    """
    if dataset.n_features != 2:
        raise ApexplorerError(f"the decision plane needs a task with two input features; {dataset.name!r} has "
                              f"{dataset.n_features}")
    plan = plan or net.plan()
    pts = bounds if bounds is not None else torch.cat([dataset.raw("train"), dataset.raw("test")])
    xs, ys, grid = plane_grid(pts, resolution, margin)
    inputs = dataset.to_inputs(grid).to(net.device)
    dtype = next(iter(net.weights.values())).dtype
    p0 = net.inference(inputs.to(dtype), plan)
    out = output or plan.outputs[0]
    if out not in p0.probs:
        raise ApexplorerError(f"output {out!r} is not read in this task; its outputs are {choices(p0.probs)}")
    members = net.members

    def pick(t):
        t = t.float().cpu()
        if members is not None:
            if not 0 <= member < members:
                raise ApexplorerError(f"member = {member!r}; this ensemble has members 0 to {members - 1}")
            t = t[member]
        return t

    r = len(xs)
    probs = pick(p0.probs[out])
    conf, pred = probs.max(-1)
    pictures, explained = {}, {}
    if modules:
        for m, z in p0.z.items():
            z = pick(z)
            if neuron is not None:
                if not 0 <= neuron < z.shape[-1]:
                    continue  # a smaller module has no such neuron
                pictures[m], explained[m] = z[:, neuron], 1.0
            else:
                pictures[m], explained[m] = _first_component(z)
            pictures[m] = pictures[m].reshape(r, r).numpy()
    return DecisionPlane(xs, ys, probs.reshape(r, r, -1).numpy(), pred.reshape(r, r).numpy(),
                         conf.reshape(r, r).numpy(), pictures, explained, neuron)


#: The plane's grid: RESOLUTION x RESOLUTION points, one batched inference pass.
RESOLUTION = 80


def boundary_item(net, dataset, epoch: int = 0, batch: int = 0, plan=None, points: bool = True,
                  resolution: int = RESOLUTION, member: int = 0) -> dict:
    """The ``boundary`` item a :class:`BoundaryView` draws: the network's decision plane over ``dataset``'s two
    features (one batched inference pass), and with ``points`` the data drawn over it (raw coordinates)."""
    item = {"plane": decision_plane(net, dataset, plan=plan, resolution=resolution, member=member),
            "classes": list(dataset.classes), "epoch": epoch, "batch": batch, "points": None, "test_points": None}
    if points:
        item["points"] = (dataset.raw("train").numpy(), dataset.y_train.numpy())
        item["test_points"] = (dataset.raw("test").numpy(), dataset.y_test.numpy())
    return item
