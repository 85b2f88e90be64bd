"""2AFC psychophysics (accuracy against noise, psychometric curve) and the lesson helpers."""

import numpy as np
import pytest
import torch

import apexplorer as ap
from apexplorer import lessons, psychophysics
from apexplorer.data import gabor


@pytest.fixture
def small_2afc_net():
    w = ap.chain([32, 32], 16 * 16, 2, connection_rate=1.0, name="tiny-2afc")
    return ap.Network(w, ap.APConfig(t1=4, t2=2, mode="epe"), seed=0)


def test_psychometric_curve_is_the_mean_output_for_right_beside_the_choices(small_2afc_net):
    net = small_2afc_net
    tilts = [-12.0, 0.0, 12.0]
    got = psychophysics.psychometric_curve(net, tilts=tilts, n=7, noise=0.0)
    assert got["tilt"] == tilts and got["n"] == 7 and len(got["p_right"]) == 3
    # without noise every image of a tilt is the same: the curve is that image's output for "right"
    for k, t in enumerate(tilts):
        x = torch.from_numpy(gabor(t, 16).reshape(1, -1).astype(np.float32))
        probs = net.forward({"x": x})["y"]
        assert got["p_right"][k] == pytest.approx(float(probs[0, 1]), abs=1e-6)
        assert got["choice"][k] == float(probs.argmax(-1).item() == 1)
        assert got["sem"][k] == pytest.approx(0.0, abs=1e-7)


def test_psychometric_curve_is_a_probability_with_noise(small_2afc_net):
    got = psychophysics.psychometric_curve(small_2afc_net, n=20, noise=1.0)
    assert len(got["tilt"]) == 25 and got["tilt"][0] == -12.0 and got["tilt"][-1] == 12.0
    assert all(0.0 <= p <= 1.0 for p in got["p_right"])


def test_accuracy_by_noise_matches_a_direct_evaluation(small_2afc_net):
    net = small_2afc_net
    got = psychophysics.accuracy_by_noise(net, levels=(0.0, 2.0), n=30, seed=5)
    assert got["noise"] == [0.0, 2.0]
    x, y, _ = ap.data.make_2afc(30, noise=2.0, seed=6, size=16)
    pred = net.forward({"x": x})["y"].argmax(-1)
    assert got["accuracy"][1] == pytest.approx(float((pred == y).float().mean()))


def test_psychophysics_rejects_an_empty_sample(small_2afc_net):
    with pytest.raises(ap.ApexplorerError, match="at least one image"):
        psychophysics.psychometric_curve(small_2afc_net, n=0)


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("APEXPLORER_QUICK", "1")
    assert lessons.quick_mode()
    monkeypatch.setenv("APEXPLORER_QUICK", "0")
    assert not lessons.quick_mode()


def test_lesson_dataset_falls_back_with_a_note(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("APEXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(ap.data, "search_dirs", lambda name, data_dir=None: [tmp_path])
    d = lessons.lesson_dataset("mnist")
    assert d.name == "digits"
    assert "using digits instead" in capsys.readouterr().out


def test_subset_keeps_the_first_samples_and_says_so():
    d = ap.load_dataset("digits")
    s = lessons.subset(d, 100, 50)
    assert len(s.y_train) == 100 and len(s.y_test) == 50 and s.name == "digits[:100]"
    assert torch.equal(s.x_train, d.x_train[:100])
    assert lessons.subset(d) is d


def test_a_written_subset_loads_back_exactly(tmp_path):
    from apexplorer.data import write_idx

    # a tiny IDX "fashion-mnist" of 8x8 images, loaded, cut, written and loaded again
    rng = np.random.default_rng(0)
    src = tmp_path / "src" / "fashion-mnist"
    src.mkdir(parents=True)
    write_idx(src / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 8, 8)))
    write_idx(src / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 20))
    write_idx(src / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (6, 8, 8)))
    write_idx(src / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 6))
    full = ap.load_dataset("fashion-mnist", tmp_path / "src")
    cut = lessons.subset(full, 12, 4)
    folder = lessons.write_idx_dataset(cut, tmp_path / "out")
    back = ap.load_dataset("fashion-mnist", folder)
    assert torch.equal(back.x_train, cut.x_train) and torch.equal(back.y_test, cut.y_test)


def test_only_image_datasets_are_written_as_idx(tmp_path):
    with pytest.raises(ap.DataError, match="1/255 grid"):
        lessons.write_idx_dataset(ap.load_dataset("digits"), tmp_path)
