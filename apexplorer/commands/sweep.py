"""``apexplorer sweep``: train over a grid of settings x seeds on Dask, into a resumable results table."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time

from ..cli import add_model_args

EXAMPLE = """example (Fig. 2c and 3c of the paper, on 2 local worker processes):
  apexplorer sweep --preset paper-2layer --dataset fashion-mnist --grid sr=0.01,0.1,0.25,0.5,1,2 \\
      --grid steps=2,4,8,16 --seeds 5 --epochs 3 --workers 2 --out fig2c.csv

Any setting of `train` can be a grid axis (--grid beta=0.5,1,2). Rows are written as runs finish;
rerunning the same command skips finished runs. Plot with apexplorer.sweep.plots or the explorer's
Sweeps tab."""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("sweep", help="train over a grid of settings x seeds (Dask), into a results table",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="a grid axis: a train setting and its values (repeat for more axes)")
    # --seeds K (seeds per point) comes from add_model_args, shared with train
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://HOST:8786); its workers need apexplorer and the data")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of a local Dask cluster (default: one per GPU, else one per 2 cores); "
                        "0 trains in this process without Dask")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="results table, .csv or .parquet; an existing one is continued")
    p.add_argument("--redo-shared-order", action="store_true",
                   help="train again the runs of an older results table in which a point's seeds "
                        "shared one order of the data (column shuffle_seed)")
    p.add_argument("--json", action="store_true", help="print JSON lines (start, one per run, done)")
    p.set_defaults(func=cmd_sweep)


def _sweep_from_args(args):
    from ..sweep import Sweep, default_settings, parse_axis, settings_parser

    base = {k: getattr(args, k) for k in default_settings() if k != "seeds"}  # a point's seeds are rows
    parser = settings_parser()
    axes = tuple(parse_axis(text, parser) for text in args.grid)
    return Sweep(base, axes, tuple(range(args.seed, args.seed + args.seeds))).validate()


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
        emit(f"dask.distributed is not installed: training the {n_tasks} points one after another in this process. "
             + SCALE_OUT)
        return None, None, None
    from distributed import Client

    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="10s")
        except OSError as e:
            raise ApexplorerError(f"cannot reach the Dask scheduler {args.scheduler!r}: {e}") from None
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


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from ..cli import build
    from ..sweep import execute, prepare, summary

    sweep = _sweep_from_args(args)
    points = sweep.points()
    build(sweep.namespace(points[0]))  # fail fast on a missing dataset or bad wiring
    table, tasks, skipped, dropped = prepare(sweep, args.out, args.redo_shared_order)
    n_runs = sum(len(t.seeds) for t in tasks)
    shared = len(table.shared_order())

    def emit(msg):
        print(f"apexplorer: {msg}", file=sys.stderr, flush=True)

    if shared and not args.json:
        runs = "1 finished run" if shared == 1 else f"{shared} finished runs"
        emit(f"{runs} in {args.out} {'was' if shared == 1 else 'were'} trained when a point's seeds shared one "
             "order of the data (column shuffle_seed); now each seed draws its own. They are kept, so their "
             "points mix the two; add --redo-shared-order to train them again")
    start = {"kind": "start", "out": str(args.out), "axes": {d: list(v) for d, v in sweep.axes},
             "points": len(points), "seeds": list(sweep.seeds), "runs": len(points) * len(sweep.seeds),
             "skipped": skipped, "retried": dropped, "shared_order_kept": shared, "to_run": n_runs}
    if not tasks:
        done = {"kind": "done", "out": str(args.out), "ran": 0, "skipped": skipped, "seconds": 0.0}
        if args.json:
            print(json.dumps(start), flush=True)
            print(json.dumps(done), flush=True)
        else:
            emit(f"all {skipped} runs are already in {args.out}; nothing to do")
        return 0

    t0 = time.perf_counter()
    client, cluster, threads = _connect(args, len(tasks), emit)
    if client is not None:
        start.update(executor="dask", scheduler=client.scheduler.address, dashboard=client.dashboard_link,
                     workers=len(client.scheduler_info(n_workers=-1)["workers"]))
    else:
        start.update(executor="in-process")
    if args.json:
        print(json.dumps(start), flush=True)
    else:
        where = (f"on Dask ({start['workers']} workers, scheduler {start['scheduler']}); "
                 f"dashboard: {start['dashboard']}") if client is not None else "in this process"
        emit(f"sweep of {start['runs']} runs ({len(points)} points x {len(sweep.seeds)} seeds) into {args.out}: "
             f"{n_runs} to train {where}" + (f", {skipped} already finished" if skipped else ""))

    bar = None if args.json else tqdm(total=n_runs, unit="run", file=sys.stderr, dynamic_ncols=True)

    labels = {t.point.id: " ".join(f"{k}={v}" for k, v in t.point.axes.items()) for t in tasks}

    def on_epoch(info):  # from this process, or from Dask workers through the client
        if bar is not None:
            bar.set_postfix_str(f"{labels.get(info['point'], info['point'])}: epoch {info['epoch']}/{info['epochs']} "
                                f"test {info['test_acc']:.2%}", refresh=True)
    counts = {}
    ran = 0
    old_term = _stop_on_sigterm()
    try:
        for task, rows in execute(sweep, tasks, table, client, threads, on_epoch=on_epoch):
            by_seed = {}
            for r in rows:
                by_seed.setdefault(r["seed"], []).append(r)
            for seed, rs in by_seed.items():
                s = summary(rs)
                ran += 1
                counts[s["status"]] = counts.get(s["status"], 0) + 1
                if args.json:
                    secs = sum(x for x in (r.get("seconds") for r in rs) if _finite(x))
                    line = {"kind": "run", **task.point.axes, **s, "seconds": secs}
                    print(json.dumps({k: v if _finite(v) or not isinstance(v, float) else None
                                      for k, v in line.items()}, default=str), flush=True)
                else:
                    ax = " ".join(f"{k}={v}" for k, v in task.point.axes.items())
                    if s["status"] in ("diverged", "error"):
                        bar.write(f"{ax} seed {seed}: {s['status']}: {s['message']}")
                    bar.update(1)
                    if _finite(s["test_acc"]):
                        bar.set_postfix_str(f"{ax} seed {seed}: test {s['test_acc']:.2%}")
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
        emit(f"{ran} runs in {secs:.1f}s ({what}); {len(table.frame)} rows in {args.out}")
    return 2 if counts.get("error") else 0
