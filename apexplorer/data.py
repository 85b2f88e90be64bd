"""Datasets, all offline: digits (embedded), 2AFC (generated), Fashion-MNIST and
MNIST (IDX files), CIFAR-10 (python pickle batches).

Files are looked for in ``data_dir``, then ``$APEXPLORER_DATA``, then Debian's
``/usr/share/datasets/<name>``, then the user cache ``~/.cache/apexplorer``.
They are downloaded only when asked (``download=True``).  A missing or
corrupt file raises :class:`DataError` saying what was looked for and how to
get it.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
import tarfile
import threading
import urllib.request
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset
from .errors import DataError, choices
from .toy import load_toy, toy_names
from .userdata import is_file_name, load_file

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "apexplorer"

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
URLS = {
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
}
HOW_TO_GET = {
    "fashion-mnist": "install Debian's package (apt-get install dataset-fashion-mnist), put the four IDX .gz files "
    "in --data-dir or $APEXPLORER_DATA, or pass --download where the network allows",
    "mnist": "put the four IDX files (train-images-idx3-ubyte.gz, ...) in --data-dir or $APEXPLORER_DATA, "
    "or pass --download where the network allows",
    "cifar10": "put the folder cifar-10-batches-py (python version) in --data-dir or $APEXPLORER_DATA, "
    "or pass --download where the network allows",
}


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array; corrupt files raise DataError."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read IDX file {str(path)!r}: {e}. Delete it and fetch it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{str(path)!r} is not an unsigned-byte IDX file (bad magic number). Delete it and fetch it again.")
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{str(path)!r} is corrupt: bad IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    n = int(np.prod(dims))
    body = raw[4 + 4 * ndim :]
    if len(body) != n:
        raise DataError(
            f"{str(path)!r} is corrupt or truncated: header says {n} bytes of data, file has {len(body)}. "
            "Delete it and fetch it again."
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped if the name ends in .gz); used by tests and tools."""
    array = np.asarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    data = head + array.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def search_dirs(name: str, data_dir=None) -> list:
    """Folders searched for dataset ``name``, in order."""
    roots = []
    if data_dir:
        roots.append(Path(data_dir))
    if os.environ.get("APEXPLORER_DATA"):
        roots.append(Path(os.environ["APEXPLORER_DATA"]))
    roots.append(Path("/usr/share/datasets"))
    roots.append(CACHE)
    sub = {"fashion-mnist": ["fashion-mnist", "FashionMNIST/raw", "fashion_mnist"],
           "mnist": ["mnist", "MNIST/raw"], "cifar10": ["cifar10", "."]}.get(name, [name])
    out = []
    for r in roots:
        out.append(r)
        out.extend(r / s for s in sub if s != ".")
    return list(dict.fromkeys(out))


def _named_dirs(name, data_dir) -> list:
    """The folders searched: with a ``data_dir``, only it and its subfolders (a named folder is used whole
    or refused, never silently passed over for another copy)."""
    dirs = search_dirs(name, data_dir)
    if data_dir:
        root = Path(data_dir)
        dirs = [d for d in dirs if d == root or root in d.parents]
    return dirs


def holds_files(name: str, data_dir) -> bool:
    """Whether ``data_dir`` (or its subfolders) holds any file of dataset ``name``."""
    if not data_dir or name not in IDX_CLASSES:
        return False
    return any((d / (b + s)).is_file() for d in _named_dirs(name, data_dir) for b in IDX_FILES.values()
               for s in (".gz", ""))


