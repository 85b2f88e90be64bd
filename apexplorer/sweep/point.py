"""One grid point: train its seeds and return its rows.

:func:`train_point` is the unit of work of a sweep: an experiment (as a plain
dict) and seeds in, plain rows out (one per seed and epoch), so the same
function runs in this process or on a Dask worker.  AP trains a point's seeds
as one batched ensemble; a baseline (BP, FA, EP) one seed after another.  It
never raises for a bad point; the rows say why.
"""

from __future__ import annotations

import json
import math

from ..errors import ApexplorerError

#: Dask event topic of per-epoch progress from the workers.
PROGRESS = "apexplorer-sweep-progress"


def _uniform(values):
    values = set(values)
    return values.pop() if len(values) == 1 else None


def settings_row(exp, wiring=None, axes: dict | None = None) -> dict:
    """The settings columns of a row: the experiment's main keys (the [ap] and [train] keys of the table that
    have a ``train`` flag, but where the run is placed) under their flags' names, the grid axes, and the
    whole experiment as JSON (the run it describes).  A module setting left to the wiring is the modules'
    value where they share one."""
    from ..table import TABLE
    from .grid import PLACEMENT, column

    mods = wiring.modules if wiring is not None else ()
    row = {
        "dataset": ",".join(dict.fromkeys(s.dataset for s in exp.tasks.values())),
        "preset": wiring.name if wiring is not None else (exp.wiring.preset or "custom"),
        "method": exp.method.name,
    }
    for r in TABLE:
        if r.section in ("ap", "train") and r.flag and r.key not in PLACEMENT:
            v = getattr(getattr(exp, r.section), r.name)
            if v is None and mods and all(hasattr(m, r.name) for m in mods):
                v = _uniform(getattr(m, r.name) for m in mods)
            row[r.alias] = v
    for k, v in (axes or {}).items():
        row[column(k)] = "+".join(map(str, v)) if isinstance(v, tuple) else v
    row["experiment"] = json.dumps(exp.to_dict(), sort_keys=True)
    return row


def reservoir_ftmle(net, steps: int = 8, seed: int = 0) -> list | None:
    """FTMLE of every member, each the mean over its reservoirs (zero drive, ``steps`` steps).

    A list with one value per ensemble member (one for a single network), or
    None where the learner has no reservoirs or :mod:`apexplorer.analysis` is missing.
    """
    try:
        from ..analysis.lyapunov import ftmle
    except ImportError:
        return None
    if net is None or not net.reservoirs:
        return None
    act = net.config.activation
    members = net.members or 1
    out = []
    for k in range(members):
        Ws = [W[k] if net.members else W for W in net.reservoirs.values()]
        vals = [float(ftmle(W, steps=steps, activation=act, seed=seed)) for W in Ws if W.numel()]
        out.append(sum(vals) / len(vals) if vals else None)
    return out


def _worker_device(device: str) -> str:
    """On a multi-GPU machine, spread local Dask workers (named 0, 1, ...) over the GPUs."""
    import torch

    if device not in ("auto", "cuda") or not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    return f"cuda:{int(name) % torch.cuda.device_count()}" if isinstance(name, int) else device


def _member_rows(ev, members: int) -> list:
    """One metrics dict per ensemble member from an EpochEvent."""
    if members == 1 or not ev.members:
        rows = [{"train_acc": ev.train_acc, "test_acc": ev.test_acc, "loss": ev.loss, "test_loss": ev.test_loss}]
        per = [{t: d for t, d in ev.tasks.items()}]
    else:
        per = [{t: {k: v[i] for k, v in d.items()} for t, d in ev.members.items()} for i in range(members)]
        rows = []
        for m in per:
            trained = [d for d in m.values() if "train_acc" in d] or list(m.values())

            def mean(key, ds=trained):
                vals = [d[key] for d in ds if key in d]
                return sum(vals) / len(vals) if vals else math.nan

            rows.append({"train_acc": mean("train_acc"), "test_acc": mean("test_acc"), "loss": mean("loss"),
                         "test_loss": mean("test_loss")})
    if len(ev.tasks) > 1:  # multi-task: each task's accuracy as well
        for r, m in zip(rows, per):
            for t, d in m.items():
                r.update({f"{t}_{k}": d.get(k) for k in ("train_acc", "test_acc")})
    return rows


def error_rows(base: dict, seeds, msg: str) -> list:
    """The rows of a point that could not train: one per seed, status ``error``, the message saying why."""
    return [{**base, "seed": s, "epoch": math.nan, "train_acc": math.nan, "test_acc": math.nan, "loss": math.nan,
             "test_loss": math.nan, "seconds": math.nan, "status": "error", "message": msg, "ftmle": None}
            for s in seeds]


def report_to_client(info: dict) -> None:
    """``on_epoch`` for Dask workers: send an epoch's progress to the client (topic :data:`PROGRESS`)."""
    from distributed import get_worker

    get_worker().log_event(PROGRESS, info)


