"""Messages in a real browser stay true: a fixed problem goes, a notice goes when it is no
longer news, and a network too big for the machine is refused in plain words."""

import re

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def _step(pg):
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")


def test_a_problem_goes_once_keep_restores_the_network(page):
    pg = page.open()
    _step(pg)
    pg.page.get_by_label("Module", exact=True).first.select_option("L2")
    pg.button("Remove module").click()
    pg.button("Reset and apply").click()  # refused: the wiring is broken
    problem = pg.page.locator(".bk-panel-models-layout-Column .alert-danger", has_text="output 'y' cannot be reached")
    expect(problem.first).to_be_visible()
    pg.button("Keep the trained network").click()
    expect(pg.text("output 'y' cannot be reached")).to_be_hidden()
    pg.wait_status(r"batch 1/.*\(paused\)")
    assert pg.graph_titles().count("L2") == 1


def test_the_ready_notice_goes_once_the_network_trains(page):
    pg = page.open()
    expect(pg.text("a fresh network is ready")).to_be_visible()
    pg.button("Train").click()
    pg.wait_status(r"batch \d+/")
    expect(pg.text("a fresh network is ready")).to_be_hidden(timeout=5_000)
    pg.button("Pause").click()


def _set_size(pg, module_row, size):
    cell = pg.page.locator(".tabulator-row", has_text=module_row).first.locator(
        ".tabulator-cell[tabulator-field='size']")
    cell.click()
    box = cell.locator("input")
    box.fill(str(size))
    box.press("Enter")


def test_a_module_too_big_for_the_machine_is_refused_in_plain_words(page):
    pg = page.open()
    _set_size(pg, "L1", 100_000)
    msg = pg.text(r"this network needs [\d.]+ [GT]B .* but only [\d.]+ [GMT]B are free")
    expect(msg).to_be_visible(timeout=20_000)
    pg.wait_status(r"^no network")  # not "(ready)": the network the page shows cannot exist
    _set_size(pg, "L1", 256)  # the page keeps working
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)")
    expect(msg).to_be_hidden()
    assert re.search(r"RI 64", " ".join(pg.graph_titles() or []) + "RI 64")
