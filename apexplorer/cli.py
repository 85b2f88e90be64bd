"""The ``apexplorer`` command line.

A user's mistake (bad option, bad wiring, missing data, divergence) prints a
message and exits with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

from . import commands
from .errors import ApexplorerError, WiringWarning


def _positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be >= 1")
    return v


def _number(s):
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that builds a network."""
    from .data import dataset_names
    from .presets import preset_names

    p.add_argument("--dataset", default=None, help=f"one of {', '.join(dataset_names())} (default digits)")
    p.add_argument("--tasks", metavar="D1,D2", help="one dataset per task of a multi-task wiring, in task order "
                   "(fig5a/b/c default: fashion-mnist,mnist)")
    p.add_argument("--schedule", choices=["alternating", "simultaneous", "sequential"], default="alternating",
                   help="how several tasks share training (default alternating)")
    p.add_argument("--only", metavar="TASK", help="train only this task of a multi-task wiring (a solo run)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help=f"one of {', '.join(preset_names())} (default: the dataset's, else paper-2layer)")
    g.add_argument("--wiring", metavar="FILE.json", help="a wiring JSON file")
    p.add_argument("--epochs", type=_positive_int)
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--lr", type=_number, help="learning rate")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--sr", type=_number, help="spectral radius of every module")
    p.add_argument("--rate", type=_number, help="connection rate of every module")
    p.add_argument("--steps", type=_positive_int, help="T1 = T2 = T")
    p.add_argument("--t1", type=_positive_int, help="inference-phase iterations")
    p.add_argument("--t2", type=_positive_int, help="learning-phase iterations")
    p.add_argument("--mode", choices=["ste", "epe"])
    p.add_argument("--beta", type=_number)
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=_positive_int, default=1, metavar="K",
                   help="train K seeds (seed, seed+1, ...) as one batched ensemble; reports each and mean ± sd")
    p.add_argument("--method", choices=["ap", "bp", "fa", "ep"], default="ap",
                   help="learning rule: ap (default), or a baseline: bp, fa (fully connected) or ep (layered)")
    p.add_argument("--hidden", metavar="SIZES", help="hidden layers of a bp/fa/ep network, e.g. 256 or 256,256,256 "
                   "(default 256 for bp/fa, 256,256 for ep)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--data-dir", help="folder with dataset files")
    p.add_argument("--download", action="store_true", help="download a missing dataset where the network allows")


def build(args):
    """(wiring, {task: dataset}, APConfig, TrainConfig) from parsed arguments, with preset defaults filled in."""
    from .data import load_dataset
    from .network import APConfig
    from .presets import DEFAULT_PRESET, SETTINGS, preset
    from .trainer import TrainConfig
    from .wiring import Wiring

    from .presets import MULTITASK

    name = None if args.wiring else (args.preset or DEFAULT_PRESET.get(args.dataset or "digits", "paper-2layer"))
    wiring = Wiring.from_json(args.wiring) if args.wiring else None
    n_tasks = len(wiring.tasks) if wiring else len(MULTITASK.get(name, (None,)))
    if args.tasks:
        names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    elif n_tasks > 1 and not args.dataset:
        names = list(MULTITASK.get(name, ()))
    else:
        names = [args.dataset or "digits"] * n_tasks
    if len(names) != n_tasks:
        raise ApexplorerError(f"--tasks names {len(names)} dataset(s) ({', '.join(names)}), but the wiring has "
                              f"{n_tasks} task(s)")
    loaded = {}
    for n in names:
        if n not in loaded:
            loaded[n] = load_dataset(n, args.data_dir, args.download)
    datasets = [loaded[n] for n in names]
    if wiring is None:
        if n_tasks > 1:
            wiring = preset(name, [d.n_features for d in datasets], [d.n_classes for d in datasets])
        else:
            wiring = preset(name, datasets[0].n_features, datasets[0].n_classes)
        defaults = SETTINGS.get(name, {})
    else:
        defaults = {}
    data = {t.name: d for t, d in zip(wiring.tasks, datasets)}
    if args.only:
        if args.only not in data:
            raise ApexplorerError(f"--only {args.only!r}: no such task; tasks are {', '.join(data)}")
        data = {args.only: data[args.only]}
    method = getattr(args, "method", "ap")
    if method != "ap" and len(data) > 1:
        raise ApexplorerError(f"--method {method} trains one task; the wiring has tasks {', '.join(data)} "
                              "(pick one with --only)")
    if method != "ap" and (getattr(args, "seeds", 1) or 1) > 1:
        raise ApexplorerError(f"--seeds trains an AP ensemble; --method {method} runs one seed at a time "
                              "(apexplorer compare --seeds K runs several)")
    if method == "ap" and getattr(args, "hidden", None):
        raise ApexplorerError("--hidden sets the layers of a bp/fa/ep network; AP's modules come from --preset "
                              "or --wiring")
    if args.sr is not None:
        wiring = wiring.with_spectral_radius(args.sr)
    if args.rate is not None:
        wiring = wiring.with_connection_rate(args.rate)

    def pick(key, fallback):
        v = getattr(args, key, None)
        return v if v is not None else defaults.get(key, fallback)

    t1 = args.t1 or args.steps or defaults.get("t1", 8)
    t2 = args.t2 or args.steps or defaults.get("t2", 8)
    ap = APConfig(t1=t1, t2=t2, mode=pick("mode", "ste"), beta=pick("beta", 1.0), precision=args.precision)
    cfg = TrainConfig(
        epochs=pick("epochs", 10),
        batch_size=pick("batch_size", 500),
        lr=pick("lr", 1e-3),
        optimizer=args.optimizer,
        seed=args.seed,
        device=args.device,
        ensemble=getattr(args, "seeds", 1) or 1,
    )
    return wiring, data, ap.validate(), cfg.validate()


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apexplorer", description="Run, watch and teach Adjoint Propagation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Each module of apexplorer.commands adds its subcommand with register(sub).
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: (i.name != "train", i.name)):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("default", WiringWarning)
    warnings.formatwarning = lambda msg, cat, *a, **k: f"apexplorer: warning: {msg}\n"
    try:
        return args.func(args)
    except ApexplorerError as e:
        print(f"apexplorer: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
