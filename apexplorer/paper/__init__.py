"""The paper's results, reproduced: every table and figure of eLife 2026, 15:e108237 as experiments.

* :mod:`.registry`: the results as data (``results/<id>.toml``): their
  experiments at the paper's scale and at a quick one, the paper's values and
  its claims, and the choices the paper leaves open.
* :mod:`.plan`: a result's points at a scale, and whether their data is here.
* :mod:`.probes` and :mod:`.analyses`: measurements beyond accuracy.
* :mod:`.measure` and :mod:`.checks`: our numbers, and the paper's beside them.
* :mod:`.run`: :func:`reproduce` trains through the sweep executor (here or
  on Dask, resumable) and :mod:`.report` writes the report.
* :mod:`.gallery`: what the explorer's Paper view lists and loads.

>>> from apexplorer.paper import reproduce, results
>>> [r.id for r in results()]                       # doctest: +SKIP
>>> reproduce(["fig2c"], scale="quick", out="r")    # doctest: +SKIP
"""

from .errors import PaperError
from .registry import Result, result, results, select

__all__ = ["PaperError", "Result", "reproduce", "result", "results", "select"]


def reproduce(*args, **kwargs):
    """See :func:`apexplorer.paper.run.reproduce`."""
    from .run import reproduce as run

    return run(*args, **kwargs)