def _find_idx(name, data_dir):
    """The four IDX files of ``name``; a ``data_dir`` holding only some of them is refused, naming the rest."""
    best = None
    for d in _named_dirs(name, data_dir):
        found = {}
        for key, base in IDX_FILES.items():
            for cand in (d / (base + ".gz"), d / base):
                if cand.is_file():
                    found[key] = cand
                    break
        if len(found) == 4:
            return found
        if found and (best is None or len(found) > len(best[1])):
            best = (d, found)
    if data_dir and best is not None:
        d, found = best
        missing = [b for k, b in IDX_FILES.items() if k not in found]
        raise DataError(f"--data-dir {str(data_dir)!r}: {str(d)!r} holds {len(found)} of the 4 IDX files of {name} "
                        f"({', '.join(p.name for p in found.values())}); missing: "
                        f"{', '.join(b + '[.gz]' for b in missing)}. A named folder is used whole: add the missing "
                        "file(s), or leave out --data-dir to search $APEXPLORER_DATA, /usr/share/datasets and "
                        "~/.cache/apexplorer")
    return None


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DataError(f"download of {url} failed ({e}); the network may be closed") from None
    os.replace(tmp, dest)


#: Classes of the IDX datasets: a label outside them means a corrupt file or another dataset's.
IDX_CLASSES = {"mnist": 10, "fashion-mnist": 10}


def check_data_dir(data_dir) -> None:
    """A ``--data-dir`` that is not a folder is a mistake, said at once (not silently skipped)."""
    if data_dir is not None and not Path(data_dir).is_dir():
        what = "is a file, not a folder" if Path(data_dir).exists() else "does not exist"
        raise DataError(f"--data-dir {str(data_dir)!r} {what}; give the folder that holds the dataset files, "
                        "or leave it out to search $APEXPLORER_DATA, /usr/share/datasets and ~/.cache/apexplorer")


def load_idx_dataset(name: str, data_dir=None, download=False) -> Dataset:
    """An IDX dataset (MNIST, Fashion-MNIST).  A ``data_dir`` is used whole: a folder holding some of the files
    is refused, naming the missing ones; one holding none is refused too, unless it holds another dataset's
    files (a data folder of a run on two datasets: MNIST there, Fashion-MNIST from the system; the start
    line of a run says which files it read)."""
    check_data_dir(data_dir)
    if data_dir and not holds_files(name, data_dir) and any(holds_files(o, data_dir) for o in IDX_CLASSES
                                                            if o != name):
        data_dir = None
    files = _find_idx(name, data_dir)
    if files is None and download:
        dest = Path(data_dir) / name if data_dir else CACHE / name  # a named folder gets the files
        for base in IDX_FILES.values():
            _download(URLS[name] + base + ".gz", dest / (base + ".gz"))
        files = _find_idx(name, data_dir)
    if files is None:
        looked = ", ".join(str(d) for d in _named_dirs(name, data_dir))
        where = f" in --data-dir {str(data_dir)!r}" if data_dir else ""
        also = (" (a named folder is used whole; leave out --data-dir to search $APEXPLORER_DATA, "
                "/usr/share/datasets and ~/.cache/apexplorer)") if data_dir else ""
        raise DataError(
            f"dataset {name!r} not found{where}: looked for {', '.join(b + '[.gz]' for b in IDX_FILES.values())} in "
            f"{looked}{also}. To get it: {HOW_TO_GET[name]}."
        )
    arr = {k: read_idx(p) for k, p in files.items()}
    for split in ("train", "test"):
        xi, yi = arr[f"{split}_images"], arr[f"{split}_labels"]
        if xi.ndim != 3 or yi.ndim != 1 or len(xi) != len(yi):
            raise DataError(
                f"dataset {name!r}: {split} images {xi.shape} and labels {yi.shape} do not match "
                f"({files[f'{split}_images']}, {files[f'{split}_labels']})"
            )
    n_classes = IDX_CLASSES.get(name) or int(max(arr["train_labels"].max(), arr["test_labels"].max())) + 1
    for split in ("train", "test"):
        top = int(arr[f"{split}_labels"].max())
        if top >= n_classes:
            raise DataError(f"dataset {name!r}: {split} labels go up to {top}, but {name} has classes 0 to "
                            f"{n_classes - 1} ({files[f'{split}_labels']}); the file is corrupt or another "
                            "dataset's. Delete it and fetch it again.")
    h, w = arr["train_images"].shape[1:]

    def x(a):
        return torch.from_numpy(a.reshape(len(a), -1).astype(np.float32) / 255.0)

    def y(a):
        return torch.from_numpy(a.astype(np.int64))

    classes = FASHION_CLASSES if name == "fashion-mnist" and n_classes == 10 else [str(i) for i in range(n_classes)]
    return Dataset(name, x(arr["train_images"]), y(arr["train_labels"]), x(arr["test_images"]),
                   y(arr["test_labels"]), n_classes, (h, w), classes, tuple(str(files[k]) for k in IDX_FILES))


