"""``apexplorer train``: train a network with AP (or a baseline), printing JSON lines or a progress bar.

Its flags are a thin translation into an :class:`~apexplorer.experiment.Experiment`
(:func:`options.experiment_from_args`); ``--dump-experiment`` writes that
experiment, which ``apexplorer run`` runs again.  :func:`run_trainer` is the
loop both commands share: progress, checkpoints, Ctrl-C and the summary.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from ..table import TABLE
from .options import add_model_args, experiment_from_args, given

#: What ``--resume`` may change (the flags of the table's resumable keys); any other model option would make
#: another run.
RESUME_FLAGS = tuple(r.flag for r in TABLE if r.resumable and r.flag)


def add_run_args(p) -> None:
    """Options of every command that trains one run: checkpoints, output and the experiment file."""
    p.add_argument("--save", metavar="FILE", help="write an atomic checkpoint after every epoch (and on Ctrl-C)")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch")
    p.add_argument("--dump-experiment", metavar="FILE.toml",
                   help="write the run's experiment (.toml or .json); `apexplorer run FILE` runs it again")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network with AP (or a baseline: --method bp|fa|ep)")
    add_model_args(p)
    add_run_args(p)
    p.add_argument("--resume", metavar="FILE", help="continue from a checkpoint (may change " +
                   ", ".join(RESUME_FLAGS) + "); it keeps saving into FILE unless --save names another file "
                   "or --no-save is given")
    p.add_argument("--no-save", action="store_true", help="with --resume: do not save back into the checkpoint")
    p.set_defaults(func=cmd_train)


def _resume(args):
    """The trainer of ``--resume``: the options a resume may change applied, any other change refused."""
    from .. import checkpoint
    from ..build import RESUMABLE, resume, upgrade
    from ..errors import ApexplorerError
    from .options import base_experiment, flag_changes, flag_of

    exp = upgrade(checkpoint.load(args.resume), args.resume)
    typed = given(args)
    allowed = ", ".join(RESUME_FLAGS)
    if exp is None:  # a baseline saved before experiments: only the flags a resume may change
        extra = [f for f in typed if f not in RESUME_FLAGS]
        if extra:
            raise ApexplorerError(f"--resume continues the run saved in {args.resume}; {', '.join(extra)} would "
                                  f"make another run (a resume may change {allowed})")
        changes = {r.key: getattr(args, r.dest) for r in TABLE
                   if r.resumable and r.flag and getattr(args, r.dest) is not None}
        return resume(args.resume, changes, args.data_dir, args.download)
    # the wiring and data options: refused where they differ from the checkpoint's
    structural = [f for f in typed if f in ("--preset", "--wiring", "--dataset", "--tasks", "--only")]
    refused = []
    if structural:
        mine = base_experiment(args)
        if mine.wiring != exp.wiring or {t: s.dataset for t, s in mine.tasks.items()} != \
                {t: s.dataset for t, s in exp.tasks.items()}:
            refused += structural
    changes = flag_changes(args, exp)
    new = exp.with_changes(changes) if changes else exp
    refused += list(dict.fromkeys(flag_of(k) for k in exp.diff(new) if k not in RESUMABLE))
    if refused:
        raise ApexplorerError(
            f"--resume continues the run saved in {args.resume}; {', '.join(refused)} would make another run. "
            f"A resume may change {allowed}; for another run, leave out --resume")
    return resume(args.resume, changes, args.data_dir, args.download)


def cmd_train(args) -> int:
    from ..build import build
    from ..errors import DataError
    from ..presets import MULTITASK

    from ..errors import ApexplorerError

    if args.no_save and args.save:
        raise ApexplorerError("--save and --no-save contradict each other; give one of them")
    if args.no_save and not args.resume:
        raise ApexplorerError("--no-save is for --resume (a run without --save saves nothing already)")
    if args.resume and not args.save and not args.no_save:
        args.save = args.resume  # a resumed run keeps its checkpoint up to date, as the run it continues did
    if args.resume:
        trainer = _resume(args)
        if args.dump_experiment and trainer.experiment is not None:
            trainer.experiment.save(args.dump_experiment)
    else:
        exp = experiment_from_args(args)
        if args.dump_experiment:
            exp.save(args.dump_experiment)
        try:
            trainer = build(exp, args.data_dir, args.download)
        except DataError as e:
            if "'mnist'" in str(e) and not args.tasks and exp.wiring.preset in MULTITASK:
                stand_in = ",".join("digits" if d == "mnist" else d for d in MULTITASK[exp.wiring.preset])
                raise DataError(f"{e} Or train the figure with digits standing in for MNIST: --tasks {stand_in}") from None
            raise
        if args.dump_experiment and trainer.experiment != exp:  # the data files' hashes, recorded by build
            trainer.experiment.save(args.dump_experiment)
    return run_trainer(trainer, args)


def check_save_target(path) -> None:
    """Refuse a checkpoint target that cannot be written before any epoch trains."""
    if path:
        from ..checkpoint import check_writable

        check_writable(path)


class _Interrupt:
    """Ctrl-C (and SIGTERM) stop the run after the batch in flight, so the checkpoint is consistent;
    a second Ctrl-C quits at once (the last epoch's checkpoint stays)."""

    def __init__(self, trainer, say):
        self.trainer, self.say, self.count, self.old = trainer, say, 0, {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[sig] = signal.signal(sig, self.handle)
            except ValueError:  # not the main thread (a notebook's worker): leave the signals alone
                pass
        return self

    def handle(self, signum, frame):
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt
        again = "Ctrl-C again" if signum == signal.SIGINT else f"{signal.Signals(signum).name} again"
        self.say(f"stopping after this batch ({again} to quit at once)")
        self.trainer.stop()

    def __exit__(self, *exc):
        for sig, old in self.old.items():
            signal.signal(sig, old)
        return False


def warn_settings(trainer) -> None:
    """Say once on stderr what a run's settings do that was probably not meant, and what changed in its data."""
    for note in getattr(trainer, "data_notes", ()):
        print(f"apexplorer: warning: {note}", file=sys.stderr)
    for t, d in trainer.data.items():
        n, b = len(d.y_train), trainer.batch_sizes.get(t, trainer.config.batch_size)
        if b > n:
            where = f"task {t}: " if len(trainer.data) > 1 else ""
            print(f"apexplorer: warning: {where}batch size {b} is larger than the {n} training samples of {d.name}: "
                  f"each epoch is one step on a batch of {n}", file=sys.stderr)


def _start_info(trainer) -> dict:
    """The ``start`` line of ``--json``: what trains, on what, and how."""
    net = trainer.net
    names = ",".join(d.name for d in trainer.data.values())
    info = {"kind": "start", "method": trainer.learner.kind, "dataset": names,
            "tasks": {t: d.name for t, d in trainer.data.items()}, "schedule": trainer.schedule,
            "device": str(trainer.learner.device), "epochs": trainer.total_epochs,
            "batch_size": trainer.config.batch_size, "lr": trainer.config.lr, "start_epoch": trainer.epoch}
    if net is not None:
        info.update(wiring=net.wiring.name, precision=net.config.precision, t1=net.config.t1, t2=net.config.t2,
                    mode=net.config.mode)
    else:  # a baseline (bp, fa, ep)
        info["model"] = repr(trainer.learner)
    info["files"] = {t: list(d.files) for t, d in trainer.data.items() if d.files}
    if trainer.experiment is not None:
        info["experiment"] = trainer.experiment.to_dict()
    return info


def _say_start(trainer) -> None:
    """The same as a sentence on stderr, with the files each dataset was read from."""
    model = trainer.net.wiring.name if trainer.net is not None else repr(trainer.learner)
    sizes = ", ".join(f"{t}: {d.name} ({len(d.y_train)} train, {len(d.y_test)} test)" for t, d in trainer.data.items())
    start = f" from epoch {trainer.epoch}" if trainer.epoch else ""
    print(f"training {model} on {sizes} on {trainer.learner.device}{start}", file=sys.stderr)
    read = {}
    for d in trainer.data.values():
        if d.files:
            read.setdefault(d.name, d.files)
    for name, files in read.items():
        folders = sorted({str(Path(f).parent) for f in files})
        print(f"read {name} from {', '.join(folders)}: {', '.join(Path(f).name for f in files)}", file=sys.stderr)


def run_trainer(trainer, args) -> int:
    """Train ``trainer`` to its end, printing progress; 0 when it finished, 2 diverged, 130 interrupted."""
    from ..trainer import EpochEvent, StopEvent

    check_save_target(args.save)
    warn_settings(trainer)
    info = _start_info(trainer)
    if trainer.epoch >= trainer.total_epochs:
        msg = (f"already trained {trainer.epoch} epoch{'' if trainer.epoch == 1 else 's'} of {trainer.total_epochs}; "
               "nothing to do (raise --epochs to go on)")
        if args.json:
            print(json.dumps({**info, "kind": "done", "message": msg}), flush=True)
        else:
            print(f"apexplorer: {msg}", file=sys.stderr)
        return 0
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        _say_start(trainer)
    bar = None
    if not args.json:
        from tqdm import tqdm

        bar = tqdm(total=trainer.n_batches, unit="batch", file=sys.stderr, dynamic_ncols=True)

    def say(msg):
        line = f"apexplorer: {msg}"
        if bar is not None:
            bar.write(line, file=sys.stderr)  # on its own line, above the bar
        else:
            print(line, file=sys.stderr, flush=True)

    code = 0
    last_saved = None
    args.training_started = True
    try:
        with _Interrupt(trainer, say):
            for ev in trainer.train(batch_events=bar is not None):
                if isinstance(ev, EpochEvent):
                    if args.save:
                        last_saved = trainer.save(args.save)
                    if args.json:
                        d = ev.to_dict()
                        d.pop("kind")
                        print(json.dumps(d), flush=True)
                    else:
                        bar.reset(total=trainer.n_batches)
                        per = "" if len(ev.tasks) < 2 else "  (" + ", ".join(
                            f"{t} {d['test_acc']:.2%}" for t, d in ev.tasks.items()) + ")"
                        bar.write(f"epoch {ev.epoch}/{ev.epochs}  loss {ev.loss:.4f}  train {ev.train_acc:.2%}  "
                                  f"test {ev.test_acc:.2%}{per}  {ev.seconds:.1f}s  {ev.samples_per_s:,.0f} samples/s")
                elif isinstance(ev, StopEvent):
                    if ev.reason == "diverged":
                        say(ev.message)
                        if args.save:
                            last_saved = trainer.save(args.save)
                        code = 2
                    elif ev.reason == "stopped":
                        if args.save:
                            last_saved = trainer.save(args.save)
                            say(f"interrupted; checkpoint saved to {last_saved} (continue with: apexplorer train "
                                f"--resume {last_saved}, which keeps saving there)")
                        else:
                            say("interrupted")
                        code = 130
                    if args.json:
                        print(json.dumps(ev.to_dict()), flush=True)
                elif bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{ev.loss:.3f}", acc=f"{ev.acc:.2f}", epoch=ev.epoch)
    except KeyboardInterrupt:
        kept = f"; the checkpoint of the last epoch is in {last_saved}" if last_saved else ""
        say(f"interrupted{kept}")
        return 130
    finally:
        if bar is not None:
            bar.close()
    if code == 130:
        return code
    _summary(trainer, args)
    if last_saved and not args.json:
        print(f"checkpoint saved to {last_saved}", file=sys.stderr)
    return code


def _summary(trainer, args) -> None:
    """Mean ± sd over an ensemble's seeds, and a sequential run's accuracies after each stage."""
    if trainer.learner_members > 1 and trainer.history:
        seeds = list(getattr(trainer.net, "seeds", None) or range(trainer.learner_members))
        last = trainer.history[-1]["members"]
        stats = {}
        for t, d in last.items():
            accs = d["test_acc"]
            mean = sum(accs) / len(accs)
            sd = (sum((a - mean) ** 2 for a in accs) / max(len(accs) - 1, 1)) ** 0.5
            stats[t] = {"seeds": seeds, "test_acc": accs, "mean": mean, "sd": sd}
        if args.json:
            print(json.dumps({"kind": "ensemble", "tasks": stats}), flush=True)
        else:
            for t, d in stats.items():
                each = ", ".join(f"seed {s}: {a:.2%}" for s, a in zip(d["seeds"], d["test_acc"]))
                print(f"task {t}: test accuracy {d['mean']:.2%} ± {d['sd']:.2%} ({each})", file=sys.stderr)
    if trainer.summary:
        if args.json:
            print(json.dumps({"kind": "summary", "sequential": trainer.summary}), flush=True)
        else:
            for t, d in trainer.summary.items():
                print(f"task {t}: " + ", ".join(f"{k} {v:.2%}" for k, v in d.items()), file=sys.stderr)
