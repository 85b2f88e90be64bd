"""Shared fixtures: tiny wirings and datasets, a fixed seed."""

import numpy as np
import pytest
import torch

from apexplorer import Dataset, Module, Path, Port, Wiring, chain


@pytest.fixture
def seed():
    return 1234


@pytest.fixture
def tiny_wiring():
    """x(3) -> L1(8: RI 2, SI 2, RE 2, SE 2) -> L2(8) -> y(2), with error paths back."""
    blocks = {"RI": 2, "SI": 2, "RE": 2, "SE": 2}
    return chain([8, 8], 3, 2, blocks=blocks, spectral_radius=0.5, connection_rate=0.5, name="tiny")


@pytest.fixture
def tiny_data():
    """A linearly separable 3-feature, 2-class problem."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(120, 3, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.75).long()
    return Dataset("tiny", x[:80], y[:80], x[80:], y[80:], 2, (3,), ["a", "b"])


def make_blob_data(n_features=16, n_classes=3, n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, n_features)) * 2
    y = rng.integers(0, n_classes, n)
    x = centers[y] + rng.normal(size=(n, n_features))
    x = (x - x.min()) / (x.max() - x.min())
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    k = int(n * 0.8)
    return Dataset("blobs", x[:k], y[:k], x[k:], y[k:], n_classes, (n_features,), [str(i) for i in range(n_classes)])


@pytest.fixture
def blob_data():
    return make_blob_data()


def need_fashion_mnist():
    """Skip unless Debian's dataset-fashion-mnist is installed (CI installs it)."""
    from apexplorer.data import load_dataset
    from apexplorer.errors import DataError

    try:
        load_dataset("fashion-mnist")
    except DataError:
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