# ---------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------
def load_cifar10(data_dir=None, download=False) -> Dataset:
    def find():
        for d in _named_dirs("cifar10", data_dir):
            cand = d / "cifar-10-batches-py"
            if (cand / "test_batch").is_file():
                return cand
        return None

    folder = find()
    if folder is None and download:
        into = Path(data_dir) if data_dir else CACHE  # a named folder gets the files
        tgz = into / "cifar-10-python.tar.gz"
        _download(URLS["cifar10"], tgz)
        with tarfile.open(tgz) as t:
            t.extractall(into, filter="data")
        folder = find()
    if folder is None:
        looked = ", ".join(str(d) for d in _named_dirs("cifar10", data_dir))
        raise DataError(f"dataset 'cifar10' not found: looked for cifar-10-batches-py/ in {looked}. "
                        f"To get it: {HOW_TO_GET['cifar10']}.")

    def batch(fname):
        p = folder / fname
        try:
            with open(p, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            data = np.asarray(d[b"data"], dtype=np.uint8)
            labels = np.asarray(d[b"labels"], dtype=np.int64)
        except FileNotFoundError:
            raise DataError(f"CIFAR-10 batch {str(p)!r} is missing") from None
        except Exception as e:  # noqa: BLE001 - any unpickling failure means a corrupt file
            raise DataError(f"CIFAR-10 batch {str(p)!r} is corrupt ({type(e).__name__}: {e})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
            raise DataError(f"CIFAR-10 batch {str(p)!r} has shape {data.shape}, expected (n, 3072)")
        return data, labels

    tr = [batch(f"data_batch_{i}") for i in range(1, 6)]
    te = batch("test_batch")
    xtr = np.concatenate([d for d, _ in tr])
    ytr = np.concatenate([l for _, l in tr])
    f = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)  # noqa: E731
    return Dataset("cifar10", f(xtr), torch.from_numpy(ytr), f(te[0]), torch.from_numpy(te[1]), 10, (3, 32, 32),
                   CIFAR_CLASSES, tuple(str(folder / n) for n in [*(f"data_batch_{i}" for i in range(1, 6)),
                                                                  "test_batch"]))


# ---------------------------------------------------------------------------
# digits (embedded) and 2AFC (generated)
# ---------------------------------------------------------------------------
def load_digits() -> Dataset:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = d.data.astype(np.float32) / 16.0
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, stratify=d.target, random_state=0)
    return Dataset("digits", torch.from_numpy(xtr), torch.from_numpy(ytr).long(), torch.from_numpy(xte),
                   torch.from_numpy(yte).long(), 10, (8, 8), [str(i) for i in range(10)])


NOISE_LEVELS = (0.0, 0.2, 1.0, 2.0, 4.0)


def gabor(tilt_deg, size=32, freq=0.15, sigma=10.0) -> np.ndarray:
    """Tilted bands ``cos(2 pi f x_theta) exp(-(x^2 + y^2) / 2 sigma^2)`` normalised to [-1, 1].

    ``tilt_deg`` may be an array: one image per tilt, shape (n, size, size).
    """
    t = np.deg2rad(np.atleast_1d(np.asarray(tilt_deg, dtype=np.float64)))[:, None, None]
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) - c
    xt = xx * np.cos(t) + yy * np.sin(t)
    img = np.cos(2 * math.pi * freq * xt) * np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    img /= np.abs(img).max(axis=(1, 2), keepdims=True)
    return img


