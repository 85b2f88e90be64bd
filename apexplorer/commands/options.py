"""The options every training command shares, and their translation into an :class:`Experiment`.

``train``, ``compare`` and ``sweep`` take the same model options
(:func:`add_model_args`); :func:`experiment_from_args` turns them into the one
description of a run, so a flag means the same in every command and a run
can be written out (``--dump-experiment``) and run again (``apexplorer run``).
Every option defaults to None here, so that what a user typed can be told
from a default (a resume refuses the options that would change the run).
"""

from __future__ import annotations

import argparse

from ..errors import ApexplorerError


def positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be >= 1")
    return v


def number(s):
    try:
        return float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None


def _preset_defaults() -> str:
    """The help's note on where the run's defaults come from."""
    from ..presets import SETTINGS

    d = SETTINGS["digits"]
    return (f"(default: the preset's; digits: {d['epochs']} epochs, batch {d['batch_size']}, lr {d['lr']}; "
            "paper presets: 10 epochs, batch 500, lr 0.001)")


#: flag -> experiment key, for the options that set one key.
FLAG_KEYS = {
    "epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr", "optimizer": "train.optimizer",
    "sr": "ap.spectral_radius", "rate": "ap.connection_rate", "mode": "ap.mode", "precision": "ap.precision",
    "seed": "train.seed", "seeds": "train.seeds", "device": "train.device", "schedule": "train.schedule",
}


def add_model_args(p: argparse.ArgumentParser, seeds_help: str | None = None) -> None:
    """Options shared by every command that builds a network (all default to None: see the module)."""
    from ..data import dataset_names
    from ..presets import preset_names

    p.add_argument("--dataset", default=None, help=f"one of {', '.join(dataset_names())} (default digits)")
    p.add_argument("--tasks", metavar="D1,D2", help="one dataset per task of a multi-task wiring, in task order "
                   "(fig5a/b/c default: fashion-mnist,mnist; without MNIST: fashion-mnist,digits)")
    p.add_argument("--schedule", choices=["alternating", "simultaneous", "sequential"], default=None,
                   help="how several tasks share training (default alternating)")
    p.add_argument("--only", metavar="TASK", help="train only this task of a multi-task wiring (a solo run)")
    p.add_argument("--task-batch", action="append", default=None, metavar="TASK=B",
                   help="a task's own batch size (repeat per task), e.g. B=50: a small dataset then gets as many "
                        "steps an epoch as a large one")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help=f"one of {', '.join(preset_names())} (default: the dataset's, else paper-2layer)")
    g.add_argument("--wiring", metavar="FILE.json", help="a wiring JSON file")
    p.add_argument("--epochs", type=positive_int, help="epochs " + _preset_defaults())
    p.add_argument("--batch-size", type=positive_int, help="batch size (default: the preset's)")
    p.add_argument("--lr", type=number, help="learning rate (default: the preset's; ep: 0.001)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=None, help="default adam")
    p.add_argument("--sr", type=number, help="spectral radius of every module (default: the preset's, 0.25)")
    p.add_argument("--rate", type=number, help="connection rate of every module (default: the preset's, 0.25)")
    p.add_argument("--steps", type=positive_int, help="T1 = T2 = T")
    p.add_argument("--t1", type=positive_int, help="inference-phase iterations (default: the preset's, 8)")
    p.add_argument("--t2", type=positive_int, help="learning-phase iterations (default: the preset's, 8)")
    p.add_argument("--mode", choices=["ste", "epe"], help="default: the preset's (ste; 2afc: epe)")
    p.add_argument("--beta", type=number, help="error strength (default 1)")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default=None, help="default fp32")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--seeds", type=positive_int, default=None, metavar="K",
                   help=seeds_help or "train K seeds (seed, seed+1, ...) as one batched ensemble; reports each and "
                                      "mean ± sd")
    p.add_argument("--method", choices=["ap", "bp", "fa", "ep"], default=None,
                   help="learning rule: ap (default), or a baseline: bp, fa (fully connected) or ep (layered)")
    p.add_argument("--hidden", metavar="SIZES", help="hidden layers of a bp/fa/ep network, e.g. 256 or 256,256,256 "
                   "(default 256 for bp/fa, 256,256 for ep)")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE", dest="set",
                   help="set any key of the experiment, e.g. tasks.B.train_size=500 (see apexplorer run --help)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--data-dir", help="folder with dataset files")
    p.add_argument("--download", action="store_true", help="download a missing dataset where the network allows")


def model_options() -> list:
    """The dests of :func:`add_model_args`' options that describe the run (not where data is)."""
    p = argparse.ArgumentParser(add_help=False)
    add_model_args(p)
    return [a.dest for a in p._actions if a.dest not in ("data_dir", "download")]


def given(args) -> list:
    """The model options the user typed (those not None), as ``--flag`` names."""
    return [f"--{k.replace('_', '-')}" for k in model_options() if getattr(args, k, None) not in (None, False, [])]


