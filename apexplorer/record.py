"""A run's whole history as tidy rows, for export (CSV, JSON) and for comparing runs.

:class:`History` takes the events of :meth:`Trainer.train
<apexplorer.trainer.Trainer.train>` and keeps one row per batch and task, and
one per epoch, task and ensemble member, each with the run's name.  Its
:meth:`~History.to_csv` and :meth:`~History.to_json` write exactly those rows;
:func:`rows_of` gives the rows of one event.
"""

from __future__ import annotations

import csv
import io
import json
import math

#: Columns that come first, in this order; the metrics and the per-module errors follow.
LEADING = ("run", "kind", "epoch", "batch", "n_batches", "task", "member")


def rows_of(event, run: str = "run") -> list:
    """The rows of one event: a batch or an epoch gives a row per task (and, in an ensemble, one per
    member before the task's mean)."""
    kind = getattr(event, "kind", None)
    if kind == "batch":
        errors = {f"error.{k}": v for k, v in event.error.items()}
        per = event.tasks or {event.task: {"loss": event.loss, "acc": event.acc}}
        out = []
        for t, d in per.items():
            base = {"run": run, "kind": "batch", "epoch": event.epoch, "batch": event.batch,
                    "n_batches": event.n_batches, "task": t}
            members = (getattr(event, "members", None) or {}).get(t)
            if members:
                out += [{**base, "member": i, "loss": loss, "acc": acc}
                        for i, (loss, acc) in enumerate(zip(members["loss"], members["acc"]))]
            out.append({**base, "member": None, "loss": d["loss"], "acc": d["acc"],
                        "samples_per_s": event.samples_per_s, **errors})
        return out
    if kind == "epoch":
        errors = {f"error.{k}": v for k, v in event.error.items()}
        out = []
        for t, d in event.tasks.items():
            base = {"run": run, "kind": "epoch", "epoch": event.epoch, "batch": None, "n_batches": None, "task": t}
            members = event.members.get(t) if event.members else None
            if members:
                n = len(members["test_acc"])
                for i in range(n):
                    out.append({**base, "member": i, **{k: v[i] for k, v in members.items()}})
            out.append({**base, "member": None, **d, "seconds": event.seconds, "samples_per_s": event.samples_per_s,
                        **errors})
        return out
    if kind == "stop":
        return [{"run": run, "kind": "stop", "epoch": event.epoch, "batch": None, "n_batches": None, "task": None,
                 "member": None, "reason": event.reason, "message": event.message}]
    return []


class History:
    """Every event of one or more runs as rows (see :func:`rows_of`), in the order they came.

    >>> h = History()
    >>> for ev in trainer.train():
    ...     h.add(ev, run="ap")
    >>> h.to_csv("history.csv")
    """

    def __init__(self):
        self.rows = []

    def add(self, event, run: str = "run") -> None:
        self.rows.extend(rows_of(event, run))

    def extend(self, events, run: str = "run") -> None:
        for ev in events:
            self.add(ev, run)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list:
        """Leading columns, then every other key in the order it first appeared."""
        seen = dict.fromkeys(LEADING)
        for r in self.rows:
            seen.update(dict.fromkeys(r))
        return list(seen)

    def to_csv(self, path=None) -> str:
        """The rows as CSV (empty cells for missing values); written to ``path`` when given."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        text = buf.getvalue()
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def to_json(self, path=None) -> str:
        """The rows as a JSON list of objects (NaN and infinities as null); written to ``path`` when given."""
        clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                 for r in self.rows]
        text = json.dumps(clean)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text
