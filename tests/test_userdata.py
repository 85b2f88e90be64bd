"""Your own data: arrays, torch datasets, CSV and NPZ files, and every bad input's message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from apexplorer.data import load_dataset
from apexplorer.errors import DataError
from apexplorer.userdata import MAX_FEATURES, file_hash, from_arrays, from_torch, load_bytes, load_file


def _iris_like(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4)) + y[:, None] * 2.0 + [10, -5, 0, 100]
    return x, y


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, r)) for r in rows)]) + "\n")
    return path


# --------------------------------------------------------------------------- arrays
def test_from_arrays_standardises_features_on_the_training_split():
    x, y = _iris_like()
    d = from_arrays(x[:45], y[:45], x[45:], y[45:], name="lab")
    assert d.n_features == 4 and d.n_classes == 3 and d.classes == ["0", "1", "2"]
    assert torch.allclose(d.x_train.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(d.x_train.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    # the test split uses the training split's scaling, not its own
    mean, sd = x[:45].mean(0), x[:45].std(0)
    assert np.allclose(d.x_test.numpy(), (x[45:] - mean) / sd, atol=1e-4)
    # and the raw values come back
    assert np.allclose(d.raw("test").numpy(), x[45:], atol=1e-3)


def test_from_arrays_holds_out_a_stratified_test_set():
    x, y = _iris_like(100)
    d = from_arrays(x, y, test_fraction=0.2, seed=3)
    assert len(d.y_train) == 80 and len(d.y_test) == 20
    assert sorted(torch.bincount(d.y_test).tolist()) == [6, 7, 7]  # every class held out in proportion
    again = from_arrays(x, y, test_fraction=0.2, seed=3)
    assert torch.equal(d.x_test, again.x_test)


def test_images_scale_to_unit_range_and_flatten():
    imgs = np.random.default_rng(0).integers(0, 256, size=(20, 5, 4), dtype=np.uint8)
    d = from_arrays(imgs, np.arange(20) % 2, test_fraction=0.25)
    assert d.shape == (5, 4) and d.n_features == 20
    assert float(d.x_train.min()) >= 0 and float(d.x_train.max()) <= 1
    assert d.scaling[2] == "images"


def test_string_labels_become_named_classes():
    x, y = _iris_like(30)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    d = from_arrays(x, names)
    assert d.classes == ["setosa", "versicolor", "virginica"]
    # every sample keeps its own name: find each original sample among the loaded ones by its features
    raw = np.concatenate([d.raw("train").numpy(), d.raw("test").numpy()])
    got = [d.classes[int(c)] for c in torch.cat([d.y_train, d.y_test])]
    for i in range(30):
        j = int(np.argmin(np.abs(raw - x[i]).sum(1)))
        assert got[j] == names[i]


def test_from_torch_equals_from_arrays():
    x, y = _iris_like(40)
    ds = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float64), torch.tensor(y))
    a = from_torch(ds, name="t", seed=1)
    b = from_arrays(x, y, name="t", seed=1)
    assert torch.allclose(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert torch.allclose(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)


@pytest.mark.parametrize("args, message", [
    ((np.ones((4, 2)), [0, 1, 0]), "4 training samples but 3 labels"),
    ((np.array([[0.0, np.nan], [1, 1], [2, 2], [3, 3]]), [0, 1, 0, 1]), "sample 0, feature 1 is nan"),
    ((np.array([[0.0, np.inf], [1, 1], [2, 2], [3, 3]]), [0, 1, 0, 1]), "sample 0, feature 1 is inf"),
    ((np.ones((6, 2)), [1, 1, 1, 1, 1, 1]), "single class"),
    ((np.ones((6, 2)), [0, 1, -1, 0, 1, 0]), "label -1 (sample 2) is out of range"),
    ((np.ones((6, 2)), [0, 1, 0.5, 0, 1, 0]), "not a whole number"),
    ((np.array([["a", "b"]] * 6), [0, 1] * 3), "not numbers"),
    ((np.zeros((4, MAX_FEATURES + 1), dtype=np.uint8), [0, 1, 0, 1]), "transposed"),
])
def test_bad_arrays_are_refused_with_their_reason(args, message):
    with pytest.raises(DataError, match=None) as e:
        from_arrays(*args, name="bad")
    assert message in str(e.value), str(e.value)


def test_named_classes_bound_the_labels():
    with pytest.raises(DataError, match="label 3 .* out of range: 3 classes are named"):
        from_arrays(np.ones((6, 2)), [0, 1, 2, 3, 0, 1], classes=["a", "b", "c"])


def test_a_test_label_the_training_split_lacks_is_refused():
    with pytest.raises(DataError, match="test label 'rare'"):
        from_arrays(np.ones((4, 2)), ["a", "b", "a", "b"], np.ones((2, 2)), ["a", "rare"])


# --------------------------------------------------------------------------- files
def test_csv_with_string_labels_and_a_named_label_column(tmp_path):
    x, y = _iris_like(30)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    rows = [[names[i], *x[i]] for i in range(30)]
    p = _write_csv(tmp_path / "iris.csv", ["species", "a", "b", "c", "d"], rows)
    d = load_dataset(str(p), label="species")
    ref = from_arrays(x, names, name="iris")
    assert d.name == "iris" and d.classes == ref.classes
    assert torch.allclose(d.x_train, ref.x_train, atol=1e-5) and torch.equal(d.y_train, ref.y_train)
    assert len(d.sha256) == 64 and d.files == (str(p),)


def test_npz_both_layouts(tmp_path):
    x, y = _iris_like(40)
    np.savez(tmp_path / "split.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:],
             classes=np.array(["r", "g", "b"]))
    np.savez(tmp_path / "whole.npz", x=x, y=y)
    d = load_file(tmp_path / "split.npz")
    assert len(d.y_test) == 10 and d.classes == ["r", "g", "b"]
    w = load_file(tmp_path / "whole.npz")
    assert len(w.y_train) == 32 and len(w.y_test) == 8


@pytest.mark.parametrize("text, message", [
    ("a,b,label\n1,2,0\n3,4\n", "row 3 has 2 fields, the header has 3"),
    ("a,b,label\n1,2,0\n3,x,1\n", "row 3, column 'b' is 'x', not a number"),
    ("a,b,label\n1,2,0\n3,nan,1\n", "row 3, column 'b' is 'nan'"),
    ("a,b,label\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n", "single class"),
    ("a,b,label\n1,2,0\n3,4,-2\n5,6,1\n7,8,0\n", "out of range"),
    ("a,b,label\n", "header row and at least one data row"),
])
def test_bad_csv_files_name_the_row_or_column(tmp_path, text, message):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(DataError) as e:
        load_file(p)
    assert message in str(e.value) and "bad.csv" in str(e.value), str(e.value)


def test_bad_npz_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="junk.npz: not a readable .npz"):
        load_file(tmp_path / "junk.npz")
    np.savez(tmp_path / "keys.npz", images=np.ones((4, 2)))
    with pytest.raises(DataError, match="arrays images; an .npz dataset holds x_train"):
        load_file(tmp_path / "keys.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(DataError, match="object arrays are not read"):
        load_file(tmp_path / "obj.npz")
    with pytest.raises(DataError, match="not found"):
        load_file(tmp_path / "missing.csv")


def test_a_file_too_big_for_free_memory_is_refused_before_loading(tmp_path, monkeypatch):
    import apexplorer.memory as memory

    p = _write_csv(tmp_path / "big.csv", ["a", "label"], [[i, i % 2] for i in range(50)])
    monkeypatch.setattr(memory, "free_bytes", lambda device="cpu": 100)
    with pytest.raises(DataError, match="big.csv: loading it needs about .* GiB free"):
        load_file(p)


# --------------------------------------------------------------------------- by the command
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "apexplorer.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_train_on_a_csv_and_an_npz_by_the_command(tmp_path):
    x, y = _iris_like(60)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    _write_csv(tmp_path / "my.csv", ["a", "b", "c", "d", "species"], [[*x[i], names[i]] for i in range(60)])
    np.savez(tmp_path / "my.npz", x=x, y=y)
    for f in ("my.csv", "my.npz"):
        r = _cli("train", "--dataset", str(tmp_path / f), "--epochs", "1", "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        last = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        epochs = [e for e in last if "test_acc" in e]
        assert epochs and epochs[-1]["epoch"] == 1


def test_a_bad_file_exits_2_with_its_message_and_no_traceback(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,0\n3,x,1\n")
    r = _cli("train", "--dataset", str(tmp_path / "bad.csv"), "--epochs", "1")
    assert r.returncode == 2
    assert "row 3, column 'b' is 'x', not a number" in r.stderr and "Traceback" not in r.stderr


def test_a_rerun_on_changed_data_says_so(tmp_path):
    x, y = _iris_like(40)
    p = _write_csv(tmp_path / "d.csv", ["a", "b", "c", "d", "label"], [[*x[i], y[i]] for i in range(40)])
    r = _cli("train", "--dataset", "d.csv", "--epochs", "1", "--dump-experiment", "e.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'sha256 = "' in (tmp_path / "e.toml").read_text()
    r = _cli("run", "e.toml", cwd=tmp_path)
    assert r.returncode == 0 and "changed since" not in r.stderr
    with open(p, "a") as f:
        f.write("1,2,3,4,0\n")
    r = _cli("run", "e.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "the data file of task main, d, changed since this experiment was recorded" in r.stderr


# --------------------------------------------------------------------------- uploads (the explorer's)
def test_uploaded_bytes_load_as_the_file_would_under_the_visitors_name(tmp_path):
    rows = [[f"{v:.3f}", f"{-v:.3f}", ["setosa", "virginica"][i % 2]] for i, v in enumerate(np.linspace(0, 1, 20))]
    path = _write_csv(tmp_path / "iris.csv", ["a", "b", "species"], rows)
    d = load_bytes(path.read_bytes(), "C:\\Users\\me\\iris.csv")  # a browser may send a Windows path
    f = load_file(path)
    assert d.files == ("iris.csv",) and d.sha256 == file_hash(path) == f.sha256 and d.classes == ["setosa", "virginica"]
    assert torch.equal(d.x_train, f.x_train) and torch.equal(d.y_test, f.y_test)
    with pytest.raises(DataError) as e:
        load_bytes(b"a,b,c\n1,2,x\n3,4\n", "lab.csv")
    assert str(e.value).startswith("lab.csv: row 3 has 2 fields") and "/" not in str(e.value)
    with pytest.raises(DataError, match=r"^notes\.txt: a dataset file is \.csv or \.npz"):
        load_bytes(b"a,b\n1,x\n", "/home/me/notes.txt")
    with pytest.raises(DataError, match="^empty.csv: the file is empty"):
        load_bytes(b"", "empty.csv")
    with pytest.raises(DataError, match="no column named 'kind'"):
        load_bytes(path.read_bytes(), "iris.csv", label="kind")
