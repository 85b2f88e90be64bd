"""The explorer is safe to share (issue 24, items 1-7), in a real browser: a visitor's text never
runs or injects anything, visitors name no server paths, files of any size the page makes load,
uploads say what a file should be, and every link opens what it says or says at the top why not."""

import json
import urllib.parse

import pytest
from playwright.sync_api import expect

import apexplorer as ap
from apexplorer.experiment import Experiment
from tests.app.conftest import ROOT, Page, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

#: names as an attacker or a careless user gives them (no '.', so that each is a valid module name)
HOSTILE = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "[click](javascript:alert(3))",
           "javascript:alert(4)", "![pic](/x)", "\u202eevil\u202c", "$$x^2$$", "L" + "o" * 2500 + "ng"]
#: what the page may never hold after those: a script's image, a javascript: link, an injected tag or image
INJECTED = """() => {
  const found = [], seen = new Set()
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot && !seen.has(el.shadowRoot)) { seen.add(el.shadowRoot); walk(el.shadowRoot) }
      const tag = el.tagName.toLowerCase()
      if ([...el.attributes].some((a) => a.name === "onerror")) found.push(tag + "[onerror]")
      if (tag === "script" && /alert/.test(el.textContent)) found.push("script")
      if (tag === "a" && /^\\s*javascript:/i.test(el.getAttribute("href") || "")) found.push("a[javascript:]")
      if (tag === "img" && /(^|\\/)x$/.test(el.getAttribute("src") || "")) found.push("img[src=x]")
    }
  }
  walk(document)
  return found
}"""


def _hostile_wiring() -> dict:
    """The digits network with one extra module per hostile name, fed by L1.SI with no error path back."""
    d = ap.chain([32], 64, 10, name="small").to_dict()
    for n in HOSTILE:
        d["modules"].append({"name": n, "size": 8, "blocks": {"RI": 2, "SI": 2, "RE": 2, "SE": 2}})
        d["feedforward"].append({"source": "L1.SI", "target": f"{n}.RI"})
    return d


def _hostile_experiment() -> Experiment:
    return Experiment.from_dict({"wiring": {"inline": _hostile_wiring()}, "tasks": {"main": "digits"}})


class Guard:
    """Watches a page for a script run by a visitor's text: dialogs (alert) and injected elements."""

    def __init__(self, pg):
        self.pg, self.dialogs = pg, []
        pg.page.on("dialog", self._dialog)

    def _dialog(self, d):
        self.dialogs.append(d.message)
        d.dismiss()

    def check(self, where):
        self.pg.page.wait_for_timeout(500)  # an image's onerror fires once its load fails
        assert not self.dialogs, f"{where}: a script ran: {self.dialogs}"
        assert not self.pg.js(INJECTED), f"{where}: injected {self.pg.js(INJECTED)}"


def _literal(pg, text):
    """The text shown as typed (the locator pierces shadow roots)."""
    expect(pg.page.get_by_text(text, exact=False).first).to_be_attached(timeout=30_000)


# ---------------------------------------------------------------------------------------------- 1. security
def test_a_crafted_link_runs_no_script_and_shows_the_names_as_text(browser, server):
    query = urllib.parse.urlencode(_hostile_experiment().to_query())
    with Page(browser, f"{server.url}?{query}") as pg:
        guard = Guard(pg)
        pg.open()
        _literal(pg, "opened the experiment of the link")
        _literal(pg, "<img src=x onerror=alert(1)>")  # the warning names it, as text
        _literal(pg, "[click](javascript:alert(3))")
        _literal(pg, "'\\u202eevil\\u202c'")  # a right-to-left override cannot reorder the message
        guard.check("a link")
        pg.tab("Tasks").click()
        pg.tab("Error flow").click()
        pg.button("Step").click()
        pg.wait_status(r"batch 1/")
        guard.check("a link, stepped")


def _add_module(pg, name):
    pg.page.get_by_label("New module").fill(name)
    pg.button("Add module").click()


