"""The results table of a sweep: one row per point, seed and epoch, in CSV or Parquet.

The file is always valid, whenever the sweep stops:

* CSV grows by appending whole runs, each in a single write, flushed to disk;
  a line cut short by a crash is dropped the next time the table is opened.
* Parquet cannot be appended to, so each change writes a new file next to
  it and renames it over the old one (an atomic replace).

A rerun reads the table, skips the runs whose status is finished and drops
the rows of runs that failed (``error``), which it trains again.  Each row
carries its point's whole experiment (column ``experiment``, JSON).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from ..checkpoint import try_writing
from ..errors import ApexplorerError, choices

FORMATS = (".csv", ".parquet")
FINISHED = ("completed", "early_stop", "diverged")
#: Columns that come first, in this order; settings follow, then these metrics.
LEADING = ("point", "seed", "epoch")
METRICS = ("train_acc", "test_acc", "loss", "test_loss", "seconds", "status", "message", "ftmle", "probe", "sweep")


def _pandas():
    import pandas as pd

    return pd


def order_columns(cols) -> list:
    """Leading columns, then settings in their given order, then metrics."""
    cols = list(dict.fromkeys(cols))
    head = [c for c in LEADING if c in cols]
    tail = [c for c in METRICS if c in cols]
    return head + [c for c in cols if c not in head and c not in tail] + tail


def check_format(path) -> str:
    """The table format of ``path`` from its suffix; a clear error for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ApexplorerError(f"results file {str(path)!r}: unknown format {suffix or '(no suffix)'!r}; "
                              f"name it with one of {choices(FORMATS)}")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ApexplorerError("writing .parquet needs pyarrow: pip install 'apexplorer[sweep]' "
                                  "(or pyarrow), or name the results file .csv") from None
    return suffix


def check_target(path) -> Path:
    """Refuse a results file that cannot be written (a folder, a place under a file, an unwritable folder),
    before any run trains; its format is checked too."""
    path = Path(path)
    if path.is_dir():
        raise ApexplorerError(f"results file {str(path)!r} is a folder; give a file in it, e.g. "
                              f"{str(path / 'sweep.csv')!r}")
    check_format(path)
    if path.exists() and not path.is_file():
        raise ApexplorerError(f"results file {str(path)!r} is not a regular file (a device or a pipe)")
    above = next((p for p in path.absolute().parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise ApexplorerError(f"cannot write the results file {str(path)!r}: {str(above)!r} is a file, not a folder")
    try:
        try_writing(path)
        if path.exists():
            with open(path, "a"):
                pass
    except OSError as e:
        raise ApexplorerError(f"cannot write the results file {str(path)!r}: {e.strerror or e} (cannot create "
                              f"files in {str(path.parent)!r})") from None
    return path


def load_results(path):
    """Read a results table (CSV or Parquet) into a pandas DataFrame.

    Errors name the file and what is wrong with it.
    """
    pd = _pandas()
    path = Path(path)
    suffix = check_format(path)
    if path.is_dir():
        raise ApexplorerError(f"results file {str(path)!r} is a folder; give a file in it, e.g. "
                              f"{str(path / ('sweep' + suffix))!r}")
    if not path.is_file():
        raise ApexplorerError(f"results file {str(path)!r} does not exist")
    try:
        if suffix == ".csv":
            text = path.read_text()
            if text and not text.endswith("\n"):  # a row cut short by a crash
                text = text[: text.rfind("\n") + 1]
            df = pd.read_csv(io.StringIO(text)) if text.strip() else pd.DataFrame(columns=list(LEADING))
        else:
            df = pd.read_parquet(path)
    except (ValueError, OSError) as e:
        raise ApexplorerError(f"cannot read results file {str(path)!r}: {e}") from None
    missing = [c for c in ("point", "seed", "status") if c not in df.columns]
    if missing and len(df):
        raise ApexplorerError(f"{str(path)!r} is not a sweep results table: it has no column(s) {choices(missing)}")
    return df


class ResultsTable:
    """A sweep's results file, appended to as runs finish.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.parquet``.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.format = check_format(self.path)
        self._df = None
        if self.path.exists():
            self._df = load_results(self.path)
            if self.format == ".csv":
                text = self.path.read_text()
                if text and not text.endswith("\n"):  # drop a row cut short by a crash
                    self._rewrite(self._df)

    @property
    def frame(self):
        """The rows so far, as a DataFrame."""
        return self._df if self._df is not None else _pandas().DataFrame(columns=list(LEADING))

    def finished(self) -> set:
        """(point, seed) of the runs whose rows are in the table with a finished status."""
        df = self._df
        if df is None or not len(df):
            return set()
        done = df[df["status"].isin(FINISHED)]
        return {(str(p), int(s)) for p, s in zip(done["point"], done["seed"])}

    def check_resumable(self) -> None:
        """Refuse to continue a table of an older apexplorer: its points were named otherwise, so its
        finished runs would not be found and would be trained again beside the old rows."""
        df = self._df
        if df is not None and len(df) and "experiment" not in df.columns:
            raise ApexplorerError(
                f"{str(self.path)!r} was written by an apexplorer older than experiments (it has no experiment "
                "column), whose points were named otherwise; its runs cannot be recognised. Give a new --out "
                "file (the old table still loads in apexplorer.sweep.load_results and the Sweeps tab)")

    def drop_unfinished(self) -> int:
        """Remove the rows of runs that did not finish (``error``), so a rerun can redo them; how many runs."""
        df = self._df
        if df is None or not len(df):
            return 0
        bad = df[~df["status"].isin(FINISHED)]
        return self.drop_runs({(str(p), int(s)) for p, s in zip(bad["point"], bad["seed"])})

    def drop_runs(self, runs) -> int:
        """Remove every row of the runs ``{(point, seed)}``, so a rerun trains them again; how many runs."""
        df = self._df
        runs = set(runs)
        if df is None or not len(df) or not runs:
            return 0
        hit = [(str(p), int(s)) in runs for p, s in zip(df["point"], df["seed"])]
        hit = _pandas().Series(hit, index=df.index, dtype=bool)
        n = len({(str(p), int(s)) for p, s in zip(df["point"][hit], df["seed"][hit])})
        if n:
            self._rewrite(df[~hit].reset_index(drop=True))
        return n

    def append(self, rows) -> None:
        """Add the rows of finished runs; the file stays valid at every moment."""
        if not rows:
            return
        pd = _pandas()
        new = pd.DataFrame(rows)
        old = self._df
        cols = order_columns(([] if old is None else list(old.columns)) + list(new.columns))
        new = new.reindex(columns=cols)
        if self.format == ".csv" and old is not None and list(old.columns) == cols and self.path.exists():
            text = new.to_csv(index=False, header=False)
            with open(self.path, "a") as f:  # one write of whole lines
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            self._df = pd.concat([old, new], ignore_index=True) if len(old) else new
        else:
            both = new if old is None or not len(old) else pd.concat([old.reindex(columns=cols), new],
                                                                     ignore_index=True)
            self._rewrite(both)

    def _rewrite(self, df) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        if self.format == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._df = df
