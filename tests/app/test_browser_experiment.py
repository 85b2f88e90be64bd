"""The explorer's experiment in a real browser: the URL carries it (a copied link opens the same
settings and graph in a fresh session), an experiment file opens and saves through the browser,
and a figure of the paper loads its experiment."""

import re
import urllib.parse

import pytest
from playwright.sync_api import expect

from apexplorer import Experiment
from tests.app.conftest import Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

SETTINGS = ("Spectral radius ρ", "Connection rate c", "T1 (inference steps)", "T2 (learning steps)",
            "β (error strength)", "Learning rate", "Batch size", "Epochs", "Seed", "Seeds (ensemble)")


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def _settings(pg) -> dict:
    pg.tab("Settings").click()
    out = {label: float(pg.page.get_by_label(label, exact=True).input_value()) for label in SETTINGS}
    out["mode"] = pg.page.locator(".bk-btn.bk-active", has_text=re.compile("^(ste|epe)$")).first.inner_text()
    return out


def _query(pg) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(pg.page.url).query))


def test_a_copied_link_opens_the_same_settings_and_graph(page, browser, server):
    pg = page.open()
    assert _query(pg) == {"preset": "digits"}
    start = pg.js("() => history.length")
    pg.page.get_by_label("Preset").select_option("2afc")
    pg.button("Load preset").click()
    pg.wait_status(r"epoch 0/20 .*\(ready\)")
    pg.tab("Settings").click()
    _type(pg, "Spectral radius ρ", "0.5")
    _type(pg, "Learning rate", "0.03")
    pg.wait_js("() => location.search.includes('spectral_radius=0.5') && location.search.includes('lr=0.03')")
    assert _query(pg) == {"preset": "2afc", "ap.spectral_radius": "0.5", "train.lr": "0.03"}
    assert pg.js("() => history.length") == start  # replaced, not one history entry per edit
    want, titles = _settings(pg), pg.graph_titles()
    assert want["Spectral radius ρ"] == 0.5 and want["mode"] == "epe"
    with Page(browser, pg.page.url) as other:  # a new browser context: nothing shared but the link
        other.open()
        assert _settings(other) == want
        assert other.graph_titles() == titles
        other.wait_status(r"epoch 0/20 .*\(ready\)")
        other.tab("Network").click()
        expect(other.page.locator(".tabulator-cell[tabulator-field='spectral_radius']").first).to_have_text("0.5")


def test_an_experiment_file_saves_and_opens_through_the_browser(page, tmp_path):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "T1 (inference steps)", "5")
    pg.text("Experiment: open, save, command line").click()
    expect(pg.text(r"apexplorer train --preset digits --dataset digits --t1 5")).to_be_visible()
    with pg.page.expect_download() as dl:
        pg.button("Download experiment.toml").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    exp = Experiment.load(path)
    assert exp.ap.t1 == 5 and exp.wiring.preset == "digits"
    mine = tmp_path / "mine.toml"
    exp.with_changes({"ap.t2": 3, "train.batch_size": 16}).save(mine)
    pg.page.locator("input[type=file][accept='.toml,.json']").set_input_files(str(mine))
    expect(pg.text("opened the experiment mine.toml")).to_be_visible()
    assert _settings(pg)["T2 (learning steps)"] == 3 and _settings(pg)["Batch size"] == 16
    pg.wait_status(r"epoch 0/30 .*\(ready\)")


def test_a_figure_of_the_paper_loads_its_experiment_beside_the_papers_values(page):
    pg = page.open()
    pg.load_paper("fig5e", "simultaneous")
    expect(pg.text("loaded the paper's experiment fig5e: simultaneous")).to_be_visible(timeout=30_000)
    pg.wait_js("() => location.search.includes('preset=fig5b')")
    assert {"L1", "L2", "L3", "L4"} <= set(pg.graph_titles())
    expect(pg.text(r"^Fig\. 5b, 5e: .* simultaneous \(quick scale\)$")).to_be_visible()
    s = _settings(pg)
    assert s["Batch size"] == 50 and s["mode"] == "epe"
    pg.wait_status(r"\(ready\)", timeout=120_000)
