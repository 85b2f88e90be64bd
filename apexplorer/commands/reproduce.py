"""``apexplorer reproduce``: run the paper's tables and figures as experiments and report ours beside the paper's."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .options import positive_int

EPILOG = """examples:
  apexplorer reproduce --list                                 # the results and what each scale means
  apexplorer reproduce fig2c fig5e --scale quick --out r/     # two results, minutes each on a laptop CPU
  apexplorer reproduce --scale quick --out r/                 # every result whose data is here
  apexplorer reproduce --scale paper --scheduler tcp://HOST:8786 --out paper/   # a GPU cluster's work

Rows go to OUT/runs.csv as runs finish: the same command again skips what is done and trains the rest.
OUT gets report.md, report.html (self-contained), results.json and figures/. A result whose dataset is
missing here (MNIST, CIFAR-10) is reported as not run, with how to get the files."""


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce the paper's tables and figures; report ours beside its values",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ids", nargs="*", metavar="ID", help="results to run (default: all; see --list)")
    p.add_argument("--scale", choices=["quick", "paper"], default="quick",
                   help="quick: a stated smaller scale for a CPU (default); paper: the paper's sizes, epochs, seeds")
    p.add_argument("--seeds", type=positive_int, metavar="K", help="seeds per point (default: the scale's)")
    p.add_argument("--out", metavar="DIR", help="folder of the runs and the report (an existing one is continued)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://HOST:8786)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of a local Dask cluster; default 0: train in this process")
    p.add_argument("--threads", type=positive_int, metavar="T",
                   help="torch threads of each process (default: torch's; 1 is fastest for the quick scale's small "
                        "networks on a busy machine)")
    p.add_argument("--data-dir", help="folder with dataset files")
    p.add_argument("--download", action="store_true", help="download a missing dataset where the network allows")
    p.add_argument("--list", action="store_true", help="list the results and their scales, and exit")
    p.add_argument("--one-point-per-run", dest="ensembles", action="store_false",
                   help="train every point on its own (default: AP points that differ only in the spectral radius or beta "
                        "share one batched ensemble, one member per point and seed; the numbers are the same)")
    p.set_defaults(func=cmd_reproduce)


def _list(args) -> int:
    from ..paper import results, select
    from ..errors import plural
    from ..paper.plan import points

    chosen = select(args.ids) if args.ids else results()
    for r in chosen:
        sc = r.scale(args.scale)
        print(f"{r.id:<8} {r.figure:<22} {r.title}")
        n = len(points(r, args.scale))
        what = f"{plural(n, 'point')} x {plural(sc.seeds, 'seed')}" if n else f"no grid points: the in-process analyses {', '.join(r.analyses)}"
        print(f"{'':<8} {args.scale}: {what}; {sc.why}")
    return 0


def check_out(out) -> None:
    """Refuse an --out that cannot be the report's folder (a file, a place under a file, an unwritable
    place), before anything trains."""
    from pathlib import Path

    from ..errors import ApexplorerError
    from ..paper.run import RUNS
    from ..sweep.table import check_target

    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ApexplorerError(f"--out {out!r} is a file; give a folder for the runs and the report "
                              "(an existing one is continued)")
    check_target(p / RUNS)


def cmd_reproduce(args) -> int:
    from ..errors import ApexplorerError
    from ..paper.run import reproduce

    if args.list:
        return _list(args)
    if not args.out:
        raise ApexplorerError("give --out DIR: the folder of the runs and the report")
    if args.workers is not None and args.workers < 0:
        raise ApexplorerError(f"--workers {args.workers} must be >= 0 (0 trains in this process)")
    if args.scheduler and args.workers:
        raise ApexplorerError("--workers starts a local cluster; it cannot be combined with --scheduler")
    check_out(args.out)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    client = cluster = None
    if args.scheduler or args.workers:
        from ..sweep import have_dask, local_cluster

        if not have_dask():
            raise ApexplorerError("--scheduler and --workers need dask.distributed: pip install 'apexplorer[sweep]'")
        from distributed import Client

        if args.scheduler:
            try:
                client = Client(args.scheduler, timeout="10s")
            except (OSError, ValueError, TypeError) as e:
                raise ApexplorerError(f"cannot reach the Dask scheduler {args.scheduler!r}: {e}") from None
        else:
            cluster = local_cluster(args.workers)
            client = Client(cluster)
            client.register_plugin(cluster.ignore_interrupt)

    def emit(text):
        print(f"apexplorer: {text}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    try:
        data = reproduce(args.ids, args.scale, args.seeds, args.out, client,
                         args.threads or (1 if args.workers else None), args.data_dir, args.download, emit,
                         ensembles=args.ensembles)
    except KeyboardInterrupt:
        emit(f"interrupted: the finished runs are saved in {args.out}; the same command continues")
        return 130
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    from ..paper.report import tally

    t = tally([c for r in data["results"] for c in r["claims"]])
    emit(f"{len(data['results'])} results in {time.perf_counter() - t0:.0f} s (load {load:.2f} -> "
         f"{os.getloadavg()[0]:.2f}); of the paper's {t['paper']} claims {t['holds']} hold, {t['fails']} fail, "
         f"{t['unresolved']} are not resolved at this scale (Welch's t over seeds, alpha 0.05); report: "
         f"{args.out}/report.md, report.html, results.json")
    return 0