def make_2afc(n, noise=NOISE_LEVELS, tilt=6.0, jitter=0.5, seed=0, size=32):
    """``n`` 2AFC images tilted -tilt (class 0, left) or +tilt (class 1, right) with N(0, jitter) jitter.

    ``noise`` is one pixel-noise s.d. or a sequence cycled over the images.
    Returns (x (n, size*size) float32 in [-1, 1], y (n,) int64, noise level per image).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    tilts = np.where(y == 1, tilt, -tilt) + rng.normal(0, jitter, n)
    levels = np.resize(np.atleast_1d(np.asarray(noise, dtype=np.float64)), n)
    rng.shuffle(levels)
    img = gabor(tilts, size) + rng.normal(size=(n, size, size)) * levels[:, None, None]
    img = np.clip(img, -1, 1).reshape(n, -1).astype(np.float32)
    return torch.from_numpy(img), torch.from_numpy(y.astype(np.int64)), levels


def load_2afc(seed=0, noise=None) -> Dataset:
    """Appendix 2: 1000 training and 400 test images, over noise levels 0, 0.2, 1, 2, 4 (default) or all at
    the one pixel-noise s.d. ``noise`` (the paper trains one model per noise level)."""
    levels = NOISE_LEVELS if noise is None else float(noise)
    xtr, ytr, _ = make_2afc(1000, noise=levels, seed=seed)
    xte, yte, _ = make_2afc(400, noise=levels, seed=seed + 1)
    return Dataset("2afc", xtr, ytr, xte, yte, 2, (32, 32), ["left", "right"])


def fresh_2afc(noise=None) -> Dataset:
    """:func:`load_2afc` in fresh-sample mode: the trainer draws epoch ``e`` of the run with seed ``s`` as
    ``load_2afc(fresh_seed(s, e), noise)`` (new images, labels, jitter and noise every epoch, test set too)."""
    d = load_2afc(noise=noise)
    d.resample = lambda seed, epoch: load_2afc(fresh_seed(seed, epoch), noise)
    return d


def fresh_seed(seed: int, epoch: int) -> int:
    """The data seed of epoch ``epoch`` (0-based) of a fresh-sample run with seed ``seed`` (its test set: + 1)."""
    return 1_000_000 + 10_000 * int(seed) + 2 * int(epoch)


LOADERS = {
    "digits": lambda data_dir=None, download=False: load_digits(),
    "2afc": lambda data_dir=None, download=False: load_2afc(),
    "fashion-mnist": lambda data_dir=None, download=False: load_idx_dataset("fashion-mnist", data_dir, download),
    "mnist": lambda data_dir=None, download=False: load_idx_dataset("mnist", data_dir, download),
    "cifar10": load_cifar10,
    **{t: (lambda t: lambda data_dir=None, download=False: load_toy(t))(t) for t in toy_names()},
}


def dataset_names() -> list:
    """The built-in datasets (a ``.csv`` or ``.npz`` path names your own: :mod:`~apexplorer.userdata`)."""
    return list(LOADERS)


def load_dataset(name: str, data_dir=None, download: bool = False, label: str | None = None) -> Dataset:
    """Load dataset ``name`` (see :func:`dataset_names`), or your own from a ``.csv`` / ``.npz`` path (its label
    column ``label``: :func:`~apexplorer.userdata.load_file`); ``data_dir`` must be a folder when given, and is
    used whole (:func:`load_idx_dataset`)."""
    if is_file_name(name):
        return load_file(name, label=label)
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; datasets are {choices(LOADERS)}, or the path of your own "
                        ".csv or .npz file")
    check_data_dir(data_dir)
    return LOADERS[name](data_dir=data_dir, download=download)


_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def cached_dataset(name: str, data_dir=None, download: bool = False) -> Dataset:
    """:func:`load_dataset`, read once per process and folder (the explorer's sessions, a sweep's points share
    it): a Dataset's tensors are never written, so one copy serves every reader.  A dataset that cannot be
    read is not remembered (it is looked for again next time)."""
    key = (name, str(Path(data_dir).resolve()) if data_dir else None, os.environ.get("APEXPLORER_DATA"))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_dataset(name, data_dir, download)
        return _CACHE[key]
