"""``apexplorer run EXPERIMENT``: train the experiment of a file (or of a checkpoint, or a shipped example)."""

from __future__ import annotations

import argparse

from ..table import rows


def _keys() -> str:
    """The keys of ``--set``, from the table of settings (the wiring's and the tasks' forms added)."""
    parts = ["name, notes", "wiring.preset, wiring.options.NAME, wiring.inline",
             ", ".join(f"tasks.NAME.{r.name}" for r in rows("task"))]
    parts += [", ".join(r.key for r in rows(s)) for s in ("ap", "train", "method", "init")]
    return "; ".join(parts) + "."


EPILOG = """examples:
  apexplorer train --dataset digits --epochs 3 --dump-experiment digits.toml   # write a run's experiment
  apexplorer run digits.toml --json                                            # the same run again
  apexplorer run digits.toml --set train.lr=1e-2 --set ap.t1=4                 # with changes
  apexplorer run run.pt --set train.seed=1                                     # a checkpoint's experiment, anew
  apexplorer run digits-quick                                                  # a shipped example (--list)

Keys of --set: {keys}
The train flags' names work too (lr=1e-2, sr=0.5, steps=4, dataset=mnist)."""


def register(sub) -> None:
    from .train import add_run_args

    import textwrap

    epilog = EPILOG.replace("{keys}", "\n".join(textwrap.wrap(_keys(), 110)))
    what = "train the experiment of a file (.toml, .json), of a checkpoint (.pt) or of a shipped example"
    p = sub.add_parser("run", help=what, description=what[0].upper() + what[1:] + ".", epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", metavar="EXPERIMENT", nargs="?",
                   help="an experiment file (.toml or .json), a checkpoint (.pt), or the name of a shipped example "
                        "(see --list)")
    p.add_argument("--list", action="store_true", help="list the shipped examples and exit")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change a key (repeat)")
    from ..table import row
    from .options import arg_type

    common = p.add_argument_group("common changes (each the same as --set train.KEY=VALUE)")
    for name in COMMON:
        r = row(f"train.{name}")
        common.add_argument(r.flag, type=arg_type(r), help=r.key, **({"metavar": "K"} if name == "seeds" else {}))
    add_run_args(p)
    p.add_argument("--data-dir", help="folder with dataset files")
    p.add_argument("--download", action="store_true", help="download a missing dataset where the network allows")
    p.set_defaults(func=cmd_run)


def read_experiment(path):
    """The experiment of a ``.toml`` / ``.json`` file, or the one a checkpoint was trained from."""
    from pathlib import Path

    from .. import checkpoint
    from ..build import upgrade
    from ..errors import ApexplorerError
    from ..experiment import Experiment

    p = Path(path)
    if not p.exists() and p.suffix == "" and "/" not in str(path):  # a shipped example by its name
        from .. import examples

        return examples.load(str(path))
    if checkpoint.looks_like(p):

        exp = upgrade(checkpoint.load(p), p)
        if exp is None:
            raise ApexplorerError(f"checkpoint {str(p)!r} holds a baseline saved before experiments were saved "
                                  "with it; continue it with apexplorer train --resume")
        return exp
    return Experiment.load(p)


#: The train keys ``run`` takes as flags too.
COMMON = ("epochs", "batch_size", "lr", "seed", "seeds", "device")


def cmd_run(args) -> int:
    from .. import examples
    from ..build import build
    from ..errors import ApexplorerError
    from ..experiment import parse_assignment
    from .train import run_trainer

    if args.list:
        import re
        import shutil
        import textwrap

        width = max(60, min(120, shutil.get_terminal_size((100, 20)).columns))
        for name in examples.names():
            notes = " ".join(examples.load(name).notes.split())
            first = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", notes, maxsplit=1)[0]  # the whole first sentence
            print(textwrap.fill(first, width, initial_indent=f"{name:24s} ", subsequent_indent=" " * 25))
        return 0
    if not args.experiment:
        raise ApexplorerError("give an experiment file, a checkpoint or an example's name (apexplorer run --list)")
    exp = read_experiment(args.experiment)
    changes = dict(parse_assignment(s) for s in args.set)
    for flag in COMMON:
        v = getattr(args, flag)
        if v is not None:
            key = f"train.{flag}"
            if any(k in (key, flag) for k in changes):
                raise ApexplorerError(f"--{flag.replace('_', '-')} and --set {key}=... both set {key}; give one")
            changes[key] = v
    if changes:
        exp = exp.with_changes(changes)
    if args.dump_experiment:
        exp.save(args.dump_experiment)
    trainer = build(exp, args.data_dir, args.download)
    if args.dump_experiment and trainer.experiment != exp:  # the data files' hashes, recorded by build
        trainer.experiment.save(args.dump_experiment)
    return run_trainer(trainer, args)
