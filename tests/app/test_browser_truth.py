"""What the page says is what trains, in a real browser (issue 24, items 8 to 15): an invalid wiring
is drawn as it is with Train off and why, a huge ensemble is estimated and refused and a build can be
cancelled, the status line tells the run's time left and its epochs now, the speed is one figure
defined once, the figures download as a zip, and an alternating multitask run names the task that
trains and how far its pass is."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

SOURCE = "(name) => { for (const m of Bokeh.documents[0]._all_models.values())" \
         " if (m.name === name && m.data) { const o = {}; for (const [k, v] of Object.entries(m.data))" \
         " o[k] = Array.from(v); return o; } return null; }"


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")
    return box


def _source(pg, name):
    return pg.js(SOURCE, name)


def _seconds(text):
    m, s = text.split(":")[-2:]
    return 60 * int(m) + int(s)


# ------------------------------------------------------------------ item 9
def test_an_invalid_wiring_is_drawn_as_it_is_and_train_says_why_it_is_off(page):
    pg = page.open()
    assert _source(pg, "graph-ff_on")["path"]
    paths = pg.page.get_by_label("Path", exact=True)
    for _ in range(12):  # remove every path, one by one, as a user would
        options = paths.locator("option").all_inner_texts()
        if not options:
            break
        paths.select_option(options[0])
        pg.button("Remove path").click()
        expect(paths.locator("option", has_text=re.compile("^" + re.escape(options[0]) + "$"))).to_have_count(0)
    assert not paths.locator("option").count()
    # the drawing is the wiring as it stands: its modules and ports, no path, and the problem written on it
    pg.wait_js(f"() => {{ const d = ({SOURCE})('graph-notes'); return d && d.text.length > 0; }}")
    for key in ("ff_on", "ff_off", "fb_on", "fb_off"):
        assert _source(pg, f"graph-{key}")["path"] == [], key
    titles = _source(pg, "graph-titles")["text"]
    assert "L1" in titles and "L2" in titles and "input" in titles and "output" in titles
    notes = " ".join(_source(pg, "graph-notes")["text"])
    assert "not valid" in notes and "cannot be reached" in notes.replace("\n", " ")
    # no stale "ready": Train is off, and says why
    pg.wait_status(r"^no network: Train is off until the problem below is fixed")
    expect(pg.text("a fresh network is ready")).to_be_hidden()
    train = pg.button("Train")
    expect(train).to_be_disabled()
    expect(pg.button("Step")).to_be_disabled()
    expect(pg.page.locator(".alert-danger", has_text="cannot be reached").first).to_be_visible()
    # a valid wiring again: drawn, built, trainable
    pg.page.get_by_label("Preset", exact=True).select_option("digits")
    pg.button("Load preset").click()
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)")
    expect(train).to_be_enabled()
    assert _source(pg, "graph-ff_on")["path"] and not _source(pg, "graph-notes")["text"]


# ------------------------------------------------------------------ item 10
def test_a_huge_ensemble_is_estimated_and_refused_and_a_build_can_be_cancelled(page):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "Seeds (ensemble)", "1000")
    refusal = pg.text(r"seeds 1000: an ensemble of 1000 networks would take about \d+:\d\d to build here and hold "
                      r"about [\d.]+ [MG]B; the page builds ensembles of up to 0:20 \(about \d+ seeds")
    expect(refusal).to_be_visible(timeout=60_000)
    pg.wait_status(r"^no network: Train is off")
    expect(pg.button("Train")).to_be_disabled()
    most = int(re.search(r"about (\d+) seeds", refusal.inner_text()).group(1))
    # an ensemble under the limit builds; a build under way can be cancelled
    _type(pg, "Seeds (ensemble)", str(max(most - most // 5, 8)))
    cancel = pg.button("Cancel the build")
    expect(cancel).to_be_visible(timeout=30_000)
    pg.wait_status(r"\(building\)")
    cancel.click()
    expect(pg.text(r"the build was cancelled after drawing \d+ of \d+ members")).to_be_visible(timeout=30_000)
    pg.wait_status(r"^no network yet: press Train")
    expect(cancel).to_be_hidden()
    _type(pg, "Seeds (ensemble)", "2")  # the page goes on
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)", timeout=60_000)


# ------------------------------------------------------------------ item 12 and 14
def test_the_status_line_tells_the_run_and_the_speed_is_one_defined_figure(page):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "Epochs", "0")
    expect(pg.text(r"epochs 0: a run trains at least 1 epoch; choose 1 or more")).to_be_visible(timeout=20_000)
    _type(pg, "Epochs", "3")
    pg.wait_status(r"epoch 0/3 .*\(ready\)")
    pg.button("Step").click()
    pg.wait_status(r"epoch 1/3 · batch 1/")
    _type(pg, "Epochs", "40")  # a live setting: the run's total follows at once
    pg.wait_status(r"epoch 1/40 · batch 1/")
    pg.button("Train").click()
    pg.wait_status(r"\(\d+%, \d+:\d\d left in the run\)")
    left = _seconds(re.search(r"(\d+:\d\d) left in the run", pg.status()).group(1))
    pg.button("Pause").click()
    pg.wait_status(r"\(paused\)")
    status = pg.status()
    batch, n_batches = map(int, re.search(r"batch (\d+)/(\d+)", status).groups())
    assert left > 0 and "samples/s" not in status  # no second speed figure
    speed = pg.page.locator(".ap-speed").first
    expect(speed).to_contain_text(re.compile(r"Training speed \(samples/s: training samples a run's own steps take "
                                             r"per second.*\) · AP [\d,.]+ samples/s"))
    # the figures download as one zip of PNG and SVG (item 14)
    with pg.page.expect_download(timeout=60_000) as dl:
        pg.button("Figures").click()
    with open(dl.value.path(), "rb") as f:
        z = zipfile.ZipFile(io.BytesIO(f.read()))
    names = z.namelist()
    pngs = [n for n in names if n.endswith(".png")]
    svgs = [n for n in names if n.endswith(".svg")]
    assert len(pngs) >= 3 and len(pngs) == len(svgs), names  # the network and the two curves at least
    assert any(n.startswith("loss") for n in pngs) and any(n.startswith("accuracy") for n in pngs), names
    for n in pngs:
        assert z.read(n)[:8] == b"\x89PNG\r\n\x1a\n", n
    for n in svgs:
        assert b"<svg" in z.read(n)[:400], n
    expect(pg.text(r"downloaded apexplorer-figures.zip: \d+ figures as PNG and SVG")).to_be_visible()
    assert dl.value.suggested_filename == "apexplorer-figures.zip" and batch <= n_batches


# ------------------------------------------------------------------ item 15
def test_an_alternating_multitask_run_names_the_task_that_trains_and_its_pass(browser, server):
    import os
    import urllib.parse

    import apexplorer.examples
    from apexplorer.experiment import Experiment
    from tests.app.conftest import Page

    exp = Experiment.load(os.path.join(os.path.dirname(apexplorer.examples.__file__), "fig5b-alternating.toml"))
    exp = exp.with_changes({"tasks.A.dataset": "digits", "tasks.B.dataset": "digits", "train.batch_size": 100,
                            "train.device": "cpu", "wiring.options.size": 16, "train.epochs": 20})
    with Page(browser, server.url + "?" + urllib.parse.urlencode(exp.to_query())) as pg:
        pg.open()
        pg.button("Step").click()
        pg.wait_status(r"epoch 1/20 · batch 1/30 .*training task A: batch 1/15 of its pass \(7%\), then B")
        pg.button("Train").click()
        pg.wait_status(r"training task B: batch \d+/15 of its pass", timeout=120_000)
        pg.button("Pause").click()
        pg.wait_status(r"\(paused\)")
        b, n = map(int, re.search(r"training task [AB]: batch (\d+)/(\d+) of its pass", pg.status()).groups())
        assert 1 <= b <= n == 15


# ------------------------------------------------------------------ item 11
def test_a_cancelled_sweep_says_so_and_keeps_its_finished_points(page, server):
    from pathlib import Path

    pg = page.open()
    pg.tab("Sweeps").click()
    box = pg.page.get_by_label("Values (comma-separated)")
    box.fill("0.1, 0.2, 0.5, 1")
    box.press("Enter")
    epochs = pg.page.get_by_label("Epochs per point")
    epochs.fill("4")
    epochs.press("Enter")
    pg.button("Run sweep").click()
    status = pg.page.locator(".ap-sweep-status").first
    expect(status).to_contain_text(re.compile(r"2 of 4 points"), timeout=240_000)
    pg.button("Cancel").click()
    expect(status).to_contain_text(re.compile(r"Cancelled after 2 of 4 points"), timeout=60_000)
    expect(status).not_to_contain_text("epoch")
    pg.tab("Table").click()
    expect(pg.page.locator(".ap-sweep-table .tabulator-row")).to_have_count(2)
    with pg.page.expect_download() as got:
        pg.button("Download the results").click()
    lines = Path(got.value.path()).read_text().splitlines()
    assert lines[0].startswith("point,seed,epoch") and len(lines) == 1 + 2 * 4, lines  # 2 points, 4 epochs each


# ------------------------------------------------------------------ item 8
LEGENDS = """() => { const Plot = Bokeh.Models.get('Plot'), Legend = Bokeh.Models.get('Legend'), out = [];
  for (const v of Bokeh.index.query((v) => v.model instanceof Plot)) {
    if (!(v.el && v.el.isConnected)) continue;
    const m = v.model;
    for (const l of [...m.right, ...m.center, ...m.left, ...m.above, ...m.below])
      if (l instanceof Legend && l.name && l.name.startsWith('legend-'))
        for (const it of l.items) out.push(typeof it.label === 'string' ? it.label : (it.label.value || ''));
  }
  return out; }"""


def test_a_baseline_from_the_paper_is_named_and_drawn_as_what_trains(page):
    pg = page.open()
    pg.tab("Trajectories").click()  # the AP network's recorded sample is shown
    expect(pg.text(r"the learning phase restarts from 0 \(STE\)")).to_be_visible(timeout=30_000)
    pg.load_paper("fig4abc", "EP 2-HL")
    expect(pg.text(r"loaded the paper's experiment")).to_be_visible(timeout=60_000)
    pg.wait_status(r"epoch 0/\d+ .*\(ready\)", timeout=120_000)
    # the graph: EP's layers, not the AP wiring it ignores
    expect(pg.text(r"Network: EP \(equilibrium prop\.\) trains a layered network")).to_be_visible()
    titles = _source(pg, "graph-titles")["text"]
    labels = _source(pg, "graph-labels")["text"]
    assert "hidden 1" in titles and "hidden 2" in titles and "L1" not in titles, titles
    assert labels.count("layer 64") == 2 and not [t for t in labels if re.match(r"(RI|SI|RE|SE) ", t)], labels
    assert _source(pg, "graph-fb_on")["path"] == []
    pg.button("Step").click()
    pg.wait_status(r"batch 1/")
    # the AP-only views say why they are empty instead of the last AP network's sample
    pg.tab("Trajectories").click()
    expect(pg.text(r"This run trains EP \(equilibrium prop\.\), a layered network without AP's modules")).to_be_visible()
    expect(pg.text(r"restarts from 0 \(STE\)")).to_have_count(0)
    pg.tab("Error flow").click()
    expect(pg.page.locator(".bk-panel-models-markup-HTML", has_text="This run trains EP").first).to_be_visible()
    pg.tab("Curves").click()
    pg.wait_js(f"() => ({LEGENDS})().some(l => l.startsWith('EP training batches'))")
    legends = pg.js(LEGENDS)
    assert not [lab for lab in legends if lab.startswith("AP")], legends
    expect(pg.page.locator(".ap-speed").first).to_contain_text(re.compile(r"· EP [\d,.]+ samples/s"))
    assert " AP " not in pg.page.locator(".ap-speed").first.inner_text()
