"""Reproduce results of the paper: train their points through the sweep executor, then measure and report.

:func:`reproduce` runs each chosen result at a scale, one after another:

1. its points (:func:`.plan.points`) whose data is present here become the
   sweep executor's tasks, each point's seeds one batched AP ensemble
   (baselines one seed after another), in this process or on a Dask
   ``client``; AP points that differ only in values each member carries
   (the spectral radius, beta) share one ensemble (:func:`group_tasks`); rows go to ``OUT/runs.csv`` as runs finish, so a rerun skips
   what is done;
2. its in-process analyses run (or are read from ``OUT/analyses``);
3. :func:`collect` turns the rows into numbers (:mod:`.measure`), compares
   them with the paper's (:mod:`.checks`) and :mod:`.report` writes
   ``results.json``, ``report.md``, ``report.html`` and the figures.

The wall time of each result and the machine's load before and after are
kept in ``OUT/timings.json`` (summed over reruns).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from ..errors import plural
from ..sweep import ResultsTable, execute, summary
from ..sweep.executors import Task
from ..sweep.grid import Sweep
from .analyses import run_analyses
from .checks import compare_value, run_check
from .measure import PointData, ResultData
from .plan import availability, how_to_get, not_run, points, short
from .errors import PaperError
from .registry import select

RUNS = "runs.csv"
TIMINGS = "timings.json"


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


class Timings:
    """Per result and scale: wall seconds (summed over reruns) and each run's load before and after."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def add(self, key: str, seconds: float, load_before: float, load_after: float, trained: int,
            executor: str = "") -> None:
        d = self.data.setdefault(key, {"seconds": 0.0, "runs": []})
        d["seconds"] = round(d["seconds"] + seconds, 2)
        d["runs"].append({"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - seconds)),
                          "seconds": round(seconds, 2), "load_before": load_before, "load_after": load_after,
                          "trained_runs": trained, "executor": executor})
        self.path.write_text(json.dumps(self.data, indent=1))

    def get(self, key: str) -> dict:
        return self.data.get(key, {"seconds": 0.0, "runs": []})


def seeds_of(result, scale: str, seeds: int | None) -> tuple:
    k = seeds or result.scale(scale).seeds
    if k < 1:
        raise PaperError(f"--seeds {k} must be >= 1")
    return tuple(range(k))


def reproduce(ids=None, scale: str = "quick", seeds: int | None = None, out="reproduction", client=None,
              threads: int | None = None, data_dir=None, download: bool = False, emit=None,
              write_report: bool = True, ensembles: bool = True) -> dict:
    """Run results ``ids`` (default all) at ``scale`` into the folder ``out``; return the report's data.

    ``seeds`` overrides each result's number of seeds at that scale.  A point
    whose dataset is missing here is not trained; its values say "not run"
    and how to get the data.  ``emit(text)`` gets progress lines.  ``ensembles=False`` trains every point
    on its own (no grouping of points that differ only in the spectral radius or beta: the old way, for comparisons).
    """
    emit = emit or (lambda text: None)
    chosen = select(ids)
    for r in chosen:
        r.scale(scale)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = ResultsTable(out / RUNS)
    table.check_resumable()
    table.drop_unfinished()
    timings = Timings(out / TIMINGS)
    for r in chosen:
        _run_result(r, scale, seeds, table, timings, out, client, threads, data_dir, download, emit, ensembles)
    data = collect(chosen, scale, seeds, out, data_dir, download)
    if write_report:
        from .report import write_report as write

        write(data, out)
    return data


