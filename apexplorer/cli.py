"""The ``apexplorer`` command line.

Every subcommand lives in :mod:`apexplorer.commands` (one module each, with
``register(subparsers)``); this module only assembles them.  A user's mistake
(bad option, bad wiring, missing data, divergence) prints a message and exits
with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

from . import commands
from .errors import ApexplorerError, WiringWarning


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apexplorer", description="Run, watch and teach Adjoint Propagation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    order = ("train", "run", "show")
    mods = [i.name for i in pkgutil.iter_modules(commands.__path__) if not i.name.startswith("_") and i.name != "options"]
    for name in sorted(mods, key=lambda n: (order.index(n) if n in order else len(order), n)):
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
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
