"""Sweeps: train one network over a grid of settings x seeds, into a tidy results table.

* :mod:`.grid`: a :class:`Sweep` is data: a base :class:`~apexplorer.Experiment`,
  the grid axes (any key of it, e.g. ``ap.spectral_radius`` or ``sr``,
  ``steps``) and the seeds.
* :mod:`.point`: :func:`train_point` trains the seeds of one point (AP: as one
  batched ensemble) and returns plain rows, so it runs the same here or on a
  Dask worker.
* :mod:`.executors`: :func:`run` (or :func:`prepare` + :func:`execute`)
  trains what is left in this process or on a Dask client.
* :mod:`.job`: :class:`SweepJob` runs a sweep in a background thread (a
  local Dask cluster, or this process), with progress snapshots and cancel.
* :mod:`.table`: the results table (CSV or Parquet), appended to as runs
  finish, so a rerun skips finished runs and Ctrl-C or a dead worker loses
  only the runs in flight.
* :mod:`.plots`: the paper's sweep plots (HoloViews), for notebooks and the
  explorer's Sweeps view.

>>> from apexplorer.sweep import Sweep, run, load_results
>>> exp = Experiment.from_preset("digits").with_changes({"train.epochs": 5})
>>> sw = Sweep.create(exp, {"ap.spectral_radius": [0.1, 0.5, 1], "steps": [2, 8]}, seeds=3)
>>> df = run(sw, "digits.csv")                 # or run(..., client=distributed.Client(...))
"""

from .executors import (SCALE_OUT, Task, default_workers, execute, have_dask, local_cluster, plan, prepare, run,
                        run_in_process, run_on_dask, summary)
from .job import SweepJob, SweepProgress
from .grid import PLACEMENT, STABILITY_AXES, Point, Sweep, axis_key, column, parse_axis, point_id
from .point import reservoir_ftmle, settings_row, train_point
from .table import FINISHED, ResultsTable, load_results

__all__ = [
    "FINISHED", "PLACEMENT", "SCALE_OUT", "STABILITY_AXES", "Point", "ResultsTable", "Sweep", "SweepJob", "SweepProgress", "Task",
    "axis_key", "column", "default_workers", "execute", "have_dask", "load_results", "local_cluster",
    "parse_axis", "plan", "point_id", "prepare", "reservoir_ftmle", "run", "run_in_process", "run_on_dask",
    "settings_row", "summary", "train_point",
]
