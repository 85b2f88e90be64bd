"""Comparing runs in a real browser: a seed ensemble's band, BP beside AP, a ghost of the previous
run, and the history downloaded as CSV and JSON."""

import csv
import json
import re

import pytest
from playwright.sync_api import expect

from tests.app.conftest import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

# A rebuilt figure's old models stay in BokehJS's document for a moment (it recomputes its models on a
# timer), so a name may briefly match two models: read it as not there yet.
MODEL = "(n => { try { return Bokeh.documents[0].get_model_by_name(n); } catch (e) { return null; } })"
LEGEND = (f"q => {{ const l = {MODEL}('legend-' + q);"
          " return l ? l.items.map(i => (i.label && i.label.value !== undefined) ? i.label.value : i.label) : []; }")


def _type(pg, label, value):
    box = pg.page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def legend(pg, q="acc") -> list:
    return pg.js(LEGEND, q) or []


def data(pg, name) -> dict:
    """The columns of the source ``name`` (waiting while a rebuilt figure's old copy is still there)."""
    pg.wait_js(f"() => {MODEL}('{name}') !== null")
    return pg.js(f"n => {{ const s = ({MODEL})(n); if (!s) return null; const d = {{}};"
                 " for (const k of Object.keys(s.data)) d[k] = Array.from(s.data[k]); return d; }", name)


def settle(pg, status):
    """Wait for the status line; the untrained network is rebuilt with what was typed."""
    pg.wait_status(status, timeout=120_000)


def test_a_four_seed_ensemble_draws_its_mean_band_and_members(page):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "Seeds (ensemble)", 4)
    _type(pg, "Epochs", 2)
    pg.wait_js(f"() => {{ const s = {MODEL}('curve-acc-train-main');"
               " return s && s.data.m3 !== undefined; }", timeout=120_000)  # the ensemble is built
    settle(pg, r"\(ready\)")
    pg.button("Train").click()
    # the band: lower and upper edges apart on the training curve, four member columns, the renderer shown
    pg.wait_js(f"() => {{ const s = {MODEL}('curve-acc-train-main');"
               " return s && s.data.x.length >= 3 && s.data.m3 !== undefined"
               " && s.data.hi.some((h, i) => h - s.data.lo[i] > 0.1); }", timeout=120_000)
    band = pg.js(f"() => {{ const b = {MODEL}('band-acc-main');"
                 " return b && {visible: b.visible, source: b.data_source.name}; }")
    assert band == {"visible": True, "source": "curve-acc-train-main"}
    d = data(pg, "curve-acc-train-main")
    for i in range(len(d["x"])):  # the mean line is inside its band, and the band holds the members' mean
        members = [d[f"m{k}"][i] for k in range(4)]
        assert d["lo"][i] - 1e-6 <= d["y"][i] <= d["hi"][i] + 1e-6
        assert sum(members) / 4 == pytest.approx((d["lo"][i] + d["hi"][i]) / 2, abs=1e-6)
    pg.wait_js(f"() => {{ const l = ({LEGEND})('acc'); return l.includes('AP ± sd over 4 seeds')"
               " && l.includes('AP each seed'); }")
    pg.wait_js(f"() => {{ const s = {MODEL}('curve-acc-test-main');"
               " return s && s.data.x.length >= 1 && s.data.hi[0] > s.data.lo[0]; }", timeout=120_000)
    pg.tab("Errors").click()  # the bars: the members' mean |e| with +- sd whiskers
    pg.wait_js(f"() => {{ const s = {MODEL}('error-spread');"
               " return s && s.data.name.length >= 3 && s.data.hi.every((h, i) => h >= s.data.lo[i]); }")


