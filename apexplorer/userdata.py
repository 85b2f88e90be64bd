"""Your own data: a dataset from arrays, from a torch dataset, or from a ``.csv`` or ``.npz`` file.

Preprocessing, stated once:
- **features** (a 2-D array: one row per sample) are standardised on the training
  split, each column to mean 0 and s.d. 1 (a constant column is only centred); the
  mean and s.d. are kept on the dataset (``Dataset.scaling``) so the test set, and
  anything scored later, is scaled the same way;
- **images** (3 or more dimensions per array: n x h x w [x c]) are scaled to [0, 1]
  as the built-in datasets are: divided by 255 when they are whole numbers up to 255,
  kept when already in [0, 1], else scaled by the training split's range.

Labels are whole numbers from 0, or strings (or any other values), which become
classes named by their text, in sorted order.  Every mistake in the data is a
:class:`~apexplorer.errors.DataError` naming the file, the row or column, and what to
do; nothing is half-loaded.
"""

from __future__ import annotations

import csv
import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset
from .errors import DataError

#: Most features a dataset may have (a larger one is almost surely a mistake: a transposed array).
MAX_FEATURES = 100_000
#: File kinds that name a dataset by path.
SUFFIXES = (".csv", ".npz")
SCALINGS = ("auto", "standardize", "images", "none")


def is_file_name(name) -> bool:
    """Whether a dataset name is a path to a file of one of :data:`SUFFIXES`."""
    return isinstance(name, (str, Path)) and str(name).lower().endswith(SUFFIXES)


def file_hash(path) -> str:
    """The SHA-256 of a file's bytes (hex), recorded with a run so that a rerun on changed data says so."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------
def _labels(y, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be one per sample (a 1-D array), not shape {y.shape}")
    return y


def _numeric(y) -> bool:
    return y.dtype.kind in "iubf"


def _check_labels(y, where: str, split: str, first: int = 0, what: str = "sample", classes=None) -> None:
    """Whole-number labels must be whole numbers from 0, and below the number of ``classes`` when named
    (``first``: the number of the first item, for messages: a CSV's first data row is row 2)."""
    if not _numeric(y):
        return
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise DataError(f"{where}: {split} label {float(y[bad[0]])} ({what} {bad[0] + first}) is not a whole "
                            "number; labels are whole numbers from 0, or class names")
    if y.size and y.min() < 0:
        i = int(np.argmin(y))
        raise DataError(f"{where}: {split} label {y[i].item()!r} ({what} {i + first}) is out of range; labels are "
                        "whole numbers from 0 (or class names)")
    if classes is not None and y.size and y.max() >= len(classes):
        i = int(np.argmax(y))
        raise DataError(f"{where}: {split} label {int(y[i])} ({what} {i + first}) is out of range: {len(classes)} "
                        f"classes are named, so labels go from 0 to {len(classes) - 1}")


def _encode(y_train, y_test, classes, where):
    """Labels as int64 class indices, and the class names."""
    numeric = _numeric(y_train) and _numeric(y_test)
    if numeric:
        n = int(max(y_train.max(), y_test.max() if y_test.size else 0)) + 1
        classes = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
        enc = (y_train.astype(np.int64), y_test.astype(np.int64))
    else:
        names = sorted({str(v) for v in y_train.tolist()})
        index = {c: i for i, c in enumerate(names)}
        unseen = [(i, v) for i, v in enumerate(y_test.tolist()) if str(v) not in index]
        if unseen:
            i, v = unseen[0]
            raise DataError(f"{where}: test label {str(v)!r} (sample {i}) is not a class of the training split "
                            f"({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})")
        classes = names
        enc = (np.array([index[str(v)] for v in y_train.tolist()], dtype=np.int64),
               np.array([index[str(v)] for v in y_test.tolist()], dtype=np.int64))
    if len(np.unique(enc[0])) < 2:
        raise DataError(f"{where}: the training split has a single class ({classes[int(enc[0][0])]!r}); "
                        "a classifier needs at least two")
    return enc, classes


def _features(x, where: str, split: str) -> tuple[np.ndarray, tuple]:
    """(n, features) float64 and the per-sample shape; refuses non-numbers, NaN, inf and huge widths."""
    x = np.asarray(x)
    if x.dtype.kind not in "iubf":
        raise DataError(f"{where}: {split} features have type {x.dtype} (not numbers); give numeric arrays")
    if x.ndim < 2:
        raise DataError(f"{where}: {split} features must have one row per sample (2 or more dimensions), "
                        f"not shape {x.shape}")
    shape = tuple(int(s) for s in x.shape[1:])
    flat = x.reshape(len(x), -1)
    if flat.shape[1] > MAX_FEATURES:
        raise DataError(f"{where}: {flat.shape[1]} features per sample, more than {MAX_FEATURES}; is the array "
                        "transposed (samples must be rows)?")
    if x.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(flat))
        if bad.size:
            r, c = (int(v) for v in bad[0])
            raise DataError(f"{where}: {split} sample {r}, feature {c} is {float(flat[r, c])}; remove or fill the "
                            "missing values (NaN or inf) first")
    return flat.astype(np.float64), shape


