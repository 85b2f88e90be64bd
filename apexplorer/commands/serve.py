"""``apexplorer serve``: serve the explorer to a room (the app ships in the package: no clone needed).

The same app as ``panel serve apps/explorer.py``, on ``http://ADDRESS:PORT/explorer``, with the
operator's limits (``--limits FILE`` or flags) and Panel's own sign-in (``--basic-auth``, or any
``panel serve`` option after ``--``, such as ``-- --oauth-provider github ...``).
"""

from __future__ import annotations

import argparse

from ..errors import ApexplorerError


def register(sub) -> None:
    from ..app.limits import Limits  # no Panel: the CLI stays quick to start

    p = sub.add_parser("serve", help="serve the explorer in the browser (for a class or a lab)",
                       parents=[Limits.parser()],
                       description="Serve the explorer at http://ADDRESS:PORT/explorer.  Options of `panel serve` "
                                   "not listed here go after `--`, e.g. `apexplorer serve -- --oauth-provider github "
                                   "--oauth-key K --oauth-secret S --cookie-secret C`.")
    p.add_argument("--port", type=int, default=5006, help="port to listen on (default 5006)")
    p.add_argument("--address", default=None, help="address to listen on (default: every address of the machine)")
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]",
                   help="a host whose pages may connect (repeat for more; needed when visitors use another name "
                        "than localhost)")
    p.add_argument("--files", default=None, metavar="DIR",
                   help="a folder whose files visitors may name (sessions, sweep tables); default none")
    p.add_argument("--presenter", action="store_true", help="pages open in the presenter layout (a projector)")
    p.add_argument("--show", action="store_true", help="open the page in this machine's browser")
    p.add_argument("--training", choices=("process", "thread"), default="process",
                   help="where a session trains: a worker process of its own at a lower priority than the web "
                        "server (default), or a thread of the server (as in a notebook)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="train each session on a worker of this Dask cluster (e.g. a lab's GPU machines; each "
                        "worker needs apexplorer installed)")
    p.add_argument("--basic-auth", default=None, metavar="PASSWORD_OR_FILE",
                   help="Panel's sign-in: one password, or a JSON file of {user: password}")
    p.add_argument("--cookie-secret", default=None, help="Panel's secret that signs the sign-in cookie")
    p.add_argument("panel", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from pathlib import Path

    from ..app.limits import Limits

    extra = list(args.panel or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    elif extra:
        raise ApexplorerError(f"unrecognized arguments: {' '.join(extra)}; options of panel serve go after --, "
                              f"e.g. apexplorer serve -- {extra[0]}")
    args.panel = extra
    argv = ["--limits", args.limits] if args.limits else []
    for name, flag in Limits.FLAGS.items():
        v = getattr(args, f"limit_{name}")
        if v is not None:
            argv += [flag, v]
    args.limits_parsed = Limits.from_args(argv)  # a bad file or value: a message now, not at the first visitor
    if args.files and not Path(args.files).expanduser().is_dir():
        raise ApexplorerError(f"--files {args.files!r} is not a folder; name an existing folder")
    if args.port < 0 or args.port > 65535:
        raise ApexplorerError(f"--port {args.port} must be between 0 and 65535")
    from ..app.serve import serve

    print(f"apexplorer: serving the explorer on http://{args.address or 'localhost'}:{args.port}/explorer "
          f"(limits: {describe(args.limits_parsed)}); Ctrl-C stops it", flush=True)
    return serve(args)


def describe(limits) -> str:
    parts = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in vars(limits).items() if v is not None]
    return ", ".join(parts)
