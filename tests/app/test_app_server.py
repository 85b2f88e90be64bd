"""The served explorer: ``panel serve apps/explorer.py`` answers, and a real browser trains on it.

The browser test needs Debian's chromium at /usr/bin/chromium (skipped without it).  It
clicks Train, waits until the status line shows test accuracy above chance and the
accuracy curve has points, checks the console for errors, and saves the README's
screenshot (in assets/ when APEXPLORER_ASSETS=assets is set).
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``panel serve apps/explorer.py`` on a free port; always stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, APEXPLORER_THREADS="1")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "apps/explorer.py", "--port", str(port), "--address",
             "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--num-procs", "1"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        end = time.monotonic() + 90
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"panel serve exited: {log.read_text()[-2000:]}")
                time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/explorer", log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_served_page_answers(server):
    import urllib.request

    url, log = server
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read().decode()
    assert r.status == 200
    assert "bokeh" in body.lower() and "apexplorer" in body


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_browser_trains_the_default_network_and_sees_it_learn(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, log = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, timeout=120_000)
            # the websocket is up once the document's models are there
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                                   "Bokeh.documents[0].get_model_by_name('curve-acc-test-main') !== null",
                                   timeout=120_000)
            train = page.get_by_role("button", name=re.compile("Train"))
            train.wait_for(timeout=60_000)
            train.click()
            page.wait_for_function(
                "() => { const s = Bokeh.documents[0].get_model_by_name('curve-acc-test-main');"
                " return s && s.data.y.length >= 2 && s.data.y[s.data.y.length - 1] > 50; }", timeout=120_000)
            from playwright.sync_api import expect

            line = page.get_by_text(re.compile(r"epoch \d+/\d+ .* test acc [\d.]+%")).first
            expect(line).to_be_visible(timeout=60_000)
            status = " ".join(line.inner_text().split())  # the browser may use non-breaking spaces
            m = re.search(r"test acc ([\d.]+)%", status)
            assert m, repr(status)
            acc = float(m.group(1))
            assert acc > 10.0, status  # ten classes: chance is 10 %
            n = page.evaluate("() => Bokeh.documents[0].get_model_by_name('curve-loss-train-main').data.x.length")
            assert n > 2
            time.sleep(1.0)
            # the README's screenshot is refreshed only on request (APEXPLORER_ASSETS=assets)
            out = Path(os.environ.get("APEXPLORER_ASSETS") or tmp_path)
            out.mkdir(exist_ok=True)
            page.screenshot(path=str(out / "explorer.png"))
            assert (out / "explorer.png").stat().st_size > 10_000
            # a second tab is its own session: a fresh network, untouched by the first one's training
            other = browser.new_page(viewport={"width": 1500, "height": 1000})
            other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            other.goto(url, timeout=120_000)
            fresh = other.get_by_text(re.compile(r"epoch 0/\d+")).first
            expect(fresh).to_be_visible(timeout=60_000)
            assert page.get_by_text(re.compile(r"test acc [\d.]+%")).first.is_visible()
            other.close()
            assert not errors, errors
        finally:
            browser.close()