def task_batches(items) -> dict:
    """``["A=50", "B=500"]`` -> {"A": 50, "B": 500}."""
    out = {}
    for text in items or ():
        name, sep, value = text.partition("=")
        try:
            b = int(value)
        except ValueError:
            b = 0
        if not sep or not name.strip() or b < 1:
            raise ApexplorerError(f"--task-batch {text!r} must look like TASK=B with B >= 1, e.g. B=50")
        out[name.strip()] = b
    return out


def base_experiment(args):
    """The experiment of the wiring and data options (``--preset``/``--wiring``, ``--dataset``/``--tasks``,
    ``--only``), with the preset's own settings."""
    from ..experiment import Experiment
    from ..presets import MULTITASK, default_preset, preset_tasks
    from ..wiring import Wiring

    if args.wiring:
        from pathlib import Path

        if Path(args.wiring).is_dir():
            raise ApexplorerError(f"--wiring {args.wiring!r} is a folder; give a wiring JSON file")
        wiring = Wiring.from_json(args.wiring, warn=False)
        names = [t.name for t in wiring.tasks]
        preset = None
    else:
        preset = args.preset or default_preset(args.dataset)
        names = list(preset_tasks(preset))
    n_tasks = len(names)
    if args.tasks:
        datasets = [n.strip() for n in args.tasks.split(",") if n.strip()]
    elif n_tasks > 1 and not args.dataset:
        datasets = list(MULTITASK.get(preset, ()))
    else:
        datasets = [args.dataset or "digits"] * n_tasks
    if len(datasets) != n_tasks:
        raise ApexplorerError(f"--tasks names {len(datasets)} dataset(s) ({', '.join(datasets)}), but the wiring has "
                              f"{n_tasks} task(s) ({', '.join(names)})")
    if preset is None:
        exp = Experiment.from_dict({"wiring": {"inline": wiring.to_dict()}, "tasks": dict(zip(names, datasets))})
    else:
        exp = Experiment.from_preset(preset, datasets)
    if args.only:
        if args.only not in exp.tasks:
            raise ApexplorerError(f"--only {args.only!r}: no such task; tasks are {', '.join(exp.tasks)}")
        exp = exp.with_changes(tasks={args.only: exp.tasks[args.only].to_dict()})
    return exp


def flag_changes(args, exp) -> dict:
    """The experiment keys the other typed options set (``--lr`` -> ``train.lr``...), over ``exp``."""
    method = args.method or exp.method.name
    changes = {}
    for flag, key in FLAG_KEYS.items():
        v = getattr(args, flag, None)
        if v is not None:
            changes[key] = v
    t1, t2 = args.t1 or args.steps, args.t2 or args.steps
    if method == "ep":  # EP's relaxation takes --t1/--t2/--beta; AP's phases keep their settings
        changes.update({f"method.{k}": v for k, v in (("t1", t1), ("t2", t2), ("beta", args.beta)) if v is not None})
        if args.lr is None and exp.method.name != "ep":
            from ..baselines import EP_LR

            changes["train.lr"] = EP_LR  # hard-sigmoid units saturate at the presets' larger rates
    else:
        changes.update({k: v for k, v in (("ap.t1", t1), ("ap.t2", t2), ("ap.beta", args.beta)) if v is not None})
    if args.method is not None:
        changes["method.name"] = args.method
    if method != "ap":
        if args.seeds is not None and args.seeds > 1:
            raise ApexplorerError(f"--seeds trains an AP ensemble; --method {method} runs one seed at a time "
                                  "(apexplorer compare --seeds K runs several)")
        if len(exp.tasks) > 1:
            raise ApexplorerError(f"--method {method} trains one task; the wiring has tasks {', '.join(exp.tasks)} "
                                  "(pick one with --only)")
    if args.hidden:
        if method == "ap":
            raise ApexplorerError("--hidden sets the layers of a bp/fa/ep network; AP's modules come from --preset "
                                  "or --wiring")
        changes["method.hidden"] = args.hidden
    batches = task_batches(args.task_batch)
    bad = [t for t in batches if t not in exp.tasks]
    if bad:
        raise ApexplorerError(f"--task-batch {bad[0]}=...: no such task; tasks are {', '.join(exp.tasks)}")
    changes.update({f"tasks.{t}.batch_size": b for t, b in batches.items()})
    if args.set:
        from ..experiment import parse_assignment

        changes.update(dict(parse_assignment(s) for s in args.set))
    return changes


def experiment_from_args(args):
    """The :class:`Experiment` of parsed model options, with the preset's settings where none are given."""
    exp = base_experiment(args)
    changes = flag_changes(args, exp)
    return exp.with_changes(changes) if changes else exp


#: The option that sets each key, for messages (a resume's refusals).
KEY_FLAGS = {**{v: f"--{k.replace('_', '-')}" for k, v in FLAG_KEYS.items()},
             "ap.t1": "--t1", "ap.t2": "--t2", "ap.beta": "--beta", "method.name": "--method",
             "method.hidden": "--hidden", "method.t1": "--t1", "method.t2": "--t2", "method.beta": "--beta"}


def flag_of(key: str) -> str:
    """The option that sets ``key`` (``train.lr`` -> ``--lr``), or ``--set KEY=...``."""
    if key.startswith("tasks.") and key.endswith(".batch_size"):
        return "--task-batch"
    return KEY_FLAGS.get(key, f"--set {key}=...")
