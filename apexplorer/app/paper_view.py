"""The Paper gallery: pick a table or figure of the paper, see its values (and ours, when a report exists),
and load its experiment into the explorer.

The view is a thin layer over :mod:`apexplorer.paper.gallery`: the params are
the choice (result, scale, point), and Load hands the chosen point's
:class:`~apexplorer.experiment.Experiment` to ``on_load``; the explorer decides
what loading means.

Our numbers come from a report, and only from one of these: the report shipped
with apexplorer, a ``results.json`` the visitor uploads, or one named inside the
folder that the server's operator opened (``--files DIR``).  A visitor never types
or sees a server path, and a file that is not a report is refused with a message.
"""

from __future__ import annotations

import panel as pn
import param

from ..errors import ApexplorerError
from ..paper import gallery
from .files import ServerFiles
from .safe import escape, message, show
from .upload import ChunkedUpload


def _table(rows: list, columns: list) -> str:
    """A Markdown table of ``rows`` (dicts) in ``columns`` ((key, heading) pairs)."""
    if not rows:
        return ""
    head = "| " + " | ".join(h for _, h in columns) + " |\n|" + "---|" * len(columns) + "\n"
    cell = lambda v: escape(str(v).replace("\n", " "), limit=300)  # noqa: E731 - a report's text is a visitor's
    return head + "\n".join("| " + " | ".join(cell(r.get(k, "")) for k, _ in columns) + " |" for r in rows)


