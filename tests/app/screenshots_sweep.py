"""Screenshots of the Sweeps tab after a sweep launched from the page has finished, in real Chromium.

    python -m tests.app.screenshots_sweep [--out assets]

Starts ``panel serve apps/explorer.py``, opens the page at 1280x720 and at
1920x1080, runs a sweep of the digits network over ρ and the learning rate
(2 x 2 points, 1 epoch) from the Sweeps tab, waits until it has finished and
writes ``sweep-launch-1280.png`` and ``sweep-launch-1920.png``.  Needs
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.app.conftest import ARGS, CHROMIUM, ROOT, free_port

SIZES = ((1280, 720), (1920, 1080))


def serve(log: Path) -> tuple:
    port = free_port()
    env = {**os.environ, "APEXPLORER_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("APEXPLORER_FILES", None)
    cmd = [sys.executable, "-m", "panel", "serve", "apps/explorer.py", "--port", str(port), "--address",
           "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--num-procs", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    return proc, f"http://127.0.0.1:{port}/explorer"


def shoot(browser, url: str, size: tuple, out: Path) -> None:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    end = time.monotonic() + 120
    while True:  # the server may still be starting
        try:
            page.goto(url, timeout=120_000)
            break
        except Exception:  # noqa: BLE001 - connection refused until it listens
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
    page.get_by_role("button", name=re.compile("Train")).first.wait_for(timeout=120_000)
    page.locator(".bk-tab", has_text="Sweeps").first.click()
    page.get_by_label("Values (comma-separated)").fill("0.1, 0.5")
    page.get_by_label("Second setting").select_option("Learning rate")
    page.get_by_label("Its values").fill("2e-3, 2e-2")
    page.get_by_label("Its values").press("Enter")
    page.get_by_role("button", name="Run sweep").click()
    expect(page.get_by_text(re.compile("Finished: 4 of 4 points"))).to_be_visible(timeout=180_000)
    time.sleep(1.5)  # the plots' first draw
    # the tab bar at the top of the window: the launcher, its result and the plots in view
    page.locator(".bk-tab", has_text="Sweeps").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.3)
    page.screenshot(path=str(out))
    ctx.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets"), help="folder of the PNGs (default assets/)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="apexplorer-shots-"))
    proc, url = serve(tmp / "serve.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for w, h in SIZES:
                    path = out / f"sweep-launch-{w}.png"
                    shoot(browser, url, (w, h), path)
                    print(path)
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
