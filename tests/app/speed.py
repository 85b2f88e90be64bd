"""How fast the served explorer is for a visitor, measured in real Chromium; prints JSON.

    python -m tests.app.speed [--url URL] [--rounds 3]

Without ``--url`` it starts ``panel serve apps/explorer.py`` itself (as an operator
does, torch on its default threads) and measures, each over ``--rounds`` fresh
sessions (medians, and every round):

* ``first_byte_s``: an HTTP GET of the page until its first byte (a new session);
  ``cold_first_byte_s`` is the server's very first session, which also imports the libraries;
* ``first_paint_s``: the browser's first contentful paint after the page is opened;
* ``train_usable_s``: until the Train button is shown, enabled and connected (a click trains);
* ``ready_s``: until the status line says the network is ready;
* ``first_batch_s``: from a click on Train at ``train_usable_s`` until the first batch shows;
* ``second_session_train_usable_s``: a second tab opened while the first one trains;
* ``preset_shown_s``: from Load preset until the graph shows the preset (its table and settings too);
* ``preset_ready_s``: from Load preset until its network is built and ready (the first load of a
  preset in a server draws its reservoirs; later sessions reuse their spectral radii);
* ``update_hz``: status-line updates per second in each of two tabs training at once.

``--boundary`` measures instead how often the Boundary tab redraws (``boundary_hz``: new
pictures of the plane per second, read in the page's BokehJS document) while one tab trains the
``toy`` preset on moons (an 80 x 80 grid), over ``--seconds``, each round a fresh session.

``--ensemble K`` measures instead how often the Curves view changes while one tab trains a
K-seed ensemble on digits (``curves_hz``: new points of the AP training curve per second, read
in the page's BokehJS document; ``status_hz`` beside it), over ``--seconds``, each round
a fresh session.

``--graph`` measures instead each graph action's server round trip on fig5c's 4 modules (issue 29),
trained for one batch (so an edit is drawn pending rather than building a fresh network meanwhile),
from the click (a key, a drag) until the network drawing is redrawn (the first frame after the last change of its
sources in the page's BokehJS document, once they have been quiet for 150 ms: the rest of the server's message and
the page's layout count too), in ms, per action (``*_ms``: medians
over ``--rounds`` fresh sessions; ``max_ms``: the slowest action's median; ``all``: every round).

The machine's load averages are printed with the figures; a shared machine's
figures mean little without them.  Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.app.conftest import ARGS, CHROMIUM, Page, Served

PRESETS = ("fig5c", "paper-2layer", "digits")

COUNT_UPDATES = """() => {
  const find = (root) => { const e = root.querySelector('.ap-status'); if (e) return e;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = find(el.shadowRoot); if (f) return f; }
    return null; };
  const el = find(document);
  const read = () => [...(el.shadowRoot || el).children].filter(c => c.tagName !== 'STYLE' && c.tagName !== 'LINK')
                       .map(c => c.innerText).join(' ');
  window.__ap = {n: 0, last: read()};
  window.__ap_timer = setInterval(() => { const t = read(); if (t !== window.__ap.last) { window.__ap.n += 1;
                                                                                      window.__ap.last = t; } }, 10);
}"""


def load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def first_byte(url) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read(1)
    return time.perf_counter() - t


def open_page(browser, url) -> tuple:
    """A fresh session: (Page, {first_paint_s, train_usable_s, ready_s})."""
    pg = Page(browser, url)
    p = pg.page
    t0 = time.perf_counter()
    p.goto(url, timeout=120_000)
    p.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000, polling=20)
    train = pg.button("Train")
    train.wait_for(timeout=120_000)
    while train.is_disabled():
        time.sleep(0.02)
    usable = time.perf_counter() - t0
    fcp = p.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
    pg.wait_status(r"\(ready\)", timeout=120_000)
    ready = time.perf_counter() - t0
    return pg, {"first_paint_s": fcp / 1000 if fcp else None, "train_usable_s": usable, "ready_s": ready}


def train_until_first_batch(pg) -> float:
    t = time.perf_counter()
    pg.button("Train").click()
    pg.wait_status(r"batch \d+/", timeout=120_000)
    return time.perf_counter() - t


def load_preset(pg, name) -> tuple:
    """(seconds until the graph shows the preset, seconds until its network is ready)."""
    pg.page.get_by_label("Preset").select_option(name)
    t = time.perf_counter()
    pg.button("Load preset").click()
    want = {"fig5c": "L4", "paper-2layer": "L2", "digits": "L2"}[name]
    pg.wait_js("w => { for (const m of Bokeh.documents[0]._all_models.values()) { const t = m.data && m.data.text;"
               " if (t && t.includes('output') && t.includes(w) && (w !== 'L2' || !t.includes('L4'))) return true; }"
               " return false; }", timeout=120_000, arg=want)
    shown = time.perf_counter() - t
    pg.wait_status(r"\(ready\)", timeout=120_000)
    return shown, time.perf_counter() - t


def update_rate(pages, seconds=6.0) -> list:
    for pg in pages:
        pg.js(COUNT_UPDATES)
    time.sleep(seconds)
    return [pg.js("() => window.__ap.n") / seconds for pg in pages]


COUNT_CURVE = """() => {
  const find = () => { try { return Bokeh.documents[0].get_model_by_name('curve-loss-train-main'); }
                       catch (e) { return null; } };
  window.__curve = {n: 0, key: null};
  window.__curve_timer = setInterval(() => { const s = find(); if (!s) return;
    const x = s.data.x; const key = x.length + ':' + (x.length ? x[x.length - 1] : '');
    if (key !== window.__curve.key) { if (window.__curve.key !== null) window.__curve.n += 1;
                                      window.__curve.key = key; } }, 5);
}"""


def curves_rate(url, members=4, seconds=10.0, rounds=3) -> dict:
    """Updates per second of the Curves view (and of the status line) while a ``members``-seed ensemble
    trains on digits, each round in a fresh session."""
    from playwright.sync_api import sync_playwright

    out = {"load_before": load(), "members": members, "seconds": seconds, "curves_hz": [], "status_hz": [],
           "batches_per_s": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(rounds):
                pg, _ = open_page(browser, url)
                pg.tab("Settings").click()
                box = pg.page.get_by_label("Seeds (ensemble)", exact=True)
                box.fill(str(members))
                box.press("Tab")
                pg.wait_js("k => { try { const s = Bokeh.documents[0].get_model_by_name('curve-acc-train-main');"
                           " return s && s.data['m' + (k - 1)] !== undefined; } catch (e) { return false; } }",
                           timeout=120_000, arg=members)
                pg.wait_status(r"\(ready\)", timeout=120_000)
                pg.button("Train").click()
                pg.wait_status(r"batch \d+/", timeout=120_000)
                time.sleep(1.0)  # past the first batches
                first = _batches(pg)
                pg.js(COUNT_CURVE)
                pg.js(COUNT_UPDATES)
                time.sleep(seconds)
                out["curves_hz"].append(pg.js("() => window.__curve.n") / seconds)
                out["status_hz"].append(pg.js("() => window.__ap.n") / seconds)
                out["batches_per_s"].append((_batches(pg) - first) / seconds)
                pg.button("Pause").click()
                pg.close()
        finally:
            browser.close()
    out["load_after"] = load()
    return out


COUNT_PLANE = """() => {
  const src = Bokeh.documents[0].get_model_by_name('boundary-image');
  window.__plane = {n: 0, last: src.data.url[0]};
  window.__plane_timer = setInterval(() => { const im = src.data.url[0];
    if (im !== window.__plane.last) { window.__plane.n += 1; window.__plane.last = im; } }, 5);
}"""


def boundary_rate(url, seconds=10.0, rounds=3) -> dict:
    """Redraws per second of the Boundary tab while the ``toy`` preset trains on moons."""
    from playwright.sync_api import sync_playwright

    out = {"load_before": load(), "grid": "80 x 80", "seconds": seconds, "boundary_hz": [], "batches_per_s": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(rounds):
                pg, _ = open_page(browser, f"{url}?preset=toy&train.epochs=500")  # trains past the count
                pg.tab("Boundary").click()
                pg.wait_js("() => { const s = Bokeh.documents[0].get_model_by_name('boundary-image');"
                           " return s && s.data.url.length > 0; }", timeout=120_000)
                pg.button("Train").click()
                pg.wait_status(r"batch \d+/", timeout=120_000)
                time.sleep(1.0)
                first = _batches(pg)
                pg.js(COUNT_PLANE)
                time.sleep(seconds)
                out["boundary_hz"].append(pg.js("() => window.__plane.n") / seconds)
                out["batches_per_s"].append((_batches(pg) - first) / seconds)
                assert pg.button("Pause").is_enabled(), "the run ended before the count did"
                pg.button("Pause").click()
                pg.close()
        finally:
            browser.close()
    out["load_after"] = load()
    return out


def _batches(pg) -> int:
    """Batches trained so far, from the status line (epoch e, batch b of n)."""
    import re

    m = re.search(r"epoch (\d+)/\d+ · batch (\d+)/(\d+)", pg.status())
    return (int(m.group(1)) - 1) * int(m.group(3)) + int(m.group(2)) if m else 0


def measure(url, rounds=3) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"load_before": load(), "rounds": rounds}
    out["cold_first_byte_s"] = first_byte(url)  # the server's first session also imports the libraries
    out["first_byte_s"] = [first_byte(url) for _ in range(rounds)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            runs, batches, seconds = [], [], []
            shown, ready = {n: [] for n in PRESETS}, {n: [] for n in PRESETS}
            for _ in range(rounds):
                a, r = open_page(browser, url)
                runs.append(r)
                batches.append(train_until_first_batch(a))
                b, r2 = open_page(browser, url)  # while the first tab trains
                seconds.append(r2["train_usable_s"])
                b.button("Train").click()
                b.wait_status(r"batch \d+/", timeout=120_000)
                out.setdefault("update_hz", []).append(update_rate([a, b]))
                for pg in (a, b):
                    if pg.button("Pause").is_enabled():
                        pg.button("Pause").click()
                a.close()
                b.close()
                c, _ = open_page(browser, url)  # an untrained network: a preset replaces it at once
                for n in PRESETS:
                    a_, b_ = load_preset(c, n)
                    shown[n].append(a_)
                    ready[n].append(b_)
                c.close()
            for k in ("first_paint_s", "train_usable_s", "ready_s"):
                out[k] = [r[k] for r in runs]
            out["first_batch_s"] = batches
            out["second_session_train_usable_s"] = seconds
            out["preset_shown_s"] = shown
            out["preset_ready_s"] = ready
        finally:
            browser.close()
    out["load_after"] = load()
    return out


def summary(out) -> dict:
    """Medians next to every round."""
    med = {}
    for k, v in out.items():
        if isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v) and not k.startswith("load"):
            med[k] = round(statistics.median(v), 2)
        elif k.startswith("preset_"):
            med[k] = {n: round(statistics.median(x), 2) for n, x in v.items()}
        elif k == "update_hz":
            med[k] = round(statistics.median([h for pair in v for h in pair]), 2)
    rnd = lambda v: round(v, 2) if isinstance(v, float) else v  # noqa: E731
    rounds = {k: ([rnd(x) if not isinstance(x, list) else [rnd(y) for y in x] for x in v] if isinstance(v, list)
                  else {n: [rnd(y) for y in x] for n, x in v.items()} if isinstance(v, dict) else v)
              for k, v in out.items()}
    return {"median": med, "rounds": rounds, "cpus": os.cpu_count()}


WATCH_GRAPH = """() => {
  // a change of the drawing's sources counts once the page is past it: the first frame after it, so that the
  // rest of the server's message (other panels, the page's layout) and the drawing's paint are timed with it
  window.__g = {n: 0, t: 0, waiting: 0};
  const seen = () => { window.__g.n += 1; window.__g.waiting += 1;
    requestAnimationFrame(() => setTimeout(() => { window.__g.t = performance.now(); window.__g.waiting -= 1; }, 0)); };
  for (const m of Bokeh.documents[0]._all_models.values())
    if (m.name && m.name.startsWith('graph-') && m.data) m.change.connect(seen);
}"""
QUIET = """async () => { while (window.__g.waiting > 0 || performance.now() - window.__g.t < 400)
                        await new Promise(r => setTimeout(r, 20)); }"""
REDRAWN = """async (n0) => {
  const t0 = performance.now();
  while (window.__g.n === n0 || window.__g.waiting > 0) { if (performance.now() - t0 > 20000) return null;
                                                          await new Promise(r => setTimeout(r, 5)); }
  while (window.__g.waiting > 0 || performance.now() - window.__g.t < 150) await new Promise(r => setTimeout(r, 10));
  return window.__g.t;
}"""


def graph_round(url: str) -> dict:
    """One fresh session on fig5c: each graph action's round trip (ms), click to redrawn drawing."""
    from playwright.sync_api import sync_playwright

    from tests.app import test_browser_wire_on_graph as W

    out = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pg = Page(b, url + "?preset=fig5c", viewport=(1280, 720)).open(timeout=300_000)
            print("fig5c is ready", file=sys.stderr)
            # one batch: a trained network, so that an edit waits for "Reset and apply" (drawn pending)
            # instead of building a fresh fig5c meanwhile, which would be timed with it
            pg.button("Step").click()
            pg.wait_status(r"batch 1/", timeout=120_000)
            pg.js(WATCH_GRAPH)
            page = pg.page

            def timed(name, act):
                pg.js(QUIET)
                n0 = pg.js("() => window.__g.n")
                t0 = pg.js("() => performance.now()")
                act()
                t = pg.js(REDRAWN, n0)
                if t is None:
                    raise SystemExit(f"{name}: the graph was not redrawn within 20 s")
                out[f"{name}_ms"] = round(t - t0, 1)
                print(name, out[f"{name}_ms"], file=sys.stderr)

            # where to click is found before the clock starts (it reads the drawing's sources from the page)
            at = W.title_at(pg, "L2")
            timed("select_module", lambda: W.click(pg, at))
            at = W.path_at(pg, "L3.SI->L4.RI")
            timed("select_path", lambda: W.click(pg, at))
            at = W.block_at(pg, "L2.SI")
            timed("start_path", lambda: W.click(pg, at))
            W.click(pg, W.block_at(pg, "L4.RI"))  # the tasks popover: not the graph
            pg.button("Add this path").wait_for()
            pg.page.wait_for_timeout(500)  # quiet
            timed("add_path", lambda: pg.button("Add this path").click())
            timed("delete_path", lambda: page.keyboard.press("Delete"))
            timed("undo", lambda: page.keyboard.press("Control+z"))
            page.locator(".ap-click-mode select").select_option("a click on a path toggles it in task A")
            pg.page.wait_for_timeout(500)  # the choice has reached the server
            at = W.path_at(pg, "yA->L4.RE2")
            timed("toggle_task", lambda: W.click(pg, at))
            x, y = W.title_at(pg, "L3")

            def drag():
                page.mouse.move(x, y)
                page.mouse.down()
                for i in range(1, 6):
                    page.mouse.move(x + 8 * i, y + 6 * i)
                n0 = pg.js("() => window.__g.n")
                t0 = pg.js("() => performance.now()")
                page.mouse.up()
                return n0, t0

            n0, t0 = drag()
            t = pg.js(REDRAWN, n0)
            if t is None:
                raise SystemExit("drag_module: the graph was not redrawn within 20 s")
            out["drag_module_ms"] = round(t - t0, 1)
            pg.close()
        finally:
            b.close()
    return out


