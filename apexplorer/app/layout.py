"""Where to draw a wiring: pure functions from a :class:`Wiring` to boxes and curves.

Columns follow the feedforward depth (inputs left, outputs right).  Every
module is a box cut into its blocks (one row each); a path is a Bezier curve
from its source's side to its target block.  Feedforward curves leave a box on
the right and bow upwards; feedback curves run back right-to-left and bow
downwards, so the two directions never lie on top of each other.  Nothing here
draws: the network view turns these rows into HoloViews elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..wiring import Wiring

COLUMN = 3.2  # distance between columns
BOX_W = 1.3  # module box width
ROW_H = 0.6  # height of one block row
PORT_H = 0.9
GAP = 0.9  # vertical gap between boxes in a column

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


def boxes(wiring: Wiring) -> list:
    """Every block and port as a :class:`Box`, columns left to right, stacked and centred."""
    col = columns(wiring)
    stacks: dict = {}
    order = [p.name for p in wiring.inputs] + list(wiring.module_names) + [p.name for p in wiring.outputs]
    for n in order:
        stacks.setdefault(col[n], []).append(n)
    mods = {m.name: m for m in wiring.modules}
    ports = {p.name: ("input", p.size) for p in wiring.inputs}
    ports.update({p.name: ("output", p.size) for p in wiring.outputs})
    out = []
    for c, names in stacks.items():
        heights = [len(mods[n].blocks) * ROW_H if n in mods else PORT_H for n in names]
        total = sum(heights) + GAP * (len(names) - 1)
        top = total / 2
        x = c * COLUMN
        for n, h in zip(names, heights):
            if n in mods:
                y = top
                for b, s in mods[n].blocks:
                    out.append(Box(n, b, "block", x - BOX_W / 2, y - ROW_H, x + BOX_W / 2, y, s))
                    y -= ROW_H
            else:
                kind, size = ports[n]
                out.append(Box(n, None, kind, x - BOX_W / 2, top - h, x + BOX_W / 2, top, size))
            top -= h + GAP
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


def edges(wiring: Wiring, bxs: list | None = None) -> list:
    """Every path as an :class:`Edge` between the boxes of its ends.

    Forward paths leave a box on the right and enter on the left; error paths run
    back right-to-left below them.  Between two boxes of one column a path loops
    out on one side (feedforward left, feedback right) so it never crosses a box.
    """
    bxs = boxes(wiring) if bxs is None else bxs
    by_ref = {b.ref: b for b in bxs}
    out = []
    for kind, paths in (("feedforward", wiring.feedforward), ("feedback", wiring.feedback)):
        for i, p in enumerate(paths):
            s, t = by_ref[p.source], by_ref[p.target]
            sy, ty = (s.y0 + s.y1) / 2, (t.y0 + t.y1) / 2
            loop = 0.9 + 0.2 * (i % 3)
            if kind == "feedforward" and t.x0 > s.x1:
                p0, p3 = np.array([s.x1, sy]), np.array([t.x0, ty])
                d = max(abs(p3[0] - p0[0]) * 0.4, 0.8)
                p1, p2 = p0 + [d, 0.25], p3 + [-d, 0.25]
            elif kind == "feedforward":  # same column (or backwards): loop out on the left
                p0, p3 = np.array([s.x0, sy]), np.array([t.x0, ty])
                p1, p2 = p0 + [-loop, 0], p3 + [-loop, 0]
            elif t.x1 < s.x0:
                p0, p3 = np.array([s.x0, sy]), np.array([t.x1, ty])
                d = max(abs(p3[0] - p0[0]) * 0.4, 0.8)
                bow = -0.35 - 0.15 * (i % 3)
                p1, p2 = p0 + [-d, bow], p3 + [d, bow]
            else:  # feedback within a column (or forwards): loop out on the right
                p0, p3 = np.array([s.x1, sy]), np.array([t.x1, ty])
                p1, p2 = p0 + [loop, 0], p3 + [loop, 0]
            xs, ys = _bezier(p0, p1, p2, p3)
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
