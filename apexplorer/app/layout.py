"""Where to draw a wiring: pure functions from a :class:`Wiring` to boxes and curves.

Columns follow the feedforward depth (inputs left, outputs right); a module
with a layout hint (:attr:`Wiring.layout`, a drag on the graph) sits where the hint says.  Every
module is a box cut into its blocks (one row each); modules that no
feedforward path touches sit side by side in a row below the others, not in
a column of their own.  A path is a chain of Bezier curves from its source's
side to its target block.  Where it passes a column between its ends it goes
through a free lane of that column (a gap between boxes, or above or below
them), so no path runs through a box.  Feedforward curves bow upwards and
feedback curves downwards, so the two directions never lie on top of each
other.  :func:`height_px` gives the figure the height its rows need, so
labels never squash.  Nothing here draws: the network view turns these rows
into Bokeh glyphs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..wiring import Wiring

COLUMN = 3.2  # distance between columns
BOX_W = 1.5  # module box width
ROW_H = 0.6  # height of one block row
PORT_H = 0.9
GAP = 0.9  # vertical gap between boxes in a column
TITLE_H = 0.5  # room above a box for its title (a module's name, "input", "output")
LANE = 0.15  # a path keeps this far from a box it passes
PX_PER_UNIT = 36  # the figure's vertical scale: a block row is 22 px, its 11 px label fits
MIN_PX, MAX_PX = 230, 760  # the figure's height, whatever the wiring

ROLE_COLORS = {"RI": "#9ecae1", "SI": "#3182bd", "RE": "#fcbba1", "SE": "#de2d26"}
PORT_COLORS = {"input": "#74c476", "output": "#fd8d3c"}


def role_color(block: str) -> str:
    """Colour of a block by its role prefix (RI, SI, RE, SE); other names are grey."""
    for role, c in ROLE_COLORS.items():
        if block.upper().startswith(role):
            return c
    return "#bdbdbd"


@dataclass(frozen=True)
class Box:
    """A drawn rectangle: a module's block, or a port."""

    node: str
    block: str | None
    kind: str  # input, output or block
    x0: float
    y0: float
    x1: float
    y1: float
    size: int

    @property
    def ref(self) -> str:
        return self.node if self.block is None else f"{self.node}.{self.block}"

    @property
    def label(self) -> str:
        return f"{self.node} ({self.size})" if self.block is None else f"{self.block} {self.size}"


@dataclass(frozen=True)
class Edge:
    """A drawn path: its curve points and the end's direction (for the arrow head)."""

    name: str
    kind: str  # feedforward or feedback
    xs: tuple
    ys: tuple
    angle: float  # direction at the target, radians


def columns(wiring: Wiring) -> dict:
    """Column of every port and module: longest feedforward distance from an input."""
    ep = wiring.endpoint
    edges = [(ep(p.source).node, ep(p.target).node) for p in wiring.feedforward]
    col = {p.name: 0 for p in wiring.inputs}
    mods = list(wiring.module_names)
    for m in mods:
        col.setdefault(m, 1)
    # relax longest paths; the feedforward graph is acyclic (validated), so |modules| passes suffice
    for _ in range(len(mods) + 1):
        for a, b in edges:
            if b in col and a in col and b in mods and col[b] < col[a] + 1:
                col[b] = col[a] + 1
    last = max([col[m] for m in mods], default=0)
    for p in wiring.outputs:
        col[p.name] = last + 1
    return col


def unconnected(wiring: Wiring) -> list:
    """Modules that no feedforward path touches (drawn in a row below the others)."""
    ep = wiring.endpoint
    touched = {ep(p.source).node for p in wiring.feedforward} | {ep(p.target).node for p in wiring.feedforward}
    return [m for m in wiring.module_names if m not in touched]


