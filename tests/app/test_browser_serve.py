"""A served explorer for a room (issue 30), in a real browser, served by ``apexplorer serve`` with a classroom's
limits and Panel's sign-in: a wrong password is refused; a setting over a limit is refused with the limit and who
sets it; with 2 trainings at once, a 3rd visitor waits with its place shown and starts when one ends."""

import sys
from pathlib import Path
import time

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, _checked, _serve, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

PASSWORD = "ap-classroom-2026"
CLASSROOM = """\
neurons = 1000
seeds = 2
epochs = 500
trainings = 2
upload_mb = 1
"""


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    limits = tmp_path_factory.mktemp("limits") / "classroom.toml"
    limits.write_text(CLASSROOM)

    def command(port):
        return [sys.executable, "-m", "apexplorer.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
                "--allow-websocket-origin", f"127.0.0.1:{port}", "--limits", str(limits),
                "--basic-auth", PASSWORD, "--cookie-secret", "a-test-secret-of-the-classroom-server"]

    yield from _serve(tmp_path_factory, "serve-classroom", command=command)


@pytest.fixture
def room(classroom):
    yield from _checked(classroom)


def signed_in(browser, url, password=PASSWORD) -> Page:
    """A page of a visitor who signed in on Panel's login page, with the explorer open."""
    pg = Page(browser, url)
    p = pg.page
    p.goto(url, timeout=120_000)
    p.locator("input[name=username]").fill("student")
    p.locator("input[name=password]").fill(password)
    p.get_by_role("button", name="Sign in").click()
    p.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000)
    pg.button("Train").wait_for(timeout=120_000)
    pg.wait_status(r"\(ready\)", timeout=120_000)
    return pg


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def test_a_wrong_password_is_refused_and_each_limit_names_itself(browser, room):
    url = f"{room.url}?preset=toy&train.epochs=500"
    with Page(browser, url) as pg:
        p = pg.page
        p.goto(url, timeout=120_000)
        p.locator("input[name=username]").fill("student")
        p.locator("input[name=password]").fill("not-the-password")
        p.get_by_role("button", name="Sign in").click()
        expect(p.locator(".errormessage")).to_contain_text("Invalid username or password", timeout=30_000)
        assert p.evaluate("() => !window.Bokeh || Bokeh.documents.length === 0")  # no explorer was served
    with signed_in(browser, url) as pg:
        pg.tab("Settings").click()
        _type(pg, "Seeds (ensemble)", "3")
        expect(pg.text(r"seeds 3: this server trains at most 2 seeds at once; its operator sets that with --limits "
                       r"\(seeds = 2\)")).to_be_visible(timeout=60_000)
        _type(pg, "Seeds (ensemble)", "1")
        _type(pg, "Epochs", "600")
        expect(pg.text(r"epochs 600: this server trains at most 500 epochs per run; its operator sets that with "
                       r"--limits \(epochs = 500\)")).to_be_visible(timeout=60_000)
        _type(pg, "Epochs", "400")
        pg.wait_status(r"epoch 0/400 ")
        pg.tab("Network").click()
        pg.page.get_by_label("Preset", exact=True).select_option("paper-2layer")
        pg.button("Load preset").click()
        expect(pg.text(r"this network has \d+ neurons: this server builds networks of at most 1000 neurons; its "
                       r"operator sets that with --limits \(neurons = 1000\)")).to_be_visible(timeout=60_000)
        pg.wait_status(r"epoch 0/400 .*\(ready\)")  # the toy network stays
    # a link over a limit opens the default network and says why at the top
    with signed_in(browser, f"{room.url}?preset=toy&train.seeds=4") as pg:
        expect(pg.text(r"This link's experiment cannot be built here")).to_be_visible()
        expect(pg.text(r"seeds 4: this server trains at most 2 seeds at once")).to_be_visible()


def test_a_third_training_waits_in_line_and_starts_when_one_ends(browser, room):
    url = f"{room.url}?preset=toy&train.epochs=500"  # long runs: they train while the test reads
    a, b, c = (signed_in(browser, url) for _ in range(3))
    try:
        for pg in (a, b):
            pg.button("Train").click()
            pg.wait_status(r"batch \d+/\d+")
        c.button("Train").click()
        c.wait_status(r"waiting to train: 1st in line \(this server trains at most 2 networks at once; its operator "
                      r"sets that with --limits\); it starts when one ends")
        expect(c.button("Train")).to_be_disabled()
        time.sleep(1.5)
        assert "waiting to train" in c.status()  # it does not start while two train
        a.button("Pause").click()  # one ends: the one in line starts
        c.wait_status(r"epoch \d+/500 · batch \d+/\d+.*\(running\)", timeout=60_000)
        a.button("Train").click()  # now a waits behind the two that train
        a.wait_status(r"waiting to train: 1st in line")
        c.button("Pause").click()
        a.wait_status(r"\(running\)", timeout=60_000)
        assert "waiting" not in b.status()
    finally:
        for pg in (a, b, c):
            pg.close()
    for pg in (a, b, c):
        assert not pg.errors, pg.errors


