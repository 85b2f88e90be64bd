"""The whole explorer: controls on the left, the network and the live views on the right.

``Explorer()`` is one session: its own :class:`ExplorerState` (one
:class:`~apexplorer.experiment.Experiment`, the network built from it, a
:class:`Runner` with one worker thread) and its own views.  A periodic callback
on the event loop drains the runner's bounded buffer (about 7 Hz) and hands the
items to every view inside ``pn.io.hold()``; the worker thread never touches a
Bokeh model.  When the browser session ends, the worker thread is stopped.

Served, the page's URL carries the experiment (``?preset=digits&ap.spectral_radius=0.5``,
or ``?x=`` the zipped JSON): a copied link opens the same run in a fresh session.
In a notebook, ``Explorer(experiment=exp)`` opens an experiment.
"""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

import panel as pn
import param

from ..errors import ApexplorerError
from ..experiment import Experiment
from ..share import check_query
from ..baseline_runs import BASELINE_NAMES
from ..trainer import Trainer
from .boundary_view import BoundaryView
from .bridge import HELP, PageBridge
from .files import ServerFiles
from .limits import Limits, server_slots
from .curves import CurvesView
from .live import ErrorView
from .graph_edit import GraphEditor
from .network_view import NetworkEditor, layers_wiring
from .player import ErrorFlowPlayer
from .plots import edits_models, held_by_bokeh
from .run_view import RunControls
from .safe import escape, message
from .upload import upload_limit
from .session import ExplorerState
from .settings_view import SettingsView
from .tasks_view import TasksView
from .trajectory import PCAView, TrajectoryView

log = logging.getLogger(__name__)

INTRO = (
    "**Adjoint Propagation** trains only the *feedforward* paths between fixed random recurrent modules. "
    "Phase 0 relaxes every module under its input; in phase 1 the output error enters through fixed *feedback* "
    "paths and the modules relax again. Each module's local error is e = z⁰ − z¹ and each path learns "
    "ΔA = aᵀe, with no backpropagation."
)


GRAPH_TITLE = "### Network (task shown on the Tasks tab; hover a path or a block for details)"
#: The heading of the graph when a baseline trains (its layers, not AP's modules).
GRAPH_TITLE_LAYERS = ("### Network: {name} trains a layered network (input, hidden layers, output); "
                      "the AP settings and wiring do not apply to it")

#: The Tasks tab's place among the setup tabs (Network, Tasks, Settings) on the left.
TASKS_TAB = 1

#: The view tabs' headers in the presenter layout (the larger font would push the last ones off a 1280 screen).
PRESENTER_TABS = ".bk-tab { padding: 4px 6px; font-size: 0.85em; }"


#: The reproduction report shown beside the paper's values by default (the repository's own).
REPORT = Path(__file__).resolve().parents[2] / "assets" / "reproduction"


def _extra_tabs() -> list:
    """Tabs from other parts of the project, where installed (alignment, sweeps, the paper)."""
    tabs = []
    try:
        from .alignment_view import AlignmentView, alignment_available

        if alignment_available():
            tabs.append(("AP vs BP alignment", AlignmentView))
    except ImportError:
        pass
    try:
        from .sweeps import SweepsView  # written by the sweeps work; optional
    except Exception:  # noqa: BLE001 - a broken optional tab must not break the explorer
        SweepsView = None
    if SweepsView is not None:
        tabs.append(("Sweeps", SweepsView))
    try:
        from .paper_view import PaperView
    except Exception:  # noqa: BLE001 - the paper's results are optional too
        PaperView = None
    if PaperView is not None:
        tabs.append(("Paper", PaperView))
    return tabs


def extra_views(explorer, live: bool) -> list:
    """[(title, view)] of the optional tabs that could be built for ``explorer`` (one that fails is left out,
    the explorer stays up)."""
    out = []
    for title, cls in _extra_tabs():
        try:
            if title == "Sweeps":
                view = cls(files=explorer.files, experiment=lambda: explorer.state.experiment, live=live)
            elif title == "Paper":
                view = cls(on_load=explorer.load_paper, shipped=REPORT if REPORT.is_dir() else None,
                           files=explorer.files, max_upload=explorer.max_upload)
            else:
                view = cls()
            out.append((title, view))
        except Exception:  # noqa: BLE001 - an optional tab that fails is left out
            log.exception("the %s tab could not be built", title)
    return out


