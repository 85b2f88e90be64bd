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


def read_report(folder) -> dict | None:
    """The ``results.json`` of a reproduction in ``folder`` (or the file itself); None when there is none.

    A file that is there but cannot be read is an error that says why.
    """
    path = Path(folder)
    path = path / "results.json" if path.is_dir() else path
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PaperError(f"cannot read the report {str(path)!r}: {e}") from None
    if not isinstance(data, dict) or "results" not in data:
        raise PaperError(f"{str(path)!r} is not a reproduction's results.json (it has no 'results')")
    return data


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


__all__ = ["claim_rows", "entries", "experiment", "ours", "point_labels", "read_report", "rows"]
