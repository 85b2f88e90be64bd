"""The decision over the input plane of a two-feature task, live, and what each module computes there.

The runner computes :func:`apexplorer.analysis.boundary.decision_plane` on its
worker thread a few times a second while a two-feature task trains, and sends
``("boundary", {"plane", "points", "labels", "classes", "epoch", "batch"})``.
This view paints the predicted class (colour) and its confidence (saturation:
white where the network is unsure) over the plane, with the training points
(dots) and the test points (rings) drawn over it, and beside it one small
picture per module: its first principal component over the same plane.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from bokeh.plotting import figure

from ..analysis.boundary import boundary_item
from .live import LiveView
from .plots import PALETTE, make_figure, source
from .safe import escape_html

def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def png_url(rgba: np.ndarray) -> str:
    """A ``data:`` URL of a PNG of an (R, C) uint32 RGBA picture whose row 0 is the bottom of the plane.

    Pictures go to the page as small PNGs for Bokeh's ``image_url`` (about 5 KB a frame) rather than as
    binary arrays: binary columns changed several times a second from the drain of a served page were seen
    to break the page's decoder ("Offset is outside the bounds of the DataView")."""
    import base64
    import struct
    import zlib

    px = np.ascontiguousarray(rgba[::-1]).view(np.uint8).reshape(rgba.shape[0], rgba.shape[1], 4)
    raw = b"".join(b"\x00" + row.tobytes() for row in px)  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", px.shape[1], px.shape[0], 8, 6, 0, 0, 0)  # 8-bit RGBA
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def plane_rgba(predicted: np.ndarray, confidence: np.ndarray, n_classes: int, palette=PALETTE) -> np.ndarray:
    """(R, R) uint32 RGBA for Bokeh's ``image_rgba``: each point the colour of its predicted class, faded to
    white as its confidence falls to chance (1 / n_classes)."""
    colours = np.stack([_rgb(palette[k % len(palette)]) for k in range(n_classes)])
    chance = 1.0 / max(n_classes, 2)
    s = np.clip((confidence - chance) / (1 - chance), 0, 1)[..., None]
    rgb = 255 * (1 - 0.85 * s) + colours[predicted] * 0.85 * s
    out = np.empty(predicted.shape, dtype=np.uint32)
    view = out.view(dtype=np.uint8).reshape(*predicted.shape, 4)
    view[..., :3] = np.round(rgb).astype(np.uint8)
    view[..., 3] = 255
    return out


def module_rgba(picture: np.ndarray) -> np.ndarray:
    """(R, R) uint32 RGBA of a module's picture: a diverging map, blue below 0, red above, white at 0."""
    m = float(np.abs(picture).max()) or 1.0
    v = np.clip(picture / m, -1, 1)[..., None]
    blue, red, white = np.array([33, 102, 172.0]), np.array([178, 24, 43.0]), np.full(3, 255.0)
    rgb = np.where(v >= 0, white + (red - white) * v, white + (blue - white) * -v)
    out = np.empty(picture.shape, dtype=np.uint32)
    view = out.view(dtype=np.uint8).reshape(*picture.shape, 4)
    view[..., :3] = np.round(rgb).astype(np.uint8)
    view[..., 3] = 255
    return out


