"""Fixtures of the explorer's tests: a clean Panel state, one torch thread, tiny networks,
and, for the browser tests, one served explorer whose log every test checks.

The browser fixtures start ``panel serve apps/explorer.py`` once per test session
(:func:`served`), open one Chromium (``/usr/bin/chromium``; the tests are skipped
without it) and give each test a fresh page, that is a fresh explorer session.  A
test fails when the server log shows an exception or a traceback written while it
ran, or when the page logged a JavaScript error: a browser test checks the whole
page, not only what it asserts.
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import apexplorer as ap
from tests.single_thread import one_thread  # noqa: F401 - autouse: the served app runs torch on few threads too

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: what no line of the server log may say while a test runs
BAD_LOG = re.compile(r"Traceback|Exception in callback|\bERROR\b|Error running application handler")

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(autouse=True)
def clean_panel_state():
    import panel as pn

    yield
    pn.state.reset()


@pytest.fixture
def digits():
    return ap.load_dataset("digits")


@pytest.fixture
def small_wiring(digits):
    """x(64) -> L1(32) -> L2(32) -> y(10), blocks of 8, with error paths back."""
    return ap.chain([32, 32], digits.n_features, digits.n_classes, name="small")


def wait_for(pred, timeout=20.0, step=0.05, tick=None):
    """Poll ``pred`` (calling ``tick`` between polls) until it is true or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if tick is not None:
            tick()
        if pred():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def wait():
    """``wait(pred, timeout=20, tick=None)``: poll until ``pred()`` is true."""
    return wait_for


def render(view):
    """The view's Bokeh models, as a page would get them (no browser)."""
    from bokeh.document import Document
    from pyviz_comms import Comm

    return view.__panel__().get_root(Document(), Comm())


