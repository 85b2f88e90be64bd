"""The explorer is safe to share (issue 24, items 1-7), in a real browser: a visitor's text never
runs or injects anything, visitors name no server paths, files of any size the page makes load,
uploads say what a file should be, and every link opens what it says or says at the top why not."""

import json
import re
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
    _literal(pg, "<script>alert(2)</script>")
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