def boxes(wiring: Wiring) -> list:
    """Every block and port as a :class:`Box`: columns left to right, stacked and centred;
    unconnected modules in a row below, one per column from the first module column."""
    col = columns(wiring)
    loose = unconnected(wiring)
    stacks: dict = {}
    order = [p.name for p in wiring.inputs] + [m for m in wiring.module_names if m not in loose] + \
        [p.name for p in wiring.outputs]
    for n in order:
        stacks.setdefault(col[n], []).append(n)
    mods = {m.name: m for m in wiring.modules}
    ports = {p.name: ("input", p.size) for p in wiring.inputs}
    ports.update({p.name: ("output", p.size) for p in wiring.outputs})
    height = {n: len(mods[n].blocks) * ROW_H if n in mods else PORT_H for n in order + loose}
    out = []

    def put(n, x, top):
        if n in mods:
            y = top
            for b, s in mods[n].blocks:
                out.append(Box(n, b, "block", x - BOX_W / 2, y - ROW_H, x + BOX_W / 2, y, s))
                y -= ROW_H
        else:
            kind, size = ports[n]
            out.append(Box(n, None, kind, x - BOX_W / 2, top - height[n], x + BOX_W / 2, top, size))

    hinted = {m: (x, y) for m, x, y in getattr(wiring, "layout", ()) if m in mods}
    bottom = 0.0
    for c, names in stacks.items():
        names = [n for n in names if n not in hinted]
        total = sum(height[n] for n in names) + GAP * (len(names) - 1)
        top = total / 2
        for n in names:
            put(n, c * COLUMN, top)
            top -= height[n] + GAP
        bottom = min(bottom, top + GAP)
    loose = [n for n in loose if n not in hinted]
    if loose:  # a row of their own: the drawing grows sideways, where the page has room
        top = bottom - GAP - TITLE_H
        first = 1 if wiring.inputs else 0
        for i, n in enumerate(loose):
            put(n, (first + i) * COLUMN, top)
    for n, (x, top) in hinted.items():  # where the user put them (a drag on the graph)
        put(n, x, top)
    return out


def module_frames(wiring: Wiring, bxs: list | None = None) -> dict:
    """Outline of each module: name -> (x0, y0, x1, y1)."""
    bxs = boxes(wiring) if bxs is None else bxs
    out = {}
    for b in bxs:
        if b.kind != "block":
            continue
        x0, y0, x1, y1 = out.get(b.node, (b.x0, b.y0, b.x1, b.y1))
        out[b.node] = (min(x0, b.x0), min(y0, b.y0), max(x1, b.x1), max(y1, b.y1))
    return out


def _bezier(p0, p1, p2, p3, n=24):
    t = np.linspace(0, 1, n)[:, None]
    pts = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    return pts[:, 0], pts[:, 1]


def obstacles(wiring: Wiring, bxs: list) -> dict:
    """x of each column -> the (y0, y1) spans a path must not cross there: every module (with its
    title above it) and every port."""
    spans: dict = {}
    frames = module_frames(wiring, bxs)
    for x0, y0, x1, y1 in list(frames.values()) + [(b.x0, b.y0, b.x1, b.y1) for b in bxs if b.kind != "block"]:
        spans.setdefault(round((x0 + x1) / 2, 6), []).append((y0, y1 + TITLE_H))
    return {x: sorted(v) for x, v in spans.items()}


def lane(spans: list, want: float) -> float:
    """The y nearest ``want`` at which a path passes a column with boxes over ``spans``."""
    free, below = [], -math.inf
    for y0, y1 in spans:
        if y0 - LANE > below + LANE:
            free.append((below + LANE, y0 - LANE))
        below = max(below, y1)
    free.append((below + LANE, math.inf))
    return min((min(max(want, lo), hi) for lo, hi in free if lo <= hi), key=lambda y: abs(y - want))


