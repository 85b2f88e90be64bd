"""Measurements a result needs beyond training, run in this process (they take seconds).

* ``lyapunov`` (Fig. 2c): MLE and FTMLE of random reservoirs over the
  spectral radii of the result's grid, by
  :func:`apexplorer.analysis.spectral_radius_sweep`.  Options (a scale's
  ``analysis.lyapunov``): ``radii``, ``size`` (1024), ``rate`` (0.25),
  ``steps`` (8), ``mle_steps`` (1000), ``trials`` (4), ``drive`` (0), ``seed``.

* ``states`` (Fig. 2d): a reservoir's states over the iterations at five
  spectral radii (:func:`states`).
* ``phase_pca`` (Fig. 3b, 3e): a trained module's STE and EPE trajectories
  after PCA, and their errors' cosines to the end-point error (:func:`phase_pca`).

Their outputs are cached as JSON in the reproduction's folder, so a rerun
does not measure them again.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..sweep.grid import axis_key
from .errors import PaperError


def _radii(result, scale: str) -> list:
    sc = result.scale(scale)
    for g in result.groups:
        for k, vals in g.grid:
            if axis_key(k) == "ap.spectral_radius":
                return list(sc.axis_values(g.label, k, vals))
    return [0.01, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]


def lyapunov(result, scale: str) -> list:
    """``[{sr, log_sr, mle, ftmle}]`` over the result's spectral radii (Fig. 2c's MLE/FTMLE curves)."""
    from ..analysis.lyapunov import spectral_radius_sweep

    opts = dict(result.scale(scale).analysis.get("lyapunov", {}))
    radii = opts.pop("radii", None) or _radii(result, scale)
    allowed = ("size", "rate", "steps", "mle_steps", "trials", "drive", "seed")
    bad = [k for k in opts if k not in allowed]
    if bad:
        raise PaperError(f"result {result.id!r}: lyapunov option {bad[0]!r} is unknown; options are radii, "
                         + ", ".join(allowed))
    return spectral_radius_sweep([float(r) for r in radii], **opts)


def base_experiment(result, scale: str):
    """The result's base experiment with its scale's changes (a result of analyses alone has no points)."""
    from ..experiment import Experiment

    exp = Experiment.from_dict(result.base)
    sc = result.scale(scale)
    return exp.with_changes(sc.set) if sc.set else exp


def _opts(result, scale, name, defaults: dict) -> dict:
    opts = dict(result.scale(scale).analysis.get(name, {}))
    bad = [k for k in opts if k not in defaults]
    if bad:
        raise PaperError(f"result {result.id!r}: {name} option {bad[0]!r} is unknown; options are "
                         + ", ".join(defaults))
    return {**defaults, **opts}


def states(result, scale: str) -> dict:
    """Fig. 2d: a reservoir's states and one-step differences over the iterations, at several spectral radii.

    Options (a scale's ``analysis.states``): ``radii`` (0.1, 0.5, 1, 1.5, 2), ``size`` (1024), ``rate`` (0.25),
    ``steps`` (50), ``seeds`` (3), ``neurons`` (8, plotted), ``drive`` (0.5: a fixed input U(-drive, drive)
    per neuron, h0 = 0), ``tol`` (1e-3).  The reservoirs are drawn as the authors' (``authors``, with
    replacement).  Returns ``{"rows": [{seed, sr, settle_step, last_change}], "traces": {sr: {states,
    diffs}}}``: ``settle_step`` is the first step whose largest one-step change is under ``tol`` (``steps``
    when none is), ``last_change`` the RMS one-step change at the last step; the traces are seed 0's first
    ``neurons`` neurons."""
    import torch

    from ..reservoirs import random_reservoir

    o = _opts(result, scale, "states", {"radii": [0.1, 0.5, 1.0, 1.5, 2.0], "size": 1024, "rate": 0.25,
                                        "steps": 50, "seeds": 3, "neurons": 8, "drive": 0.5, "tol": 1e-3})
    rows, traces = [], {}
    for seed in range(int(o["seeds"])):
        for sr in o["radii"]:
            gen = torch.Generator().manual_seed(1000 * seed + 7)
            W = random_reservoir(int(o["size"]), float(sr), float(o["rate"]), gen, "authors").double()
            u = (torch.rand(int(o["size"]), generator=gen, dtype=torch.float64) * 2 - 1) * float(o["drive"])
            h = torch.zeros_like(u)
            hs = [h]
            for _ in range(int(o["steps"])):
                h = torch.tanh(h @ W + u)
                hs.append(h)
            H = torch.stack(hs)
            d = H[1:] - H[:-1]
            big = d.abs().amax(1)
            settled = [t + 1 for t in range(len(big)) if big[t] < o["tol"]]
            rows.append({"seed": seed, "sr": float(sr), "settle_step": float(settled[0] if settled else o["steps"]),
                         "last_change": float(d[-1].pow(2).mean().sqrt())})
            if seed == 0:
                k = int(o["neurons"])
                traces[f"{float(sr):g}"] = {"states": H[:, :k].tolist(), "diffs": d[:, :k].tolist()}
    return {"rows": rows, "traces": traces, "options": o}


def phase_pca(result, scale: str) -> dict:
    """Fig. 3b and 3e: a trained module's STE and EPE trajectories in PCA space, and how parallel their errors
    are to the end-point error.

    A network of the result's base experiment at ``scale`` (the paper's two modules, the authors' reservoir
    draw) trains ``epochs`` epochs, then for ``samples`` test images the first module's errors are compared
    with its end-point error (both phases run ``end_steps`` steps, STE):

    * STE (T1 = T2 = ``t``): ``ste_cos_min``, the smallest over steps 2..t of the mean cosine between the
      step's error vector z0_s - z1_s and the end-point error;
    * EPE (error injected after ``inject`` inference steps, T2 = ``t2``): ``epe_cos`` at each.

    Options (a scale's ``analysis.phase_pca``): ``epochs`` (1), ``train_size``, ``test_size`` (None: the
    experiment's), ``seeds`` (3), ``samples`` (50), ``t`` (8), ``t2`` (2), ``inject`` ([1, 2, 4, 8]),
    ``end_steps`` (50), ``module`` ("L1").  Returns ``{"rows": [...], "ste_rows": [{seed, ste_cos_min}],
    "epe_rows": [{seed, inject, epe_cos}], "pca": {"ste": ..., "epe": ...}}`` (seed 0's first image)."""
    from dataclasses import replace as dreplace

    import torch

    from ..analysis.trajectories import epe_trajectory, pca_trajectory, phase_trajectories, ste_vectors
    from ..build import build
    from ..network import Network

    o = _opts(result, scale, "phase_pca", {"epochs": 1, "train_size": None, "test_size": None, "seeds": 3,
                                           "samples": 50, "t": 8, "t2": 2, "inject": [1, 2, 4, 8],
                                           "end_steps": 50, "module": "L1"})
    exp = base_experiment(result, scale)
    ch = {"train.epochs": int(o["epochs"]), "train.seeds": 1, "ap.t1": int(o["t"]), "ap.t2": int(o["t"]),
          "ap.mode": "ste"}
    for k in ("train_size", "test_size"):
        if o[k] is not None:
            ch[f"tasks.main.{k}"] = int(o[k])
    ste_rows, epe_rows, pca = [], [], {}

    def cos(a, b):
        return torch.nn.functional.cosine_similarity(a, b, dim=-1).mean().item()

    for seed in range(int(o["seeds"])):
        tr = build(exp.with_changes({**ch, "train.seed": seed}))
        for _ in tr.train(batch_events=False):
            pass
        net = tr.net
        x = tr._x["main"][2][: int(o["samples"])]
        y = tr._x["main"][3][: int(o["samples"])]
        m = o["module"]
        n_end = int(o["end_steps"])
        end = Network(net.wiring, dreplace(net.config, t1=n_end, t2=n_end, mode="ste"), seed=net.seed,
                      tensors=net.tensors)
        p0 = end.inference(x)
        e_end = end.learning(p0, y).e[m]
        traj0, traj1 = phase_trajectories(net, x, y, m)
        v = -ste_vectors(traj0, traj1)  # z0_s - z1_s, as the local error e = z0 - z1
        per_step = [cos(v[s], e_end) for s in range(2, v.shape[0])]
        ste_rows.append({"seed": seed, "ste_cos_min": min(per_step), "ste_cos": per_step})
        for k in o["inject"]:
            cut = Network(net.wiring, dreplace(net.config, t2=int(o["t2"]), mode="epe"), seed=net.seed,
                          tensors=net.tensors)
            epe = epe_trajectory(cut, x, y, m, int(k))
            epe_rows.append({"seed": seed, "inject": int(k), "epe_cos": cos(epe.error, e_end)})
            if seed == 0 and int(k) == max(o["inject"]):
                p = pca_trajectory(epe.inference[:, 0], epe.learning[:, 0])
                pca["epe"] = {"inference": p.inference.tolist(), "learning": p.learning.tolist(), "inject": int(k)}
        if seed == 0:
            p = pca_trajectory(traj0[:, 0], traj1[:, 0])
            pca["ste"] = {"inference": p.inference.tolist(), "learning": p.learning.tolist()}
    return {"ste_rows": ste_rows, "epe_rows": epe_rows, "pca": pca, "options": o}


ANALYSES = {"lyapunov": lyapunov, "states": states, "phase_pca": phase_pca}


def run_analyses(result, scale: str, folder) -> dict:
    """{name: output} of the result's analyses, measured now or read from ``folder`` (a cache)."""
    out = {}
    folder = Path(folder)
    for name in result.analyses:
        path = folder / f"{result.id}-{name}-{scale}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
            continue
        out[name] = ANALYSES[name](result, scale)
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out[name], indent=1))
    return out


__all__ = ["ANALYSES", "lyapunov", "phase_pca", "run_analyses", "states"]
