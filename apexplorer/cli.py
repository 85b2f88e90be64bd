"""The ``apexplorer`` command line.

Every subcommand lives in :mod:`apexplorer.commands` (one module each, with
``register(subparsers)``); this module only assembles them.  A user's mistake
(bad option, bad wiring, missing data, divergence) prints a message and exits
with code 2, never a traceback; output cut short by its reader (``apexplorer show run.pt | head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    parser.commands = sub.choices  # name -> its parser, for messages about its options
    return parser


def _unrecognized(parser, args, extra) -> None:
    """argparse's "unrecognized arguments", with the way to say it where there is one (exits 2)."""
    sub = parser.commands.get(getattr(args, "command", None), parser)
    msg = f"unrecognized arguments: {' '.join(extra)}"
    if args.command == "run":
        flags = [e.split("=")[0] for e in extra if e.startswith("--")]
        if flags:
            key = flags[0][2:].replace("-", "_")
            msg += (f"; run takes the experiment's keys as --set KEY=VALUE, e.g. --set {key}=VALUE "
                    "(apexplorer run --help lists the keys)")
    elif args.command == "serve":
        msg += f"; options of panel serve go after --, e.g. apexplorer serve -- {extra[0]}"
    sub.error(msg)


#: The exit code of a command whose reader went away (128 + SIGPIPE, as the shell reports such a command).
BROKEN_PIPE = 141


def main(argv=None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit, so that a reader gone by now is caught below
        return code
    except BrokenPipeError:
        # the reader of the output has gone: stop quietly, as a command killed by SIGPIPE does; stdout
        # now writes nowhere, so that Python's own last flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE


def _main(argv=None) -> int:
    args = None
    try:
        parser = make_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unrecognized(parser, args, extra)
        warnings.simplefilter("default", WiringWarning)
        warnings.formatwarning = lambda msg, cat, *a, **k: f"apexplorer: warning: {msg}\n"
        return args.func(args)
    except ApexplorerError as e:
        print(f"apexplorer: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting up (importing torch, loading data, drawing the network)
        if getattr(args, "training_started", False):
            print("apexplorer: interrupted", file=sys.stderr)
        else:
            print("apexplorer: interrupted while starting up; nothing was trained yet", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
