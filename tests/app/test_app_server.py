"""The served explorer: ``panel serve apps/explorer.py`` answers, and a real browser trains on it.

The browser test needs Debian's chromium at /usr/bin/chromium (skipped without it).  It
clicks Train, waits until the status line shows test accuracy above chance and the
accuracy curve has points, and saves the README's screenshot (in assets/ when
APEXPLORER_ASSETS=assets is set).  The shared fixtures (conftest.py) fail the test on
any exception in the server log and any JavaScript error.
"""

import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.app.conftest import Page, needs_chromium


def test_the_served_page_answers(server):
    with urllib.request.urlopen(server.url, timeout=120) as r:
        body = r.read().decode()
    assert r.status == 200
    assert "bokeh" in body.lower() and "apexplorer" in body


@pytest.mark.browser
@needs_chromium
def test_a_browser_trains_the_default_network_and_sees_it_learn(page, browser, server, tmp_path):
    pg = page.open()
    p = pg.page
    pg.wait_js("() => Bokeh.documents[0].get_model_by_name('curve-acc-test-main') !== null")
    pg.button("Train").click()
    pg.wait_js("() => { const s = Bokeh.documents[0].get_model_by_name('curve-acc-test-main');"
               " return s && s.data.y.length >= 2 && s.data.y[s.data.y.length - 1] > 50; }", timeout=120_000)
    line = pg.text(r"epoch \d+/\d+ .* test acc [\d.]+%")
    expect(line).to_be_visible(timeout=60_000)
    m = re.search(r"test acc ([\d.]+)%", pg.status())
    assert m, pg.status()
    assert float(m.group(1)) > 10.0, pg.status()  # ten classes: chance is 10 %
    n = pg.js("() => Bokeh.documents[0].get_model_by_name('curve-loss-train-main').data.x.length")
    assert n > 2
    time.sleep(1.0)
    # the README's screenshot is refreshed only on request (APEXPLORER_ASSETS=assets)
    out = Path(os.environ.get("APEXPLORER_ASSETS") or tmp_path)
    out.mkdir(exist_ok=True)
    p.screenshot(path=str(out / "explorer.png"))
    assert (out / "explorer.png").stat().st_size > 10_000
    # a second tab is its own session: a fresh network, untouched by the first one's training
    with Page(browser, server.url) as other:  # fails on the page's JavaScript errors
        other.open()
        expect(other.text(r"epoch 0/\d+")).to_be_visible(timeout=60_000)
        assert pg.text(r"test acc [\d.]+%").is_visible()
