"""``apexplorer sweep``: train over a grid of settings x seeds on Dask, into a resumable results table."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time

from ..errors import plural
from .options import add_model_args, experiment_from_args, given

EXAMPLE = """examples (Fig. 2c and 3c of the paper, on 2 local worker processes):
  apexplorer sweep --preset paper-2layer --dataset fashion-mnist --grid sr=0.01,0.1,0.25,0.5,1,2 \\
      --grid steps=2,4,8,16 --seeds 5 --epochs 3 --workers 2 --out fig2c.csv
  apexplorer sweep --experiment digits.toml --grid ap.spectral_radius=0.1,0.25 --grid train.lr=1e-3,1e-2 \\
      --out lr.csv

Any key of the experiment can be a grid axis, dotted (ap.beta=0.5,1,2; tasks.B.batch_size=50,500;
method.name=ap,bp,fa) or by its train flag's name (beta, lr, sr, steps). Rows are written as runs finish,
each with its point's experiment; rerunning the same command skips finished runs. Plot with
apexplorer.sweep.plots or the explorer's Sweeps tab.

A Dask cluster of your own: start `dask scheduler` and `dask worker tcp://HOST:8786` (each worker needs
apexplorer and the data), then pass --scheduler tcp://HOST:8786."""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("sweep", help="train over a grid of settings x seeds (Dask), into a results table",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p, seeds_help="seeds per point: each point trains seeds seed .. seed+K-1 (default 1), as one "
                                  "batched ensemble for AP")
    p.add_argument("--experiment", metavar="FILE", help="the base experiment (.toml or .json, or a checkpoint); "
                   "the model options above then change it")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="a grid axis: a key of the experiment and its values (repeat for more axes)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://HOST:8786); its workers need apexplorer and the data")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of a local Dask cluster (default: one per GPU, else one per 2 cores); "
                        "0 trains in this process without Dask")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="results table, .csv or .parquet; an existing one is continued")
    p.add_argument("--append", action="store_true",
                   help="add this sweep's rows to an --out table that holds another sweep's (refused otherwise)")
    p.add_argument("--json", action="store_true", help="print JSON lines (start, one per run, done)")
    p.set_defaults(func=cmd_sweep)


def _sweep_from_args(args):
    from ..errors import ApexplorerError
    from ..sweep import Sweep, parse_axis
    from .options import FLAG_KEYS

    axes = tuple(parse_axis(text) for text in args.grid)
    keys = [k for k, _ in axes]
    typed = given(args)
    for flag in typed:  # an option that is also an axis: which one wins would be a guess
        dest = flag[2:].replace("-", "_")
        key = FLAG_KEYS.get(dest, {"t1": "ap.t1", "t2": "ap.t2", "beta": "ap.beta", "steps": "steps",
                                   "preset": "wiring.preset", "dataset": "dataset"}.get(dest))
        if key in keys:
            raise ApexplorerError(f"{flag} is given and is also a grid axis; drop one of them")
    if "steps" in keys and ({"--t1", "--t2"} & set(typed)):
        raise ApexplorerError("the steps axis sets T1 = T2, but --t1 or --t2 is also given; drop one of them")
    if args.experiment:
        from .run import read_experiment

        base = read_experiment(args.experiment)
        model = [f for f in typed if f not in ("--seed", "--seeds", "--set", "--device")]
        if model:
            raise ApexplorerError(f"--experiment gives the base run; {', '.join(model)} would change it: use "
                                  "--set KEY=VALUE (or change the file)")
        changes = {k: v for k, v in (("train.device", args.device),) if v is not None}
        if args.set:
            from ..experiment import parse_assignment

            changes.update(dict(parse_assignment(x) for x in args.set))
        base = base.with_changes(changes) if changes else base
    else:
        base = experiment_from_args(args)
    seed = base.train.seed if args.seed is None else args.seed
    k = args.seeds or 1
    return Sweep(base, axes, tuple(range(seed, seed + k)), args.data_dir, args.download).validate()