def _scale(xtr, xte, shape, scaling, where):
    """Scaled copies (float32) and the (offset, scale) used, so that ``(raw - offset) / scale`` is the input."""
    if scaling not in SCALINGS:
        raise DataError(f"{where}: scaling = {scaling!r}; choose one of {', '.join(SCALINGS)}")
    if scaling == "auto":
        scaling = "images" if len(shape) >= 2 else "standardize"
    if scaling == "none":
        off, sc = np.zeros(xtr.shape[1]), np.ones(xtr.shape[1])
    elif scaling == "standardize":
        off = xtr.mean(axis=0)
        sc = xtr.std(axis=0)
        sc[sc == 0] = 1.0
    else:
        lo, hi = float(xtr.min()), float(xtr.max())
        whole = np.all(xtr == np.round(xtr))
        if lo >= 0 and hi <= 1:
            lo, hi = 0.0, 1.0
        elif whole and lo >= 0 and hi <= 255:
            lo, hi = 0.0, 255.0
        off = np.full(xtr.shape[1], lo)
        sc = np.full(xtr.shape[1], (hi - lo) or 1.0)
    f = lambda a: torch.from_numpy(((a - off) / sc).astype(np.float32))  # noqa: E731
    return f(xtr), f(xte), (torch.from_numpy(off.astype(np.float32)), torch.from_numpy(sc.astype(np.float32))), scaling


def from_arrays(x_train, y_train, x_test=None, y_test=None, name: str = "arrays", classes=None,
                test_fraction: float = 0.2, seed: int = 0, scaling: str = "auto", files: tuple = ()):
    """A :class:`~apexplorer.data.Dataset` from arrays (NumPy, torch, lists).

    ``x`` may have any shape with one sample per row; it is flattened.  With no test
    set, ``test_fraction`` of the samples are held out, stratified by class, with
    ``seed``.  ``classes`` names the classes of whole-number labels; string labels name
    their own.  ``scaling``: ``auto`` (images to [0, 1], features standardised), or one
    of ``standardize``, ``images``, ``none``.
    """
    where = Path(files[0]).name if files else name
    x_train = x_train.numpy() if isinstance(x_train, torch.Tensor) else x_train
    x_test = x_test.numpy() if isinstance(x_test, torch.Tensor) else x_test
    y_train = _labels(y_train.numpy() if isinstance(y_train, torch.Tensor) else y_train, where)
    xtr, shape = _features(x_train, where, "training")
    _check_labels(y_train, where, "training", classes=classes)
    if len(xtr) != len(y_train):
        raise DataError(f"{where}: {len(xtr)} training samples but {len(y_train)} labels; give one label per sample")
    if (x_test is None) != (y_test is None):
        raise DataError(f"{where}: give both x_test and y_test, or neither (then {test_fraction:g} is held out)")
    if x_test is None:
        if not 0 < test_fraction < 1:
            raise DataError(f"{where}: test_fraction = {test_fraction!r} must be between 0 and 1")
        from sklearn.model_selection import train_test_split

        if len(xtr) < 4:
            raise DataError(f"{where}: {len(xtr)} samples are too few to hold out a test set; give at least 4")
        idx = np.arange(len(xtr))
        try:
            itr, ite = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                        stratify=np.asarray([str(v) for v in y_train.tolist()]))
        except ValueError:  # a class with one sample cannot be stratified: a plain split
            itr, ite = train_test_split(idx, test_size=test_fraction, random_state=seed)
        itr, ite = np.sort(itr), np.sort(ite)
        xtr, xte, y_train, y_test = xtr[itr], xtr[ite], y_train[itr], y_train[ite]
    else:
        y_test = _labels(y_test.numpy() if isinstance(y_test, torch.Tensor) else y_test, where)
        _check_labels(y_test, where, "test", classes=classes)
        xte, tshape = _features(x_test, where, "test")
        if tshape != shape:
            raise DataError(f"{where}: test samples have shape {tshape}, training samples {shape}; they must match")
        if len(xte) != len(y_test):
            raise DataError(f"{where}: {len(xte)} test samples but {len(y_test)} labels; give one label per sample")
    (ytr, yte), classes = _encode(y_train, y_test, classes, where)
    ftr, fte, scale, how = _scale(xtr, xte, shape, scaling, where)
    d = Dataset(name, ftr, torch.from_numpy(ytr), fte, torch.from_numpy(yte), len(classes), shape, list(classes),
                tuple(files))
    d.scaling = (*scale, how)
    return d


