"""``apexplorer show FILE``: the experiment of a checkpoint or an experiment file, and how far a checkpoint got."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("show", help="print the experiment of a checkpoint (.pt) or an experiment file")
    p.add_argument("file", metavar="FILE", help="a checkpoint (.pt) or an experiment file (.toml, .json)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (the experiment and the checkpoint's progress)")
    fmt.add_argument("--toml", action="store_true", help="print only the experiment, as TOML (the default text)")
    p.set_defaults(func=cmd_show)


def progress(state: dict) -> dict:
    """How far a checkpoint's run got: epochs done, the last epoch's figures, where it stopped in an epoch."""
    hist = state.get("history") or []
    cfg = state.get("train_config", {})
    out = {"epoch": state.get("epoch", 0), "epochs": cfg.get("epochs"), "method": state["learner"].get("kind"),
           "datasets": state.get("datasets", {}), "mid_epoch": bool(state.get("segment") or state.get("position"))}
    if hist:
        last = hist[-1]
        out["last"] = {k: last[k] for k in ("epoch", "train_acc", "test_acc", "loss", "test_loss") if k in last}
    return out


def cmd_show(args) -> int:
    from pathlib import Path

    from .. import checkpoint
    from ..build import upgrade
    from ..experiment import Experiment

    p = Path(args.file)
    state = None
    if checkpoint.looks_like(p):
        state = checkpoint.load(p)
        exp = upgrade(state, p)
    else:
        exp = Experiment.load(p)
    if args.json:
        out = {"experiment": None if exp is None else exp.to_dict()}
        if state is not None:
            out["checkpoint"] = progress(state)
        if exp is not None:
            out["command"] = exp.command(str(p))
        print(json.dumps(out, indent=2))
        return 0
    if exp is not None:
        print(exp.to_toml(), end="")
    if args.toml:
        return 0
    if state is not None:
        pr = progress(state)
        if state.get("experiment") is None:
            print(f"# {p.name} was written before experiments were saved with checkpoints: "
                  f"{pr['method']} on {', '.join(f'{t}: {d}' for t, d in pr['datasets'].items())}")
        where = " (stopped inside the next epoch)" if pr["mid_epoch"] else ""
        line = f"# trained {pr['epoch']} of {pr['epochs']} epochs{where}"
        if "last" in pr:
            last = pr["last"]
            line += f"; last epoch: train {last['train_acc']:.2%}, test {last['test_acc']:.2%}"
        print(line)
    if exp is not None:
        print(f"# the same run: {exp.command(str(p))}")
    return 0
