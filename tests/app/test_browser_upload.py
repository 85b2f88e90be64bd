"""A visitor's own data in a real browser: a CSV uploaded on the Tasks tab becomes the task's dataset (its class
names on the Boundary tab, the plane redrawn while AP trains); a bad file gets the loader's message, which names
the visitor's file and no server path."""

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium
from tests.app.test_browser_boundary import PLANE, frames_while_training

pytestmark = [pytest.mark.browser, needs_chromium]

NAME = "<img src=x onerror=alert(7)> moons.csv"  # a visitor's file name is shown as text, never as HTML


def _moons_csv(path, n=200):
    """Two interleaved half circles with string labels, the label column first (not the default last)."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, n)
    k = np.arange(n) % 2
    x = np.where(k == 0, np.cos(t), 1 - np.cos(t)) + rng.normal(0, 0.1, n)
    y = np.where(k == 0, np.sin(t), 0.5 - np.sin(t)) + rng.normal(0, 0.1, n)
    rows = [f"{['crescent', 'hook'][c]},{a:.4f},{b:.4f}" for c, a, b in zip(k, x, y)]
    path.write_text("kind,x1,x2\n" + "\n".join(rows) + "\n")
    return path


def test_an_uploaded_csv_trains_with_its_class_names_on_the_boundary_tab(browser, server, tmp_path):
    good = _moons_csv(tmp_path / NAME)
    bad = tmp_path / "ragged.csv"
    bad.write_text("kind,x1,x2\ncrescent,0.1,0.2\nhook,0.3\n")
    with Page(browser, f"{server.url}?preset=toy&train.epochs=500") as pg:
        pg.open()
        pg.tab("Tasks").click()
        expect(pg.text(r"up to 512\.0 MB; the server's operator raises the limit with")).to_be_visible()
        expect(pg.text("Uploaded data stays in this browser session")).to_be_visible()
        picker = pg.page.locator("input[type=file][accept='.csv,.npz']")
        picker.set_input_files(str(bad))
        error = pg.page.locator(".ap-upload-error")
        expect(error).to_contain_text("ragged.csv: row 3 has 2 fields, the header has 3")
        assert "/tmp" not in error.inner_text() and "apexplorer-data" not in error.inner_text()
        pg.page.get_by_placeholder("the last column").fill("kind")  # a hurried user: no Enter, no click away
        picker.set_input_files(str(good))
        info = pg.page.locator(".ap-upload-info")
        expect(info).to_contain_text(f"{NAME}: 160 training and 40 test samples, 2 features, 2 classes "
                                     "(crescent, hook); task main trains on it")
        expect(error).to_be_hidden()
        expect(pg.page.get_by_label("Dataset", exact=True)).to_have_value(NAME)  # the task's choice names it
        pg.wait_status(r"\(ready\)")
        pg.tab("Boundary").click()
        pg.wait_js(f"() => ({PLANE})() > 0", timeout=60_000)
        expect(pg.text("crescent")).to_be_visible()  # the file's class names, in their colours
        expect(pg.text("hook")).to_be_visible()
        pg.button("Train").dblclick()  # a hurried double click trains once
        pg.wait_status(r"batch \d+/")
        frames_while_training(pg, tries=80)  # the uploaded task's plane is redrawn while it trains
        pg.button("Pause").click()
        assert not pg.page.locator("img[src='x']").count()  # the file name made no HTML


def test_a_link_that_names_a_data_file_reads_nothing_from_the_server(browser, server, tmp_path):
    """A link carries the name of an uploaded file, not its data: a served page never reads a file it names (here
    one that exists on the server), it says to upload it again."""
    secret = _moons_csv(tmp_path / "server.csv")
    with Page(browser, f"{server.url}?preset=toy&tasks.main.dataset={secret}&tasks.main.label=kind") as pg:
        pg.open()
        note = pg.page.locator(".ap-link-note")
        expect(note).to_contain_text("is a visitor's uploaded data, which links, experiment files and saved "
                                     "sessions name but do not hold; upload")
        expect(note).to_contain_text("until then task main uses digits")
        pg.tab("Tasks").click()
        expect(pg.page.get_by_label("Dataset", exact=True)).to_have_value("digits")
