"""``apexplorer train``: train a network with AP, printing JSON lines or a progress bar."""

from __future__ import annotations

import json
import sys

from ..cli import add_model_args, build


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network with AP (or a baseline: --method bp|fa|ep)")
    add_model_args(p)
    p.add_argument("--save", metavar="FILE", help="write an atomic checkpoint after every epoch")
    p.add_argument("--resume", metavar="FILE", help="continue from a checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from ..trainer import EpochEvent, StopEvent, Trainer

    if args.resume:
        from .. import checkpoint
        from ..data import load_dataset

        st = checkpoint.load(args.resume)
        loaded = {}
        for n in st["datasets"].values():
            if n not in loaded:
                loaded[n] = load_dataset(n, args.data_dir, args.download)
        data = {t: loaded[n] for t, n in st["datasets"].items()}
        over = {k: getattr(args, k) for k in ("epochs",) if getattr(args, k) is not None}
        trainer = Trainer.load(args.resume, data, device=None if args.device == "auto" else args.device, **over)
    else:
        wiring, data, ap, cfg = build(args)
        if args.method != "ap":
            from ..baselines import learner_from_args

            learner, cfg = learner_from_args(args, data, cfg)
            trainer = Trainer(learner, data, cfg, task=list(data))
        else:
            trainer = Trainer.create(wiring, data, ap, cfg, task=list(data), schedule=args.schedule)
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
    model = net.wiring.name if net is not None else repr(trainer.learner)
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        sizes = ", ".join(f"{t}: {d.name} ({len(d.y_train)} train, {len(d.y_test)} test)" for t, d in trainer.data.items())
        print(f"training {model} on {sizes} on {trainer.learner.device}", file=sys.stderr)
    bar = None
    if not args.json:
        from tqdm import tqdm

        bar = tqdm(total=trainer.n_batches, unit="batch", file=sys.stderr, dynamic_ncols=True)
    code = 0
    last_saved = None
    try:
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
                    print(f"apexplorer: {ev.message}", file=sys.stderr)
                    if args.save:
                        last_saved = trainer.save(args.save)
                    code = 2
                if args.json:
                    print(json.dumps(ev.to_dict()), flush=True)
            elif bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{ev.loss:.3f}", acc=f"{ev.acc:.2f}", epoch=ev.epoch)
    except KeyboardInterrupt:
        if args.save:
            last_saved = trainer.save(args.save)
            print(f"\ninterrupted; checkpoint saved to {last_saved}", file=sys.stderr)
        else:
            print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if trainer.learner_members > 1 and trainer.history:
        seeds = list(getattr(net, "seeds", None) or range(trainer.learner_members))
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
    if last_saved and not args.json:
        print(f"checkpoint saved to {last_saved}", file=sys.stderr)
    return code
