"""What a gallery of the paper's results shows: each result, its experiments, the paper's values and, when a
reproduction report exists, ours beside them.  Plain data for the explorer's Paper view (and for notebooks).

>>> from apexplorer.paper.gallery import entries, experiment, read_report, rows
>>> [e["id"] for e in entries()]                      # doctest: +SKIP
>>> experiment("fig5e", "quick", "simultaneous")      # the Experiment to load
>>> rows("fig5e", read_report("reproduction"))        # paper | ours | comparison
"""

from __future__ import annotations

import json
from pathlib import Path

from .checks import fmt
from .plan import points
from .errors import PaperError
from .registry import result, results


def entries() -> list:
    """Every result as ``{id, title, figure, notes, groups, values}`` (the paper's values as text)."""
    out = []
    for r in results():
        out.append({"id": r.id, "title": r.title, "figure": r.figure, "notes": r.notes,
                    "groups": [g.label for g in r.groups],
                    "values": [{"what": v.what, "paper": _paper_text(v.value, v.pm, v.metric), "source": v.source}
                               for v in r.values],
                    "claims": [{"what": c.what, "source": c.source} for c in r.claims]})
    return out


def _paper_text(value, pm, metric) -> str:
    return fmt(value, metric, pm) if pm is not None else fmt(value, metric)


def point_labels(rid: str, scale: str = "quick") -> list:
    """The labels of a result's points at ``scale`` (``group key=value ...``), in order."""
    return [p.label() for p in points(result(rid), scale)]


def experiment(rid: str, scale: str = "quick", label: str | None = None):
    """The :class:`~apexplorer.experiment.Experiment` of one point of a result (default: its first point)."""
    pts = points(result(rid), scale)
    if label is None:
        return pts[0].experiment
    for p in pts:
        if p.label() == label:
            return p.experiment
    raise PaperError(f"result {rid!r} has no point {label!r} at scale {scale}; its points are "
                     + ", ".join(repr(p.label()) for p in pts))


#: what a report is, for messages about a file that is not one
REPORT_IS = "a report is the results.json that `apexplorer reproduce --out DIR` writes"


def read_report(folder) -> dict | None:
    """The ``results.json`` of a reproduction in ``folder`` (or the file itself); None when there is none.

    A file that is there but cannot be read, or is not a report, is an error that says why.
    """
    path = Path(folder)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PaperError(f"cannot read the report {str(path)!r}: {e.strerror or e}") from None
    return parse_report(data, str(path))


def parse_report(data, name: str = "results.json") -> dict:
    """A report from its bytes or text (``name`` is what messages call it); checked as :func:`check_report`."""
    if isinstance(data, (bytes, bytearray)):
        if not bytes(data).strip():
            raise PaperError(f"{name!r} is empty; {REPORT_IS}")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise PaperError(f"{name!r} is not a text file; {REPORT_IS}") from None
    try:
        d = json.loads(data)
    except json.JSONDecodeError as e:
        raise PaperError(f"cannot read the report {name!r}: it is not JSON ({e.msg}, line {e.lineno}); "
                         f"{REPORT_IS}") from None
    return check_report(d, name)


def _kind(where: str, v, kinds: tuple, what: str, name: str) -> None:
    if v is not None and (not isinstance(v, kinds) or isinstance(v, bool) and bool not in kinds):
        raise PaperError(f"{name!r} is not a reproduction's results.json: {where} is {type(v).__name__}, "
                         f"not {what}; {REPORT_IS}")


def check_report(d, name: str = "results.json") -> dict:
    """``d`` when it has a report's shape (what the gallery reads of it), else a PaperError saying where not."""
    if not isinstance(d, dict) or not isinstance(d.get("results"), list):
        raise PaperError(f"{name!r} is not a reproduction's results.json (it has no list of 'results'); {REPORT_IS}")
    num = (int, float)
    _kind("scale", d.get("scale"), (str,), "text", name)
    for i, r in enumerate(d["results"]):
        at = f"results[{i}]"
        if not isinstance(r, dict) or not isinstance(r.get("id"), str):
            raise PaperError(f"{name!r} is not a reproduction's results.json: {at} has no id; {REPORT_IS}")
        _kind(f"{at}.scale", r.get("scale"), (str,), "text", name)
        for part, fields in (("values", {"what": ((str,), "text"), "ours": (num, "a number"),
                                         "sd": (num, "a number"), "n": ((int,), "a whole number"),
                                         "text": ((str,), "text")}),
                             ("claims", {"what": ((str,), "text"), "ours": ((str,), "text"),
                                         "holds": ((bool,), "true or false")})):
            items = r.get(part, [])
            _kind(f"{at}.{part}", items, (list,), "a list", name)
            for j, v in enumerate(items or []):
                if not isinstance(v, dict) or not isinstance(v.get("what"), str):
                    raise PaperError(f"{name!r} is not a reproduction's results.json: {at}.{part}[{j}] has no "
                                     f"'what'; {REPORT_IS}")
                for k, (kinds, what) in fields.items():
                    _kind(f"{at}.{part}[{j}].{k}", v.get(k), kinds, what, name)
    return d


def ours(report: dict | None, rid: str) -> dict | None:
    """A result's block of a report (None when the report does not have it)."""
    if not report:
        return None
    return next((r for r in report.get("results", []) if r.get("id") == rid), None)


def rows(rid: str, report: dict | None = None) -> list:
    """The paper's values of a result beside ours: ``[{what, paper, source, ours, comparison}]``.

    Without a report (or without this result in it), ``ours`` and ``comparison`` are empty.
    """
    r = result(rid)
    block = ours(report, rid)
    theirs = {v["what"]: v for v in (block or {}).get("values", [])}
    out = []
    for v in r.values:
        got = theirs.get(v.what) or {}
        if got.get("ours") is not None:
            mine = f"{fmt(got['ours'], v.metric, got.get('sd'))} (n = {got.get('n')}, {block.get('scale')})"
            comparison = got.get("text", "")
        else:
            mine, comparison = got.get("text", ""), ""
        out.append({"what": v.what, "paper": _paper_text(v.value, v.pm, v.metric), "source": v.source,
                    "ours": mine, "comparison": comparison})
    return out


def claim_rows(rid: str, report: dict | None = None) -> list:
    """The paper's trends of a result and, from a report, ours and whether they hold."""
    block = ours(report, rid)
    got = {c["what"]: c for c in (block or {}).get("claims", [])}
    return [{"what": c.what, "kind": c.kind, "source": c.source, "ours": got.get(c.what, {}).get("ours", ""),
             "holds": (got[c.what].get("verdict") or {True: "yes", False: "no", None: "not checked"}.get(
                 got[c.what]["holds"])) if c.what in got else ""} for c in result(rid).claims]


__all__ = ["REPORT_IS", "check_report", "claim_rows", "entries", "experiment", "ours", "parse_report", "point_labels",
           "read_report", "rows"]
