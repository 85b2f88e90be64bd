"""``apexplorer bench``: time AP training steps and epochs against the literal formulation and autograd BP."""

from __future__ import annotations

import json
import sys

#: On the CPU, bench trains one real epoch by default when the timed steps say it fits in this many
#: seconds, so that the whole default run stays under a minute.
CPU_EPOCH_BUDGET_S = 40.0


def register(sub) -> None:
    from .options import positive_int as _positive_int

    p = sub.add_parser("bench", help="time training steps against the literal formulation and autograd backprop")
    p.add_argument("--preset", default="paper-2layer", help="wiring preset (default paper-2layer)")
    p.add_argument("--dataset", default=None,
                   help="dataset (default fashion-mnist; random data of its shape if it is not installed)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    p.add_argument("--seeds", type=_positive_int, default=1, metavar="K", help="time a K-seed ensemble")
    p.add_argument("--batch-size", type=_positive_int, default=500)
    p.add_argument("--steps", type=_positive_int, default=None,
                   help="timed steps of each engine (default 3 on CPU, where the engines take one step each in "
                        "turn and the medians are reported; 50 on GPU)")
    p.add_argument("--epochs", type=int, default=None,
                   help="also train this many real epochs and report their time and accuracy (default 3 on "
                        f"GPU; on CPU 1 if the timed steps say it takes at most {CPU_EPOCH_BUDGET_S:.0f} s, else 0)")
    p.add_argument("--no-baselines", action="store_true", help="time only our engine")
    p.add_argument("--eager", action="store_true", help="on CUDA, do not capture steps as CUDA graphs")
    p.add_argument("--mode", choices=["ste", "epe"], default="ste")
    p.add_argument("--data-dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


def ratio_text(speedup: float) -> str:
    """A speed-up as a user reads it: ``ours is 2.00x faster`` or, below 1, ``ours is 1.05x slower``."""
    return f"ours is {speedup:.2f}x faster" if speedup >= 1 else f"ours is {1 / speedup:.2f}x slower"


def cmd_bench(args) -> int:
    import torch

    from ..data import Dataset, load_dataset
    from ..errors import DataError
    from ..network import APConfig, Network
    from ..presets import preset
    from ..devices import resolve_device
    from ..bench import bench

    from ..learner import APLearner

    dev = resolve_device(args.device)
    APLearner.graphs = not args.eager
    synthetic = False
    try:
        data = load_dataset(args.dataset or "fashion-mnist", args.data_dir)
    except DataError:
        if args.dataset:
            raise
        g = torch.Generator().manual_seed(0)
        data = Dataset("random-784", torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g),
                       torch.rand(10000, 784, generator=g), torch.randint(0, 10, (10000,), generator=g), 10)
        synthetic = True
    wiring = preset(args.preset, data.n_features, data.n_classes)
    seeds = tuple(range(args.seeds)) if args.seeds > 1 else None
    net = Network(wiring, APConfig(mode=args.mode, precision=args.precision), seed=0, device=dev, seeds=seeds)
    gpu = dev.type == "cuda"
    steps = args.steps or (50 if gpu else 3)
    epochs = args.epochs if args.epochs is not None else (3 if gpu else 0)
    budget = CPU_EPOCH_BUDGET_S if args.epochs is None and not gpu else None
    out = bench(net, data, batch_size=args.batch_size, steps=steps, baselines=not args.no_baselines, epochs=epochs,
                epoch_budget_s=budget)
    out.update(preset=args.preset, dataset=data.name, synthetic_data=synthetic, cuda_graphs=gpu and not args.eager)
    if args.json:
        print(json.dumps(out))
    else:
        o = out["ours"]
        print(f"{args.preset} on {data.name} · {out['device_name']} · {args.precision} · batch {args.batch_size}"
              f"{' · ' + str(args.seeds) + ' seeds' if args.seeds > 1 else ''}")
        print(f"  ours        {o['step_s'] * 1e3:9.2f} ms/step  {o['samples_per_s']:12,.0f} samples/s  "
              f"{o['epoch_s_est']:8.3f} s/epoch (from steps)")
        one = out.get("ours_one_seed")
        if one:
            k, r = args.seeds, out["ensemble_vs_one_seed"]
            print(f"  one seed    {one['step_s'] * 1e3:9.2f} ms/step  {one['samples_per_s']:12,.0f} samples/s  "
                  f"{one['epoch_s_est']:8.3f} s/epoch   {k} seeds cost {r:.2f}x one seed "
                  f"(each seed {r / k:.2f}x a run alone)")
        for key in ("literal", "bp_autograd"):
            b = out.get(key)
            if b and "step_s" in b:
                print(f"  {key:<11} {b['step_s'] * 1e3:9.2f} ms/step  {b['samples_per_s']:12,.0f} samples/s  "
                      f"{b['epoch_s_est']:8.3f} s/epoch   {ratio_text(out['speedup_vs_' + key])}")
            elif b:
                print(f"  {key:<11} skipped: {b['skipped']}")
        rp = out["reservoir_product"]
        b, n, _ = rp["shape"]
        verdict = (f"sparse is {rp['sparse_vs_dense']:.1f}x slower, so W stays dense" if rp["sparse_vs_dense"] >= 1
                   else f"sparse is {1 / rp['sparse_vs_dense']:.1f}x faster here (the engine multiplies W dense)")
        print(f"  reservoir product {b} x {n} x {n} ({rp['density']:.0%} of W nonzero): dense "
              f"{rp['dense_precision']} {rp['dense_ms']:.2f} ms, sparse CSR {rp['sparse_csr_ms']:.2f} ms; {verdict}")
        f = out.get("fidelity")
        if f:
            print(f"  {args.precision} step vs {f['reference']} on one batch: updates agree to cosine "
                  f"{f['update_cosine_min']:.6f}, relative error {f['update_rel_err_max']:.2%} at most")
        tm = out["timing"]
        if tm["rounds"] > 1:
            print(f"  (medians of {tm['rounds']} rounds, each engine one step per round in turn, "
                  f"so the ratios are taken side by side)")
        for e in out.get("epochs", []):
            print(f"  epoch {e['epoch']}: {e['seconds']:.3f} s, test accuracy {e['test_acc']:.2%}")
        if not out.get("epochs"):
            why = (f" (an epoch would take about {o['epoch_s_est']:.0f} s here)" if "epoch_budget_s" in out
                   else "")
            print(f"  test accuracy: not measured{why}; add --epochs 3 to train real epochs "
                  f"(or apexplorer train --precision {args.precision} --epochs 3 --json)")
        if synthetic:
            print("  (random data of Fashion-MNIST's shape: install dataset-fashion-mnist for real accuracy)",
                  file=sys.stderr)
    return 0
