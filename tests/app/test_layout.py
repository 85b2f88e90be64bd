"""The drawing of a wiring, checked geometrically from the layout functions (no browser).

For wirings of 1 to 6 modules (chains, skips, the paper's multitask presets and
modules that no feedforward path touches): no two boxes overlap, no path runs
through a box or a title, every title and block label has room at the figure's
own height, and every path ends at its target block.
"""

import itertools

import pytest

import apexplorer as ap
from apexplorer.app import layout as L
from apexplorer.presets import preset
from apexplorer.wiring import Module, Path, Port, Task, Wiring

MIN_WIDTH = 760  # pixels of the graph at a 1280 px window (the controls take the rest)
TITLE_PX, LABEL_PX = 15, 11  # font sizes of titles (bold) and block labels
CHAR_W = 0.62  # width of a character, in font sizes


def _skips(n):
    """x -> L1 -> ... -> Ln -> y, every module also fed by the input and read by the output."""
    mods = [Module(f"L{i}", 64) for i in range(1, n + 1)]
    ff = [Path("x", "L1.RI")] + [Path(f"L{i}.SI", f"L{i + 1}.RI") for i in range(1, n)]
    ff += [Path("x", f"L{i}.RI", f"x->L{i}") for i in range(2, n + 1)] + [Path(f"L{n}.SI", "y")]
    ff += [Path(f"L{i}.SI", "y", f"L{i}->y") for i in range(1, n)]
    fb = [Path("y", f"L{n}.RE")] + [Path(f"L{i + 1}.SE", f"L{i}.RE") for i in range(1, n)]
    fb += [Path("y", f"L{i}.RE", f"y->L{i}") for i in range(1, n)]
    return Wiring.create(mods, [Port("x", 64)], [Port("y", 10)], ff, fb, [Task("main", "x", "y")], name=f"skips{n}")


def _loose(n_chain, n_loose):
    """A chain with modules that no path touches (being added in the editor)."""
    w = ap.chain([256] * n_chain, 64, 10)
    d = w.to_dict()
    d["modules"] += [dict(d["modules"][0], name=f"U{i}") for i in range(1, n_loose + 1)]
    return Wiring.from_dict(d, warn=False)


WIRINGS = {f"chain{n}": (lambda n=n: ap.chain([256] * n, 64, 10)) for n in range(1, 7)}
WIRINGS.update({f"skips{n}": (lambda n=n: _skips(n)) for n in (2, 3, 4)})
WIRINGS.update({name: (lambda name=name: preset(name, [784, 64], [10, 10])) for name in ("fig5a", "fig5b", "fig5c")})
WIRINGS.update({"chain1+loose1": lambda: _loose(1, 1), "chain2+loose3": lambda: _loose(2, 3),
                "chain3+loose3": lambda: _loose(3, 3)})


def _overlap(a, b, eps=1e-9):
    return a[0] < b[2] - eps and b[0] < a[2] - eps and a[1] < b[3] - eps and b[1] < a[3] - eps


def _crosses(p, q, r, eps=1e-6):
    """Does the segment p-q pass through the inside of rectangle r (Liang-Barsky)?"""
    x0, y0, x1, y1 = r[0] + eps, r[1] + eps, r[2] - eps, r[3] - eps
    dx, dy = q[0] - p[0], q[1] - p[1]
    lo, hi = 0.0, 1.0
    for d, a, b in ((dx, p[0] - x0, x1 - p[0]), (dy, p[1] - y0, y1 - p[1])):
        for den, num in ((-d, a), (d, b)):
            if den == 0:
                if num < 0:
                    return False
            else:
                t = num / den
                if den < 0:
                    lo = max(lo, t)
                else:
                    hi = min(hi, t)
    return lo < hi