def group_tasks(tasks, workers: int = 1) -> list:
    """Tasks of AP points without a probe that differ only in values each ensemble member carries
    (``ap.spectral_radius``, ``ap.beta``: :data:`~apexplorer.sweep.point.PER_MEMBER`) and their name, with the
    same seeds to train, merged into one task each (``Task.also``): one ensemble of points x seeds.

    With several ``workers`` (a Dask cluster), the largest ensembles are split in halves while there are fewer
    tasks than workers, so that no worker waits while one trains a whole result."""
    from ..sweep.point import PER_MEMBER

    groups, out = {}, []
    for t in tasks:
        e = t.point.experiment
        ap = e.get("ap", {})
        if t.point.probe or e.get("method", {}).get("name", "ap") != "ap":
            out.append(t)
            continue
        key = json.dumps({**{k: v for k, v in e.items() if k != "name"},
                          "ap": {k: v for k, v in ap.items() if k not in PER_MEMBER},
                          "radius set": ap.get("spectral_radius") is not None, "seeds": t.seeds},
                         sort_keys=True, default=str)
        if key in groups:
            groups[key].append(t)
        else:
            groups[key] = [t]
            out.append(key)
    parts = [[x] if isinstance(x, Task) else groups[x] for x in out]
    while parts and len(parts) < workers and max(len(p) for p in parts) > 1:
        i = max(range(len(parts)), key=lambda k: len(parts[k]))
        big = parts.pop(i)
        parts[i:i] = [big[: (len(big) + 1) // 2], big[(len(big) + 1) // 2:]]
    return [p[0] if len(p) == 1 else Task(p[0].point, p[0].seeds, tuple(t.point for t in p[1:])) for p in parts]


def _run_result(r, scale, seeds, table, timings, out, client, threads, data_dir, download, emit,
                ensembles: bool = True) -> None:
    sd = seeds_of(r, scale, seeds)
    pts = points(r, scale)
    why = availability(pts, data_dir, download)
    finished = table.finished()
    tasks, seen = [], set()
    for p in pts:
        if p.id in why or p.id in seen:
            continue
        seen.add(p.id)
        todo = tuple(s for s in sd if (p.id, s) not in finished)
        if todo:
            tasks.append(Task(p.sweep_point(), todo))
    n_runs = sum(len(t.seeds) for t in tasks)
    if ensembles:
        tasks = group_tasks(tasks, len(client.scheduler_info().get("workers", {})) if client is not None else 1)
    skipped = len(why)
    emit(f"{r.id} ({r.figure}): {plural(len(pts), 'point')} x {plural(len(sd), 'seed')} at the {scale} scale; "
         f"{plural(n_runs, 'run')} to train" + (f", {plural(skipped, 'point')} not run (data missing)" if skipped else ""))
    t0, load0 = time.perf_counter(), _load()
    if tasks:
        stub = Sweep(pts[0].experiment, (), sd, data_dir, download)
        for task, rows in execute(stub, tasks, table, client, threads, ftmle=False):
            for p in task.points:
                mine = [row for row in rows if row.get("point") == p.id] or rows
                s = summary(mine)
                emit(f"  {r.id}: {_label(p)} seeds {','.join(map(str, task.seeds))}: {s['status']}"
                     + _accuracy(mine) + (f" ({s['message']})" if s["status"] == "error" else "")
                     + (f" (one ensemble of {len(task.points)} points)" if task.also else ""))
    run_analyses(r, scale, out / "analyses")
    seconds = time.perf_counter() - t0
    timings.add(f"{r.id}@{scale}", seconds, load0, _load(), n_runs, executor(client, threads))
    emit(f"{r.id}: {seconds:.0f} s (load {load0:.2f} -> {_load():.2f})")


def _accuracy(rows) -> str:
    """The test accuracy the report gives for these runs: the mean over seeds of each one's last epoch and
    of each one's best epoch (not the last row's, which is one seed's)."""
    import math

    by_seed = {}
    for row in rows:
        acc = row.get("test_acc")
        if isinstance(acc, (int, float)) and math.isfinite(acc):
            by_seed.setdefault(row.get("seed"), []).append(acc)
    if not by_seed:
        return ""
    last = sum(a[-1] for a in by_seed.values()) / len(by_seed)
    best = sum(max(a) for a in by_seed.values()) / len(by_seed)
    over = f"mean of {len(by_seed)} seeds" if len(by_seed) > 1 else "1 seed"
    return f", test {100 * last:.2f} % at the last epoch, {100 * best:.2f} % at the best ({over})"


def executor(client, threads) -> str:
    """Where the points trained, in words (for the report)."""
    if client is not None:
        n = len(client.scheduler_info().get("workers", {}))
        return f"Dask, {n} worker(s), scheduler {client.scheduler.address}"
    import torch

    return f"this process, {threads or torch.get_num_threads()} torch thread(s)"


def _label(point) -> str:
    ax = point.axes
    rest = " ".join(f"{short(k)}={_text(v)}" for k, v in ax.items() if k not in ("result", "group"))
    return f"{ax.get('group', '')} {rest}".strip()


def _text(v) -> str:
    return "x".join(map(str, v)) if isinstance(v, (list, tuple)) else f"{v}"


def collect(chosen, scale: str, seeds, out, data_dir=None, download: bool = False) -> dict:
    """The report's data: every chosen result's points, numbers, comparisons and claims, from ``out``."""
    out = Path(out)
    table = ResultsTable(out / RUNS) if (out / RUNS).exists() else None
    frame = table.frame if table is not None else None
    rows_by_point = {}
    if frame is not None and len(frame):
        for rec in frame.to_dict("records"):
            rows_by_point.setdefault(str(rec["point"]), []).append(rec)
    timings = Timings(out / TIMINGS)
    blocks = []
    for r in chosen:
        sd = seeds_of(r, scale, seeds)
        pts = points(r, scale)
        why = availability(pts, data_dir, download)
        pdata = [PointData.from_rows(p, rows_by_point.get(p.id, []), sd, not_run(why[p.id]) if p.id in why else None)
                 for p in pts]
        cache = out / "analyses"
        analyses = {a: json.loads((cache / f"{r.id}-{a}-{scale}.json").read_text())
                    for a in r.analyses if (cache / f"{r.id}-{a}-{scale}.json").is_file()}
        data = ResultData(r, scale, sd, pdata, analyses)
        block = _block(r, scale, data, timings.get(f"{r.id}@{scale}"))
        block["missing"] = {name: how_to_get(name) for name in sorted(set(why.values()))}
        blocks.append(block)
    return {"scale": scale, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
            "results": blocks}


def _block(r, scale: str, data: ResultData, timing: dict) -> dict:
    sc = r.scale(scale)
    pts = []
    for d in data.points:
        p = d.point
        entry = {"id": p.id, "group": p.group, "label": p.label(), "axes": {k: _plain(v) for k, v in p.axes.items()},
                 "status": d.status, "seeds": sorted(d.runs), "diverged": d.diverged,
                 "experiment": p.experiment.to_dict(), "probe": p.probe}
        if d.ran:
            cols = _metric_columns(d)
            entry["metrics"] = {m: d.stats(m) for m in cols}
            entry["curves"] = {c: d.curve(c) for c in _curve_columns(d)}
            entry["time_curve"] = d.time_curve()
            probes = d.final_probes()
            if probes:
                entry["probes"] = {str(s): v for s, v in probes.items()}
                entry["probe_epochs"] = {str(s): d.probes(s) for s in sorted(d.runs)} if p.probe else {}
        pts.append(entry)
    return {"id": r.id, "title": r.title, "figure": r.figure, "notes": r.notes, "scale": scale,
            "why": sc.why, "gap": sc.gap, "seeds": list(data.seeds), "runtime_s": timing["seconds"],
            "timing": timing["runs"], "points": pts,
            "values": [compare_value(v, data) for v in r.values],
            "claims": [run_check(c, data) for c in r.claims],
            "analyses": data.analyses, "plot": r.plot}


def _acc_columns(d: PointData) -> list:
    """The accuracy columns that this point's rows fill (a shared table has every run's columns)."""
    cols = set()
    for rs in d.runs.values():
        for r in rs:
            cols |= {k for k, v in r.items() if k.endswith(("test_acc", "train_acc")) and _finite(v)}
    return sorted(cols)


def _metric_columns(d: PointData) -> list:
    out = [f"{a}_{c}" for c in _acc_columns(d) for a in ("best", "final")]
    has_ftmle = any(rs and _finite(rs[-1].get("ftmle")) for rs in d.runs.values())
    return out + ["seconds", "epochs"] + (["ftmle"] if has_ftmle else [])


def _curve_columns(d: PointData) -> list:
    return _acc_columns(d)


def _finite(v) -> bool:
    try:
        return v is not None and float(v) == float(v) and abs(float(v)) != float("inf")
    except (TypeError, ValueError):
        return False


def _plain(v):
    return list(v) if isinstance(v, tuple) else v


def machine() -> dict:
    import torch

    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "load": _load()}


__all__ = ["RUNS", "TIMINGS", "Timings", "collect", "reproduce"]
