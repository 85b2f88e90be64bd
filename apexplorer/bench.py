"""Benchmarks: our AP engine against the literal formulation and autograd backprop.

* **ours**: :class:`~apexplorer.learner.APLearner` as the trainer runs it
  (contiguous block slices, fused matmul-add, in-place activations, the
  first step from h0 = 0 without a matmul, one CUDA graph per step on GPU).
* **literal**: AP as the paper describes it, written plainly: one relax loop
  per module from the first step, blocks as index lists, eager, with
  ``torch.optim.Adam`` on ``.grad`` set to the local updates.
* **bp-autograd**: backprop through the same unrolled inference phase with
  torch autograd and ``torch.optim.Adam``, which a user would pick instead.

All three start from the same tensors and step through the same batches.  On the
CPU they are timed one step each in turn (see :func:`_rounds`).
"""

from __future__ import annotations

import statistics
import time
import warnings
from contextlib import nullcontext
from functools import partial

import torch

from . import kernels
from .errors import ApexplorerError
from .learner import APLearner
from .network import Network, matmul_precision
from .optim import make_optimizer
from .table import default


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _chain(net: Network):
    """Modules of a layered (paper-style) wiring in order, or an error naming why not."""
    w = net.wiring
    plan = net.plan()
    mods = [m for m, _ in plan.inference]
    for m, incoming in plan.inference:
        if len(incoming) != 1:
            raise ApexplorerError(f"the literal and autograd baselines need a layered wiring; module {m!r} has "
                                  f"{len(incoming)} incoming paths")
    if [m for m, _ in plan.learning] != mods[::-1] or net.members:
        raise ApexplorerError("the literal and autograd baselines need a single layered network")
    return w, plan, mods


class LiteralAP:
    """AP written as the paper describes it (see the module docstring)."""

    def __init__(self, net: Network, lr: float):
        w, plan, mods = _chain(net)
        self.net, self.plan, self.mods = net, plan, mods
        dev = net.device
        self.A = {n: t.clone() for n, t in net.weights.items()}
        self.opt = torch.optim.Adam(list(self.A.values()), lr=lr, betas=(0.9, 0.999), eps=1e-8)
        self.idx = {}
        for m in mods:
            mod = w.module(m)
            for b in mod.block_names:
                sl = mod.block_slice(b)
                self.idx[(m, b)] = torch.arange(sl.start, sl.stop, device=dev)

    def _index(self, ep):
        return self.idx[(ep.node, ep.block)]

    @torch.no_grad()
    def step(self, x, y):
        cfg, T = self.net.config, self.net.tensors
        B = x.shape[0]
        z, u = {}, {}
        for m, ((name, src, dst),) in self.plan.inference:
            a = x if src.kind == "input" else z[src.node][:, self._index(src)]
            N = T["reservoirs"][m].shape[0]
            u[m] = torch.zeros(B, N, device=x.device)
            u[m][:, self.idx[(m, self.net.wiring.endpoint(self.net.wiring.path(name).target).block)]] = a @ self.A[name]
            h = torch.zeros(B, N, device=x.device)
            for _ in range(cfg.t1):
                h = torch.tanh(h @ T["reservoirs"][m] + u[m])
            z[m] = h
        out = self.plan.outputs[0]
        (name, src), = self.plan.readout[out]
        pre = z[src.node][:, self._index(src)]
        o = torch.softmax(pre @ self.A[name] + T["readout_bias"][out], dim=1)
        e_out = o - torch.eye(o.shape[1], device=x.device)[y]
        grads = {name: pre.t() @ e_out / B}
        e = {}
        for m, incoming in self.plan.learning:
            u1 = u[m].clone()
            for qname, src, dst in incoming:
                eps = e_out if src.kind == "output" else e[src.node][:, self._index(src)]
                tgt = self.net.wiring.endpoint(self.net.wiring.path(qname).target)
                u1[:, self._index(tgt)] += -cfg.beta * eps @ T["feedback"][qname]
            h = torch.zeros_like(z[m]) if cfg.mode == "ste" else z[m]
            for _ in range(cfg.t2):
                h = torch.tanh(h @ T["reservoirs"][m] + u1)
            e[m] = z[m] - h
        for name, src, dst in self.plan.learn:
            if dst.kind == "output":
                continue
            a = x if src.kind == "input" else z[src.node][:, self._index(src)]
            grads[name] = a.t() @ e[dst.node][:, self._index(dst)] / B
        for name, g in grads.items():
            self.A[name].grad = g
        self.opt.step()


