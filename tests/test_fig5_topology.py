"""Fig. 5b and 5c as the authors' notebooks wire them.

The notebooks (``AP_resuing_pathB_reusingfeedback.ipynb``,
``AP_reusing_pathB_reusingfeedback_ongoing_activity.ipynb``,
``AP_reusing_pathC_reusingfeedback_ongoing_activity.ipynb``) index a module's
six blocks 1..6.  These tests check, by those indices, which paths each task
learns and which modules its error passes through, and compare one step of our
network with the notebooks' equations, written out here in float64 from the
same tensors.
"""

import pytest
import torch

from apexplorer import APConfig, Network
from apexplorer.init import Init
from apexplorer.presets import preset

B = 4  # neurons per block in these tests


def block(k: int) -> slice:
    """The notebooks' ``Aindx2Nrange(6 * B, 6, k)``: block k (1-based) of a six-block module."""
    return slice((k - 1) * B, k * B)


def index(sl) -> int | None:
    return None if sl is None else sl.start // B + 1


def error_route(plan) -> dict:
    """{module: {(source node, source block index), target block index}} of the learning phase."""
    return {m: {((src.node, index(src.slice)), index(dst)) for _, src, dst in feeds} for m, feeds in plan.learning}


def learned(plan) -> set:
    return {name for name, _, _ in plan.learn}


NOTEBOOK = {
    # task A (FMNIST): backward1; its error enters L2 (block 4) and L4 (block 5), then L4.6 -> L3.3, L3.4 -> L1.6
    ("fig5b", "A"): ({"xA->L1.RI", "L1.SI->L2.RI", "L2.SI->yA"},
                     {"L2": {(("yA", None), 4)}, "L4": {(("yA", None), 5)}, "L3": {(("L4", 6), 3)},
                      "L1": {(("L3", 4), 6)}}),
    # task B (MNIST): backward2; yB -> L4.4, L4.6 -> L3.3
    ("fig5b", "B"): ({"xB->L3.RI", "L3.SI->L4.RI", "L4.SI->yB"},
                     {"L4": {(("yB", None), 4)}, "L3": {(("L4", 6), 3)}}),
    # 5c: A learns the same three paths and its error takes 5b's route
    ("fig5c", "A"): ({"xA->L1.RI", "L1.SI->L2.RI", "L2.SI->yA"},
                     {"L2": {(("yA", None), 4)}, "L4": {(("yA", None), 5)}, "L3": {(("L4", 6), 3)},
                      "L1": {(("L3", 4), 6)}}),
}


@pytest.mark.parametrize("name,task", list(NOTEBOOK), ids=[f"{n}-{t}" for n, t in NOTEBOOK])
def test_each_task_learns_its_own_paths_and_its_error_takes_the_notebooks_route(name, task):
    w = preset(name, [12, 8], [3, 2], size=B)
    plan = Network(w, seed=0).plan(task)
    paths, route = NOTEBOOK[(name, task)]
    assert learned(plan) == paths
    assert error_route(plan) == route
    assert [m for m, _ in plan.learning] == list(route)  # the order the error reaches them


def test_the_inference_blocks_of_each_path_are_the_notebooks():
    w = preset("fig5c", [12, 8], [3, 2], size=B)
    ep = w.endpoint
    where = {p.name: (ep(p.source).node, index(ep(p.source).slice), ep(p.target).node, index(ep(p.target).slice))
             for p in w.feedforward}
    assert where == {
        "xA->L1.RI": ("xA", None, "L1", 1), "L1.SI->L2.RI": ("L1", 3, "L2", 1), "L2.SI->yA": ("L2", 3, "yA", None),
        "xB->L3.RI": ("xB", None, "L3", 5), "L3.SI->L4.RI": ("L3", 2, "L4", 1), "L4.SI->yB": ("L4", 3, "yB", None),
        "L1.SI2->L3.RI2": ("L1", 4, "L3", 1), "L4.SI2->yA": ("L4", 2, "yA", None)}
    assert set(w.task("A").frozen) == {"L1.SI2->L3.RI2", "L4.SI2->yA", "L3.SI->L4.RI"}
    assert w.learnable_paths(w.task("B")) == ("xB->L3.RI", "L3.SI->L4.RI", "L4.SI->yB")


# ---------------------------------------------------------------------------
# one step, against the notebooks' equations
# ---------------------------------------------------------------------------
def relax(W, h, u, steps=8):
    for _ in range(steps):
        h = torch.tanh(h @ W + u)
    return h


def onehot(y, n):
    return torch.nn.functional.one_hot(y, n).double()