def serving() -> bool:
    """Whether this explorer is made for a served browser session (not a notebook's or a test's).

    Not ``pn.state.served``: that reads its caller's module name (``bokeh_app_...`` only in the served
    script itself), so it is False in every module the script imports, this one included."""
    doc = pn.state.curdoc
    return doc is not None and getattr(doc, "session_context", None) is not None


def link_presenter() -> bool:
    """Whether the page's URL asks for the presenter layout (``?presenter=1``)."""
    args = getattr(pn.state, "session_args", None) or {}
    v = args.get("presenter", [b""])
    v = v[0] if isinstance(v, (list, tuple)) and v else v
    return (v.decode() if isinstance(v, bytes) else str(v)).lower() in ("1", "true", "yes", "on")


def open_link(state: ExplorerState, args: dict):
    """Open the experiment of a link's query ``args`` in ``state``; returns what the page must tell
    (a heading and ``[(part, why)]``), or None when the link opened as it is."""
    exp, refused = check_query(Experiment, dict(args))
    if exp is None:
        return ("This link could not be opened as it is, so the page shows the default network instead. Refused:",
                refused)
    _, notes = state.fit_machine(exp)
    if not state.set_experiment(exp, "opened the experiment of the link", lasting=True):
        told = ("This link's experiment cannot be built here, so the page shows the default network instead:",
                [("", state.message)])
        state.message = ""
        return told
    if notes:
        return "This link was opened with a change this server needs:", [("", n) for n in notes]
    return None


def keys_popover() -> pn.pane.Markdown:
    """The keyboard shortcuts' help, hidden: a popover floating over the Run panel (taking no room)."""
    return pn.pane.Markdown(HELP, visible=False, css_classes=["ap-keys"], margin=0, width=330,
                            styles={"position": "absolute", "top": "2.6em", "right": "10px", "z-index": "1000",
                                    "background": "#fffef5", "border": "1px solid #bbb", "border-radius": "6px",
                                    "box-shadow": "0 4px 14px rgba(0,0,0,0.25)", "padding": "0 12px"})


def show_layers(graph, exp: Experiment, dataset) -> None:
    """Draw on ``graph`` the layered network that ``exp``'s baseline method trains, sized for its first task's
    data (``dataset(name)`` reads it); a dataset that cannot be read is said on the graph."""
    try:
        d = dataset(next(iter(exp.tasks.values())).dataset)
        graph.show(layers_wiring(exp.method.name, d.n_features, exp.method.hidden, d.n_classes))
    except ApexplorerError as e:
        graph.show(None, problem=str(e))


def follow_tasks_tab(tasks, tabs) -> None:
    """The Tasks panel ``tasks`` follows the edits only while its tab of the setup ``tabs`` is shown (an edit on
    the graph sends its hidden cards nothing; shown, they are brought up to date)."""
    tasks.shown = tabs.visible and tabs.active == TASKS_TAB


def feed(views: list, items: list, shown) -> None:
    """Hand the drained ``items`` to every live view (only the ``shown`` one draws); one that fails is logged
    and does not stop the others."""
    for v in views:
        try:
            v.consume(items, draw=v is shown)
        except Exception:  # noqa: BLE001 - one broken view must not stop the others
            log.exception("updating %s failed", type(v).__name__)


def redraw(view) -> None:
    """Redraw ``view`` (a tab just shown) from the data it kept while hidden; one that fails is logged."""
    if view is not None and hasattr(view, "refresh"):
        try:
            view.refresh()
        except Exception:  # noqa: BLE001 - a view that fails to draw must not break the page
            log.exception("redrawing %s failed", type(view).__name__)


