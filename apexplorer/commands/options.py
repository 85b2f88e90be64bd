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

from ..errors import ApexplorerError, plural
from ..sections import parse_text, shown
from ..table import EP_LR, TABLE, default, flags


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

    d, p = SETTINGS["digits"], SETTINGS["paper-2layer"]
    return (f"(default: the preset's; digits: {d['epochs']} epochs, batch {d['batch_size']}, lr {d['lr']}; "
            f"paper presets: {p.get('epochs', default('train.epochs'))} epochs, batch {p['batch_size']}, "
            f"lr {p['lr']})")


#: option dest -> the experiment key it sets (the table's flags; a flag EP shares sets AP's key here).
FLAG_KEYS = {flag[2:].replace("-", "_"): key for flag, key in flags().items()}


def arg_type(row):
    """The argparse type of a row's flag: a text parsed and checked as the experiment checks the key."""
    if row.kind == "int" and row.low == 1 and not row.optional:
        return positive_int
    if row.kind == "int":
        return int
    if row.kind == "float":
        return number
    if row.kind == "bool":
        def flag_bool(s):
            try:
                return parse_text(row.key, s, row.meta())
            except ApexplorerError as e:
                raise argparse.ArgumentTypeError(str(e)) from None
        return flag_bool
    return str


def _plain(value) -> str:
    return shown(value).strip("'")


def _help(row, helps: dict) -> str:
    """A flag's help: the row's doc and where its default comes from."""
    from ..presets import SETTINGS

    if row.dest in helps:
        return helps[row.dest]
    text = row.doc
    if row.key == "train.epochs":
        text += " " + _preset_defaults()
    elif any(row.alias and row.alias in s for s in SETTINGS.values()):
        text += f" (default: the preset's, {_plain(row.default)})" if row.default is not None else \
            " (default: the preset's)"
    elif row.default is not None:
        text += f" (default {_plain(row.default)})"
    if row.key == "train.lr":
        text += f"; with --method ep: at most {EP_LR}"
    if row.section == "ap" and any(r.flag == row.flag and r.section == "method" for r in TABLE):
        text += "; with --method ep: EP's " + next(r.doc.split(": ", 1)[-1] for r in TABLE
                                                    if r.flag == row.flag and r.section == "method")
    return text.replace("%", "%%")


def add_table_args(p: argparse.ArgumentParser, helps: dict | None = None) -> None:
    """One option per flag of the table of settings (its type, choices and help from its row)."""
    for flag, key in flags().items():
        row = next(r for r in TABLE if r.key == key)
        kw = {"type": arg_type(row), "default": None, "help": _help(row, helps or {})}
        if row.choices is not None:
            kw["choices"] = list(row.choices)
        if row.kind == "ints":
            kw["metavar"] = "SIZES"
        elif row.alias == "seeds":
            kw["metavar"] = "K"
        p.add_argument(flag, **kw)


def add_model_args(p: argparse.ArgumentParser, seeds_help: str | None = None) -> None:
    """Options shared by every command that builds a network (all default to None: see the module)."""
    from ..data import dataset_names
    from ..presets import preset_names

    p.add_argument("--dataset", default=None, help=f"one of {', '.join(dataset_names())} (default digits)")
    p.add_argument("--tasks", metavar="D1,D2", help="one dataset per task of a multi-task wiring, in task order "
                   "(fig5a/b/c default: fashion-mnist,mnist; without MNIST: fashion-mnist,digits)")
    p.add_argument("--only", metavar="TASK", help="train only this task of a multi-task wiring (a solo run)")
    p.add_argument("--task-batch", action="append", default=None, metavar="TASK=B",
                   help="a task's own batch size (repeat per task), e.g. B=50: a small dataset then gets as many "
                        "steps an epoch as a large one")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help=f"one of {', '.join(preset_names())} (default: the dataset's, else paper-2layer)")
    g.add_argument("--wiring", metavar="FILE.json", help="a wiring JSON file")
    add_table_args(p, {"seeds": seeds_help} if seeds_help else None)
    p.add_argument("--steps", type=positive_int, help="T1 = T2 = T")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE", dest="set",
                   help="set any key of the experiment, e.g. tasks.B.train_size=500 (see apexplorer run --help)")
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
        raise ApexplorerError(f"--tasks names {plural(len(datasets), 'dataset')} ({', '.join(datasets)}), but the wiring has "
                              f"{plural(n_tasks, 'task')} ({', '.join(names)})")
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
    from ..experiment import MULTI

    method = args.method or exp.method.name
    changes = {}
    for flag, key in flags().items():
        v = getattr(args, flag[2:].replace("-", "_"), None)
        if v is None and key in MULTI["steps"]:
            v = args.steps  # --steps: T1 = T2
        if method == "ep":  # EP's relaxation takes the flags it shares (--t1/--t2/--beta); AP's phases keep theirs
            key = next((r.key for r in TABLE if r.flag == flag and r.section == "method"), key)
        if v is not None:
            changes[key] = v
    if method == "ep" and args.lr is None and exp.method.name != "ep":
        changes["train.lr"] = exp.method_lr("ep")
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
KEY_FLAGS = {r.key: r.flag for r in TABLE if r.flag}


def flag_of(key: str) -> str:
    """The option that sets ``key`` (``train.lr`` -> ``--lr``), or ``--set KEY=...``."""
    if key.startswith("tasks.") and key.endswith(".batch_size"):
        return "--task-batch"
    return KEY_FLAGS.get(key, f"--set {key}=...")
