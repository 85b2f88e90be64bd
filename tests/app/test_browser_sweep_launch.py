"""A sweep launched from the Sweeps tab in a real browser: it runs the page's experiment on a local Dask
cluster, shows its progress and ends in a table with one row per point; a bad value launches nothing;
a double click launches one sweep; closing the tab mid-sweep leaves no worker process behind."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def _words(p) -> list:
    """The module names in a process's command line (``from multiprocessing.forkserver import main`` ...)."""
    return " ".join(p.cmdline()).replace(".", " ").replace(";", " ").split()


def _workers(pid) -> list:
    """The server's child processes other than multiprocessing's resource tracker and the training
    workers' fork server (with the workers forked from it, which share its command line): the sweep's workers."""
    import psutil

    out = []
    for p in psutil.Process(pid).children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and not {"resource_tracker", "forkserver"} & set(_words(p)):
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _open_sweeps(pg):
    pg.tab("Sweeps").click()
    expect(pg.button("Run sweep")).to_be_visible()
    return pg


def _fill(pg, values="0.1, 0.5", epochs="1"):
    box = pg.page.get_by_label("Values (comma-separated)")
    box.fill(values)
    box.press("Enter")
    e = pg.page.get_by_label("Epochs per point")
    e.fill(epochs)
    e.press("Enter")


def _rows(pg) -> int:
    return pg.page.locator(".ap-sweep-table .tabulator-row").count()


def test_a_sweep_launched_from_the_page_shows_its_progress_and_a_row_per_point(page, server):
    pg = _open_sweeps(page.open())
    _fill(pg)
    t0 = time.monotonic()
    pg.button("Run sweep").click()
    expect(pg.text(r"Starting|of 2 points")).to_be_visible(timeout=10_000)
    expect(pg.page.locator(".ap-sweep-progress progress")).to_have_attribute("max", "2")
    expect(pg.button("Cancel")).to_be_enabled()
    expect(pg.text(r"Finished: 2 of 2 points")).to_be_visible(timeout=90_000)
    seconds = time.monotonic() - t0
    print(f"\nthe browser's sweep of 2 points took {seconds:.1f} s")
    expect(pg.page.locator(".ap-sweep-progress progress")).to_have_attribute("value", "2")
    expect(pg.text(r"sweep-1\.csv: 2 rows, 2 finished runs")).to_be_visible()
    pg.tab("Table").click()
    expect(pg.page.locator(".ap-sweep-table .tabulator-row")).to_have_count(2)
    cells = pg.page.locator(".ap-sweep-table .tabulator-row .tabulator-cell[tabulator-field=sr]").all_inner_texts()
    assert sorted(float(c) for c in cells) == [0.1, 0.5]
    expect(pg.button("Download the results")).to_be_visible()
    expect(pg.button("Run sweep")).to_be_enabled()
    expect(pg.button("Cancel")).to_be_disabled()
    with pg.page.expect_download() as got:
        pg.button("Download the results").click()
    text = Path(got.value.path()).read_text()
    assert text.splitlines()[0].startswith("point,seed,epoch") and len(text.splitlines()) == 3
    assert seconds < 60


def test_a_bad_value_says_which_and_launches_nothing(page, server):
    pg = _open_sweeps(page.open())
    _fill(pg, values="0.1, abc")
    pg.button("Run sweep").click()
    expect(pg.text(r"ρ \(spectral radius\): value 'abc' is not a number >= 0")).to_be_visible()
    time.sleep(1)
    assert not pg.text(r"Starting|of \d+ points").is_visible()
    expect(pg.button("Run sweep")).to_be_enabled()
    assert not _workers(server.proc.pid)


def test_a_double_click_on_run_launches_one_sweep(page, server):
    pg = _open_sweeps(page.open())
    _fill(pg)
    pg.button("Run sweep").dblclick()
    expect(pg.text(r"Finished: 2 of 2 points")).to_be_visible(timeout=90_000)
    expect(pg.text(r"sweep-1\.csv: 2 rows")).to_be_visible()
    time.sleep(1.5)  # a second sweep, had it started, would now show
    assert not pg.text(r"sweep-2\.csv|Starting").is_visible()


def test_cancel_stops_the_sweep_and_closes_its_cluster(page, server):
    pg = _open_sweeps(page.open())
    _fill(pg, epochs="200")
    pg.button("Run sweep").click()
    expect(pg.text(r"0 of 2 points trained")).to_be_visible(timeout=60_000)
    assert _workers(server.proc.pid), "no worker process while the sweep runs"
    pg.button("Cancel").click()
    expect(pg.text(r"Cancelled after 0 of 2 points")).to_be_visible(timeout=30_000)
    expect(pg.button("Run sweep")).to_be_enabled()
    end = time.monotonic() + 20
    while _workers(server.proc.pid) and time.monotonic() < end:
        time.sleep(0.25)
    assert not _workers(server.proc.pid), "the cluster's worker processes outlived Cancel"


def test_closing_the_tab_mid_sweep_closes_the_cluster(browser, server):
    pg = _open_sweeps(Page(browser, server.url).open())
    try:
        _fill(pg, epochs="200")
        pg.button("Run sweep").click()
        expect(pg.text(r"0 of 2 points trained")).to_be_visible(timeout=60_000)
        assert _workers(server.proc.pid)
    finally:
        pg.close()
    # the server ends a closed tab's session after its unused-session check (Bokeh: ~15-30 s)
    end = time.monotonic() + 90
    while _workers(server.proc.pid) and time.monotonic() < end:
        time.sleep(0.5)
    assert not _workers(server.proc.pid), "the sweep's worker processes outlived the tab"
    assert not re.search(r"Traceback", server.problems())