class Explorer(pn.viewable.Viewer):
    """The explorer app: ``Explorer()`` in a notebook cell, or served by ``apps/explorer.py``.

    Parameters
    ----------
    dataset : str
        Dataset of the default network (``digits``: embedded, trains in seconds).
    preset : str, optional
        Preset wiring (default: the dataset's).
    experiment : Experiment, optional
        Open this experiment (instead of ``dataset`` and ``preset``).
    trainer : Trainer, optional
        Follow an existing trainer instead of building one.
    files : str or ServerFiles, optional
        The server folder whose files visitors may name (sessions, sweep tables, reports);
        default none: sessions and tables move only by upload and download.
    local_files : bool, optional
        Whether an experiment may name a ``.csv`` / ``.npz`` on this machine as a dataset (a notebook's own
        files); default: only when not served.  A served page's visitors bring their data by upload.
    max_upload : int, optional
        The largest file a visitor may upload, in bytes (default :func:`~apexplorer.app.upload.upload_limit`:
        ``$APEXPLORER_MAX_UPLOAD_MB`` or 512 MB).
    live : bool
        Start the periodic drain (tests pass False and call :meth:`tick`).
    period : int
        Milliseconds between two drains.
    presenter : bool
        Start in the presenter layout (also ``?presenter=1`` in the page's URL).
    limits : Limits, optional
        The operator's limits of a served page (:class:`~apexplorer.app.limits.Limits`): the largest network,
        seeds and epochs, and the most trainings at once (served, the others wait in the server's line).
        Default none: a notebook's owner sets no limits for herself.
    runner : Runner or ProcessRunner, optional
        What trains the session's networks: default a :class:`Runner` (a thread of this process); a served
        page gets a :class:`~apexplorer.app.worker.ProcessRunner` (a worker process of its own).
    """

    period = param.Integer(150, bounds=(50, 1000))
    presenter = param.Boolean(False, label="Presenter", doc=(
        "A layout for a projector: a larger font, no introduction, only the run's essentials on the left, "
        "and the network with the curves above the fold at 1280×720."))

    def __init__(self, dataset: str = "digits", preset: str | None = None, trainer: Trainer | None = None,
                 live: bool = True, files: str | ServerFiles | None = None, experiment: Experiment | None = None,
                 max_upload: int | None = None, local_files: bool | None = None, limits: Limits | None = None,
                 runner=None, **params):
        super().__init__(**params)
        self.files = files if isinstance(files, ServerFiles) else ServerFiles(files)
        self.max_upload = max_upload or (limits.upload_bytes if limits is not None else upload_limit())
        local_files = not serving() if local_files is None else local_files
        slots = server_slots(limits.trainings) if limits is not None and serving() else None
        self.state = st = ExplorerState(dataset, preset, experiment=experiment, local_files=local_files,
                                        limits=limits, slots=slots, runner=runner)
        # what the page's link asked for and did not get (shown at the top until the page is left)
        self.link_note = message("warning", margin=(0, 10), css_classes=["ap-link-note"])
        if experiment is None and trainer is None:
            self._open_link()
        self.bridge = PageBridge(on_key=self.key, on_exported=self._exported)
        # a popover: it floats over the Run panel (taking no room) until ?, Esc or the Keys button hides it
        self.keys_help = keys_popover()
        self.keys_button = pn.widgets.Button(label="⌨ Keys", width=95, variant="outline",
                                             description="Keyboard shortcuts")
        self.keys_button.on_click(lambda e: self.key("help"))
        self.presenter_toggle = pn.widgets.Toggle.from_param(self.param.presenter, width=120)
        self.export_button = pn.widgets.Button(label="⤓ Figures", width=100, variant="outline",
                                               description="Download every figure on the page now (the network and "
                                                           "the open tab's plots) as PNG and SVG, in one zip")
        self.export_button.on_click(lambda e: self.export_figures())
        self.run = RunControls(st, self.files, max_upload=self.max_upload)
        self.settings = SettingsView(st)
        self.editor = NetworkEditor(st.wiring, load_preset=st.load_preset)
        self.tasks = TasksView(st, max_upload=self.max_upload)
        self.wire = GraphEditor(st)
        self.graph = self.wire.graph
        self._graph_title = pn.pane.Markdown(GRAPH_TITLE, margin=(0, 10))
        self.curves = CurvesView()
        self.errors = ErrorView()
        self.trajectory = TrajectoryView()
        self.pca = PCAView()
        self.player = ErrorFlowPlayer(legend_rows=2)  # narrow: beside the formulas
        self.player.use_runner(st.runner)
        self.boundary = BoundaryView()
        self.paper_note = pn.pane.Markdown("", visible=False, sizing_mode="stretch_width", margin=(0, 10))
        self.extra = extra_views(self, live)
        self.paper = dict(self.extra).get("Paper")
        self.views = [self.curves, self.errors, self.trajectory, self.pca, self.player, self.boundary] + \
            [v for _, v in self.extra if hasattr(v, "consume")]
        tabs = [("Curves", self.curves), ("Trajectories", self.trajectory), ("PCA 3-D", self.pca),
                ("Errors", self.errors), ("Error flow", self.player), ("Boundary", self.boundary), *self.extra]
        self._tab_views = [v for _, v in tabs]
        # dynamic: a tab's models reach the page when it is first shown, not in the first paint
        self.tabs = pn.Tabs(*tabs, dynamic=True, sizing_mode="stretch_width")
        self.tabs.param.watch(self._on_tab, "active")
        st.model.param.watch(self._on_task, "task")
        st.model.param.watch(self._share, "pending")
        st.model.param.watch(self._on_experiment, "experiment")
        self._on_experiment()
        self.presenter = self.presenter or link_presenter()
        self.bridge.presenter = self.presenter
        self._callback = None
        if trainer is not None:
            self.attach(trainer)
        else:
            st.reset()
        if live:
            self.start()

    # ---------------------------------------------------------- experiment
    def attach(self, trainer: Trainer) -> None:
        """Follow an existing trainer (its experiment and weights)."""
        self.state.attach(trainer)

    def _open_link(self) -> None:
        """Open the experiment of the page's URL query (read once, when the session starts); what the link
        asked for and did not get is said at the top of the page."""
        args = {k: v for k, v in (getattr(pn.state, "session_args", None) or {}).items() if k != "presenter"}
        told = open_link(self.state, args) if args else None
        if told is not None:
            self._tell_link(*told)

    def _tell_link(self, head: str, parts: list) -> None:
        lines = [f"- **{escape(part)}**: {escape(why)}" if part else f"- {escape(why)}" for part, why in parts]
        self.link_note.object = f"{head}\n\n" + "\n".join(lines)
        self.link_note.visible = True

    def load_paper(self, exp: Experiment) -> None:
        """The Paper tab's Load: its experiment replaces the page's (asking first if a network has trained)."""
        if self.state.set_experiment(exp, f"loaded the paper's experiment {exp.name}".strip(), lasting=True):
            self._show_paper(exp)

    def _show_paper(self, exp: Experiment) -> None:
        """The paper's values (and ours, from the report) beside the live run."""
        p = self.paper
        if p is None:
            return
        from .paper_view import _table

        text = _table(p.rows(), [("what", "value"), ("paper", "paper"), ("ours", "ours")])
        self._paper_name = exp.name
        self.paper_note.object = f"**{p.caption()}**\n\n{text}"
        self.paper_note.visible = True

    def _on_experiment(self, *events):
        exp = self.state.experiment
        if exp.method.name != getattr(self, "_drawn_method", "ap") or exp.method.name != "ap":
            self._redraw_graph()
        if exp.wiring.preset is not None and exp.wiring.preset in self.editor.preset.options:
            self.editor.preset.value = exp.wiring.preset
        self._share()
        if self.paper_note.visible and exp.name != getattr(self, "_paper_name", None):
            self.paper_note.visible = False

    def _share(self, *events) -> None:
        """The URL carries the experiment (a change waiting for "Reset and apply" once it is applied)."""
        exp = self.state.model.shared
        self.bridge.query = urllib.parse.urlencode({**exp.to_query(), **({"presenter": 1} if self.presenter else {})})

    def export_figures(self) -> None:
        """Have the page download its figures (PNG and SVG) in one zip (:meth:`PageBridge.export_figures`)."""
        self.state.notices.note("exporting the figures shown…")
        self.bridge.export_figures("apexplorer-figures.zip")

    def _exported(self, n: int, error: str = "") -> None:
        if n < 0:
            self.state.message = f"the figures could not be exported: {error}"
        elif n == 0:
            self.state.notices.note("no figure is shown to export")
        else:
            self.state.notices.note(f"downloaded apexplorer-figures.zip: {n // 2} figures as PNG and SVG")
        self.run.refresh()

    @edits_models
    def key(self, name: str) -> None:
        """A keyboard shortcut: ``toggle`` (Train / Pause), ``step``, ``reset``, ``presenter``, ``help``,
        ``close`` (the help, else a half-made path), ``delete``, ``undo``, ``redo`` or ``graph-*`` (the
        keyboard on the network graph: :meth:`GraphEditor.key`)."""
        st = self.state
        if name == "toggle":
            st.pause() if st.runner.state == "running" or st.waiting else st.train()
        elif name == "step":
            if st.runner.state != "running":
                st.step()
        elif name == "reset":
            st.reset()
        elif name == "help":
            self.keys_help.visible = not self.keys_help.visible
        elif name == "close":
            if not self.keys_help.visible:
                self.wire.escape()
            self.keys_help.visible = False
        elif name == "delete":
            self.wire.delete()
        elif name == "undo":
            self.wire.undo()
        elif name == "redo":
            self.wire.redo()
        elif name.startswith("graph-"):
            self.wire.key(name[6:])
            self.bridge.param.update(graph_at=-1 if self.wire.cursor is None else self.wire.cursor,
                                     graph_n=len(self.wire.refs()))
        elif name == "presenter":
            self.presenter = not self.presenter
        self.run.refresh()

    # -------------------------------------------------------------- wiring

    def _redraw_graph(self, *events):
        exp = self.state.experiment
        self._drawn_method = exp.method.name
        if exp.method.name != "ap":  # a baseline trains: its layers are drawn, not the AP wiring it ignores
            self._graph_title.object = GRAPH_TITLE_LAYERS.format(name=BASELINE_NAMES.get(exp.method.name,
                                                                                          exp.method.name))
            show_layers(self.graph, exp, self.state.model.dataset)
            return
        self._graph_title.object = GRAPH_TITLE
        self.wire.draw()

    def _on_task(self, event):
        r = self.state.runner
        r.trace_task = event.new
        r.request_trace()

    # --------------------------------------------------------------- drain
    def tick(self) -> int:
        """Drain the runner into the status line and the views; returns the number of items."""
        items = self.state.runner.drain()
        shown = self.shown()
        with held_by_bokeh(pn.state.curdoc):  # the periodic callback holds the document lock
            self.state.observe(items)
            feed(self.views, items, shown)
            self.run.refresh()
        return len(items)

    def shown(self):
        """The live view on the visible tab (hidden views keep their data and redraw when shown)."""
        i = self.tabs.active
        return self._tab_views[i] if 0 <= i < len(self._tab_views) else None

    def _on_tab(self, event):
        redraw(self.shown())

    def start(self) -> None:
        """Start draining periodically, and stop the worker when the browser session ends."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=self.period)
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(self._destroyed)

    def _destroyed(self, session_context):
        self.close()

    def close(self) -> None:
        """Stop the periodic drain and the worker thread."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.state.close()

    # -------------------------------------------------------------- layout
    def __panel__(self):
        self._setup_tabs = pn.Tabs(
            ("Network", self.editor), ("Tasks", self.tasks), ("Settings", self.settings),
            # not dynamic: these are light, and Panel gives a panel re-rendered in a hidden tab
            # stylesheets from its CDN (unreachable offline)
            dynamic=False, sizing_mode="stretch_width")
        self._setup_tabs.param.watch(lambda *e: follow_tasks_tab(self.tasks, self._setup_tabs), ["active", "visible"])
        self._left = pn.Column(
            pn.Row(pn.pane.Markdown("## Run", margin=(0, 10)), pn.layout.HSpacer(), self.export_button,
                   self.presenter_toggle, self.keys_button),
            self.keys_help,
            self.run,
            self.settings.confirm,
            self._setup_tabs,
            width=440, margin=(0, 10), styles={"position": "relative"},  # the keys popover floats in here
        )
        self._intro = pn.pane.Markdown(INTRO, sizing_mode="stretch_width", margin=(0, 10))
        main = pn.Column(self.link_note, self._intro, self._graph_title, self.wire, self.paper_note, self.tabs,
                         sizing_mode="stretch_width")
        self._show_presenter()
        follow_tasks_tab(self.tasks, self._setup_tabs)
        return pn.Row(self._left, main, self.bridge, sizing_mode="stretch_width")

    @param.depends("presenter", watch=True)
    def _show_presenter(self):
        """The presenter layout: a larger font; the intro, the graph's heading and the setup tabs hidden, so the
        left column holds only the Run panel (its buttons wide enough for the font)."""
        on = self.presenter
        self.bridge.presenter = on
        self._on_experiment()  # the URL says ?presenter=1 while it is on
        if not hasattr(self, "_left"):
            return
        self._intro.visible = not on
        self._graph_title.visible = not on
        self.wire.hint.visible = not on  # the graph's hint line: room for the curves above the fold
        self._setup_tabs.visible = not on
        self._left.width = 480 if on else 440
        self.curves.stacked = not on  # side by side: the network and both curves above the fold at 1280x720
        self.run.presenter(on)
        # every view's tab title stays on the screen at 1280 wide: tighter tabs
        self.tabs.stylesheets = [PRESENTER_TABS] if on else []