def _workers(served) -> set:
    """The pids of the served explorer's training workers (children of its fork server)."""
    psutil = pytest.importorskip("psutil")
    out = set()
    for child in psutil.Process(served.proc.pid).children(recursive=True):
        try:
            if child.ppid() != served.proc.pid:  # the fork server is the server's child; workers are its children
                out.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def test_a_killed_training_worker_ends_only_its_sessions_training(browser, server):
    """Each served session trains in a worker process of its own: killing one tells its page, and the other
    session goes on training; the page that lost its worker gets its network back as of the last kept epoch, in a
    fresh worker, and goes on training from there."""
    import os
    import re
    import signal

    url = f"{server.url}?preset=toy&train.epochs=500"
    before = _workers(server)
    a = Page(browser, url).open()
    b = None
    try:
        mine = _workers(server) - before
        assert len(mine) == 1, (before, mine)  # a's own worker
        b = Page(browser, url).open()
        theirs = _workers(server) - before - mine  # b's
        for pg in (a, b):
            pg.button("Train").click()
            pg.wait_status(r"batch \d+/\d+.*\(running\)")
        time.sleep(6)  # past the first state kept (an epoch's end, at most every KEEP_EVERY = 5 s)
        a.wait_status(r"epoch [2-9]\d*/500|epoch \d\d+/500")  # an epoch is done before the worker is killed
        killed = mine.pop()
        os.kill(killed, signal.SIGKILL)
        note = a.text(r"the training's worker process ended \(killed by signal 9\); its network as of epoch \d+, "
                      r"kept before that, is restored in a fresh worker: press Train to go on")
        expect(note).to_be_visible(timeout=60_000)
        kept = int(re.search(r"as of epoch (\d+)", note.first.inner_text()).group(1))
        assert kept >= 1
        # the kept network, taken at a batch after that epoch: paused there, ready to go on
        a.wait_status(r"\((ready|paused)\)", timeout=60_000)
        assert int(re.search(r"^epoch (\d+)/500", a.status()).group(1)) in (kept, kept + 1), (kept, a.status())
        restored = _workers(server) - before - theirs
        assert len(restored) == 1 and killed not in restored, (killed, restored)  # a fresh worker of its own
        expect(a.page.locator(".bk-tab", has_text="Curves").first).to_be_visible()
        # the other session did not notice: it still trains, batch after batch
        seen = b.status()
        b.wait_status(r"\(running\)")
        end = time.monotonic() + 30
        while b.status() == seen and time.monotonic() < end:
            time.sleep(0.2)
        assert b.status() != seen and "(running)" in b.status(), b.status()
        # the page that lost its worker goes on training from the kept epoch, in its fresh worker
        a.button("Train").click()
        a.wait_status(r"batch \d+/\d+.*\(running\)", timeout=90_000)
        assert int(re.search(r"epoch (\d+)/500", a.status()).group(1)) > kept, (kept, a.status())
    finally:
        for pg in (a, b):
            if pg is not None:
                pg.close()
    for pg in (a, b):
        assert pg is None or not pg.errors, pg.errors


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A ``dask scheduler`` and one ``dask worker`` (subprocesses, this tree's apexplorer): the scheduler's address."""
    import os
    import subprocess

    from tests.app.conftest import ROOT, free_port

    pytest.importorskip("distributed")
    port = free_port()
    folder = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "APEXPLORER_THREADS": "1"}
    bin_ = Path(sys.executable).parent
    address = f"tcp://127.0.0.1:{port}"
    logs = [open(folder / "scheduler.log", "w"), open(folder / "worker.log", "w")]
    procs = [subprocess.Popen([bin_ / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT, env=env, cwd=folder)]
    procs.append(subprocess.Popen([bin_ / "dask", "worker", address, "--nthreads", "2", "--no-dashboard",
                                   "--local-directory", str(folder)], stdout=logs[1], stderr=subprocess.STDOUT,
                                  env=env, cwd=folder))
    try:
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()


@pytest.fixture(scope="module")
def on_dask(tmp_path_factory, dask_cluster):
    def command(port):
        return [sys.executable, "-m", "apexplorer.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
                "--allow-websocket-origin", f"127.0.0.1:{port}", "--scheduler", dask_cluster]

    yield from _serve(tmp_path_factory, "serve-dask", command=command)


def test_with_a_scheduler_the_sessions_train_on_the_dask_worker_and_the_curves_move(browser, on_dask, dask_cluster):
    CURVE = ("() => { try { const s = Bokeh.documents[0].get_model_by_name('curve-loss-train-main');"
             " return s ? s.data.x.length : 0; } catch (e) { return 0; } }")
    with Page(browser, f"{on_dask.url}?preset=toy&train.epochs=500") as pg:
        pg.open(timeout=180_000)
        pg.button("Train").click()
        pg.wait_status(r"batch \d+/\d+.*\(running\)", timeout=120_000)
        pg.wait_js(f"() => ({CURVE})() > 3", timeout=60_000)
        from distributed import Client

        with Client(dask_cluster, timeout="20s") as client:  # the session's task runs on the cluster's worker
            tasks = client.run_on_scheduler(lambda dask_scheduler: {
                str(k): (t.state, t.processing_on.address if t.processing_on else None)
                for k, t in dask_scheduler.tasks.items()})
            workers = list(client.scheduler_info()["workers"])
        mine = [v for k, v in tasks.items() if k.startswith("apexplorer-session-")]
        assert mine and mine[-1][0] == "processing" and mine[-1][1] in workers, tasks
        n = pg.js(CURVE)
        pg.wait_js(f"n => ({CURVE})() > n", arg=n, timeout=60_000)  # the curves move
        pg.tab("Settings").click()
        _type(pg, "Learning rate", "0.02")  # a live change reaches the trainer on the worker
        expect(pg.text("applied lr to the running network")).to_be_visible(timeout=60_000)
        pg.button("Pause").click()
        pg.wait_status(r"\(paused\)")
        before = pg.status()
        pg.button("Step").click()
        end = time.monotonic() + 30
        while pg.status() == before and time.monotonic() < end:
            time.sleep(0.1)
        assert pg.status() != before and "(paused)" in pg.status()