def load_probe(name: str):
    """The probe function named ``"package.module:function"`` (a name, so that it travels to Dask workers)."""
    import importlib

    mod, sep, attr = name.partition(":")
    try:
        fn = getattr(importlib.import_module(mod), attr) if sep and attr else None
    except (ImportError, AttributeError):
        fn = None
    if not callable(fn):
        raise ApexplorerError(f"probe {name!r} is not a function; name one as 'package.module:function'")
    return fn


def _probe_rows(fn, trainer, event, members: int) -> list:
    """The probe's values for each member (a list of dicts, or empty dicts when it says nothing)."""
    got = fn(trainer, event)
    if got is None:
        return [{} for _ in range(members)]
    if len(got) != members:
        raise ApexplorerError(f"the probe gave values for {len(got)} members; the point trains {members}")
    return [dict(g or {}) for g in got]


#: Values an ensemble member carries on its own (its point's): the experiment keys of :func:`train_group`.
PER_MEMBER = ("spectral_radius", "beta")


def train_group(group, seeds, ftmle: bool = True, on_epoch=None, data_dir=None, download: bool = False) -> list:
    """Train AP points that differ only in :data:`PER_MEMBER` values (``ap.spectral_radius``, ``ap.beta``) as
    one ensemble; their rows, point by point.

    Member ``i * len(seeds) + j`` is point ``i`` with seed ``seeds[j]``: its network is drawn from that seed
    and scaled to that point's radius, and it reads the data in that seed's order.  beta scales the error
    injected in the learning phase, ``u - beta * e G``: a member's beta is carried by its own feedback weights,
    ``G * beta`` under a phase setting of beta = 1.  Its rows are then those of the point trained alone (up to
    float rounding).  When a member diverges (the ensemble stops as a whole), or the group cannot be built,
    each point trains on its own instead.
    """
    from ..build import build
    from ..devices import resolve_device
    from ..experiment import Experiment
    from ..trainer import EpochEvent, StopEvent

    def alone():
        return [r for pid, e, ax in group for r in train_point(e, seeds, pid, None, ftmle, on_epoch, ax, data_dir,
                                                               download)]

    try:
        exps = [Experiment.from_dict(e) for _, e, _ in group]
        first = exps[0]

        def rest(e):
            d = {k: v for k, v in e.to_dict().items() if k != "name"}
            d["ap"] = {k: v for k, v in d["ap"].items() if k not in PER_MEMBER}
            return d

        radii_set = {e.ap.spectral_radius is None for e in exps}
        if any(rest(e) != rest(first) or e.method.name != "ap" for e in exps) or len(radii_set) > 1:
            return alone()
        probe_seed = first.train.seed
        betas = [float(e.ap.beta) for e in exps for _ in seeds]
        exp = first.with_changes({"train.device": _worker_device(first.train.device), "train.seed": seeds[0],
                                  "train.seeds": 1, **({"ap.beta": 1.0} if len(set(betas)) > 1 else {})})
        members = [s for _ in exps for s in seeds]
        radii = None if first.ap.spectral_radius is None else [e.ap.spectral_radius for e in exps for _ in seeds]
        trainer = build(exp, data_dir, download, members=members, radii=radii)
        if len(set(betas)) > 1:  # each member's beta in its own feedback weights
            import torch

            scale = torch.tensor(betas, dtype=torch.float32, device=trainer.net.device)
            for G in trainer.net.tensors["feedback"].values():
                G.mul_(scale.view(-1, *([1] * (G.dim() - 1))).to(G.dtype))
        wiring = trainer.net.wiring
        dev = str(resolve_device(exp.train.device))
        lam = reservoir_ftmle(trainer.net, seed=probe_seed) if ftmle else None
        rows, stop = [[] for _ in members], None
        for ev in trainer.train(batch_events=False):
            if isinstance(ev, EpochEvent):
                for r, m in zip(rows, _member_rows(ev, len(members))):
                    r.append({"epoch": ev.epoch, **m, "seconds": ev.seconds / len(exps)})  # its share
                if on_epoch is not None:
                    on_epoch({"point": group[0][0], "seeds": list(seeds), "epoch": ev.epoch, "epochs": ev.epochs,
                              "test_acc": ev.test_acc})
            elif isinstance(ev, StopEvent):
                stop = ev
    except Exception as e:  # noqa: BLE001 - as train_point: the rows say why
        msg = str(e) if isinstance(e, ApexplorerError) else f"{type(e).__name__}: {e}"
        return [r for pid, _, _ in group for r in error_rows({"point": pid}, seeds, msg)]
    if stop.reason == "diverged":
        return alone()
    out = []
    for i, ((pid, _, ax), e) in enumerate(zip(group, exps)):
        base = {"point": pid, **settings_row(e.with_changes({"train.seed": seeds[0], "train.seeds": 1}), wiring, ax),
                "device": dev, "members": len(members)}
        for j, s in enumerate(seeds):
            k = i * len(seeds) + j
            out += [{**base, "seed": s, **r, "status": stop.reason, "message": stop.message,
                     "ftmle": lam[k] if lam else None} for r in rows[k]]
    return out