def quiet_closed_tabs() -> None:
    """Log a write to a tab that has just closed as a warning, as Bokeh does, not as a traceback.

    Panel writes some changes straight to a session's websocket.  When the tab closes
    meanwhile, that write's task fails with WebSocketClosedError, and once the session
    is destroyed nobody retrieves it (Panel cancels a destroyed document's pending
    writes, not its finished ones), so asyncio logs "Task exception was never
    retrieved" with a traceback.  Call once per server; any other error is left to
    the loop's own handler.
    """
    import asyncio

    from tornado.websocket import WebSocketClosedError

    loop = asyncio.get_event_loop()
    if getattr(loop, "_apexplorer_quiet", False):
        return
    previous = loop.get_exception_handler()

    def handler(loop, context):
        if isinstance(context.get("exception"), WebSocketClosedError):
            log.warning("a tab closed while the server was writing to it")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    loop._apexplorer_quiet = True
    logging.getLogger("bokeh.server.protocol_handler").addFilter(_ChangeOfAnEndedSession())


class _ChangeOfAnEndedSession(logging.Filter):
    """A change that a closing tab sent after its session ended (a plot's range, autoscaled as it closed) is dropped
    by Bokeh, which logs an AssertionError's traceback for it (``ServerConnection.session`` is gone): log one
    warning line instead.  Nothing is lost: the session it was meant for no longer exists.  Other errors stay."""

    def filter(self, record) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        tb = exc.__traceback__ if isinstance(exc, AssertionError) else None
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code if tb is not None else None
        if code is not None and code.co_name == "session" \
                and Path(code.co_filename).parts[-3:] == ("bokeh", "server", "connection.py"):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a change from a tab whose session had ended was dropped", (), None, None)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_torch_threads(n: int | None = None) -> int:
    """Give torch ``n`` CPU threads (default ``$APEXPLORER_THREADS``, else half the cores, 1 to 4).

    Every session's worker thread trains on its own; OpenMP threads that
    spin against the web server and each other make small networks many
    times slower on a busy 2-core machine (seconds instead of milliseconds
    for one ``eigvals`` of a 256 x 256 matrix), so the served app uses few.
    """
    import os

    import torch

    if n is None:
        env = os.environ.get("APEXPLORER_THREADS", "")
        n = int(env) if env.isdigit() and int(env) > 0 else max(1, min(4, (os.cpu_count() or 2) // 2))
    torch.set_num_threads(n)
    return n


def explorer(**kwargs) -> Explorer:
    """A one-line factory: the whole explorer."""
    return Explorer(**kwargs)