def _drawing(make):
    w = make()
    bxs = L.boxes(w)
    eds = L.edges(w, bxs)
    ext = L.extent(bxs, eds)
    py = (L.height_px(ext) - 70) / (ext[3] - ext[1])  # pixels per unit, as drawn
    px = MIN_WIDTH / (ext[2] - ext[0])
    frames = L.module_frames(w, bxs)
    rects = {m: f for m, f in frames.items()}
    rects.update({b.node: (b.x0, b.y0, b.x1, b.y1) for b in bxs if b.kind != "block"})
    titles = {}
    for node, (x0, y0, x1, y1) in rects.items():
        name = node if node in frames else ("input" if any(p.name == node for p in w.inputs) else "output")
        half = len(name) * CHAR_W * TITLE_PX / px / 2
        titles[node] = ((x0 + x1) / 2 - half, y1 + 0.12, (x0 + x1) / 2 + half, y1 + 0.12 + TITLE_PX / py)
    return w, bxs, eds, rects, titles, px, py


@pytest.mark.parametrize("name", list(WIRINGS))
def test_boxes_and_titles_do_not_overlap(name):
    w, bxs, eds, rects, titles, px, py = _drawing(WIRINGS[name])
    things = [(f"box {n}", r) for n, r in rects.items()] + [(f"title {n}", t) for n, t in titles.items()]
    for (a, ra), (b, rb) in itertools.combinations(things, 2):
        if a.split()[1] == b.split()[1]:
            continue  # a box and its own title touch
        assert not _overlap(ra, rb), f"{a} overlaps {b}"


@pytest.mark.parametrize("name", list(WIRINGS))
def test_every_label_has_room_at_the_figures_height(name):
    w, bxs, eds, rects, titles, px, py = _drawing(WIRINGS[name])
    assert L.ROW_H * py >= LABEL_PX + 6, "block rows squashed"
    for b in bxs:
        assert len(b.label) * CHAR_W * LABEL_PX <= (b.x1 - b.x0) * px, f"label {b.label!r} is wider than its box"


@pytest.mark.parametrize("name", list(WIRINGS))
def test_no_path_runs_through_a_box_or_a_title(name):
    w, bxs, eds, rects, titles, px, py = _drawing(WIRINGS[name])
    blocked = [(f"box {n}", r) for n, r in rects.items()] + [(f"title {n}", t) for n, t in titles.items()]
    for e in eds:
        pts = list(zip(e.xs, e.ys))
        for what, r in blocked:
            hit = any(_crosses(p, q, r) for p, q in zip(pts, pts[1:]))
            assert not hit, f"path {e.name} runs through the {what}"


@pytest.mark.parametrize("name", list(WIRINGS))
def test_every_path_ends_at_its_target_block(name):
    w = WIRINGS[name]()
    bxs = {b.ref: b for b in L.boxes(w)}
    for e in L.edges(w):
        t = bxs[w.path(e.name).target]
        assert t.y0 <= e.ys[-1] <= t.y1
        assert min(abs(e.xs[-1] - t.x0), abs(e.xs[-1] - t.x1)) < 1e-9


def test_loose_modules_sit_in_a_row_below_not_in_a_column():
    w = _loose(2, 3)
    frames = L.module_frames(w)
    lowest_chain = min(frames[m][1] for m in ("L1", "L2"))
    tops = {frames[m][3] for m in ("U1", "U2", "U3")}
    assert len(tops) == 1 and tops.pop() < lowest_chain  # one row, below the chain
    assert len({frames[m][0] for m in ("U1", "U2", "U3")}) == 3  # side by side


def test_a_path_that_skips_a_column_goes_round_the_box_between():
    w = preset("fig5c", [784, 64], [10, 10])
    bxs = L.boxes(w)
    frames = L.module_frames(w, bxs)
    e = {e.name: e for e in L.edges(w, bxs)}
    for path, box in (("xB->L3.RI", "L1"), ("L2.SI->yA", "L4")):
        pts = list(zip(e[path].xs, e[path].ys))
        assert pts[0][0] < frames[box][0] and pts[-1][0] > frames[box][2]  # it does pass that column
        assert not any(_crosses(p, q, frames[box]) for p, q in zip(pts, pts[1:])), path