@pytest.fixture
def runner():
    """``runner(**kw)`` makes a :class:`Runner` (``maxlen``, ``trace_every``); each is closed after the test,
    and the test checks that its worker thread ended."""
    from apexplorer.app.runner import Runner

    made = []

    def make(**kw):
        made.append(Runner(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()
    assert not any(r.alive for r in made), "a runner's worker thread outlived its close()"


@pytest.fixture
def explorer(wait):
    """An Explorer without its periodic drain (tests call ``tick``), rendered, on the CPU for 2 epochs."""
    from apexplorer.app import Explorer

    e = Explorer(live=False)
    render(e)
    assert wait(lambda: e.state.runner.state == "ready", tick=e.tick)
    e.state.settings.param.update(epochs=2, device="cpu")  # an untrained network is rebuilt at once
    r = e.state.runner
    assert wait(lambda: r.state == "ready" and r.trainer is not None and r.trainer.config.epochs == 2
                and r.trainer.config.device == "cpu", tick=e.tick)
    yield e
    e.close()


# ---------------------------------------------------------------------------
# the served explorer
# ---------------------------------------------------------------------------
def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Served:
    """A running ``panel serve apps/explorer.py``: its URL and its log."""

    def __init__(self, log: Path, extra=(), env=None, command=None):
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}/explorer"
        base = {k: v for k, v in os.environ.items() if k != "APEXPLORER_FILES"}  # only what the test names
        env = {**base, "APEXPLORER_THREADS": "1", "PYTHONPATH": str(ROOT), **(env or {})}
        # command: another way to start it (``apexplorer serve``), given the port
        cmd = [*command(self.port), *extra] if command is not None else [
            sys.executable, "-m", "panel", "serve", "apps/explorer.py", "--port", str(self.port), "--address",
            "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}", "--num-procs", "1", *extra]
        with open(log, "w") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        end = time.monotonic() + 90
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.25)
        self.stop()
        pytest.fail(f"panel serve did not start: {log.read_text()[-2000:]}")

    def offset(self) -> int:
        return self.log.stat().st_size

    def problems(self, since: int = 0) -> str:
        """The log written since ``since`` when it holds an exception or a traceback, else ''."""
        with open(self.log, "rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", "replace")
        return text if BAD_LOG.search(text) else ""

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _serve(tmp_path_factory, name, extra=(), env=None, command=None):
    served = Served(tmp_path_factory.mktemp(name) / "serve.log", extra, env, command)
    try:
        yield served
    finally:
        served.stop()
    assert not served.problems(), f"the server log shows an error:\n{served.problems()[-4000:]}"


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The explorer served as its operator starts it by default: no folder of server files."""
    yield from _serve(tmp_path_factory, "serve")


@pytest.fixture(scope="session")
def served_files(tmp_path_factory):
    """The explorer served with a folder of server files (``--args --files DIR``) and uploads up to 20 MB
    (``--max-upload 20``): (Served, DIR)."""
    folder = tmp_path_factory.mktemp("files")
    for served in _serve(tmp_path_factory, "serve-files", ["--args", "--files", str(folder), "--max-upload", "20"]):
        served.folder = folder
        yield served


def _checked(served):
    start = served.offset()
    yield served
    time.sleep(0.3)  # let the session's last callbacks write their lines
    bad = served.problems(start)
    assert not bad, f"the server log shows an error during this test:\n{bad[-4000:]}"


@pytest.fixture
def server(served):
    """The shared served explorer; the test fails if the log shows an exception while it runs."""
    yield from _checked(served)


@pytest.fixture
def files_server(served_files):
    yield from _checked(served_files)


# ---------------------------------------------------------------------------
# the browser
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A browser page on one explorer session, with the helpers the browser tests share."""

    def __init__(self, browser, url, viewport=(1500, 1000), touch=False):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           accept_downloads=True, has_touch=touch)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.url = url

    def open(self, timeout=120_000):
        p = self.page
        p.goto(self.url, timeout=timeout)
        p.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=timeout)
        self.button("Train").wait_for(timeout=timeout)
        self.wait_status(r"\(ready\)")
        return self

    # ------------------------------------------------------------- finding
    def button(self, name):
        return self.page.get_by_role("button", name=re.compile(name)).first

    def text(self, pattern):
        return self.page.get_by_text(re.compile(pattern)).first

    def tab(self, name):
        return self.page.locator(".bk-tab", has_text=re.compile(name)).first

    def field(self, label):
        """The input of a labelled Panel widget."""
        return self.page.locator(f"label:text-is('{label}') + *").locator("input, textarea, select").first

    # ------------------------------------------------------------- reading
    def js(self, expr, *args):
        return self.page.evaluate(expr, *args)

    def wait_js(self, expr, timeout=60_000, arg=None):
        return self.page.wait_for_function(expr, arg=arg, timeout=timeout, polling=100)

    def status(self) -> str:
        """The status line (its text lives in the Markdown pane's shadow root)."""
        text = self.page.locator(".ap-status").first.evaluate(
            "e => [...(e.shadowRoot || e).children].filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
            ".map(c => c.innerText).join(' ')")
        return " ".join(text.split())

    def wait_status(self, pattern, timeout=60_000):
        end = time.monotonic() + timeout / 1000
        while not re.search(pattern, self.status()):
            if time.monotonic() > end:
                raise AssertionError(f"the status line {self.status()!r} never matched {pattern!r}")
            time.sleep(0.1)

    def graph_titles(self) -> list:
        """The names written on the network graph (modules and ports)."""
        return self.js("() => { for (const m of Bokeh.documents[0]._all_models.values()) {"
                       " const t = m.data && m.data.text; if (t && t.includes('output')) return Array.from(t); }"
                       " return null; }")

    def load_paper(self, result: str, point: str):
        """Pick a result of the paper and one of its points on the Paper tab, and load its experiment."""
        from apexplorer.paper import gallery

        self.tab("Paper").click()
        entry = next(e for e in gallery.entries() if e["id"] == result)
        self.page.get_by_label("Figure or table").select_option(label=f"{entry['figure']}: {entry['title']}")
        self.page.get_by_label("Point").select_option(point)
        self.button("Load this experiment").click()

    def close(self):
        self.context.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        """Close the page; a block that ended well fails when the page logged a JavaScript error."""
        errors = list(self.errors)
        self.close()
        if kind is None:
            assert not errors, errors


@pytest.fixture
def page(browser, server):
    """A fresh explorer session in the browser; fails on JavaScript errors."""
    with Page(browser, server.url) as pg:
        yield pg


@pytest.fixture
def files_page(browser, files_server):
    """A fresh session of the explorer served with a folder of server files (``files_server.folder``)."""
    with Page(browser, files_server.url) as pg:
        pg.folder = files_server.folder
        yield pg


@pytest.fixture(scope="session")
def sweep_table(tmp_path_factory):
    """A sweep's results table over two grid axes, sr (3 values) and lr (2), with 2 seeds of 2 epochs."""
    import math

    import pandas as pd

    rows = []
    for sr in (0.1, 0.5, 1.0):
        for lr in (1e-3, 5e-3):
            for seed in (0, 1):
                for epoch in (1, 2):
                    rows.append({"point": f"p{sr}-{lr}", "seed": seed, "epoch": epoch, "dataset": "digits",
                                 "sr": sr, "lr": lr, "status": "completed", "message": "", "train_acc": 0.9,
                                 "test_acc": 0.5 + 0.1 * epoch - 0.1 * abs(math.log10(sr) + 0.5) + 10 * lr
                                 + 0.01 * seed, "loss": 1.0, "seconds": 0.1})
    path = tmp_path_factory.mktemp("sweep") / "sweep.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