def _route(start, end, rightwards: bool, columns_between: list, bow: float) -> tuple:
    """Points from ``start`` to ``end`` through a lane of every column in between (x, spans)."""
    sgn = 1 if rightwards else -1
    anchors = [np.array(start, float)]
    (sx, sy), (ex, ey) = start, end
    for x, spans in columns_between:
        want = sy + (ey - sy) * (x - sx) / (ex - sx)
        y = lane(spans, want + (0.12 if bow > 0 else -0.12))
        anchors += [np.array([x - sgn * (BOX_W / 2 + LANE), y]), np.array([x + sgn * (BOX_W / 2 + LANE), y])]
    anchors.append(np.array(end, float))
    xs, ys = [], []
    for i in range(0, len(anchors), 2):  # a curve between columns, then a straight lane through one
        a, b = anchors[i], anchors[i + 1]
        d = abs(b[0] - a[0]) * 0.45
        bx, by = _bezier(a, a + [sgn * d, bow], b + [-sgn * d, bow], b)
        xs += list(bx)
        ys += list(by)
    return xs, ys


def edges(wiring: Wiring, bxs: list | None = None) -> list:
    """Every path as an :class:`Edge` between the boxes of its ends.

    Forward paths leave a box on the right and enter on the left; error paths run
    back right-to-left, bowed below them.  A path that passes columns between its
    ends goes through a free lane of each (:func:`lane`).  Between two boxes of one
    column a path loops out on one side (feedforward left, feedback right).
    """
    bxs = boxes(wiring) if bxs is None else bxs
    by_ref = {b.ref: b for b in bxs}
    cols = obstacles(wiring, bxs)
    out = []
    for kind, paths in (("feedforward", wiring.feedforward), ("feedback", wiring.feedback)):
        for i, p in enumerate(paths):
            s, t = by_ref[p.source], by_ref[p.target]
            sy, ty = (s.y0 + s.y1) / 2, (t.y0 + t.y1) / 2
            sx, tx = (s.x0 + s.x1) / 2, (t.x0 + t.x1) / 2
            loop = 0.9 + 0.2 * (i % 3)
            if abs(tx - sx) < 1e-9:  # one column: loop out on one side
                side = -1 if kind == "feedforward" else 1
                edge_x = s.x0 if side < 0 else s.x1
                p0, p3 = np.array([edge_x, sy]), np.array([edge_x, ty])
                xs, ys = _bezier(p0, p0 + [side * loop, 0], p3 + [side * loop, 0], p3)
                xs, ys = list(xs), list(ys)
            else:
                right = tx > sx
                start = (s.x1, sy) if right else (s.x0, sy)
                end = (t.x0, ty) if right else (t.x1, ty)
                between = [(x, cols[x]) for x in sorted(cols, reverse=not right)
                           if min(sx, tx) + 1e-6 < x < max(sx, tx) - 1e-6]
                bow = 0.25 if kind == "feedforward" else -0.35 - 0.15 * (i % 3)
                xs, ys = _route(start, end, right, between, bow)
            ang = math.atan2(ys[-1] - ys[-2], xs[-1] - xs[-2])
            out.append(Edge(p.name, kind, tuple(xs), tuple(ys), ang))
    return out


def extent(bxs: list, eds: list = ()) -> tuple:
    """(x0, y0, x1, y1) around every box and curve, with a margin for labels."""
    if not bxs:
        return (-1, -1, 1, 1)
    xs = [b.x0 for b in bxs] + [b.x1 for b in bxs] + [x for e in eds for x in e.xs]
    ys = [b.y0 for b in bxs] + [b.y1 for b in bxs] + [y for e in eds for y in e.ys]
    return (min(xs) - 0.4, min(ys) - 0.6, max(xs) + 0.4, max(ys) + 0.7)


def height_px(ext: tuple, chrome: int = 70) -> int:
    """The figure height that gives the drawing ``PX_PER_UNIT`` (plus ``chrome`` for the legend and
    toolbar), within MIN_PX..MAX_PX."""
    return int(min(max((ext[3] - ext[1]) * PX_PER_UNIT + chrome, MIN_PX), MAX_PX))