def test_bp_trains_beside_ap_with_its_own_curve_legend_and_speed(page):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "Epochs", 1)
    pg.page.get_by_label("BP (backprop)").check()
    pg.wait_js(f"() => {MODEL}('curve-bp-acc-train-main') !== null", timeout=120_000)
    settle(pg, r"\(ready\)")
    pg.button("Train").click()
    for name in ("curve-acc-train-main", "curve-bp-acc-train-main", "curve-bp-acc-test-main"):
        pg.wait_js(f"() => {{ const s = ({MODEL})('{name}'); return s && s.data.y.length >= 1; }}", timeout=120_000)
    assert len(data(pg, "curve-bp-acc-train-main")["y"]) >= 2
    pg.wait_js(f"() => ({LEGEND})('acc').some(t => /^BP \\(backprop\\) · [\\d,.]+ samples\\/s$/.test(t))")
    speed = pg.page.locator(".ap-speed").first
    expect(speed).to_be_visible()
    expect(speed).to_contain_text(re.compile(r"AP [\d,.]+ samples/s · BP [\d,.]+ samples/s"))


def test_a_ghost_of_the_previous_run_names_the_difference_and_goes_with_its_cross(page):
    pg = page.open()
    for _ in range(3):
        pg.button("Step").click()
        pg.page.wait_for_timeout(300)
    settle(pg, r"batch 3/")
    pg.tab("Settings").click()
    _type(pg, "Spectral radius ρ", 0.5)
    pg.button("Reset and apply").click()
    settle(pg, r"epoch 0/\d+ .*\(ready\)")
    label = "ghost: ρ 0.25 → 0.5"
    pg.wait_js(f"() => ({LEGEND})('acc').includes('{label}')")
    assert label in legend(pg, "loss")
    ghost = pg.js("() => { for (const m of Bokeh.documents[0]._all_models.values())"
                  " if (m.name && /^ghost-\\d+-acc-train-main$/.test(m.name)) return Array.from(m.data.y);"
                  " return null; }")
    assert ghost and len(ghost) >= 1  # the previous run's points, kept
    cross = pg.button(f"× {label}")
    expect(cross).to_be_visible()
    cross.click()
    pg.wait_js(f"() => !({LEGEND})('acc').includes('{label}')")
    expect(pg.page.get_by_role("button", name=f"× {label}")).to_have_count(0)
    assert not any(t.startswith("ghost") for t in legend(pg, "loss"))


def test_the_csv_export_holds_every_batch_of_every_seed_and_baseline(page, tmp_path):
    pg = page.open()
    pg.tab("Settings").click()
    _type(pg, "Seeds (ensemble)", 2)
    _type(pg, "Epochs", 1)
    pg.page.get_by_label("BP (backprop)").check()
    pg.wait_js(f"() => {MODEL}('curve-bp-acc-train-main') !== null", timeout=120_000)
    settle(pg, r"\(ready\)")
    pg.button("Train").click()
    settle(pg, r"epoch 1/1 .*\(finished\)")
    pg.text("Export the history").click()
    with pg.page.expect_download() as dl:
        pg.button(r"History \(\.csv\)").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "history.csv"
    rows = list(csv.DictReader(path.read_text().splitlines()))
    n = int(re.search(r"batch (\d+)/(\d+)", pg.status()).group(2))  # batches in the epoch, as the page says
    for run, members in (("ap", ["0", "1", ""]), ("bp", [""])):
        for m in members:  # one row per batch event, per seed and for the mean, in order
            got = [(int(r["batch"]), int(r["n_batches"])) for r in rows
                   if r["run"] == run and r["kind"] == "batch" and r["member"] == m]
            assert got == [(b, n) for b in range(1, n + 1)], (run, m)
        assert [r["member"] for r in rows if r["run"] == run and r["kind"] == "epoch"] == members
    for r in (r for r in rows if r["run"] == "ap" and r["kind"] == "batch" and r["member"] == ""):
        seeds = [x for x in rows if x["run"] == "ap" and x["kind"] == "batch" and x["batch"] == r["batch"]
                 and x["member"] in ("0", "1")]
        assert float(r["loss"]) == pytest.approx(sum(float(x["loss"]) for x in seeds) / 2, rel=1e-5)
    for run, name in (("ap", "curve-acc-test-main"), ("bp", "curve-bp-acc-test-main")):  # what the page drew
        mean = next(r for r in rows if r["run"] == run and r["kind"] == "epoch" and r["member"] == "")
        assert data(pg, name)["y"] == [pytest.approx(100 * float(mean["test_acc"]))]
    with pg.page.expect_download() as dl:
        pg.button(r"History \(\.json\)").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    got = json.loads(path.read_text())
    assert len(got) == len(rows) and [r["run"] for r in got] == [r["run"] for r in rows]


