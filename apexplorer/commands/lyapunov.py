"""``apexplorer lyapunov``: MLE and FTMLE of random reservoirs over spectral radii (Fig. 2c)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from .options import positive_int as _positive_int


def _radius(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not v > 0 or math.isinf(v):
        raise argparse.ArgumentTypeError(f"spectral radius {v} must be a finite number > 0")
    return v


def register(sub) -> None:
    p = sub.add_parser("lyapunov", help="MLE and FTMLE of random reservoirs per spectral radius (Fig. 2c)",
                       description="Maximum Lyapunov exponent (long horizon) and finite-time MLE (--steps) of a "
                       "random sparse reservoir h <- tanh(h W + u), by the Jacobian method, for each spectral radius.")
    p.add_argument("--sr", type=_radius, nargs="+", default=[0.1, 0.25, 0.5, 1.0, 1.5], metavar="RHO",
                   help="spectral radii (default 0.1 0.25 0.5 1.0 1.5)")
    p.add_argument("--steps", type=_positive_int, default=8, help="FTMLE horizon (default 8, the paper's T)")
    p.add_argument("--mle-steps", type=_positive_int, default=1000, help="MLE horizon (default 1000)")
    p.add_argument("--size", type=_positive_int, default=1024, help="reservoir size N (default 1024)")
    p.add_argument("--rate", type=float, default=0.25, help="connection rate c (default 0.25)")
    p.add_argument("--drive", type=float, default=0.0,
                   help="constant input drive u ~ U(-s, s) per neuron (default 0: no input)")
    p.add_argument("--activation", default="tanh", choices=["tanh", "relu", "sigmoid", "linear"])
    p.add_argument("--trials", type=_positive_int, default=4, help="initial conditions averaged for the FTMLE")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_lyapunov)


def cmd_lyapunov(args) -> int:
    from ..analysis.lyapunov import spectral_radius_sweep
    from ..errors import ApexplorerError
    from ..devices import resolve_device

    if not 0 < args.rate <= 1:
        raise ApexplorerError(f"connection rate {args.rate} must be in (0, 1]")
    dev = resolve_device(args.device)
    rows = spectral_radius_sweep(args.sr, size=args.size, rate=args.rate, steps=args.steps,
                                 mle_steps=args.mle_steps, drive=args.drive, activation=args.activation,
                                 trials=args.trials, seed=args.seed, device=dev)
    settings = {"size": args.size, "rate": args.rate, "steps": args.steps, "mle_steps": args.mle_steps,
                "drive": args.drive, "activation": args.activation, "trials": args.trials, "seed": args.seed}
    if args.json:
        print(json.dumps({**settings, "results": rows}), flush=True)
        return 0
    drive = f"drive U(-{args.drive:g}, {args.drive:g})" if args.drive else "no drive"
    print(f"reservoir N={args.size}, c={args.rate}, {args.activation}, {drive}; "
          f"FTMLE over {args.steps} steps, MLE over {args.mle_steps}", file=sys.stderr)
    print(f"{'SR':>8} {'log SR':>9} {'MLE':>9} {'FTMLE':>9}")
    for r in rows:
        print(f"{r['sr']:>8.4g} {r['log_sr']:>9.4f} {r['mle']:>9.4f} {r['ftmle']:>9.4f}")
    return 0
