"""The Settings tab in a real browser: research values are taken as typed, refused ones are
explained inline, and a loaded session shows its own values in every widget."""

import re
import subprocess
import sys
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.app.conftest import ROOT, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")
    return box


def test_settings_take_any_value_the_library_accepts(page):
    pg = page.open()
    pg.tab("Settings").click()
    typed = {"T1 (inference steps)": "50", "T2 (learning steps)": "40", "Epochs": "500", "Spectral radius ρ": "5",
             "β (error strength)": "7", "Batch size": "5000", "Learning rate": "0.5"}
    for label, value in typed.items():
        _type(pg, label, value)
    pg.page.wait_for_timeout(1500)  # a widget with hard bounds snaps back on the round trip
    for label, value in typed.items():
        assert float(pg.page.get_by_label(label, exact=True).input_value()) == float(value), label
    pg.wait_status(r"epoch 0/500")  # the untrained network was rebuilt with them
    assert not pg.page.get_by_text("must be").count()
    pg.tab("Network").click()
    expect(pg.page.locator(".tabulator-cell[tabulator-field='spectral_radius']").first).to_have_text(re.compile(r"^5(\.0)?$"))


@pytest.mark.parametrize("label, value, words", [
    ("Learning rate", "0", "learning rate 0 must be a positive number"),
    ("T1 (inference steps)", "0", "t1 = 0: iteration counts must be integers >= 1"),
    ("Spectral radius ρ", "-1", "spectral radius -1 must be a finite number >= 0"),
], ids=["lr-0", "t1-0", "rho-negative"])
def test_a_refused_setting_shows_the_library_message(page, label, value, words):
    pg = page.open()
    pg.tab("Settings").click()
    box = _type(pg, label, value)
    expect(pg.text(words)).to_be_visible(timeout=20_000)
    assert float(box.input_value()) == float(value)  # kept as typed, to be corrected


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory):
    """A saved run whose every setting differs from the page's defaults (it diverges, and saves)."""
    path = tmp_path_factory.mktemp("run") / "X.pt"
    cmd = [sys.executable, "-m", "apexplorer.cli", "train", "--dataset", "digits", "--lr", "10", "--sr", "5",
           "--rate", "0.5", "--epochs", "3", "--t1", "5", "--t2", "12", "--mode", "epe", "--beta", "0.5",
           "--batch-size", "64", "--seed", "7", "--device", "cpu", "--save", str(path)]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300)
    assert path.exists()
    return path


SAVED = {"Learning rate": 10, "Spectral radius ρ": 5, "Connection rate c": 0.5, "Epochs": 3,
         "T1 (inference steps)": 5, "T2 (learning steps)": 12, "β (error strength)": 0.5, "Batch size": 64,
         "Seed": 7}


def test_a_loaded_session_shows_its_values_in_every_widget(page, diverged_run):
    pg = page.open()
    pg.text("Save / load session").click()
    pg.page.locator("input[type=file][accept='.pt']").set_input_files(str(diverged_run))
    expect(pg.text("loaded the session X.pt")).to_be_visible(timeout=30_000)
    pg.tab("Settings").click()
    for label, value in SAVED.items():
        assert float(pg.page.get_by_label(label, exact=True).input_value()) == value, label
    assert pg.page.get_by_label("Device", exact=True).input_value() == "CPU"  # the menu shows devices by name
    assert pg.page.get_by_label("Precision", exact=True).input_value() == "fp32"
    expect(pg.page.locator(".bk-btn.bk-active", has_text="epe")).to_be_visible()
    pg.wait_status(r"epoch 1/3 · batch \d+/23 .*\(paused\)")  # it diverged in its first epoch
    assert not pg.page.get_by_text("Changed:").is_visible()  # nothing waits to be applied
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(pg.page.url).query))  # the link is the session's run
    assert (query["train.lr"], query["ap.spectral_radius"], query["ap.mode"]) == ("10.0", "5.0", "epe")
