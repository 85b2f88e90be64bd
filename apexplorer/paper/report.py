"""The reproduction report: ``report.md``, a self-contained ``report.html``, ``results.json``, the figures and
``summary.md`` (the short tables REPRODUCTION.md shows).

The report is built once as a list of blocks (headings, paragraphs, tables,
images, lists) and rendered twice, to Markdown and to HTML (its images
inlined as data URIs, so the file stands alone).  ``results.json`` holds every
number and, with each point, the experiment that produced it.

Each result gets: what the scale means for it and its runtime; its figure
redrawn from our runs with the paper's values over it; a table of the paper's
values beside ours (mean ± sd, seeds, scale) and whether ours is within the
paper's ± or by how much it is off; a table of the paper's trends and whether
they hold; why our numbers differ (the scale's ``gap``); the choices the paper
left open (the result file's notes); and every point's numbers.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..errors import plural
from . import figures
from .checks import fmt


def _time(s: float) -> str:
    s = int(round(s or 0))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def _holds(h) -> str:
    return {True: "yes", False: "no", None: "not checked"}[h]


def _verdict(c: dict) -> str:
    """A claim's verdict: the test's (holds, fails, not resolved at this scale (n = k), not run)."""
    return c.get("verdict") or _holds(c["holds"])


def tally(claims) -> dict:
    """Of the ``paper`` claims only: how many hold, fail, are not resolved or did not run (and in all)."""
    paper = [c for c in claims if c.get("kind", "paper") == "paper"]
    v = [_verdict(c) for c in paper]
    return {"paper": len(paper), "holds": v.count("holds"), "fails": v.count("fails"),
            "unresolved": sum(x.startswith("not resolved") for x in v),
            "not_run": sum(x in ("not run", "not checked") for x in v),
            "other": len(claims) - len(paper)}


TEST_NOTE = ("Only the paper's own claims count (kind `paper`); claims true by the wiring or the maths "
             "(`construction`) and our diagnostics (`ours`) are shown, not counted. A claim *holds* when Welch's t "
             "over the seeds (one-sided, alpha = 0.05) finds every difference it needs significantly the claimed "
             "way, *fails* when one is significantly the other way, and is *not resolved at this scale (n = k)* "
             "otherwise: a difference inside the seed noise is not called a trend. Each claim's row names its test "
             "and numbers.")


def _ours(v) -> str:
    if v["ours"] is None:
        return "not run" if v["status"].startswith("not run") else "-"
    return f"{fmt(v['ours'], v['metric'], v['sd'])} (n = {v['n']})"


def _paper(v) -> str:
    return fmt(v["paper"], v["metric"], v["pm"]) if v["pm"] is not None else fmt(v["paper"], v["metric"])


def blocks(data: dict, figure_paths: dict) -> list:
    """The report as blocks: ``("h1"|"h2"|"h3"|"p"|"list"|"table"|"img", content)``."""
    out = [("h1", f"Reproducing Adjoint Propagation (eLife 2026, 15:e108237): {data['scale']} scale")]
    m = data["machine"]
    span = _span(data)
    out.append(("p", f"Made by `apexplorer reproduce --scale {data['scale']}`" + (f", {span}" if span else "")
                     + f"; written {data['created']}: "
                     f"{plural(m['cpus'], 'CPU core')} ({m['processor']}), torch {m['torch']}"
                     + (f", {m['cuda']}" if m.get("cuda") else ", no GPU")
                     + ". Every number below comes from that run; "
                       "`results.json` has each of them with the experiment that produced it."))
    total = sum(r["runtime_s"] for r in data["results"])
    rows = []
    for r in data["results"]:
        ran = sum(p["status"] == "done" for p in r["points"])
        notrun = sum(p["status"].startswith("not run") for p in r["points"])
        t = tally(r["claims"])
        within = [v["within"] for v in r["values"] if v["within"] is not None]
        loads = [t.get("load_before") for t in r["timing"]] + [t.get("load_after") for t in r["timing"]]
        loads = [x for x in loads if x is not None]
        rows.append([f"[{r['figure']}](#{r['id']})", r["title"], f"{ran} of {len(r['points'])}"
                     + (f" ({notrun} not run: data missing)" if notrun else ""),
                     str(t["paper"]), str(t["holds"]), str(t["fails"]), str(t["unresolved"]),
                     f"{sum(within)} of {len(within)}" if within else _no_values(r), _time(r["runtime_s"]),
                     f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"])
    out.append(("h2", "Summary"))
    out.append(("table", (["result", "what", "points run", "the paper's claims", "hold", "fail", "not resolved",
                           "values within the paper's ±", "runtime", "load"], rows)))
    t = tally([c for r in data["results"] for c in r["claims"]])
    out.append(("p", f"Total runtime {_time(total)}. Of the paper's {t['paper']} claims checked here, {t['holds']} "
                     f"hold, {t['fails']} fail, {t['unresolved']} are not resolved at this scale and {t['not_run']} "
                     f"did not run; {t['other']} more are true by construction or our own diagnostics, shown but "
                     f"not counted. " + TEST_NOTE + " A claim that fails, or a value outside the paper's ±, "
                     "is explained under its result (the scale, the epochs, the data)."))
    shared = _shared(data)
    for r in data["results"]:
        out += result_blocks(r, figure_paths.get(r["id"]), shared[r["id"]])
    return out


#: What a result without the paper's numbers says in place of a comparison.
CURVE_ONLY = "none: the paper gives this figure as curves, no numbers"


def _no_values(r: dict) -> str:
    """The "values within ±" cell of a result that has none to compare: why."""
    if not r["values"]:
        return CURVE_ONLY
    return "not run" if all(v["ours"] is None for v in r["values"]) else "the paper gives no ±"


def _shared(data: dict) -> dict:
    """{result: the earlier results whose runs its points are (one experiment, one run)}."""
    first = {}
    for r in data["results"]:
        for p in r["points"]:
            first.setdefault(p["id"], r["id"])
    return {r["id"]: sorted({first[p["id"]] for p in r["points"]} - {r["id"]}) for r in data["results"]}


def _span(data: dict) -> str:
    """When the runs of the report started and ended (from the timings), in words."""
    import datetime

    fmt_ = "%Y-%m-%d %H:%M:%S"
    runs = [t for r in data["results"] for t in r["timing"] if t.get("trained_runs")]
    if not runs:
        return ""
    start = min(datetime.datetime.strptime(t["started"], fmt_) for t in runs)
    end = max(datetime.datetime.strptime(t["started"], fmt_) + datetime.timedelta(seconds=t["seconds"]) for t in runs)
    return f"runs from {start:%Y-%m-%d %H:%M} to {end:%H:%M}"


def result_blocks(r: dict, figure, shared=()) -> list:
    out = [("h2", f"{r['figure']}: {r['title']}", r["id"])]
    where = next((t.get("executor") for t in r["timing"] if t.get("trained_runs") and t.get("executor")), "")
    out.append(("p", f"**Scale:** {r['scale']}: {r['why']}. **Seeds:** {len(r['seeds'])}. "
                     f"**Runtime:** {_time(r['runtime_s'])}"
                     + (f" (load {r['timing'][0]['load_before']} before, {r['timing'][-1]['load_after']} after"
                        + (f"; {where}" if where else "") + ")" if r["timing"] else "")
                     + (f"; the points it shares with {', '.join(shared)} were trained there (one experiment, one run)"
                        if shared else "") + "."))
    if figure:
        out.append(("img", (str(figure), f"{r['figure']} redrawn from our runs")))
        out.append(("p", f"*{r['figure']} redrawn from our runs (mean ± sd over seeds); "
                         + ("the paper's values are the black diamonds (with their ±) or dashed lines.*"
                            if r["values"] else "the paper gives this figure only as curves, without numbers, "
                            f"so none is drawn over ours: compare by eye with the paper's {r['figure']}.*")))
    elif not any(p["status"] == "done" for p in r["points"]):
        out.append(("p", "No point of this result ran here, so there is no figure."))
    if r["values"]:
        out.append(("h3", "The paper's values and ours"))
        out.append(("table", (["", "paper", "source", f"ours (mean ± sd, {r['scale']} scale)", "comparison"],
                              [[v["what"], _paper(v), v["source"], _ours(v), v["text"]] for v in r["values"]])))
    if r["claims"]:
        out.append(("h3", "The trends"))
        out.append(("table", (["claim", "kind", "source", "ours", "test", "verdict"],
                              [[c["what"], c.get("kind", "paper"), c["source"], c["ours"], c.get("test", ""),
                                _verdict(c)] for c in r["claims"]])))
    off = [v for v in r["values"] if v["within"] is False] + [c for c in r["claims"] if c["holds"] is False]
    if r.get("gap"):
        out.append(("p", ("**Why ours differs:** " if off else "**Scale:** ") + r["gap"] + "."))
    notrun = [p for p in r["points"] if p["status"].startswith("not run")]
    if notrun:
        out.append(("p", f"**Not run here:** {len(notrun)} of {len(r['points'])} points need data this machine "
                         "does not have. " + " ".join(f"To get {name}: {how}." for name, how in r["missing"].items())))
    out.append(("h3", "Points"))
    rows = []
    for p in r["points"]:
        best = (p.get("metrics") or {}).get("best_test_acc") or {}
        final = (p.get("metrics") or {}).get("final_test_acc") or {}
        tasks = [k for k in (p.get("metrics") or {}) if k.startswith("best_") and k.endswith("_test_acc")
                 and k != "best_test_acc"]
        if tasks:
            acc = ", ".join(f"{k[5:-9]}: {fmt(p['metrics'][k]['mean'], 'acc', p['metrics'][k]['sd'])}" for k in tasks)
        else:
            acc = fmt(best.get("mean"), "acc", best.get("sd")) if best else "-"
        epochs = (p.get("metrics") or {}).get("epochs", {}).get("mean")
        rows.append([p["label"], p["status"] if p["status"] != "done" else "done"
                     + (f" ({len(p['diverged'])} diverged)" if p["diverged"] else ""),
                     acc, fmt(final.get("mean"), "acc", final.get("sd")) if final else "-",
                     f"{epochs:g}" if epochs else "-", f"`{p['id']}`"])
    out.append(("table", (["point", "status", "best test accuracy", "last epoch", "epochs", "id"], rows)))
    if r.get("notes"):
        out.append(("h3", "Choices the paper leaves open"))
        out.append(("md", r["notes"]))
    return out


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------
def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def to_markdown(bl: list, base: Path) -> str:
    out = []
    for b in bl:
        kind, content = b[0], b[1]
        if kind in ("h1", "h2", "h3"):
            anchor = f'<a id="{b[2]}"></a>\n' if len(b) > 2 else ""
            out.append(f"{anchor}{'#' * int(kind[1])} {content}\n")
        elif kind in ("p", "md"):
            out.append(content.strip() + "\n")
        elif kind == "table":
            head, rows = content
            out.append("| " + " | ".join(map(_cell, head)) + " |")
            out.append("|" + "---|" * len(head))
            out += ["| " + " | ".join(map(_cell, r)) + " |" for r in rows]
            out.append("")
        elif kind == "img":
            path, alt = content
            out.append(f"![{alt}]({Path(path).relative_to(base).as_posix()})\n")
    return "\n".join(out)


def _inline(text: str) -> str:
    """The few Markdown marks the report uses (**bold**, `code`, [links](#x)) as HTML."""
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"\[(.+?)\]\((#[\w-]+)\)", r'<a href="\2">\1</a>', t)


def _md_block(text: str) -> str:
    """A notes block: '- ' items (continued on indented lines) as a list, the rest as paragraphs."""
    items, paras = [], []
    for line in text.strip().splitlines():
        if line.startswith("- "):
            items.append(line[2:])
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
        elif line.strip():
            paras.append(line)
    out = "".join(f"<p>{_inline(p)}</p>" for p in paras)
    return out + ("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>" if items else "")


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}th,td{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}code{font-size:.9em}h2{margin-top:2em;
border-bottom:1px solid #ddd}"""


def to_html(bl: list) -> str:
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>apexplorer reproduction</title>",
           f"<style>{CSS}</style></head><body>"]
    for b in bl:
        kind, content = b[0], b[1]
        if kind in ("h1", "h2", "h3"):
            anchor = f' id="{b[2]}"' if len(b) > 2 else ""
            out.append(f"<{kind}{anchor}>{_inline(content)}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline(content)}</p>")
        elif kind == "md":
            out.append(_md_block(content))
        elif kind == "table":
            head, rows = content
            out.append("<table><tr>" + "".join(f"<th>{_inline(str(h))}</th>" for h in head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>" for r in rows]
            out.append("</table>")
        elif kind == "img":
            path, alt = content
            data = base64.b64encode(Path(path).read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>')
    out.append("</body></html>")
    return "\n".join(out)


def summary(data: dict, link: str = "report.md") -> str:
    """A short Markdown summary of a report: each result's runtime and trends, every paper value beside ours
    (what REPRODUCTION.md shows); ``link`` is where the full report is."""
    total = sum(r["runtime_s"] for r in data["results"])
    m = data["machine"]
    loads = [x for r in data["results"] for t in r["timing"] for x in (t.get("load_before"), t.get("load_after"))
             if x is not None]
    span = _span(data)
    out = [f"Scale: **{data['scale']}**. Measured on {m['cpus']} CPU core(s), torch {m['torch']}"
           + (f", {m['cuda']}" if m.get("cuda") else ", no GPU") + (f", {span}" if span else "")
           + f"; {_time(total)} in all"
           + (f", load average {min(loads):.1f} to {max(loads):.1f} (the machine is shared)" if loads else "")
           + f". Full report: [{link}]({link}).", ""]
    out.append("| result | points run | the paper's claims | hold | fail | not resolved | runtime |")
    out.append("|---|---|---|---|---|---|---|")
    shared = _shared(data)
    for r in data["results"]:
        ran = sum(p["status"] == "done" for p in r["points"])
        notrun = sorted({p["status"].split(": ", 1)[1].split(" ")[0] for p in r["points"]
                         if p["status"].startswith("not run")})
        t = tally(r["claims"])
        out.append(f"| {r['figure']} ({r['id']}) | {ran} of {len(r['points'])}"
                   + (f" (not run: {', '.join(notrun)} missing)" if notrun else "")
                   + f" | {t['paper']} | {t['holds']} | {t['fails']} | {t['unresolved']} | {_time(r['runtime_s'])}"
                   + (f" (with {', '.join(shared[r['id']])})" if shared[r["id"]] and not r["runtime_s"] > 1 else "")
                   + " |")
    values = [(r, v) for r in data["results"] for v in r["values"]]
    if values:
        out += ["", "| result | value | paper | ours | comparison |", "|---|---|---|---|---|"]
        for r, v in values:
            out.append(f"| {r['figure']} | {_cell(v['what'])} | {_paper(v)} | {_cell(_ours(v))} | {_cell(v['text'])} |")
    else:  # a table of headers alone says nothing
        figs = ", ".join(r["figure"] for r in data["results"])
        out += ["", f"The paper gives no numbers for {figs} (only curves in its figures), so there are no values "
                    "to set beside ours; the trends below and the redrawn figures compare them."]
    t = tally([c for r in data["results"] for c in r["claims"]])
    out += ["", f"Of the paper's {t['paper']} claims checked here: **{t['holds']} hold, {t['fails']} fail, "
            f"{t['unresolved']} are not resolved at this scale**, {t['not_run']} did not run. {t['other']} more "
            "(true by construction, or our diagnostics) are listed in the full report and not counted. " + TEST_NOTE]
    claims = [(r, c) for r in data["results"] for c in r["claims"] if c.get("kind", "paper") == "paper"]
    if claims:
        out += ["", "| result | the paper says | ours | test | verdict |", "|---|---|---|---|---|"]
        for r, c in claims:
            out.append(f"| {r['figure']} | {_cell(c['what'])} | {_cell(c['ours'])} | {_cell(c.get('test', ''))} "
                       f"| {_verdict(c)} |")
    return "\n".join(out) + "\n"


def _rounded(x, digits: int = 6):
    """``x`` with every float to ``digits`` significant digits (results.json stays small and readable)."""
    if isinstance(x, float):
        return float(f"{x:.{digits}g}") if x == x and abs(x) != float("inf") else None
    if isinstance(x, dict):
        return {k: _rounded(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v, digits) for v in x]
    return x


def write_report(data: dict, out) -> dict:
    """Write ``results.json``, ``figures/<id>.png``, ``report.md`` and ``report.html`` into ``out``; their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for r in data["results"]:
        p = figures.draw(r, out / "figures")
        if p is not None:
            paths[r["id"]] = p
    bl = blocks(data, paths)
    if not figures.available():
        bl.insert(2, ("p", "The figures need matplotlib (`pip install matplotlib`); this report has none."))
    (out / "results.json").write_text(json.dumps(_rounded(data), separators=(",", ":"), default=str) + "\n")
    (out / "report.md").write_text(to_markdown(bl, out))
    (out / "report.html").write_text(to_html(bl))
    (out / "summary.md").write_text(summary(data))
    return {"json": out / "results.json", "md": out / "report.md", "html": out / "report.html",
            "summary": out / "summary.md", "figures": paths}


__all__ = ["blocks", "summary", "tally", "to_html", "to_markdown", "write_report"]
