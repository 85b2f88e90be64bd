"""The Settings tab in a real browser: research values are taken as typed, refused ones are
explained inline, and a loaded session shows its own values in every widget."""

import re
import subprocess
import sys

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
             "β (error strength)": "-1", "Batch size": "5000", "Learning rate": "0.5"}
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