def graph_rates(url: str, rounds: int) -> list:
    return [graph_round(url) for _ in range(rounds)]


def graph_summary(rows: list) -> dict:
    keys = list(rows[0])
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    return {**med, "max_ms": max(med.values()), "within_300_ms": max(med.values()) <= 300, "rounds": len(rows),
            "load_avg": list(os.getloadavg()), "all": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="measure this served explorer instead of starting one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ensemble", type=int, default=0, metavar="K",
                    help="measure the Curves view's update rate while a K-seed ensemble trains on digits")
    ap.add_argument("--boundary", action="store_true",
                    help="measure the Boundary tab's redraws while the toy preset trains on moons")
    ap.add_argument("--graph", action="store_true",
                    help="measure each graph action's round trip (click to redrawn graph) on fig5c")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="how long each --ensemble or --boundary round counts updates")
    args = ap.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        sys.exit(f"needs {CHROMIUM}")

    def run(url):
        if args.graph:
            return graph_summary(graph_rates(url, args.rounds))
        if args.boundary:
            return summary(boundary_rate(url, args.seconds, args.rounds))
        if args.ensemble:
            return summary(curves_rate(url, args.ensemble, args.seconds, args.rounds))
        return summary(measure(url, args.rounds))

    if args.url:
        print(json.dumps(run(args.url), indent=1))
        return
    with tempfile.TemporaryDirectory() as d:
        env = {"APEXPLORER_THREADS": os.environ.get("APEXPLORER_THREADS", "")}
        served = Served(Path(d) / "serve.log", env=env)
        try:
            print(json.dumps(run(served.url), indent=1))
        finally:
            served.stop()


if __name__ == "__main__":
    main()
