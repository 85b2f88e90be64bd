"""Small helpers shared by the teaching notebooks (``notebooks/``): quick mode,
datasets with a fallback, and deterministic subsets.

``APEXPLORER_QUICK=1`` (set by the test suite) asks every notebook for its
smallest run, so that CI executes all of them in well under three minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from .data import Dataset, load_dataset
from .errors import DataError


def quick_mode() -> bool:
    """True when ``$APEXPLORER_QUICK`` is set to something other than ``""``/``0``."""
    return os.environ.get("APEXPLORER_QUICK", "") not in ("", "0")


def lesson_dataset(name: str, fallback: str = "digits", data_dir=None) -> Dataset:
    """``load_dataset(name)``, or ``fallback`` with a printed note when ``name``'s files are missing."""
    try:
        return load_dataset(name, data_dir)
    except DataError as e:
        print(f"note: {name} is not installed here ({e}); using {fallback} instead")
        return load_dataset(fallback, data_dir)


def subset(data: Dataset, n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """The first ``n_train`` training and ``n_test`` test samples of ``data`` (None: all).

    The name gets a suffix (``fashion-mnist[:5000]``) so that a plot or a log says it is a subset.
    """
    tr = len(data.y_train) if n_train is None else min(int(n_train), len(data.y_train))
    te = len(data.y_test) if n_test is None else min(int(n_test), len(data.y_test))
    if tr == len(data.y_train) and te == len(data.y_test):
        return data
    return Dataset(f"{data.name}[:{tr}]", data.x_train[:tr], data.y_train[:tr], data.x_test[:te], data.y_test[:te],
                   data.n_classes, data.shape, list(data.classes))


def write_idx_dataset(data: Dataset, folder) -> str:
    """Write an image dataset (or a :func:`subset` of one) as the four IDX files under ``folder/<name>/``.

    Then ``apexplorer train --data-dir folder`` loads exactly these samples, so a lesson's run on a subset
    can be repeated on the command line.  Pixels must be in [0, 1] on a 1/255 grid (as the IDX loader
    gives them).  Returns the folder to pass as ``--data-dir``.
    """
    import numpy as np

    from .data import IDX_FILES, write_idx

    base = data.name.split("[")[0]
    if not data.shape or len(data.shape) != 2:
        raise DataError(f"dataset {data.name!r} has no 2-D image shape; only IDX image datasets can be written")
    out = Path(folder) / base
    out.mkdir(parents=True, exist_ok=True)
    h, w = data.shape
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        pix = np.rint(x.numpy() * 255.0)
        if not np.allclose(pix, x.numpy() * 255.0, atol=1e-3) or pix.min() < 0 or pix.max() > 255:
            raise DataError(f"dataset {data.name!r}: pixels are not on the 1/255 grid of IDX files")
        key = "train" if split == "train" else "test"
        write_idx(out / (IDX_FILES[f"{key}_images"] + ".gz"), pix.reshape(len(x), h, w))
        write_idx(out / (IDX_FILES[f"{key}_labels"] + ".gz"), y.numpy())
    return str(folder)
