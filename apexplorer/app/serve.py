"""The served explorer (Panel): one page per browser session, and ``apexplorer serve``.

:func:`serve_session` is what the script that ``panel serve`` runs once per browser session
does (the package's :data:`SCRIPT`, and the repository's ``apps/explorer.py``, a thin shim of
it): it reads the operator's options from the script's arguments (``--args`` of ``panel
serve``) and shows one :class:`~apexplorer.app.Explorer`:

* ``--files DIR`` (or ``$APEXPLORER_FILES``): the server folder visitors may name;
* ``--limits FILE`` and the limits' flags (:class:`~apexplorer.app.limits.Limits`);
* ``--presenter``: pages open in the presenter layout;
* ``--training process|thread`` (or ``$APEXPLORER_TRAINING``): each session trains in a worker process of
  its own (:class:`~apexplorer.app.worker.ProcessRunner`, the default), or in a thread of the server;
* ``--scheduler tcp://HOST:8786`` (or ``$APEXPLORER_SCHEDULER``): each session trains on a worker of that
  Dask cluster instead (:class:`~apexplorer.app.worker.DaskRunner`).

:func:`serve` runs ``panel serve`` on :data:`SCRIPT` in this process (``apexplorer serve``):
the imports are warmed before the first visitor (Panel's ``--warm`` runs one session at start),
so the first visitor waits no longer than the next.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import panel as pn

from ..errors import ApexplorerError
from .files import files_folder
from .limits import Limits

log = logging.getLogger(__name__)

#: the script ``panel serve`` runs once per browser session (its name gives the page's path: /explorer)
SCRIPT = Path(__file__).resolve().parent / "served" / "explorer.py"
#: the sign-in page of ``--basic-auth`` (self-contained: nothing from a CDN)
LOGIN = SCRIPT.parent / "login.html"
TITLE = "apexplorer · AP explorer"


#: where a served session trains: ``process`` (a worker process of its own, the default) or ``thread``
#: (a thread of the web server, as in a notebook); ``--training`` or ``$APEXPLORER_TRAINING``
TRAINING = ("process", "thread")


def _options(argv):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--presenter", action="store_true")
    p.add_argument("--training", default=None)
    p.add_argument("--scheduler", default=None)
    return p.parse_known_args(list(argv or []))[0]


def training_mode(argv) -> str:
    """``process`` or ``thread`` (``--training`` in ``argv``, else ``$APEXPLORER_TRAINING``, else process)."""
    mode = _options(argv).training or os.environ.get("APEXPLORER_TRAINING") or "process"
    if mode not in TRAINING:
        raise ApexplorerError(f"--training {mode!r} is not valid; choices are {', '.join(TRAINING)}")
    return mode


def page(argv=None) -> pn.viewable.Viewable:
    """One visitor's page, for the operator's options in ``argv`` (the script's arguments)."""
    from .explorer import Explorer

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        limits = Limits.from_args(argv)
        mode = training_mode(argv)
    except ApexplorerError as e:  # the operator's mistake: every visitor is told, nobody trains unlimited
        log.error("the server's options are not valid: %s", e)
        return pn.pane.Alert(f"This explorer cannot start: its options are not valid ({e}). Its operator "
                             "fixes them (--limits FILE, the limits' flags, --training).", alert_type="danger")
    runner = None
    scheduler = _options(argv).scheduler or os.environ.get("APEXPLORER_SCHEDULER")
    if scheduler:
        from .worker import DaskRunner

        try:
            runner = DaskRunner(scheduler)
        except ApexplorerError as e:
            log.error("%s", e)
            return pn.pane.Alert(f"This explorer cannot start: {e}. Its operator checks --scheduler.",
                                 alert_type="danger")
    elif mode == "process":
        from .worker import ProcessRunner

        runner = ProcessRunner()
    explorer = Explorer(files=files_folder(argv), limits=limits, presenter=_options(argv).presenter, runner=runner)
    header = pn.pane.Markdown("# apexplorer · Adjoint Propagation explorer", margin=(5, 10),
                              visible=explorer.param.presenter.rx.not_())  # the presenter layout needs its room
    return pn.Column(header, explorer, sizing_mode="stretch_width")


def extension() -> None:
    # No "plotly": its 4.7 MB script loads when the 3-D PCA tab is first shown, not before the first paint.
    # "mathjax": the formula panel is typeset by the MathJax that Bokeh's server ships (offline, SVG).
    pn.extension("tabulator", "mathjax", notifications=False, sizing_mode="stretch_width")


def serve_session(argv=None) -> None:
    """What the served script does for each browser session: the page, servable."""
    from .explorer import configure_torch_threads, quiet_closed_tabs

    configure_torch_threads()
    quiet_closed_tabs()
    page(argv).servable(title=TITLE)


def panel_args(args) -> list:
    """``panel serve``'s arguments for ``apexplorer serve``'s options (``args``, parsed)."""
    out = ["serve", str(SCRIPT), "--port", str(args.port), "--num-procs", "1", "--warm"]
    if args.address:
        out += ["--address", args.address]
    for origin in args.allow_websocket_origin or []:
        out += ["--allow-websocket-origin", origin]
    if args.show:
        out.append("--show")
    if args.basic_auth:
        out += ["--basic-auth", args.basic_auth]
        if "--basic-login-template" not in (args.panel or []):  # Panel's own loads its logo from a CDN
            out += ["--basic-login-template", str(LOGIN)]
    if args.cookie_secret:
        out += ["--cookie-secret", args.cookie_secret]
    if args.limits_parsed.idle_minutes is not None:
        ms = int(args.limits_parsed.idle_minutes * 60_000)
        out += ["--unused-session-lifetime", str(ms), "--check-unused-sessions", str(min(ms, 17_000))]
    out += list(args.panel or [])
    script = args.limits_parsed.to_args()
    if args.files:
        script += ["--files", str(Path(args.files).expanduser().resolve())]
    if args.presenter:
        script.append("--presenter")
    if getattr(args, "training", "process") != "process":
        script += ["--training", args.training]
    if getattr(args, "scheduler", None):
        script += ["--scheduler", args.scheduler]
    return out + (["--args", *script] if script else [])


def serve(args) -> int:
    """Run ``panel serve`` on :data:`SCRIPT` in this process until interrupted."""
    from panel.command import main as panel_main

    argv = ["panel", *panel_args(args)]
    old = sys.argv
    sys.argv = argv
    try:
        panel_main()
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    finally:
        sys.argv = old
    return 0


__all__ = ["SCRIPT", "page", "panel_args", "serve", "serve_session"]