# how wide each option of a <select> writes, and the room its box gives the text (padding and arrow off)
OPTION_FITS = """e => { const cs = getComputedStyle(e); const c = document.createElement('canvas').getContext('2d');
    c.font = cs.font; const room = e.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    return [...e.options].map(o => ({text: o.text, width: c.measureText(o.text).width, room})); }"""


def _tooltip(pg, icon, words):
    """Hover ``icon`` and return the text of the tooltip that shows ``words``."""
    icon.scroll_into_view_if_needed()
    icon.hover()
    tip = pg.page.locator(".bk-tooltip-content", has_text=words).first
    expect(tip).to_be_visible()
    text = " ".join(tip.inner_text().split())
    pg.page.mouse.move(5, 5)
    return text


def test_at_1400_px_the_settings_tell_the_papers_values_the_device_menu_its_whole_text_and_ghosts_wrap(browser, server):
    from tests.app.conftest import Page
    from apexplorer.app.settings import baseline_help, help_text

    with Page(browser, server.url, viewport=(1400, 900)) as pg:
        pg.open()
        pg.tab("Settings").click()
        # the device menu writes every choice whole ("auto (the CPU: no GPU found)" was cut to "auto (the CPU: no G")
        fits = pg.page.get_by_label("Device", exact=True).evaluate(OPTION_FITS)
        assert fits and all(f["width"] <= f["room"] for f in fits), fits
        # the tooltips give the paper's values, as its experiment files (reproduce --list) hold them
        epochs = pg.page.locator(".bk-input-group", has=pg.page.get_by_text("Epochs", exact=True))
        text = _tooltip(pg, epochs.locator(".bk-description").first, "Passes over the training data")
        assert "Paper: 100 (" in text and "300 in Table 1" in text and text == " ".join(help_text("epochs").split())
        tips = pg.page.locator(".ap-baselines .bk-panel-models-widgets-TooltipIcon")
        expect(tips).to_have_count(3)
        for i, (method, words) in enumerate((("bp", "Paper: Table 1 / Fig. 4d"), ("fa", "Paper: Table 1 / Fig. 4d"),
                                             ("ep", "Paper: Fig. 4a-c"))):
            text = _tooltip(pg, tips.nth(i).locator(".bk-description"), baseline_help(method)[:30])
            assert words in text and text == baseline_help(method), text
        # two runs: a live change both share (Epochs) is not in a ghost's name; the ghost buttons wrap
        pg.button("Step").click()
        settle(pg, r"batch 1/")
        _type(pg, "Epochs", 1)  # live: applied to the trained network
        expect(pg.text("applied epochs to the running network")).to_be_visible()
        labels = []
        for rho, c, batch, seed in ((0.5, 0.5, 64, 3), (0.25, 0.25, 32, 0)):
            for label, value in (("Spectral radius ρ", rho), ("Connection rate c", c), ("Batch size", batch),
                                 ("Seed", seed)):
                _type(pg, label, value)
            pg.button("Reset and apply").click()
            settle(pg, r"epoch 0/1 .*\(ready\)")
            pg.button("Step").click()
            settle(pg, r"batch 1/")
            labels.append(f"ghost: ρ {0.75 - rho:g} → {rho:g}, c {0.75 - c:g} → {c:g}, "
                          f"batch {96 - batch} → {batch}, +1 more")  # the seed; not epochs 30 → 1
        pg.wait_js(f"() => ({LEGEND})('acc').length >= 4")
        assert [t for t in legend(pg) if t.startswith("ghost")] == labels
        crosses = pg.page.locator(".ap-ghost")
        expect(crosses).to_have_count(2)
        page = pg.js("() => ({width: window.innerWidth, scroll: document.scrollingElement.scrollWidth})")
        assert page["scroll"] <= page["width"], page  # the page does not grow wider than the window
        rights = crosses.evaluate_all("bs => bs.map(b => b.getBoundingClientRect().right)")
        assert max(rights) <= page["width"], rights  # every × is on the screen
        crosses.nth(1).click()
        expect(crosses).to_have_count(1)
