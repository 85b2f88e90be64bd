"""Datasets: tiny IDX files, corrupt and missing files, the embedded digits and 2AFC."""

import gzip

import numpy as np
import pytest

from apexplorer import DataError, load_dataset
from apexplorer.data import gabor, make_2afc, read_idx, write_idx


def _make_idx_dir(root, n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(root / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(root / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(root / "t10k-labels-idx1-ubyte", np.arange(n_test) % 10)  # plain, not gzipped
    return root


def test_mnist_loads_from_data_dir(tmp_path):
    _make_idx_dir(tmp_path / "mnist")
    d = load_dataset("mnist", data_dir=tmp_path)
    assert d.x_train.shape == (20, 784) and d.x_test.shape == (10, 784)
    assert 0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1
    assert d.n_classes == 10


def test_data_dir_from_environment(tmp_path, monkeypatch):
    _make_idx_dir(tmp_path)
    monkeypatch.setenv("APEXPLORER_DATA", str(tmp_path))
    assert load_dataset("mnist").x_train.shape == (20, 784)


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr("apexplorer.data.CACHE", tmp_path / "cache")
    monkeypatch.delenv("APEXPLORER_DATA", raising=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as e:
        load_dataset("mnist", data_dir=tmp_path / "empty")
    msg = str(e.value)
    assert "empty" in msg and "train-images-idx3-ubyte" in msg and "--download" in msg
    with pytest.raises(DataError, match="'.*nowhere' does not exist"):  # a mistyped folder: said, not skipped
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


def test_truncated_idx_file_is_a_clear_error(tmp_path):
    root = _make_idx_dir(tmp_path)
    raw = gzip.decompress((root / "train-images-idx3-ubyte.gz").read_bytes())
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_dataset("mnist", data_dir=tmp_path)


def test_garbage_file_is_a_clear_error(tmp_path):
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(b"hello world")
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(p)


def test_unknown_dataset_lists_choices():
    with pytest.raises(DataError, match=r"unknown dataset 'imagenet'; datasets are digits, 2afc"):
        load_dataset("imagenet")


def test_digits_split_is_fixed_and_stratified():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64)
    assert (a.y_test == b.y_test).all()
    counts = np.bincount(a.y_test.numpy())
    assert counts.min() >= 35


def test_2afc_has_the_appendix_sizes_and_range():
    d = load_dataset("2afc")
    assert d.x_train.shape == (1000, 1024) and d.x_test.shape == (400, 1024)
    assert float(d.x_train.min()) >= -1 and float(d.x_train.max()) <= 1
    assert set(d.y_train.unique().tolist()) == {0, 1}


def test_2afc_tilt_sign_is_mirror_symmetric():
    left, right = gabor([-6.0, 6.0])
    np.testing.assert_allclose(left, right[:, ::-1], atol=1e-12)
    x, y, levels = make_2afc(10, noise=0.0, jitter=0.0)
    assert np.all(levels == 0)


def _make_cifar(root, n=4):
    import pickle

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}, f)
    return folder


def test_cifar10_loads_python_batches(tmp_path):
    _make_cifar(tmp_path)
    d = load_dataset("cifar10", data_dir=tmp_path)
    assert d.x_train.shape == (20, 3072) and d.x_test.shape == (4, 3072)
    assert d.n_classes == 10 and float(d.x_train.max()) <= 1


def test_corrupt_cifar_batch_is_a_clear_error(tmp_path):
    folder = _make_cifar(tmp_path)
    (folder / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match="data_batch_3.*corrupt"):
        load_dataset("cifar10", data_dir=tmp_path)


@pytest.mark.skipif(not __import__("os").path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debians_package():
    d = load_dataset("fashion-mnist")
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.classes[0] == "T-shirt/top" and d.n_classes == 10


def test_cached_dataset_reads_once_per_folder_and_forgets_a_refusal(tmp_path, monkeypatch):
    """One loader caches datasets for the explorer's sessions and a sweep: the same folder gives the same
    Dataset object; a dataset not found is looked for again once its files are there."""
    from apexplorer.data import cached_dataset

    monkeypatch.setattr("apexplorer.data.CACHE", tmp_path / "cache")
    monkeypatch.delenv("APEXPLORER_DATA", raising=False)
    folder = tmp_path / "idx"
    folder.mkdir()
    with pytest.raises(DataError, match="mnist"):
        cached_dataset("mnist", folder)
    _make_idx_dir(folder)
    d = cached_dataset("mnist", folder)
    assert d.x_train.shape == (20, 784) and cached_dataset("mnist", str(folder) + "/") is d
    assert cached_dataset("digits") is cached_dataset("digits")