def from_torch(ds, x_test=None, name: str | None = None, classes=None, **options):
    """A :class:`~apexplorer.data.Dataset` from map-style ``torch.utils.data.Dataset`` (s) of (input, label)
    pairs, e.g. a torchvision dataset already on disk.  ``x_test``: a second such dataset for the test split
    (else :func:`from_arrays` holds one out).  Inputs may be tensors, arrays or PIL images."""

    def stack(d, what):
        try:
            n = len(d)
        except TypeError:
            raise DataError(f"{what}: {type(d).__name__} has no length; give a map-style dataset "
                            "(one with __len__ and __getitem__)") from None
        if n == 0:
            raise DataError(f"{what}: the dataset is empty")
        xs, ys = [], []
        for i in range(n):
            item = d[i]
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise DataError(f"{what}: item {i} is {type(item).__name__}, not an (input, label) pair")
            x, y = item[0], item[1]
            xs.append(x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x))
            ys.append(y.item() if isinstance(y, torch.Tensor) else y)
        shapes = {a.shape for a in xs}
        if len(shapes) > 1:
            raise DataError(f"{what}: inputs have different shapes ({', '.join(map(str, sorted(shapes)[:3]))}); "
                            "resize them to one shape")
        return np.stack(xs), np.asarray(ys)

    label = name or type(ds).__name__
    classes = classes if classes is not None else getattr(ds, "classes", None)
    xtr, ytr = stack(ds, label)
    if x_test is not None:
        xte, yte = stack(x_test, f"{label} (test)")
        return from_arrays(xtr, ytr, xte, yte, name=label, classes=classes, **options)
    return from_arrays(xtr, ytr, name=label, classes=classes, **options)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
def _check_memory(path: Path, need: int) -> None:
    """Refuse, before reading, a file whose arrays would not fit in free memory."""
    from .memory import free_bytes

    free = free_bytes("cpu")
    if free is not None and need > free:
        raise DataError(f"{path.name}: loading it needs about {need / 2**30:.1f} GiB, and this machine has "
                        f"{free / 2**30:.1f} GiB free; use a smaller file (fewer rows or features)")