class BoundaryView(LiveView):
    """The decision boundary over the input plane, and each module's picture, redrawn as AP trains."""

    height = param.Integer(380)

    def __init__(self, **params):
        super().__init__(**params)
        self.latest = None
        self.frames = 0  # frames drawn since the run began (the speed script counts them)
        self._points_drawn = None  # the data points drawn (redrawing the same ones broke the legend on the page)
        self.image = source(url=[], x=[], y=[], dw=[], dh=[])
        self.image.name = "boundary-image"
        self.train_pts = source(x=[], y=[], color=[], label=[])
        self.test_pts = source(x=[], y=[], color=[], label=[])
        f = make_figure("Decision over the input plane (colour: class; pale: unsure)", "feature 1", "feature 2",
                        self.height, match_aspect=True)
        f.image_url("url", "x", "y", "dw", "dh", source=self.image, anchor="bottom_left")
        # the classes are named beside the figure (a legend_field legend broke on the page when its data came)
        f.scatter("x", "y", source=self.train_pts, color="color", line_color="white", size=5)
        f.scatter("x", "y", source=self.test_pts, fill_color=None, line_color="color", size=6, line_width=1.5)
        self.figure = f
        self.modules_row = pn.Row(sizing_mode="stretch_width")
        self.classes = pn.pane.HTML("", margin=(0, 10))
        self._module_src: dict = {}
        self.message = pn.pane.Markdown("Train a task with two input features (moons, xor, circles, spirals, blobs, "
                                        "or your own two-column file) to see its decision boundary here.",
                                        margin=(0, 10))
        self.caption = pn.pane.Markdown(
            "Dots: training points; rings: test points. Below: each module's first principal component over the "
            "same plane (red above 0, blue below), with the share of its state's variance it carries.",
            margin=(0, 10))
        self._layout = pn.Column(self.message, self.classes, pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"),
                                 self.modules_row, self.caption, sizing_mode="stretch_width")

    def draw(self, net, dataset, epoch: int = 0, batch: int = 0, **options) -> None:
        """Compute the decision plane of ``net`` over ``dataset`` and draw it now (a notebook's own loop)."""
        self.consume([("boundary", boundary_item(net, dataset, epoch, batch, points=self.frames == 0, **options))])

    def on_reset(self, info):
        self.latest = None
        self.frames = 0
        self._points_drawn = None

    def on_boundary(self, item):
        self.latest = item  # a frame without points keeps the points drawn (flush redraws new points only)

    def flush(self):
        item = self.latest
        if item is None:  # a new network: nothing of the last one stays drawn
            for src in (self.image, self.train_pts, self.test_pts):
                src.data = {k: [] for k in src.data}
            self.figure.title.text = "Decision over the input plane (colour: class; pale: unsure)"
            self.modules_row.objects, self._module_src = [], {}  # Panel changes last (see _draw_modules)
            self.classes.object = ""
            self.message.visible = True
            return
        plane = item["plane"]
        x0, y0, x1, y1 = plane.extent
        k = plane.probs.shape[-1]
        self.image.data = dict(url=[png_url(plane_rgba(plane.predicted, plane.confidence, k))], x=[x0], y=[y0],
                               dw=[x1 - x0], dh=[y1 - y0])
        names = None
        if item.get("points") is not None and item["points"] is not self._points_drawn:  # once per network
            self._points_drawn = item["points"]
            names = self._class_names(item["classes"])
            classes = item["classes"]
            for src, (pts, labels) in ((self.train_pts, item["points"]), (self.test_pts, item["test_points"])):
                src.data = dict(x=pts[:, 0].tolist(), y=pts[:, 1].tolist(),
                                color=[PALETTE[int(c) % len(PALETTE)] for c in labels],
                                label=[str(classes[int(c)]) for c in labels])
        figs = self._draw_modules(plane)
        self.figure.title.text = (f"Decision over the input plane, epoch {item.get('epoch', 0)} batch "
                                  f"{item.get('batch', 0)} (colour: class; pale: unsure)")
        self.frames += 1
        # Panel changes last (see _draw_modules)
        if figs is not None:
            self.modules_row.objects = [pn.pane.Bokeh(f) for f in figs]
        if names is not None:
            self.classes.object = names
        self.message.visible = False

    @staticmethod
    def _class_names(classes) -> str:
        """The classes in their colours (a visitor's file names them: escaped)."""
        return "Classes: " + " ".join(
            f'<span style="color:{PALETTE[i % len(PALETTE)]}">&#9679;</span>&nbsp;{escape_html(c, 40)}&emsp;'
            for i, c in enumerate(classes))

    def _draw_modules(self, plane):
        """Each module's picture; returns the new row of figures when the modules changed (else None).

        The row (a Panel change) is set by the caller after every raw Bokeh edit of the frame: edits made
        after a Panel change in the same callback were seen lost on the page."""
        x0, y0, x1, y1 = plane.extent
        figs = None
        if set(self._module_src) != set(plane.modules):
            self._module_src, figs = {}, []
            for m in plane.modules:
                src = source(url=[], x=[], y=[], dw=[], dh=[])
                f = figure(title=m, height=190, width=190, tools="", toolbar_location=None, match_aspect=True)
                f.title.text_font_size = "12px"
                f.image_url("url", "x", "y", "dw", "dh", source=src, anchor="bottom_left")
                f.axis.visible = False
                self._module_src[m] = (src, f)
                figs.append(f)
        for m, picture in plane.modules.items():
            src, f = self._module_src[m]
            src.data = dict(url=[png_url(module_rgba(picture))], x=[x0], y=[y0], dw=[x1 - x0], dh=[y1 - y0])
            f.title.text = f"{m}: PC1 ({100 * plane.explained.get(m, 0):.0f} % of variance)"
        return figs

    def __panel__(self):
        return self._layout