def _connect(args, n_tasks, emit):
    """(client, cluster, threads) for the chosen executor; (None, None, None) to train here."""
    from ..errors import ApexplorerError
    from ..sweep import SCALE_OUT, default_workers, have_dask, local_cluster

    if args.workers is not None and args.workers < 0:
        raise ApexplorerError(f"--workers {args.workers} must be >= 0")
    if args.scheduler and args.workers is not None:
        raise ApexplorerError("--workers starts a local cluster; it cannot be combined with --scheduler")
    if args.workers == 0:
        return None, None, None
    if not have_dask():
        if args.scheduler:
            raise ApexplorerError("--scheduler needs dask.distributed: pip install 'apexplorer[sweep]'")
        emit(f"dask.distributed is not installed: training {plural(n_tasks, 'point')} one after another in this process. "
             + SCALE_OUT)
        return None, None, None
    from distributed import Client

    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="10s")
        except (OSError, ValueError, TypeError) as e:
            raise ApexplorerError(f"cannot reach the Dask scheduler {args.scheduler!r}: {e} (give an address like "
                                  "tcp://HOST:8786)") from None
        return client, None, None
    workers = min(args.workers or default_workers(), n_tasks)
    cluster = local_cluster(workers)
    threads = max(1, (os.cpu_count() or 1) // workers)
    client = Client(cluster)
    client.register_plugin(cluster.ignore_interrupt)
    return client, cluster, threads


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop_on_sigterm():
    """Treat SIGTERM (a batch system's stop, ``kill``) like Ctrl-C; the old handler, or None."""
    try:
        return signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        return None


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _announce(args, start: dict, emit) -> None:
    """The sweep's first line: a JSON ``start`` object, or a sentence of what trains where."""
    if args.json:
        print(json.dumps(start), flush=True)
        return
    where = (f"on Dask ({start['workers']} workers, scheduler {start['scheduler']}); "
             f"dashboard: {start['dashboard']}") if "scheduler" in start else "in this process"
    skipped = start["skipped"]
    emit(f"sweep of {plural(start['runs'], 'run')} ({plural(start['points'], 'point')} x "
         f"{plural(len(start['seeds']), 'seed')}) into {args.out}: "
         f"{start['to_run']} to train {where}" + (f", {skipped} already finished" if skipped else ""))


def _report_runs(args, bar, task, rows, counts: dict) -> int:
    """Report the finished runs of one point (a JSON line or the progress bar), count them by status in
    ``counts``; returns how many runs (seeds) they are."""
    from ..sweep import summary

    by_seed = {}
    for r in rows:
        by_seed.setdefault(r["seed"], []).append(r)
    for seed, rs in by_seed.items():
        s = summary(rs)
        counts[s["status"]] = counts.get(s["status"], 0) + 1
        if args.json:
            secs = sum(x for x in (r.get("seconds") for r in rs) if _finite(x))
            line = {"kind": "run", **task.point.columns, **s, "seconds": secs}
            print(json.dumps({k: v if _finite(v) or not isinstance(v, float) else None
                              for k, v in line.items()}, default=str), flush=True)
        else:
            ax = " ".join(f"{k}={v}" for k, v in task.point.columns.items())
            if s["status"] in ("diverged", "error"):
                bar.write(f"{ax} seed {seed}: {s['status']}: {s['message']}")
            bar.update(1)
            if _finite(s["test_acc"]):
                bar.set_postfix_str(f"{ax} seed {seed}: test {s['test_acc']:.2%}")
    return len(by_seed)


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from ..data import cached_dataset
    from ..experiment import Experiment
    from ..sweep import execute, prepare

    from ..sweep.table import check_target

    sweep = _sweep_from_args(args)
    check_target(args.out)  # before any data is loaded or any point trains
    points = sweep.points()
    for why in sweep.skipped():
        print(f"apexplorer: {why}", file=sys.stderr, flush=True)
    for name in dict.fromkeys(s.dataset for p in points for s in Experiment.from_dict(p.experiment).tasks.values()
                              if not s.fresh and s.noise is None):  # a missing dataset fails before any point trains
        cached_dataset(name, sweep.data_dir, sweep.download)
    table, tasks, skipped, dropped = prepare(sweep, args.out, args.append)
    n_runs = sum(len(t.seeds) for t in tasks)

    def emit(msg):
        print(f"apexplorer: {msg}", file=sys.stderr, flush=True)

    start = {"kind": "start", "out": str(args.out), "axes": {d: list(v) for d, v in sweep.axes},
             "points": len(points), "skipped_points": sweep.skipped(), "seeds": list(sweep.seeds),
             "runs": len(points) * len(sweep.seeds),
             "skipped": skipped, "retried": dropped, "to_run": n_runs, "experiment": sweep.base.to_dict()}
    if not tasks:
        done = {"kind": "done", "out": str(args.out), "ran": 0, "skipped": skipped, "seconds": 0.0}
        if args.json:
            print(json.dumps(start), flush=True)
            print(json.dumps(done), flush=True)
        else:
            emit(f"all {plural(skipped, 'run')} {'is' if skipped == 1 else 'are'} already in {args.out}; nothing to do")
        return 0

    t0 = time.perf_counter()
    client, cluster, threads = _connect(args, len(tasks), emit)
    if client is not None:
        start.update(executor="dask", scheduler=client.scheduler.address, dashboard=client.dashboard_link,
                     workers=len(client.scheduler_info(n_workers=-1)["workers"]))
    else:
        start.update(executor="in-process")
    _announce(args, start, emit)

    bar = None if args.json else tqdm(total=n_runs, unit="run", file=sys.stderr, dynamic_ncols=True)

    labels = {t.point.id: " ".join(f"{k}={v}" for k, v in t.point.columns.items()) for t in tasks}

    def on_epoch(info):  # from this process, or from Dask workers through the client
        if bar is not None:
            bar.set_postfix_str(f"{labels.get(info['point'], info['point'])}: epoch {info['epoch']}/{info['epochs']} "
                                f"test {info['test_acc']:.2%}", refresh=True)
    counts = {}
    ran = 0
    old_term = _stop_on_sigterm()
    try:
        for task, rows in execute(sweep, tasks, table, client, threads, on_epoch=on_epoch):
            ran += _report_runs(args, bar, task, rows, counts)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        emit(f"interrupted: {ran + skipped} of {start['runs']} runs are saved in {args.out}; "
             "run the same command again to finish the rest")
        return 130
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    secs = time.perf_counter() - t0
    done = {"kind": "done", "out": str(args.out), "ran": ran, "skipped": skipped, **counts,
            "rows": len(table.frame), "seconds": round(secs, 2)}
    if args.json:
        print(json.dumps(done), flush=True)
    else:
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        emit(f"{plural(ran, 'run')} in {secs:.1f}s ({what}); {plural(len(table.frame), 'row')} in {args.out}")
    return 2 if counts.get("error") else 0