def test_hostile_names_show_as_text_on_every_path(page, tmp_path, sweep_table):
    pg = page.open()
    guard = Guard(pg)
    # typed module names: valid ones join the wiring (and its warnings), one with '.' is refused by name
    for name in HOSTILE[:2]:
        _add_module(pg, name)
        _literal(pg, name)  # added (the page then empties the box: a name typed before that was wiped)
    _add_module(pg, "<img src=x onerror=alert(5)>.")
    _literal(pg, "<img src=x onerror=alert(5)>.")
    guard.check("a typed module name")
    # an uploaded wiring
    wiring = tmp_path / "wiring.json"
    wiring.write_text(json.dumps(_hostile_wiring()))
    pg.page.locator("input[type=file][accept='.json']").first.set_input_files(str(wiring))
    _literal(pg, "[click](javascript:alert(3))")
    guard.check("an uploaded wiring")
    # an experiment file named as an attacker names it, then one that names a task the wiring lacks
    pg.text("Experiment: open, save, command line").click()
    exp = tmp_path / "<img src=x onerror=alert(6)>.toml"
    exp.write_text(_hostile_experiment().to_toml())
    pg.page.locator("input[type=file][accept='.toml,.json']").set_input_files(str(exp))
    _literal(pg, "opened the experiment <img src=x onerror=alert(6)>.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[wiring]\npreset = "digits"\n[tasks]\n"<img src=x onerror=alert(7)>" = "digits"\n')
    pg.page.locator("input[type=file][accept='.toml,.json']").set_input_files(str(bad))
    _literal(pg, "task '<img src=x onerror=alert(7)>' is not a task of the wiring")
    guard.check("an experiment file")
    # a session file under such a name
    pg.text("Save / load session").click()
    session = tmp_path / "<img src=x onerror=alert(8)>.pt"
    session.write_bytes(b"not a session")
    pg.page.locator("input[type=file][accept='.pt']").set_input_files(str(session))
    _literal(pg, "checkpoint '<img src=x onerror=alert(8)>.pt' is corrupt or not a checkpoint")
    guard.check("a session file")
    # a sweep table whose columns and statuses are hostile
    import pandas as pd

    df = pd.read_csv(sweep_table)
    df["status"] = df["status"].where(df.index % 2 == 0, "[x](javascript:alert(9))")
    df = df.rename(columns={"lr": "<img src=x onerror=alert(10)>"})
    table = tmp_path / "<img src=x onerror=alert(11)>.csv"
    df.to_csv(table, index=False)
    pg.tab("Sweeps").click()
    pg.page.locator("input[type=file][accept='.csv,.parquet']").set_input_files(str(table))
    _literal(pg, "<img src=x onerror=alert(11)>.csv: 24 rows")
    guard.check("a sweep table")
    # a report on the Paper tab whose text holds markup
    report = json.loads((ROOT / "assets" / "reproduction" / "results.json").read_text())
    for r in report["results"]:
        r["scale"] = "<img src=x onerror=alert(12)>"
        for v in r.get("values", []):
            v["text"] = "[x](javascript:alert(13)) ![pic](/x) " + HOSTILE[-1]
        for c in r.get("claims", []):
            c["ours"] = "<script>alert(14)</script>"
    upload = tmp_path / "results.json"
    upload.write_text(json.dumps(report))
    pg.tab("Paper").click()
    pg.page.get_by_label("Upload a report (results.json)").set_input_files(str(upload))
    _literal(pg, "uploaded report results.json")
    _literal(pg, "<script>alert(14)</script>")
    _literal(pg, "the <img src=x onerror=alert(12)> scale")
    guard.check("a report")
    pg.page.get_by_label("Point").select_option(index=0)
    pg.button("Load this experiment").click()
    _literal(pg, "loaded the paper's experiment")
    guard.check("a report beside the loaded experiment")


# ------------------------------------------------------------------------------------- 2. no server paths
#: every text and every field's value on the page, shadow roots included
PAGE_TEXT = """() => {
  const out = [], seen = new Set()
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot && !seen.has(el.shadowRoot)) { seen.add(el.shadowRoot); walk(el.shadowRoot) }
      if ("value" in el && typeof el.value === "string") out.push(el.value)
      if (el.placeholder) out.push(el.placeholder)
      if (!el.children.length) out.push(el.textContent)
    }
  }
  walk(document)
  return out.join("\\n")
}"""


def _message(pg, words):
    expect(pg.page.get_by_text(words, exact=False).first).to_be_visible(timeout=30_000)


def test_the_paper_tab_reads_only_the_shipped_report_and_uploads(page, tmp_path):
    pg = page.open()
    pg.tab("Paper").click()
    _message(pg, "ours: the quick scale of the report shipped with apexplorer")
    assert not pg.page.get_by_label("Report folder").count()  # no box for a server path
    assert not pg.page.get_by_label("Report in the server's folder").count()  # no folder opened by the operator
    text = pg.js(PAGE_TEXT)
    assert str(ROOT) not in text and "/reproduction" not in text  # nothing pre-filled or shown
    upload = pg.page.get_by_label("Upload a report (results.json)")
    for name, data, words in [("binary.json", bytes(range(256)) * 8, "'binary.json' is not a text file"),
                              ("empty.json", b"", "'empty.json' is empty"),
                              ("other.json", b'{"results": {"a": 1}}', "has no list of 'results'"),
                              ("bashrc.json", b"export PATH=/usr/bin\n", "'bashrc.json': it is not JSON")]:
        (tmp_path / name).write_bytes(data)
        upload.set_input_files(str(tmp_path / name))
        _message(pg, words)
        _message(pg, "a report is the results.json that")  # says what the file should be
    assert "Traceback" not in pg.js(PAGE_TEXT)
    (tmp_path / "results.json").write_bytes((ROOT / "assets" / "reproduction" / "results.json").read_bytes())
    upload.set_input_files(str(tmp_path / "results.json"))
    _message(pg, "ours: the quick scale of the uploaded report results.json")
    expect(pg.page.get_by_text("a report is the results.json that").first).to_be_hidden()  # the old message went


def test_a_report_is_read_by_name_only_inside_the_operators_folder(files_page):
    folder = files_page.folder
    (folder / "rep").mkdir(exist_ok=True)
    (folder / "rep" / "results.json").write_bytes((ROOT / "assets" / "reproduction" / "results.json").read_bytes())
    (folder / "binary.json").write_bytes(bytes(range(256)) * 8)
    pg = files_page.open()
    pg.tab("Paper").click()
    box = pg.page.get_by_label("Report in the server's folder")
    expect(box).to_have_value("")  # nothing pre-filled
    for name, words in [("/root/.bashrc", "'/root/.bashrc' is outside the server's folder"),
                        ("../../etc/passwd", "is outside the server's folder"),
                        ("nowhere", "there is no report 'nowhere' in the server's folder"),
                        ("binary.json", "is not a text file")]:
        box.fill(name)
        pg.button("Read it").click()
        _message(pg, words)
        assert str(folder) not in pg.js(PAGE_TEXT)
    assert "Expecting value" not in pg.js(PAGE_TEXT)
    box.fill("rep")
    pg.button("Read it").click()
    _message(pg, "ours: the quick scale of the report in the server's folder: rep")


# ------------------------------------------------------------------------------------------- 3, 4. files
@pytest.fixture(scope="module")
def big_session(tmp_path_factory):
    """fig5a (four modules of the paper's size) on digits after two steps: over 20 MB."""
    from apexplorer.build import build

    exp = Experiment.from_preset("fig5a", ["digits", "digits"]).with_changes({"train.device": "cpu"})
    tr = build(exp)
    for _ in range(2):
        tr.step()
    path = tmp_path_factory.mktemp("big") / "fig5a.pt"
    tr.save(path)
    assert path.stat().st_size > 20_000_000
    return path


def test_a_session_over_20_mb_restores_and_one_over_the_operators_limit_is_refused(page, files_page, big_session):
    pg = page.open()
    pg.text("Save / load session").click()
    pg.page.locator("input[type=file][accept='.pt']").set_input_files(str(big_session))
    _message(pg, "loaded the session fig5a.pt")
    pg.wait_status(r"epoch 1/\d+ · batch 2/.*\(paused\)", timeout=120_000)
    pg.button("Step").click()  # the websocket is alive
    pg.wait_status(r"batch 3/", timeout=60_000)
    # a server whose operator allows 20 MB (--args --max-upload 20) says so before anything is sent
    other = files_page.open()
    other.text("Save / load session").click()
    other.page.locator("input[type=file][accept='.pt']").set_input_files(str(big_session))
    mb = big_session.stat().st_size / 1e6
    _message(other, f"'fig5a.pt' is {mb:.1f} MB; this server takes files up to 20.0 MB")
    other.button("Step").click()
    other.wait_status(r"batch 1/")


def test_upload_messages_say_what_the_file_should_be_and_clear_on_a_new_upload(page, tmp_path):
    pg = page.open()
    pg.text("Experiment: open, save, command line").click()
    exp = pg.page.locator("input[type=file][accept='.toml,.json']")
    files = {"bad.toml": b"[tasks]\nmain = 3\n", "empty.toml": b"", "random.toml": bytes(range(256)) * 16,
             "good.toml": Experiment.from_preset("digits").with_changes({"train.seed": 3}).to_toml().encode()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    exp.set_input_files(str(tmp_path / "bad.toml"))
    _message(pg, "[tasks.main] must be a table")
    exp.set_input_files(str(tmp_path / "empty.toml"))
    _message(pg, "experiment file 'empty.toml' is empty; an experiment file is the .toml")
    expect(pg.page.get_by_text("[tasks.main] must be a table").first).to_be_hidden()  # the old message went
    exp.set_input_files(str(tmp_path / "random.toml"))
    _message(pg, "experiment file 'random.toml' is not a text file; an experiment file is the .toml")
    assert "codec" not in pg.js(PAGE_TEXT)
    exp.set_input_files(str(tmp_path / "good.toml"))
    _message(pg, "opened the experiment good.toml")
    expect(pg.page.get_by_text("random.toml").first).to_be_hidden()
    pg.text("Save / load session").click()
    session = pg.page.locator("input[type=file][accept='.pt']")
    for name, data, words in [("empty.pt", b"", "checkpoint 'empty.pt' is empty; a checkpoint is the .pt file"),
                              ("random.pt", bytes(range(256)) * 16,
                               "checkpoint 'random.pt' is corrupt or not a checkpoint")]:
        (tmp_path / name).write_bytes(data)
        session.set_input_files(str(tmp_path / name))
        _message(pg, words)
    _message(pg, "a checkpoint is the .pt file that")


# ------------------------------------------------------------------------------------------- 5, 6. links
BAD_LINKS = [
    ("wiring.inline={not json", "wiring.inline={not json", "wiring.inline = '{not json' is not valid JSON"),
    ("ap.t1=-5", "ap.t1=-5", "ap.t1 = -5 must be an integer >= 1"),
    ("preset=../../etc/passwd", "preset=../../etc/passwd", "is not a preset; presets are"),
    ("preset=digts&train.lr=0.01", "preset=digts", "wiring.preset = 'digts' is not a preset"),
    ("x=AAAA", "x=AAAA", "the link's experiment (x=...) is damaged"),
    ("train.device=cuda:7", "", "asks for device cuda:7, which this machine lacks, so it trains on auto"),
]


def test_a_bad_link_opens_the_default_and_says_at_the_top_what_was_refused(browser, server):
    with Page(browser, server.url) as pg:
        for query, part, why in BAD_LINKS:
            pg.url = f"{server.url}?{urllib.parse.quote(query, safe='=&')}"
            pg.open()
            note = pg.page.locator(".ap-link-note").first
            expect(note).to_be_visible()
            box = note.bounding_box()
            assert box is not None and box["y"] < 200, box  # at the top of the page
            expect(note).to_contain_text(why)
            if part:
                expect(note).to_contain_text(part)
                expect(note).to_contain_text("so the page shows the default network")
            assert pg.graph_titles().count("L1") == 1  # the default digits network
    # a good link says nothing
    with Page(browser, f"{server.url}?preset=digits&ap.t1=5") as pg:
        pg.open()
        expect(pg.page.locator(".ap-link-note").first).to_be_hidden()


# ------------------------------------------------------------------------------------------ 7. live URL
def test_the_url_follows_each_live_setting_at_once(page):
    pg = page.open()
    pg.button("Step").click()  # a trained network: live settings apply to it
    pg.wait_status(r"batch 1/")
    search = lambda: urllib.parse.parse_qs(pg.js("() => location.search").lstrip("?"))  # noqa: E731

    def follows(key, value):
        try:
            pg.wait_js("([k, v]) => new URLSearchParams(location.search).get(k) === v", timeout=10_000,
                       arg=[key, value])
        except Exception:  # noqa: BLE001 - say what the URL says instead
            raise AssertionError(f"10 s after {key} = {value}, the URL reads {pg.js('() => location.search')}") from None

    pg.tab("Settings").click()
    for label, key, value in [("T1 (inference steps)", "ap.t1", "12"), ("T2 (learning steps)", "ap.t2", "7"),
                              ("Learning rate", "train.lr", "0.02"), ("β (error strength)", "ap.beta", "0.5"),
                              ("Epochs", "train.epochs", "9")]:
        box = pg.page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
        follows(key, value)
    pg.page.locator(".bk-btn", has_text="epe").first.click()
    follows("ap.mode", "epe")
    pg.button("Presenter").click()
    follows("presenter", "1")
    assert search()["ap.t1"] == ["12"] and search()["train.lr"] == ["0.02"]  # nothing was lost on the way
