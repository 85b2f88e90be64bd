"""Files in a real browser: sessions and tables move through downloads and uploads, server
paths exist only inside the folder the operator named, and uploads leave nothing behind."""

import glob
import os
import tempfile

import pytest
import torch
from playwright.sync_api import expect

from tests.app.conftest import ROOT, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def _uploads() -> set:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "apexplorer-upload-*")))


def _upload_session(pg, path):
    pg.page.locator("input[type=file][accept='.pt']").set_input_files(str(path))


def test_a_session_downloads_and_uploads_back_through_the_browser(page, browser, server, tmp_path):
    from tests.app.conftest import Page

    pg = page.open()
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
    pg.text("Save / load session").click()
    assert not pg.page.get_by_label("Session file in the server's folder").is_visible()  # no server paths
    with pg.page.expect_download() as dl:
        pg.button("Download this session").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "explorer-session.pt"
    assert torch.load(path, weights_only=True)["format"] == "apexplorer-checkpoint"
    assert not (ROOT / "explorer-session.pt").exists()  # nothing lands where the server started
    before = _uploads()
    with Page(browser, server.url) as other:  # fails on the page's JavaScript errors
        other.open()
        other.text("Save / load session").click()
        _upload_session(other, path)
        expect(other.text("loaded the session explorer-session.pt")).to_be_visible(timeout=30_000)
        other.wait_status(r"batch 1/")
        assert _uploads() <= before  # the uploaded copy is gone once read


def test_a_broken_session_file_gets_a_message(page, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    before = _uploads()
    pg = page.open()
    pg.text("Save / load session").click()
    _upload_session(pg, junk)
    expect(pg.text("checkpoint 'junk.pt' is corrupt or not a checkpoint")).to_be_visible()
    assert _uploads() <= before
    pg.button("Step").click()  # the page keeps working
    pg.wait_status(r"batch 1/")


def test_server_paths_exist_only_inside_the_operators_folder(files_page, sweep_table):
    folder = files_page.folder
    pg = files_page.open()
    pg.text("Save / load session").click()
    box = pg.page.get_by_label("Session file in the server's folder")
    for bad in ("/etc/passwd", "../outside.pt"):
        box.fill(bad)
        pg.button("Load from the server").click()
        expect(pg.text("outside the server's folder for files")).to_be_visible()
    box.fill("run.pt")
    pg.button("Save on the server").click()
    expect(pg.text("saved the session as run.pt")).to_be_visible()
    assert (folder / "run.pt").is_file()
    pg.button("Load from the server").click()
    expect(pg.text("loaded the session run.pt")).to_be_visible()
    # a sweep table: a name inside the folder, nothing outside it
    (folder / "sweep.csv").write_bytes(sweep_table.read_bytes())
    pg.tab("Sweeps").click()
    path = pg.page.get_by_placeholder("results.csv")
    path.fill("/etc/passwd")
    path.press("Enter")
    expect(pg.text("'/etc/passwd' is outside the server's folder")).to_be_visible()
    path.fill("sweep.csv")
    path.press("Enter")
    expect(pg.text("sweep.csv: 24 rows")).to_be_visible()


def test_the_default_sweeps_tab_reads_no_server_paths(page):
    pg = page.open()
    pg.tab("Sweeps").click()
    expect(pg.text("Upload a results table")).to_be_visible()
    assert not pg.page.get_by_placeholder("results.csv").count()


def test_hurried_clicks_and_a_session_loaded_in_the_middle_of_training_asks_first(page, tmp_path):
    pg = page.open()
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
    pg.text("Save / load session").click()
    with pg.page.expect_download() as dl:
        pg.button("Download this session").click()
    path = tmp_path / "early.pt"
    dl.value.save_as(path)
    train = pg.button("Train")
    train.click()
    train.click(force=True)  # twice, the second on a disabled button
    pg.wait_status(r"batch \d+/.*\(running\)")
    _upload_session(pg, path)  # while it trains: the page asks first, and nothing is replaced meanwhile
    ask = pg.page.locator(".ap-load-confirm")
    expect(ask.get_by_text("Load the session early.pt?")).to_be_visible(timeout=30_000)
    ask.get_by_role("button", name="Keep the trained network").click()
    expect(pg.text("kept the trained network; the session early.pt was not loaded")).to_be_visible()
    expect(ask).to_be_hidden()
    pg.wait_status(r"\((running|finished)\)")  # the trained network goes on
    _upload_session(pg, path)  # again, and this time load it
    expect(ask.get_by_text("Load the session early.pt?")).to_be_visible(timeout=30_000)
    ask.get_by_role("button", name="Load the session").click()
    expect(pg.text("loaded the session early.pt")).to_be_visible(timeout=30_000)
    expect(ask).to_be_hidden()
    pg.wait_status(r"epoch 1/\d+ · batch 1/.*\(paused\)")
    for _ in range(2):
        pg.button("Reset").click()
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)")
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
