"""``apexplorer compare``: AP against BP and FA (and EP) on one dataset, Table-1 style.

Every method is trained for ``--epochs`` with the same batch size, optimiser,
learning rate and seeds (``--seed``, ``--seed + 1``, ... ``--seeds K``); the table
gives the final test accuracy as mean ± sd over the seeds.  AP uses the
dataset's preset (or ``--preset`` / ``--wiring`` and the other model options);
BP and FA use ``--hidden`` (default one layer of 256, Table 1).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from ..errors import plural
from .options import add_model_args, experiment_from_args

DEFAULT_METHODS = "ap,bp,fa"


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare AP with BP, FA (and EP) on a dataset, mean ± sd over seeds",
                       description=__doc__.split("\n\n")[1].replace("``", ""))
    add_model_args(p, seeds_help="train K seeds (seed, seed+1, ...) of each method, one run each; the table gives "
                                  "mean ± sd")
    p.add_argument("--methods", default=DEFAULT_METHODS, metavar="M1,M2",
                   help=f"methods to compare, from ap, bp, fa, ep (default {DEFAULT_METHODS})")
    p.add_argument("--json", action="store_true", help="print one JSON object with every run")
    p.set_defaults(func=cmd_compare)


def _stats(v):
    v = [x for x in v if x is not None]
    if not v:
        return None, None
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd


def _describe(method, learner, wiring):
    if method == "ap":
        sizes = "+".join(str(m.size) for m in wiring.modules)
        return f"AP, {plural(len(wiring.modules), 'module')} ({sizes}), preset {wiring.name}"
    return repr(learner)


def _train(trainer):
    """(final test acc, best test acc, final train acc, seconds, stop reason) of one run."""
    from ..trainer import EpochEvent, StopEvent

    last = best = train = None
    seconds = 0.0
    reason = "completed"
    for ev in trainer.train(batch_events=False):
        if isinstance(ev, EpochEvent):
            last, train = ev.test_acc, ev.train_acc
            best = last if best is None else max(best, last)
            seconds += ev.seconds
        elif isinstance(ev, StopEvent):
            reason = ev.reason
    return last, best, train, seconds, reason


def _method_changes(method: str, args, seed: int, exp) -> dict:
    """The experiment keys of one compared run of ``exp``: its method, seed and (baselines) layers and EP
    options, and EP's learning rate (:meth:`Experiment.method_lr`) where ``--lr`` is not given."""
    out = {"train.seed": seed, "train.seeds": 1, "method.name": method}
    if method == "ap":
        return out
    if args.hidden:
        out["method.hidden"] = args.hidden
    if method == "ep":
        out.update({f"method.{k}": v for k, v in (("t1", args.t1 or args.steps), ("t2", args.t2 or args.steps),
                                                  ("beta", args.beta)) if v is not None})
        if args.lr is None:
            out["train.lr"] = exp.method_lr(method)
    return out


def cmd_compare(args) -> int:
    from ..baselines import METHODS
    from ..build import build, load_data
    from ..errors import ApexplorerError, choices

    if args.method is not None:
        raise ApexplorerError("compare takes --methods (a list), not --method")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ApexplorerError(f"--methods {args.methods!r}: unknown {', '.join(bad) or '(none)'}; "
                              f"choices are {choices(METHODS)}")
    k = args.seeds or 1
    # the AP model options (--hidden is for the baselines, seeds run one by one here)
    exp = experiment_from_args(argparse.Namespace(**{**vars(args), "hidden": None, "seeds": None}))
    if len(exp.tasks) != 1:
        raise ApexplorerError(f"compare trains one task; the wiring has tasks {', '.join(exp.tasks)} (pick one with --only)")
    data = load_data(exp, args.data_dir, args.download)
    ds = next(iter(data.values()))
    first = exp.train.seed
    seeds = [first + i for i in range(k)]
    results = []
    for method in methods:
        runs = []
        model = None
        for s in seeds:
            e = exp.with_changes(_method_changes(method, args, s, exp))
            trainer = build(e, data=data)
            model = model or _describe(method, trainer.learner, trainer.net.wiring if trainer.net else None)
            t0 = time.perf_counter()
            args.training_started = True
            last, best, train, seconds, reason = _train(trainer)
            runs.append({"seed": s, "test_acc": last, "best_test_acc": best, "train_acc": train,
                         "epochs": trainer.epoch, "train_seconds": seconds,
                         "wall_seconds": time.perf_counter() - t0, "stop": reason})
            if not args.json:
                acc = "n/a" if last is None else f"{last:.2%}"
                print(f"{method} seed {s}: test {acc} after {plural(trainer.epoch, 'epoch')} ({reason}, "
                      f"{runs[-1]['wall_seconds']:.1f}s)", file=sys.stderr)
        c = trainer.config
        mean, sd = _stats(r["test_acc"] for r in runs)
        bmean, bsd = _stats(r["best_test_acc"] for r in runs)
        results.append({"method": method, "model": model, "lr": c.lr, "test_acc_mean": mean, "test_acc_sd": sd,
                        "best_test_acc_mean": bmean, "best_test_acc_sd": bsd, "runs": runs})
    cfg = exp.train
    out = {"dataset": ds.name, "epochs": cfg.epochs, "batch_size": cfg.batch_size, "lr": cfg.lr,
           "optimizer": cfg.optimizer, "seeds": seeds, "results": results, "experiment": exp.to_dict()}
    if args.json:
        print(json.dumps(out), flush=True)
        return 0
    print(f"{ds.name}: {cfg.epochs} epochs, batch {cfg.batch_size}, {cfg.optimizer} lr {cfg.lr}, "
          f"seeds {', '.join(map(str, seeds))}")
    print(f"{'method':<7}{'test acc (final)':>20}{'best':>18}  model")
    for r in results:
        fmt = lambda m, s: "n/a" if m is None else f"{100 * m:.2f} ± {100 * s:.2f}"  # noqa: E731
        print(f"{r['method']:<7}{fmt(r['test_acc_mean'], r['test_acc_sd']):>20}"
              f"{fmt(r['best_test_acc_mean'], r['best_test_acc_sd']):>18}  {r['model']}"
              + (f" (lr {r['lr']})" if r["lr"] != cfg.lr else ""))
    return 0