class AutogradBP:
    """Backprop through the unrolled inference phase of the same network (torch autograd + Adam)."""

    def __init__(self, net: Network, lr: float):
        w, plan, mods = _chain(net)
        self.net, self.plan = net, plan
        self.A = {n: t.clone().requires_grad_(True) for n, t in net.weights.items()}
        self.opt = torch.optim.Adam(list(self.A.values()), lr=lr)

    def step(self, x, y):
        cfg, T = self.net.config, self.net.tensors
        B = x.shape[0]
        z = {}
        for m, ((name, src, dst),) in self.plan.inference:
            a = x if src.kind == "input" else z[src.node][:, src.slice]
            W = T["reservoirs"][m]
            drive = torch.nn.functional.pad(a @ self.A[name], (dst.start, W.shape[0] - dst.stop))
            h = torch.tanh(drive)
            for _ in range(cfg.t1 - 1):
                h = torch.tanh(torch.addmm(drive, h, W))
            z[m] = h
        out = self.plan.outputs[0]
        (name, src), = self.plan.readout[out]
        logits = z[src.node][:, src.slice] @ self.A[name] + T["readout_bias"][out]
        loss = torch.nn.functional.cross_entropy(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()


def _agreement(a: torch.Tensor, b: torch.Tensor, members: bool) -> dict:
    """Cosine and relative error of ``a`` against ``b``: the worst member of an ensemble."""
    a = a.double().reshape(a.shape[0], -1) if members else a.double().reshape(1, -1)
    b = b.double().reshape(b.shape[0], -1) if members else b.double().reshape(1, -1)
    nb = b.norm(dim=1)
    cos = ((a * b).sum(1) / (a.norm(dim=1) * nb).clamp_min(1e-300)).clamp(-1, 1)
    rel = (a - b).norm(dim=1) / nb.clamp_min(1e-300)
    return {"cosine": float(cos.min()), "rel_err": float(rel.max())}


@torch.no_grad()
def fidelity(net: Network, x: torch.Tensor, y: torch.Tensor, reference: str = "fp32") -> dict:
    """How far one batch's AP step in ``net``'s precision is from the same step in ``reference``.

    Both networks hold the same tensors and see the same batch ``(x, y)`` of
    the first task; nothing is applied.  For every learnable path the update
    dA and for every module the local error e = z0 - z1 are compared: their
    cosine and relative error ``|a - a_ref| / |a_ref|`` (an ensemble: its
    worst member).  This is what a fast precision could spoil, since e is a
    small difference of two trajectories.
    """
    from dataclasses import replace

    task = net.wiring.tasks[0]
    ref = Network(net.wiring, replace(net.config, precision=reference), seed=net.seed, device=net.device,
                  seeds=net.seeds, radii=net.radii, tensors=net.tensors)
    steps = {}
    for key, n in (("ours", net), ("ref", ref)):
        plan = n.plan(task)
        p0 = n.inference({task.input: x}, plan)
        p1 = n.learning(p0, {task.output: y}, plan)
        steps[key] = (n.updates(p0, p1, plan), p1.e)
    members = net.members is not None
    (du, e), (du_ref, e_ref) = steps["ours"], steps["ref"]
    updates = {k: _agreement(du[k], du_ref[k], members) for k in du_ref}
    errors = {m: _agreement(e[m], e_ref[m], members) for m in e_ref}
    return {"reference": reference, "batch": int(x.shape[-2]), "updates": updates, "errors": errors,
            "update_cosine_min": min(v["cosine"] for v in updates.values()),
            "update_rel_err_max": max(v["rel_err"] for v in updates.values())}


def _rounds(runners: dict, rounds: int, per_round: int, device, clock=time.perf_counter) -> dict:
    """Seconds per step of each runner, ``per_round`` steps at a time, the runners taken in turn ``rounds`` times.

    ``runners`` maps a name to ``(step, context)``: ``step()`` runs one step inside ``context()``.  Taking
    the engines in rotation rather than one after another keeps a machine whose speed drifts (a shared
    VM has slow minutes) from favouring whichever engine ran in its fast ones.  Returns
    ``{name: [s/step in round 1, round 2, ...]}``.
    """
    times = {k: [] for k in runners}
    for _ in range(rounds):
        for k, (step, context) in runners.items():
            with context():
                _sync(device)
                t0 = clock()
                for _ in range(per_round):
                    step()
                _sync(device)
                times[k].append((clock() - t0) / per_round)
    return times


def _ratio(slow: list, fast: list) -> float:
    """The median over rounds of ``slow / fast``: what one engine costs against another run beside it."""
    return statistics.median(s / f for s, f in zip(slow, fast))


@torch.no_grad()
def reservoir_products(net: Network, batch_size: int, rounds: int = 10) -> dict:
    """One relax product ``h @ W`` at this batch size: dense, as the engine runs it, against W stored sparse.

    The paper's reservoirs keep a fraction of their entries (a quarter at paper
    size), so a sparse product does that fraction of the multiply-adds.  Whether
    that is faster depends on the hardware: this times both on the network's
    device, W as a CSR matrix (``torch.sparse.mm`` of W^T and h^T, fp32) against
    the dense product in the network's precision, in turn, ``rounds`` times.
    """
    dev = net.device
    name, W = next(iter(net.tensors["reservoirs"].items()))
    W = W[0] if W.dim() == 3 else W  # an ensemble: its first member
    n = W.shape[0]
    h = torch.rand(batch_size, n, generator=torch.Generator().manual_seed(0)).to(dev)
    prec = net.config.precision
    Wd, hd = (W.bfloat16(), h.bfloat16()) if prec == "bf16" else (W, h)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        Ws = W.t().contiguous().to_sparse_csr()
    ht = h.t().contiguous()
    with matmul_precision(dev, "fp32"):  # both time the same product
        if not torch.allclose(torch.sparse.mm(Ws, ht).t(), h @ W, rtol=1e-4, atol=1e-5):
            raise ApexplorerError("the sparse reservoir product does not match the dense one")
    dense_ctx = partial(matmul_precision, dev, "tf32" if prec == "tf32" else "fp32")
    runners = {"dense": (lambda: hd @ Wd, dense_ctx), "sparse_csr": (lambda: torch.sparse.mm(Ws, ht), nullcontext)}
    for step, context in runners.values():
        with context():
            step()
    times = _rounds(runners, rounds, 1, dev)
    return {"module": name, "shape": [batch_size, n, n], "density": float((W != 0).float().mean()),
            "dense_precision": prec, "dense_ms": statistics.median(times["dense"]) * 1e3,
            "sparse_csr_ms": statistics.median(times["sparse_csr"]) * 1e3,
            "sparse_vs_dense": _ratio(times["sparse_csr"], times["dense"])}


def _batch_reader(x, y, orders, batch_size: int, n_batches: int):
    """``batches(ensemble)``: a fresh reader of the epoch's batches, so that every engine steps through the same ones."""
    def batches(ensemble=False):
        cursor = [0]

        def batch():
            i = cursor[0] % n_batches
            cursor[0] += 1
            idx = orders[:, i * batch_size : (i + 1) * batch_size]
            idx = idx if ensemble else idx[0]
            return x[idx], y[idx]
        return batch
    return batches


def _ours(network: Network, lr, batches, warmup: int):
    """Our engine's step on ``network`` as the trainer runs it, warmed up: (step, context)."""
    task = network.wiring.tasks[0]
    learner = APLearner(network, make_optimizer("adam", lr))
    batch = batches(ensemble=learner.members is not None)

    def run():
        xb, yb = batch()
        b = {task.name: (xb, yb)}
        if learner.fused:
            learner.train_step(b, (task,))
        else:
            learner.train_batch(b, (task,))
            learner.apply()

    for _ in range(warmup + (3 if learner.fused else 0)):  # CUDA graphs capture on the third step of a shape
        run()
    return run, nullcontext


def _runners(net: Network, lr, batches, warmup: int, baselines: bool, base_precision: str, out: dict) -> dict:
    """{engine: (step, context)}, warmed up: ours, ours on one seed (ensembles), and the baselines
    (a baseline that cannot run this network is recorded in ``out`` as skipped)."""
    dev = net.device
    fresh = Network(net.wiring, net.config, seed=net.seed, device=dev, seeds=net.seeds, radii=net.radii,
                    tensors={k: {n: t.clone() for n, t in d.items()} for k, d in net.tensors.items()})
    runners = {"ours": _ours(fresh, lr, batches, warmup)}
    if net.members:  # what the ensemble costs against one of its seeds trained alone
        runners["ours_one_seed"] = _ours(Network(net.wiring, net.config, seed=net.seeds[0], device=dev), lr, batches,
                                         warmup)
    if not baselines:
        return runners
    single = Network(net.wiring, net.config, seed=net.seed, device=dev) if net.members else net
    for key, cls in (("literal", LiteralAP), ("bp_autograd", AutogradBP)):
        try:
            m = cls(single, lr)
        except ApexplorerError as e:
            out[key] = {"skipped": str(e)}
            continue

        def r(m=m, batch=batches()):
            xb, yb = batch()
            m.step(xb, yb)

        context = partial(matmul_precision, dev, base_precision)
        with context():
            for _ in range(warmup):
                r()
        runners[key] = (r, context)
    return runners


def _record_times(out: dict, times: dict, members: int | None, batch_size: int, n_batches: int) -> None:
    """Each engine's median step, samples per second and epoch estimate, and our speed-ups, into ``out``."""
    k = members or 1
    for key, ts in times.items():
        t = statistics.median(ts)
        samples = batch_size * (k if key == "ours" else 1)  # a step of the ensemble trains all K members
        runs = 1 if key.startswith("ours") else k  # an ensemble is compared with K runs of a baseline
        out[key] = {"step_s": t, "samples_per_s": samples / t, "epoch_s_est": t * n_batches * runs,
                    "step_s_rounds": ts}
        if not key.startswith("ours"):
            out[f"speedup_vs_{key}"] = _ratio(ts, times["ours"]) * k
    if members:
        out["ensemble_vs_one_seed"] = _ratio(times["ours"], times["ours_one_seed"])


def _train_epochs(net: Network, data, epochs: int, batch_size: int, lr, eval_batch_size: int) -> dict:
    """Train ``epochs`` real epochs of a fresh copy of ``net``: their times and accuracies."""
    from .trainer import TrainConfig, Trainer

    dev = net.device
    tr = Trainer(Network(net.wiring, net.config, seed=net.seed, device=dev, seeds=net.seeds, radii=net.radii),
                 data, TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, device=str(dev),
                                   eval_batch_size=eval_batch_size))
    hist = tr.run()
    steady = [h["seconds"] for h in hist[1:]] or [hist[0]["seconds"]]
    return {"epochs": [{"epoch": h["epoch"], "seconds": h["seconds"], "train_acc": h["train_acc"],
                        "test_acc": h["test_acc"], **({"members": h["members"]} if h.get("members") else {})}
                       for h in hist],
            "epoch_s": min(steady), "test_acc": hist[-1]["test_acc"]}


