"""A served explorer under a room's load, measured in real Chromium; prints JSON (a script, not a test).

    python -m tests.app.load [--training process|thread] [--visitors 6] [--late-after 40] [--churn 20]

It starts ``apexplorer serve`` itself (as an operator does: torch on its default threads, warmed at
start) and measures:

* ``first_visitor``: the server's very first page (HTTP GET until its first byte, then Train usable in
  the browser) beside a second visitor's, before anyone trains;
* ``late_visitor``: while ``--visitors`` pages train (each pressed Train), a late visitor opens the
  page ``--late-after`` seconds later (in a room, the others' browsers run on their own machines; here
  they share the server's cores, so they run in a browser of their own at ``--others-nice``, 19 by
  default, the lowest priority; ``--others-nice 0`` runs them beside the server as equals): ``train_usable_s`` (until its Train button is enabled and
  connected) and ``step_to_batch_s`` (from a click on Step until its status line shows that batch,
  each of ``--steps`` clicks);
* ``pages_moving``: how many of the training pages' status lines changed over 3 s (all should);
* ``server_rss_mb`` (the web server's process) and ``workers_rss_mb`` (its training workers, together);
* ``exceptions``: lines of the server log with a traceback or an error (0);
* ``churn``: ``--churn`` sessions opened and closed one after another; the server's threads,
  processes (fork server and workers) and memory before and after, once the closed sessions ended
  (``--idle-minutes`` is 0.1: a closed page's session ends 6 s later), and whether each is back
  within 10 %.

The machine's load averages are printed with the figures; a shared machine's figures mean little
without them.  Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.app.conftest import ARGS, BAD_LOG, CHROMIUM, Served
from tests.app.speed import _batches, first_byte, load, open_page


def say(*what) -> None:
    print(time.strftime("%H:%M:%S"), *what, file=sys.stderr, flush=True)


def _procs(served):
    import psutil

    server = psutil.Process(served.proc.pid)
    children = server.children(recursive=True)
    workers = [c for c in children if c.ppid() != served.proc.pid]
    rss = 0
    for c in workers:
        try:
            rss += c.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return {"threads": server.num_threads(), "processes": len(children),
            "server_rss_mb": round(server.memory_info().rss / 1e6, 1), "workers_rss_mb": round(rss / 1e6, 1)}


def step_latency(pg, steps: int) -> list:
    """Seconds from a click on Step until the status line shows the next batch, ``steps`` times."""
    out = []
    for _ in range(steps):
        before = _batches(pg)
        t = time.perf_counter()
        pg.button("Step").click()
        while _batches(pg) <= before:
            if time.perf_counter() - t > 60:
                raise AssertionError(f"Step never showed its batch: {pg.status()!r}")
            time.sleep(0.01)
        out.append(round(time.perf_counter() - t, 3))
        time.sleep(0.3)
    return out


def _settled(served, base, timeout=90.0) -> dict:
    """The server's figures once the closed sessions ended (threads and processes back, or ``timeout``)."""
    end = time.monotonic() + timeout
    now = _procs(served)
    while time.monotonic() < end:
        now = _procs(served)
        if now["processes"] <= base["processes"] and now["threads"] <= base["threads"] * 1.1:
            break
        time.sleep(1.0)
    time.sleep(2.0)
    return _procs(served)


def niced_chromium(nice: int) -> str:
    """A Chromium that runs at ``nice`` (a script that execs it under ``nice``; Playwright launches it as it is)."""
    if not nice:
        return CHROMIUM
    path = Path(tempfile.mkdtemp(prefix="apexplorer-load-")) / "chromium"
    path.write_text(f'#!/bin/sh\nexec nice -n {int(nice)} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return str(path)


def run(training: str, visitors: int, late_after: float, churn: int, steps: int, others_nice: int = 19) -> dict:
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp(prefix="apexplorer-load-")) / "serve.log"

    def command(port):
        return [sys.executable, "-m", "apexplorer.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
                "--allow-websocket-origin", f"127.0.0.1:{port}", "--training", training,
                "--max-trainings", str(visitors + 2), "--idle-minutes", "0.1"]

    served = Served(log, command=command, env={"APEXPLORER_THREADS": ""})
    out = {"training": training, "visitors": visitors, "late_after_s": late_after, "others_nice": others_nice,
           "load_before": load()}
    url = f"{served.url}?train.epochs=500"  # the default network (digits), training through the measurement
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            others = p.chromium.launch(executable_path=niced_chromium(others_nice), args=ARGS)
            try:
                # the first visitor after start, then a second one
                first = {"first_byte_s": round(first_byte(served.url), 2)}
                pg, r = open_page(browser, url)
                first["train_usable_s"] = round(r["train_usable_s"], 2)
                pg.close()
                second = {"first_byte_s": round(first_byte(served.url), 2)}
                pg, r = open_page(browser, url)
                second["train_usable_s"] = round(r["train_usable_s"], 2)
                pg.close()
                out["first_visitor"], out["second_visitor"] = first, second
                say("first and second visitor", first, second)
                # visitors train; a late one arrives
                pages = []
                started = time.monotonic()  # the late visitor arrives late_after seconds after the first Train
                for _ in range(visitors):
                    pg, _ = open_page(others, url)
                    pg.button("Train").click()
                    pg.wait_status(r"batch \d+/", timeout=120_000)
                    pages.append(pg)
                    say(f"visitor {len(pages)} trains")
                time.sleep(max(0.0, late_after - (time.monotonic() - started)))
                out["load_while_training"] = load()
                late, r = open_page(browser, url)
                say("the late visitor's page is open", r)
                lat = step_latency(late, steps)
                out["late_visitor"] = {"train_usable_s": round(r["train_usable_s"], 2),
                                       "ready_s": round(r["ready_s"], 2), "step_to_batch_s": lat,
                                       "step_to_batch_median_s": statistics.median(lat)}
                seen = [pg.status() for pg in pages]
                time.sleep(3.0)
                now = [pg.status() for pg in pages]
                out["pages_moving"] = sum(a != b and "(running)" in b for a, b in zip(seen, now))
                out["pages_training"] = len(pages)
                out.update({k: v for k, v in _procs(served).items() if k.endswith("_mb")})
                out["errors_in_pages"] = sum(len(pg.errors) for pg in [*pages, late])
                for pg in [*pages, late]:
                    pg.close()
                # sessions open and close, one after another
                base = _settled(served, {"processes": 1 if training == "process" else 0, "threads": 10 ** 6})
                say("before the churn", base)
                for i in range(churn):
                    pg, _ = open_page(browser, url)
                    pg.close()
                    say(f"session {i + 1} of {churn} opened and closed")
                after = _settled(served, base)
                out["churn"] = {"sessions": churn, "before": base, "after": after,
                                "within_10_percent": {k: after[k] <= base[k] * 1.1 + (1 if k == "processes" else 0)
                                                      for k in ("threads", "processes", "server_rss_mb")}}
            finally:
                others.close()
                browser.close()
    finally:
        served.stop()
    text = log.read_text(errors="replace")
    out["exceptions"] = sum(1 for line in text.splitlines() if BAD_LOG.search(line))
    out["load_after"] = load()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--training", choices=("process", "thread"), default="process")
    ap.add_argument("--visitors", type=int, default=6)
    ap.add_argument("--late-after", type=float, default=40.0)
    ap.add_argument("--churn", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--others-nice", type=int, default=19,
                    help="the priority of the training visitors' browser (0: the server's; see the module)")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.training, args.visitors, args.late_after, args.churn, args.steps, args.others_nice),
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
