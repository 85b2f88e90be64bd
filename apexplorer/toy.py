"""Toy tasks in two dimensions: moons, circles, spirals, xor and blobs.

Small enough to *see* learning happen: every task has two input features, so the
explorer can paint the network's decision over the input plane as AP trains.
scikit-learn's generators make ``moons``, ``circles`` and ``blobs``; ``xor`` and
``spirals`` follow TensorFlow Playground's (points in the four quadrants, kept a
little off the axes; two interleaved arms of 1.75 turns).

Every draw depends only on its ``seed``: the test set is drawn with ``seed + 1``.
Coordinates are used as they are (all tasks live in about [-1.5, 2.5]^2), so the
plane the explorer paints is the plane the network sees.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .dataset import Dataset
from .errors import DataError, choices

#: Each task's default noise (the s.d. of Gaussian noise added to the coordinates; blobs: each blob's s.d.)
#: and its classes.
TOYS = {
    "moons": dict(noise=0.1, classes=["upper moon", "lower moon"]),
    "circles": dict(noise=0.05, classes=["outer circle", "inner circle"]),
    "spirals": dict(noise=0.05, classes=["arm 1", "arm 2"]),
    "xor": dict(noise=0.05, classes=["x*y < 0", "x*y > 0"]),
    "blobs": dict(noise=0.3, classes=["blob 1", "blob 2", "blob 3"]),
}
TRAIN_SIZE = 1000
TEST_SIZE = 500


def _xor(n, noise, rng):
    u = rng.uniform(-1, 1, size=(n, 2))
    u += np.sign(u) * 0.1  # kept off the axes, as TF Playground pads its xor
    y = (u[:, 0] * u[:, 1] > 0).astype(np.int64)
    return u + rng.normal(0, noise, size=u.shape), y


def _spirals(n, noise, rng):
    y = np.arange(n) % 2
    rng.shuffle(y)
    r = rng.uniform(0.05, 1.0, size=n)  # radius grows along the arm
    t = 1.75 * 2 * math.pi * r + math.pi * y
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return x + rng.normal(0, noise, size=x.shape), y.astype(np.int64)


def make_toy(name: str, n: int, noise: float | None = None, seed: int = 0):
    """``n`` points of toy task ``name``: (x (n, 2) float32, y (n,) int64)."""
    from sklearn.datasets import make_blobs, make_circles, make_moons

    if name not in TOYS:
        raise DataError(f"unknown toy task {name!r}; toy tasks are {choices(TOYS)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise DataError(f"{name}: {n!r} points; give an integer >= 2")
    noise = TOYS[name]["noise"] if noise is None else float(noise)
    if not math.isfinite(noise) or noise < 0:
        raise DataError(f"{name}: noise = {noise!r} must be a number >= 0")
    if name == "moons":
        x, y = make_moons(n, noise=noise, random_state=seed)
        x = (x - [0.5, 0.25]) * [1.0, 1.6]  # centred, about [-1.5, 1.5] x [-1.2, 1.2]
    elif name == "circles":
        x, y = make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        x, y = make_blobs(n, centers=[(-1, -0.6), (1, -0.6), (0, 1)], cluster_std=noise, random_state=seed)
    else:
        rng = np.random.default_rng(seed)
        x, y = (_xor if name == "xor" else _spirals)(n, noise, rng)
    return torch.as_tensor(np.asarray(x, dtype=np.float32)), torch.as_tensor(np.asarray(y, dtype=np.int64))


def load_toy(name: str, noise: float | None = None, train_size: int | None = None, test_size: int | None = None,
             seed: int = 0):
    """Toy task ``name`` as a :class:`~apexplorer.data.Dataset`: ``train_size`` (1000) training points drawn
    with ``seed`` and ``test_size`` (500) test points drawn with ``seed + 1``."""
    xtr, ytr = make_toy(name, TRAIN_SIZE if train_size is None else train_size, noise, seed)
    xte, yte = make_toy(name, TEST_SIZE if test_size is None else test_size, noise, seed + 1)
    classes = list(TOYS[name]["classes"])
    return Dataset(name, xtr, ytr, xte, yte, len(classes), (2,), classes)


def toy_names() -> list:
    return list(TOYS)