class PaperView(pn.viewable.Viewer):
    """The paper's results as a gallery; Load passes the chosen experiment to ``on_load(experiment)``.

    Parameters
    ----------
    on_load : callable, optional
        Called with the chosen point's Experiment when Load is pressed.
    shipped : path, optional
        The reproduction shipped with apexplorer (its folder or its ``results.json``): its numbers are
        shown beside the paper's by default.  Its path is never shown.
    files : ServerFiles, optional
        The server folder open to visitors: a report in it may be read by its name there.
    max_upload : int, optional
        The largest report a visitor may upload, in bytes.
    """

    result = param.Selector(doc="the table or figure")
    scale = param.Selector(objects=["quick", "paper"], default="quick", doc="the scale of the experiment loaded")
    point = param.Selector(objects=[], doc="which of the result's points")
    report = param.Selector(objects=["none"], default="none", doc="whose numbers are shown as ours")

    SHIPPED = "the report shipped with apexplorer"

    def __init__(self, on_load=None, shipped=None, files: ServerFiles | None = None, max_upload: int | None = None,
                 **params):
        self._entries = {e["id"]: e for e in gallery.entries()}
        self.param.result.objects = list(self._entries)
        params.setdefault("result", next(iter(self._entries)))
        self._reports = {"none": None}  # label -> report dict
        self._report = None
        self.message = message("warning")
        if shipped:
            try:
                got = gallery.read_report(shipped)
            except ApexplorerError:
                got = None
            if got is not None:
                self._reports = {self.SHIPPED: got, **self._reports}
        self.param.report.objects = list(self._reports)
        params.setdefault("report", next(iter(self._reports)))
        super().__init__(**params)
        self.on_load = on_load
        self.loaded = None  # the last Experiment handed to on_load
        self.files = files or ServerFiles()
        self.header = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.values = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.claims = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.notes = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.load_button = pn.widgets.Button(label="Load this experiment", color="primary")
        self.load_button.on_click(lambda event: self.load())
        self.select = pn.widgets.Select.from_param(
            self.param.result, label="Figure or table",
            options={f"{e['figure']}: {e['title']}": i for i, e in self._entries.items()})
        self.upload = ChunkedUpload(accept=".json", label="Upload a report (results.json)",
                                    on_start=lambda name: setattr(self.message, "visible", False),
                                    on_file=self.read_upload, on_refused=self._warn,
                                    **({"limit": max_upload} if max_upload else {}))
        self.server_name = pn.widgets.TextInput(label="Report in the server's folder", value="",
                                                placeholder="e.g. reproduction/results.json", width=260,
                                                visible=self.files.enabled)
        self.read_button = pn.widgets.Button(label="Read it", width=90, align="end", visible=self.files.enabled)
        self.read_button.on_click(lambda e: self.read_server(self.server_name.value))
        self._points()
        self._read_report()
        self._show()

    # ------------------------------------------------------------------ state
    @param.depends("result", "scale", watch=True)
    def _points(self):
        labels = gallery.point_labels(self.result, self.scale)
        self.param.point.objects = labels
        if self.point not in labels:
            self.point = labels[0]
        self._show()

    @param.depends("report", watch=True)
    def _read_report(self):
        self._report = self._reports.get(self.report)
        self._show()

    def _add_report(self, label: str, report: dict) -> None:
        self._reports[label] = report
        self.param.report.objects = list(self._reports)
        self.message.visible = False
        if self.report == label:
            self._read_report()
        else:
            self.report = label

    def read_upload(self, data: bytes, name: str) -> bool:
        """Show the numbers of an uploaded ``results.json``; a file that is not one is a message."""
        try:
            report = gallery.parse_report(data, name)
        except ApexplorerError as e:
            self._warn(str(e))
            return False
        self._add_report(f"uploaded: {name}", report)
        return True

    def read_server(self, name: str) -> bool:
        """Show the numbers of a report named inside the server's folder for files (``--files DIR``)."""
        label = name
        try:
            path = self.files.path(name, must_exist=False)
            if path.is_dir():
                path, name = path / "results.json", f"{name.rstrip('/')}/results.json"
            if not path.is_file():
                self._warn(f"there is no report {label!r} in the server's folder: give a results.json there, or the "
                           "folder that holds one")
                return False
            try:
                data = path.read_bytes()
            except OSError as e:
                raise ApexplorerError(f"cannot read {name!r}: {e.strerror or e}") from None
            report = gallery.parse_report(data, name)  # messages name the file as the visitor did
        except ApexplorerError as e:
            self._warn(str(e))
            return False
        self._add_report(f"server: {label}", report)
        return True

    def _warn(self, text: str) -> None:
        show(self.message, text)

    @param.depends("point", watch=True)
    def _show(self):
        if not hasattr(self, "header"):
            return
        e = self._entries[self.result]
        block = gallery.ours(self._report, self.result)
        source = escape(self.report.replace("uploaded: ", "the uploaded report ").replace(
            "server: ", "the report in the server's folder: "))
        where = (f"ours: the {escape(block.get('scale') or '?')} scale of {source}" if block else
                 "no report of ours loaded" if not self._report else f"{source} lacks it")
        self.header.object = f"### {e['figure']}: {e['title']}\n\n{where}"
        self.values.object = _table(self.rows(),
                                    [("what", "value"), ("paper", "paper"), ("ours", "ours"),
                                     ("comparison", "comparison"), ("source", "source")])
        self.claims.object = _table(gallery.claim_rows(self.result, self._report),
                                    [("what", "the paper says"), ("ours", "ours"), ("holds", "holds")])
        self.notes.object = e["notes"]

    def rows(self) -> list:
        """The chosen result's values: the paper's and, from the report, ours."""
        return gallery.rows(self.result, self._report)

    def caption(self) -> str:
        """The chosen result and point in words."""
        e = self._entries[self.result]
        return f"{e['figure']}: {e['title']} · {self.point} ({self.scale} scale)"

    # --------------------------------------------------------------- actions
    def experiment(self):
        """The Experiment of the chosen result, scale and point."""
        return gallery.experiment(self.result, self.scale, self.point)

    def load(self):
        """Hand the chosen experiment to ``on_load``; a failure shows the library's message."""
        try:
            exp = self.experiment()
            if self.on_load is not None:
                self.on_load(exp)
        except ApexplorerError as e:
            self._warn(str(e))
            return None
        self.loaded = exp
        return exp

    def __panel__(self):
        controls = pn.Row(self.select, pn.widgets.RadioButtonGroup.from_param(self.param.scale),
                          pn.widgets.Select.from_param(self.param.point, label="Point"), self.load_button)
        report = pn.Row(pn.widgets.Select.from_param(self.param.report, label="Our numbers from", width=300),
                        pn.Column(pn.pane.Markdown("Upload a report (results.json):", margin=(0, 10)), self.upload),
                        *((self.server_name, self.read_button) if self.files.enabled else ()))
        return pn.Column(controls, report, self.message, self.header, self.values, self.claims,
                         pn.Card(self.notes, title="Choices the paper leaves open", collapsed=True,
                                 sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")


__all__ = ["PaperView"]
