"""The Paper gallery: pick a table or figure of the paper, see its values (and ours, when a report exists),
and load its experiment into the explorer.

The view is a thin layer over :mod:`apexplorer.paper.gallery`: the params are
the choice (result, scale, point, report folder), and Load hands the chosen
point's :class:`~apexplorer.experiment.Experiment` to ``on_load``; the explorer
decides what loading means.
"""

from __future__ import annotations

import panel as pn
import param

from ..errors import ApexplorerError
from ..paper import gallery


def _table(rows: list, columns: list) -> str:
    """A Markdown table of ``rows`` (dicts) in ``columns`` ((key, heading) pairs)."""
    if not rows:
        return ""
    head = "| " + " | ".join(h for _, h in columns) + " |\n|" + "---|" * len(columns) + "\n"
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return head + "\n".join("| " + " | ".join(cell(r.get(k, "")) for k, _ in columns) + " |" for r in rows)


class PaperView(pn.viewable.Viewer):
    """The paper's results as a gallery; Load passes the chosen experiment to ``on_load(experiment)``.

    Parameters
    ----------
    on_load : callable, optional
        Called with the chosen point's Experiment when Load is pressed.
    report : str, optional
        A reproduction's folder (or its ``results.json``): its numbers are shown beside the paper's.
    """

    result = param.Selector(doc="the table or figure")
    scale = param.Selector(objects=["quick", "paper"], default="quick", doc="the scale of the experiment loaded")
    point = param.Selector(objects=[], doc="which of the result's points")
    report = param.String(default="", doc="folder of a reproduction report (apexplorer reproduce --out)")

    def __init__(self, on_load=None, **params):
        self._entries = {e["id"]: e for e in gallery.entries()}
        self.param.result.objects = list(self._entries)
        params.setdefault("result", next(iter(self._entries)))
        super().__init__(**params)
        self.on_load = on_load
        self.loaded = None  # the last Experiment handed to on_load
        self._report = None
        self.message = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")
        self.header = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.values = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.claims = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.notes = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.load_button = pn.widgets.Button(label="Load this experiment", color="primary")
        self.load_button.on_click(lambda event: self.load())
        self.select = pn.widgets.Select.from_param(
            self.param.result, label="Figure or table",
            options={f"{e['figure']}: {e['title']}": i for i, e in self._entries.items()})
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
        self._report, self.message.visible = None, False
        if self.report:
            try:
                self._report = gallery.read_report(self.report)
            except ApexplorerError as e:
                self._warn(str(e))
            else:
                if self._report is None:
                    self._warn(f"no report in {self.report!r}: run `apexplorer reproduce --out {self.report}`")
        self._show()

    def _warn(self, text: str) -> None:
        self.message.object = text
        self.message.visible = True

    @param.depends("point", watch=True)
    def _show(self):
        if not hasattr(self, "header"):
            return
        e = self._entries[self.result]
        block = gallery.ours(self._report, self.result)
        where = (f"ours: the {block['scale']} scale of the report in `{self.report}`" if block else
                 "no report of ours loaded" if not self._report else f"the report in `{self.report}` lacks it")
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
        report = pn.widgets.TextInput.from_param(self.param.report, label="Report folder",
                                                 placeholder="e.g. assets/reproduction")
        return pn.Column(controls, report, self.message, self.header, self.values, self.claims,
                         pn.Card(self.notes, title="Choices the paper leaves open", collapsed=True,
                                 sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")


__all__ = ["PaperView"]