def _read_npz(path: Path, name: str, **options):
    try:
        with zipfile.ZipFile(path) as z:
            need = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{path.name}: not a readable .npz file ({e}); save it with numpy.savez") from None
    _check_memory(path, 3 * need)  # the arrays, their float64 copy, the scaled copy
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as e:
        raise DataError(f"{path.name}: {e} (object arrays are not read, for safety); save numbers or strings") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path.name}: the file is corrupt ({e}); save it again with numpy.savez") from None
    keys = set(arrays)
    if {"x_train", "y_train"} <= keys:
        extra = [k for k in ("x_test", "y_test") if k in keys]
        if len(extra) == 1:
            raise DataError(f"{path.name}: has {extra[0]} but not its pair; give both x_test and y_test, or neither")
        args = [arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test")]
    elif {"x", "y"} <= keys:
        args = [arrays["x"], arrays["y"]]
    else:
        raise DataError(f"{path.name}: arrays {', '.join(sorted(keys)) or '(none)'}; an .npz dataset holds x_train "
                        "and y_train (and optionally x_test, y_test), or x and y")
    classes = [str(c) for c in arrays["classes"].tolist()] if "classes" in keys else None
    return from_arrays(*args, name=name, classes=classes, files=(str(path),), **options)


def _read_csv(path: Path, name: str, label=None, **options):
    _check_memory(path, 12 * path.stat().st_size)  # text to Python values and float64 arrays
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as e:
        raise DataError(f"{path.name}: not a UTF-8 text file ({e.reason} at byte {e.start}); save it as CSV") from None
    except csv.Error as e:
        raise DataError(f"{path.name}: not a readable CSV file ({e})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DataError(f"{path.name}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    width = len(header)
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            raise DataError(f"{path.name}: row {i} has {len(r)} fields, the header has {width}; every row needs "
                            "one value per column")
    if label is None:
        col = width - 1
    elif label in header:
        col = header.index(label)
    else:
        raise DataError(f"{path.name}: no column named {label!r}; its columns are {', '.join(header)}")
    if width < 2:
        raise DataError(f"{path.name}: one column; a dataset needs at least one feature column and a label column")
    feats = [j for j in range(width) if j != col]
    x = np.empty((len(rows) - 1, len(feats)), dtype=np.float64)
    for i, r in enumerate(rows[1:]):
        for k, j in enumerate(feats):
            try:
                x[i, k] = float(r[j])
            except ValueError:
                raise DataError(f"{path.name}: row {i + 2}, column {header[j]!r} is {r[j]!r}, not a number; "
                                f"features must be numbers (only the label column, {header[col]!r}, may hold "
                                "text)") from None
            if not math.isfinite(x[i, k]):
                raise DataError(f"{path.name}: row {i + 2}, column {header[j]!r} is {r[j]!r}; remove or fill the "
                                "missing values (NaN or inf) first")
    raw = [r[col].strip() for r in rows[1:]]
    try:
        y = np.array([int(v) for v in raw], dtype=np.int64)
    except ValueError:
        y = np.array(raw, dtype=object)
    _check_labels(y, path.name, "the", first=2, what="row")
    return from_arrays(x, y, name=name, files=(str(path),), **options)


def load_file(path, label: str | None = None, **options):
    """A dataset from a ``.csv`` (a header row; the label column is ``label`` or the last) or an ``.npz``
    (``x_train``/``y_train`` [``x_test``/``y_test``], or ``x``/``y``; optional ``classes``).  ``options`` go to
    :func:`from_arrays` (``test_fraction``, ``seed``, ``scaling``).  The dataset's ``sha256`` is the file's."""
    path = Path(path)
    if not is_file_name(path):
        raise DataError(f"{path.name}: a dataset file is {' or '.join(SUFFIXES)}")
    if not path.is_file():
        raise DataError(f"dataset file {path.name!r} not found" + (" (it is a folder)" if path.is_dir() else "")
                        + "; give the path of a .csv or .npz file")
    name = options.pop("name", None) or path.stem
    if path.suffix.lower() == ".npz":
        if label is not None:
            raise DataError(f"{path.name}: label = {label!r} names a CSV column; an .npz holds its labels in y "
                            "(or y_train)")
        d = _read_npz(path, name, **options)
    else:
        d = _read_csv(path, name, label, **options)
    d.sha256 = file_hash(path)
    return d


def load_bytes(data: bytes, name: str, label: str | None = None, **options):
    """A dataset from an uploaded file's bytes, named by the visitor's file ``name`` (``moons.csv``): read as
    :func:`load_file` reads a file, from a private temporary copy that is gone afterwards.  Every message names
    ``name``, never a server path; ``files`` and ``sha256`` are the visitor's file name and its content's hash."""
    import shutil
    import tempfile

    base = Path(str(name or "").replace("\\", "/")).name.strip()
    if not is_file_name(base):
        raise DataError(f"{base or 'the uploaded file'}: a dataset file is {' or '.join(SUFFIXES)} (a CSV with a "
                        "header row, or an .npz of x and y); choose such a file")
    if not data:
        raise DataError(f"{base}: the file is empty; choose a .csv with a header row and data rows, or an .npz")
    folder = tempfile.mkdtemp(prefix="apexplorer-data-")
    path = Path(folder) / base
    try:
        path.write_bytes(bytes(data))
        d = load_file(path, label=label or None, **options)
    except DataError as e:
        raise DataError(str(e).replace(str(path), base).replace(folder, "")) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    d.files = (base,)
    return d
