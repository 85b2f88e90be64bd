"""What the page says is what trains, in a real browser (issue 24, items 8 to 15): an invalid wiring
is drawn as it is with Train off and why, a huge ensemble is estimated and refused and a build can be
cancelled, the status line tells the run's time left and its epochs now, the speed is one figure
defined once, the figures download as a zip, and an alternating multitask run names the task that
trains and how far its pass is."""

import io
import re
import time
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
    # (the problem is written from the first removal that breaks the wiring on; the last removal's redraw may
    # come a moment after the menu empties: wait for it, and name a path that stays drawn)
    drawn = "(k => { const d = (" + SOURCE + ")('graph-' + k); return d ? d.path.length : -1; })"
    try:
        pg.wait_js(f"() => {{ const d = ({SOURCE})('graph-notes'); return d && d.text.length > 0 && "
                   f"['ff_on', 'ff_off', 'fb_on', 'fb_off'].every(k => {drawn}(k) === 0); }}", timeout=20_000)
    except Exception:
        pass
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
    assert dl.value.suggested_filename == "apexplorer-figures.zip"


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
    expect(status).to_contain_text("Cancelling…", timeout=10_000)
    seen = []  # from Cancel on, the status never goes back to a point's epochs
    end = time.monotonic() + 90
    read = lambda: " ".join(status.evaluate(  # noqa: E731 - the pane's text, not its stylesheets
        "e => [...(e.shadowRoot || e).children].filter(c => !['STYLE', 'LINK'].includes(c.tagName))"
        ".map(c => c.textContent).join(' ')").split())
    while "Cancelled" not in (text := read()) and time.monotonic() < end:
        seen.append(text)
        time.sleep(0.1)
    assert not [t for t in seen if "epoch" in t or "Cancelling" not in t], seen
    done = int(re.search(r"Cancelled after (\d) of 4 points; those are shown", text).group(1))
    assert 2 <= done < 4, text  # the point in flight when Cancel came may have finished: it is kept too
    pg.tab("Table").click()
    expect(pg.page.locator(".ap-sweep-table .tabulator-row")).to_have_count(done)
    with pg.page.expect_download() as got:
        pg.button("Download the results").click()
    lines = Path(got.value.path()).read_text().splitlines()
    assert lines[0].startswith("point,seed,epoch") and len(lines) == 1 + done * 4, lines  # 4 epochs a point


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


# ------------------------------------------------------------------ item 13
PLOT = """(title) => { for (const v of Bokeh.index.query((v) => v.model instanceof Bokeh.Models.get('Plot')))
  if (v.el.isConnected && v.bbox.width > 0 && ((v.model.title && v.model.title.text) || '') === title) return v;
  return null; }"""

TITLE_FITS = f"""(title) => {{ const v = ({PLOT})(title); if (!v) return null;
  const t = v.model.title, ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${{t.text_font_style}} ${{t.text_font_size}} ${{t.text_font}}`;
  const room = (v._toolbar && v._toolbar.bbox && v._toolbar.bbox.width ? v._toolbar.bbox.left : v.bbox.right)
               - (v._title && v._title.bbox ? v._title.bbox.left : v.bbox.left);
  return {{need: ctx.measureText(t.text).width, room}}; }}"""

LEGEND_FITS = """(name) => { const Legend = Bokeh.Models.get('Legend');
  for (const v of Bokeh.index.query((v) => v.model instanceof Bokeh.Models.get('Plot'))) {
    if (!v.el.isConnected || !v.bbox.width) continue;
    for (const l of v.model.above) if (l instanceof Legend) {
      const src = v.model.renderers.map(r => r.data_source && r.data_source.name).find(n => n && n.startsWith(name));
      if (!src) continue;
      const lv = [...Bokeh.index.query((w) => w.model === l)][0];
      return {legend: lv.bbox.right, plot: v.bbox.right, left: lv.bbox.left, plotLeft: v.bbox.left}; } }
  return null; }"""


def _single_line(pg, css_class):
    """Whether the text of the pane with ``css_class`` is laid out on one line (shadow roots searched)."""
    return pg.js("""(cls) => { const walk = (root) => { for (const el of root.querySelectorAll('*')) {
        if (el.classList && el.classList.contains(cls)) return el; if (el.shadowRoot) { const f = walk(el.shadowRoot);
        if (f) return f; } } return null };
      const host = walk(document); if (!host) return null;
      const p = (host.shadowRoot || host).querySelector('p') || host;
      const r = document.createRange(); r.selectNodeContents(p);
      const tops = new Set([...r.getClientRects()].map(q => Math.round(q.top)));
      return {lines: tops.size, overflow: p.scrollWidth - p.clientWidth}; }""", css_class)