class Notebook:
    """``FRNN_ML4``'s forward/backward by block index, on our network's float64 tensors (EPE, 8 steps)."""

    def __init__(self, net):
        t = net.tensors
        self.W = t["reservoirs"]
        self.A = t["weights"]
        self.G = t["feedback"]

    def zeros(self, n):
        return torch.zeros(n, 6 * B, dtype=torch.float64)

    def forward(self, xa, xb, recruit):
        W, A, n = self.W, self.A, len(xa) if xa is not None else len(xb)
        s = {}
        if xa is not None:
            s["u1"] = self.zeros(n)
            s["u1"][:, block(1)] = xa @ A["xA->L1.RI"]
            s["z1"] = relax(W["L1"], self.zeros(n), s["u1"])
            s["u2"] = self.zeros(n)
            s["u2"][:, block(1)] = s["z1"][:, block(3)] @ A["L1.SI->L2.RI"]
            s["z2"] = relax(W["L2"], self.zeros(n), s["u2"])
        s["u3"], s["u4"] = self.zeros(n), self.zeros(n)
        if xb is not None:
            s["u3"][:, block(5)] = xb @ A["xB->L3.RI"]
        if recruit:
            s["u3"][:, block(1)] = s["z1"][:, block(4)] @ A["L1.SI2->L3.RI2"]
        s["z3"] = relax(W["L3"], self.zeros(n), s["u3"])
        if xb is not None or recruit:
            s["u4"][:, block(1)] = s["z3"][:, block(2)] @ A["L3.SI->L4.RI"]
        s["z4"] = relax(W["L4"], self.zeros(n), s["u4"])
        if xa is not None:
            logit = s["z2"][:, block(3)] @ A["L2.SI->yA"]
            if recruit:
                logit = logit + s["z4"][:, block(2)] @ A["L4.SI2->yA"]
            s["oA"] = torch.softmax(logit, -1)
        if xb is not None:
            s["oB"] = torch.softmax(s["z4"][:, block(3)] @ A["L4.SI->yB"], -1)
        return s

    def backward(self, s, xa, ya, xb, yb):
        W, A, G = self.W, self.A, self.G
        dW = {}
        e4_drive = s["u4"].clone()
        if xb is not None:
            eB = s["oB"] - onehot(yb, s["oB"].shape[1])
            e4_drive[:, block(4)] = -eB @ G["yB->L4.RE"]
        if xa is not None:
            eA = s["oA"] - onehot(ya, s["oA"].shape[1])
            u2 = s["u2"].clone()
            u2[:, block(4)] = -eA @ G["yA->L2.RE"]
            e2 = s["z2"] - relax(W["L2"], s["z2"], u2)
            e4_drive[:, block(5)] = -eA @ G["yA->L4.RE2"]
        e4 = s["z4"] - relax(W["L4"], s["z4"], e4_drive)
        u3 = s["u3"].clone()
        u3[:, block(3)] = -e4[:, block(6)] @ G["L4.SE->L3.RE"]
        e3 = s["z3"] - relax(W["L3"], s["z3"], u3)
        n = len(xa) if xa is not None else len(xb)
        if xa is not None:
            u1 = s["u1"].clone()
            u1[:, block(6)] = -e3[:, block(4)] @ G["L3.SE->L1.RE"]
            e1 = s["z1"] - relax(W["L1"], s["z1"], u1)
            dW["xA->L1.RI"] = xa.T @ e1[:, block(1)] / n
            dW["L1.SI->L2.RI"] = s["z1"][:, block(3)].T @ e2[:, block(1)] / n
            dW["L2.SI->yA"] = s["z2"][:, block(3)].T @ eA / n
        if xb is not None:
            dW["xB->L3.RI"] = xb.T @ e3[:, block(5)] / n
            dW["L3.SI->L4.RI"] = s["z3"][:, block(2)].T @ e4[:, block(1)] / n
            dW["L4.SI->yB"] = s["z4"][:, block(3)].T @ eB / n
        return dW


@pytest.mark.parametrize("name,tasks", [("fig5b", ["A"]), ("fig5b", ["B"]), ("fig5b", ["A", "B"]),
                                        ("fig5c", ["A", "B"])],
                         ids=["5b-alternating-A", "5b-alternating-B", "5b-simultaneous", "5c-simultaneous"])
def test_one_step_equals_the_notebooks_equations(name, tasks):
    w = preset(name, [12, 8], [3, 2], size=B)
    net32 = Network(w, APConfig(mode="epe"), seed=1, init=Init("gaussian"))
    tensors = {g: {k: v.double() for k, v in d.items()} for g, d in net32.tensors.items()}
    net = Network(w, APConfig(mode="epe"), tensors=tensors)
    gen = torch.Generator().manual_seed(0)
    xa, xb = torch.rand(6, 12, generator=gen, dtype=torch.float64), torch.rand(6, 8, generator=gen, dtype=torch.float64)
    ya, yb = torch.randint(0, 3, (6,), generator=gen), torch.randint(0, 2, (6,), generator=gen)
    xa, ya = (xa, ya) if "A" in tasks else (None, None)
    xb, yb = (xb, yb) if "B" in tasks else (None, None)

    plan = net.plan(tasks)
    inputs = {k: v for k, v in (("xA", xa), ("xB", xb)) if v is not None}
    targets = {k: v for k, v in (("yA", ya), ("yB", yb)) if v is not None}
    p0 = net.inference(inputs, plan)
    ours = net.updates(p0, net.learning(p0, targets, plan), plan)

    nb = Notebook(net)
    theirs = nb.backward(nb.forward(xa, xb, recruit=name == "fig5c"), xa, ya, xb, yb)
    assert set(ours) == set(theirs)
    for k in theirs:
        torch.testing.assert_close(ours[k], theirs[k], rtol=0, atol=1e-12, msg=k)


def test_gaussian_initialisation_draws_the_notebooks_spreads():
    w = preset("fig5b", [784, 784], [10, 10], size=64)
    t = Network(w, seed=0, init=Init("gaussian")).tensors
    assert float(t["weights"]["xA->L1.RI"].std()) == pytest.approx(0.1, rel=0.02)
    assert float(t["feedback"]["L4.SE->L3.RE"].std()) == pytest.approx(0.5, rel=0.05)
    assert float(t["feedback"]["yA->L2.RE"].std()) == pytest.approx(0.5, rel=0.1)
    assert all(float(b.abs().sum()) == 0 for b in t["readout_bias"].values())
    uniform = Network(w, seed=0).tensors
    for k, W in uniform["reservoirs"].items():  # the reservoirs do not depend on the scheme
        assert torch.equal(W, t["reservoirs"][k])