def bench(net: Network, data, batch_size=default("train.batch_size"), lr=default("train.lr"), steps=3, warmup=2,
          baselines=True, epochs=0, eval_batch_size=default("train.eval_batch_size"), epoch_budget_s=None) -> dict:
    """Time steady-state training steps of our engine and the two baselines; optionally train ``epochs``.

    With ``epochs=0`` and an ``epoch_budget_s``, one real epoch is trained when
    the timed steps say it takes no longer than that, so that the speed comes
    with its test accuracy.  A precision other than fp32 is also compared with
    fp32 on one batch (:func:`fidelity`).  Returns a JSON-ready dict (times in seconds).
    """
    dev = net.device
    x = data.x_train.to(dev)
    y = data.y_train.to(dev)
    n_batches = -(-len(y) // batch_size)
    gen = torch.Generator().manual_seed(0)
    # one order of the data per ensemble member, as the trainer draws them (the first for single runs)
    orders = torch.stack([torch.randperm(len(y), generator=gen) for _ in range(net.members or 1)]).to(dev)
    batches = _batch_reader(x, y, orders, batch_size, n_batches)

    # the baselines' fp32 products run as TF32 whenever ours are not full fp32
    base_precision = "fp32" if net.config.precision == "fp32" else "tf32"
    out = {"device": str(dev), "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "precision": net.config.precision, "batch_size": batch_size, "steps_per_epoch": n_batches,
           "members": net.members or 1, "timed_steps": steps,
           "fused_relax": kernels.applies(dev, net.config.precision),
           "baseline_precision": base_precision if dev.type == "cuda" else "fp32"}
    if dev.type == "cpu":
        out["threads"] = torch.get_num_threads()
    runners = _runners(net, lr, batches, warmup, baselines, base_precision, out)
    # a CPU's speed drifts from minute to minute: one step of each engine in turn; a GPU's does not
    rounds, per_round = (1, steps) if dev.type == "cuda" else (steps, 1)
    times = _rounds(runners, rounds, per_round, dev)
    out["timing"] = {"rounds": rounds, "steps_per_round": per_round, "order": list(runners)}
    _record_times(out, times, net.members, batch_size, n_batches)
    out["reservoir_product"] = reservoir_products(net, batch_size)
    if net.config.precision != "fp32":
        xb, yb = batches()()
        out["fidelity"] = fidelity(net, xb, yb)
    if not epochs and epoch_budget_s is not None:
        out["epoch_budget_s"] = epoch_budget_s
        if out["ours"]["epoch_s_est"] <= epoch_budget_s:
            epochs = 1  # a real epoch fits: time it, and report the accuracy beside the speed
    if epochs:
        out.update(_train_epochs(net, data, epochs, batch_size, lr, eval_batch_size))
    if out["fused_relax"]:
        out["tuned_blocks"] = kernels.tuned()
    return out