def test_the_figures_and_tables_stay_readable(browser, server, tmp_path):
    from tests.app.conftest import Page
    from tests.app.test_browser_teach import _plot_box

    with Page(browser, server.url, viewport=(1280, 720)) as pg:
        pg.open()
        # a long module name wraps in its column: every column stays in view, no cell is cut
        name = "a_module_whose_name_is_much_longer_than_its_column" * 2
        pg.page.get_by_label("New module", exact=True).fill(name)
        pg.button("Add module").click()
        row = pg.page.locator(".tabulator-row", has_text=name[:30]).first
        expect(row).to_be_visible()
        table = pg.js("""(name) => { const found = []; const walk = (root) => { for (const el of root.querySelectorAll('*')) {
              if (el.classList && el.classList.contains('tabulator') && el.textContent.includes(name)) found.push(el);
              if (el.shadowRoot) walk(el.shadowRoot) } }; walk(document); const t = found[0];
            const h = t.querySelector('.tabulator-tableholder'), r = t.getBoundingClientRect();
            const cells = [...t.querySelectorAll('.tabulator-cell')];
            return {scroll: h.scrollWidth - h.clientWidth, right: r.right,
                    headers: [...t.querySelectorAll('.tabulator-col')].map(c => c.getBoundingClientRect().right),
                    cut: cells.filter(c => c.textContent.trim() && c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)}; }""", name[:30])
        assert table["scroll"] <= 1 and max(table["headers"]) <= table["right"] + 1, table
        assert table["cut"] == [], table
        pg.page.get_by_label("Preset", exact=True).select_option("digits")
        pg.button("Load preset").click()
        pg.wait_status(r"epoch 0/\d+ .*\(ready\)")
        pg.button("Step").click()
        pg.wait_status(r"batch 1/")
        # the Errors tab: its titles fit beside their toolbars, its axis reads decimals
        pg.tab("Errors").click()
        pg.wait_js(f"() => ({PLOT})('Error magnitude now') !== null")
        for title in ("Error magnitude now", "Error magnitude over training"):
            fit = pg.js(TITLE_FITS, title)
            assert fit and fit["need"] <= fit["room"], (title, fit)
        labels = pg.js(f"() => ({PLOT})('Error magnitude now').model.left[0].formatter"
                       ".v_compute([0, 0.0002, 0.0004, 0.0006, 0.002, 0.006])")
        assert labels == ["0", "0.0002", "0.0004", "0.0006", "0.002", "0.006"], labels
        pg.page.screenshot(path=str(tmp_path / "errors-1280.png"))
        # the error-flow graph's legend fits its figure
        pg.tab("Error flow").click()
        pg.wait_js(f"() => ({LEGEND_FITS})('flow-graph') !== null")
        fit = pg.js(LEGEND_FITS, "flow-graph")
        assert fit["plotLeft"] - 1 <= fit["left"] and fit["legend"] <= fit["plot"] + 1, fit
        fit = pg.js(LEGEND_FITS, "graph-")
        assert fit["legend"] <= fit["plot"] + 1, fit
        pg.page.screenshot(path=str(tmp_path / "flow-1280.png"), full_page=True)
    # the presenter layout at 1280: "Previous runs:" on one line
    with Page(browser, server.url + "?presenter=1", viewport=(1280, 720)) as pg:
        pg.open()
        pg.button("Step").click()
        pg.wait_status(r"batch 1/")
        pg.page.mouse.move(5, 700)  # Step's tooltip would cover Reset
        pg.button("Reset").click()
        expect(pg.button("× ghost: ")).to_be_visible(timeout=30_000)
        line = _single_line(pg, "ap-ghost-label")
        assert line == {"lines": 1, "overflow": 0}, line
    # the presenter layout at 1920x1080: the graph's writing grows, the curves fill the screen's lower half
    with Page(browser, server.url + "?presenter=1", viewport=(1920, 1080)) as pg:
        pg.open()
        pg.wait_js("() => document.documentElement.classList.contains('ap-presenter')")
        fonts = pg.js("""() => { const out = []; const walk = (root) => { for (const el of root.querySelectorAll('*')) {
            if (el.classList && el.classList.contains('ap-block-legend')) out.push(parseFloat(getComputedStyle(el).fontSize));
            if (el.shadowRoot) walk(el.shadowRoot) } }; walk(document); return out }""")
        assert len(fonts) == 6 and min(fonts) >= 18, fonts
        pg.wait_js("""() => { for (const m of Bokeh.documents[0]._all_models.values())
            if (m.name === 'graph-labels') { for (const r of Bokeh.documents[0]._all_models.values())
              if (r.data_source === m && r.glyph) return parseFloat(r.glyph.text_font_size.value) >= 16; }
            return false }""")
        end = time.monotonic() + 20
        while True:
            loss, acc = _plot_box(pg, "Loss"), _plot_box(pg, "Accuracy")
            if loss and acc and loss["bottom"] >= 0.85 * 1080 or time.monotonic() > end:
                break
            time.sleep(0.25)
        for box in (loss, acc):
            assert 0.85 * 1080 <= box["bottom"] <= 1080, box
        assert pg.js("() => document.scrollingElement.scrollTop") == 0
        pg.page.screenshot(path=str(tmp_path / "presenter-1920.png"))