def train_point(experiment: dict, seeds, point: str, threads: int | None = None, ftmle: bool = True,
                on_epoch=None, axes: dict | None = None, data_dir=None, download: bool = False,
                probe: str | None = None, group=None) -> list:
    """Train the ``seeds`` of one point; return their rows.

    This is the unit of work sent to a Dask worker: plain data in, plain rows
    out, one per seed and epoch.  Each seed draws one member's network and its
    order of the data, so a seed's rows are those of the experiment run with
    ``train.seed = s`` alone, whichever seeds it is trained beside.  AP trains
    the seeds as one batched ensemble, a baseline one after another.

    ``on_epoch(info)``, if given, gets ``{point, seeds, epoch, epochs,
    test_acc}`` after every epoch (:func:`report_to_client` on Dask workers).

    ``probe`` names a function ``probe(trainer, event)`` (see :func:`load_probe`)
    called after every epoch with its EpochEvent and once more at the end with
    None; it returns None or one dict of JSON values per seed, which go into
    that epoch's rows (the last epoch's for the end) as the JSON column ``probe``.
    A measurement that needs the trained network (a psychometric curve, the
    error of every neuron) travels with the rows this way.

    ``group`` (``[(point id, experiment dict, axes)]``, the first this point) trains several AP points that
    differ only in ``ap.spectral_radius`` and ``ap.beta`` as one ensemble: one member per point and seed, each
    member's modules at its point's radius and its error at its point's beta, drawn and fed as that point's
    seed alone would be (see :func:`train_group`).

    Every row carries its run's final status: ``completed``, ``early_stop``,
    ``diverged`` (the diverging epoch's row has the test accuracy of the
    last good weights, which the trainer keeps) or ``error`` (one row, the
    message says why).  An ensemble stops as a whole when one member
    diverges, so such a point is trained again one seed at a time to give
    each seed its own status.  Never raises for a bad point, so a sweep goes on.
    """
    from ..build import build
    from ..devices import resolve_device
    from ..experiment import Experiment
    from ..trainer import EpochEvent, StopEvent

    if threads:
        import torch

        torch.set_num_threads(threads)
    seeds = tuple(int(s) for s in seeds)
    if group and len(group) > 1:
        return train_group(group, seeds, ftmle, on_epoch, data_dir, download)
    base = {"point": point}
    try:
        exp = Experiment.from_dict(experiment)
        probe_seed = exp.train.seed  # the FTMLE's probe vectors: the point's, whichever seeds train
        exp = exp.with_changes({"train.device": _worker_device(exp.train.device), "train.seed": seeds[0],
                                "train.seeds": 1})
        base = {"point": point, **settings_row(exp, axes=axes)}
        if exp.method.name != "ap" and len(seeds) > 1:  # baselines run one seed at a time
            return [r for s in seeds for r in train_point(experiment, (s,), point, None, ftmle, on_epoch, axes,
                                                          data_dir, download, probe)]
        fn = load_probe(probe) if probe else None
        trainer = build(exp, data_dir, download, members=seeds if len(seeds) > 1 else None)
        wiring = trainer.net.wiring if trainer.net is not None else None
        base = {"point": point, **settings_row(exp, wiring, axes), "device": str(resolve_device(exp.train.device)),
                "members": len(seeds)}
        lam = reservoir_ftmle(trainer.net, seed=probe_seed) if ftmle else None
        rows, stop = [[] for _ in seeds], None
        for ev in trainer.train(batch_events=False):
            if isinstance(ev, EpochEvent):
                probed = _probe_rows(fn, trainer, ev, len(seeds)) if fn else [{}] * len(seeds)
                for r, m, extra in zip(rows, _member_rows(ev, len(seeds)), probed):
                    r.append({"epoch": ev.epoch, **m, "seconds": ev.seconds, **({"probe": extra} if extra else {})})
                if on_epoch is not None:
                    on_epoch({"point": point, "seeds": list(seeds), "epoch": ev.epoch, "epochs": ev.epochs,
                              "test_acc": ev.test_acc})
            elif isinstance(ev, StopEvent):
                stop = ev
        if fn and stop.reason != "diverged":
            for r, extra in zip(rows, _probe_rows(fn, trainer, None, len(seeds))):
                if extra and r:
                    r[-1]["probe"] = {**r[-1].get("probe", {}), **extra}
    except Exception as e:  # noqa: BLE001 - one bad point must not stop a sweep; the row says why
        return error_rows(base, seeds, str(e) if isinstance(e, ApexplorerError) else f"{type(e).__name__}: {e}")
    for r in rows:
        for row in r:
            if "probe" in row:
                row["probe"] = json.dumps(row["probe"], sort_keys=True)
    if stop.reason == "diverged":
        if len(seeds) > 1:
            return [r for s in seeds for r in train_point(experiment, (s,), point, None, ftmle, on_epoch, axes,
                                                          data_dir, download, probe)]
        acc, _ = trainer.evaluate("test")
        rows[0].append({"epoch": trainer.epoch + 1, "train_acc": math.nan, "test_acc": acc, "loss": math.nan,
                        "test_loss": math.nan, "seconds": math.nan})
    return [{**base, "seed": s, **r, "status": stop.reason, "message": stop.message,
             "ftmle": lam[k] if lam else None}
            for k, s in enumerate(seeds) for r in rows[k]]
