"""Toy tasks in two dimensions, and the decision over their input plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from apexplorer.analysis.boundary import decision_plane, plane_grid
from apexplorer.data import load_dataset
from apexplorer.errors import ApexplorerError, DataError
from apexplorer.experiment import Experiment, ExperimentError
from apexplorer.build import build
from apexplorer.toy import TOYS, load_toy, make_toy


@pytest.mark.parametrize("name", sorted(TOYS))
def test_every_toy_task_has_two_features_balanced_classes_and_a_fixed_draw(name):
    d = load_dataset(name)
    assert d.n_features == 2 and len(d.y_train) == 1000 and len(d.y_test) == 500
    counts = torch.bincount(d.y_train, minlength=d.n_classes)
    assert len(counts) == d.n_classes == len(d.classes) and counts.min() > 1000 / d.n_classes * 0.8
    again = load_toy(name)
    assert torch.equal(d.x_train, again.x_train) and not torch.equal(d.x_train[:500], d.x_test)


def test_xor_labels_are_the_sign_of_the_product_without_noise():
    x, y = make_toy("xor", 400, noise=0.0, seed=5)
    assert torch.equal(y, (x[:, 0] * x[:, 1] > 0).long())
    assert float(x.abs().min()) >= 0.1  # kept off the axes


def test_noise_and_sizes_come_from_the_experiment():
    exp = Experiment.from_preset("toy", datasets="moons").with_changes(
        {"tasks.main.noise": 0.3, "tasks.main.train_size": 200, "tasks.main.test_size": 50, "epochs": 1})
    d = build(exp).data["main"]
    assert len(d.y_train) == 200 and len(d.y_test) == 50
    assert torch.equal(d.x_train, load_toy("moons", 0.3, 200, 50).x_train)
    with pytest.raises(ExperimentError, match="noise level is for the generated datasets"):
        Experiment.from_preset("digits").with_changes({"tasks.main.noise": 0.3})
    with pytest.raises(DataError, match="noise = -1.0 must be a number >= 0"):
        make_toy("moons", 10, noise=-1)


def test_the_decision_plane_is_the_networks_own_inference():
    exp = Experiment.from_preset("toy", datasets="moons").with_changes({"epochs": 1, "tasks.main.train_size": 64})
    tr = build(exp)
    d = tr.data["main"]
    frame = decision_plane(tr.net, d, resolution=20)
    assert frame.probs.shape == (20, 20, 2) and frame.predicted.shape == (20, 20)
    # each grid point's probabilities are those the network gives that point as an input
    i, j = 7, 13
    point = torch.tensor([[frame.xs[j], frame.ys[i]]], dtype=torch.float32)
    direct = tr.net.forward(d.to_inputs(point))["y"][0].numpy()
    assert np.allclose(frame.probs[i, j], direct, atol=1e-5)
    assert np.array_equal(frame.predicted, frame.probs.argmax(-1))
    assert set(frame.modules) == {"L1", "L2"} and all(p.shape == (20, 20) for p in frame.modules.values())
    assert all(0 < v <= 1 for v in frame.explained.values())
    one = decision_plane(tr.net, d, resolution=20, neuron=3)
    assert one.explained == {"L1": 1.0, "L2": 1.0}


def test_the_plane_needs_two_features():
    tr = build(Experiment.from_preset("digits").with_changes({"epochs": 1, "tasks.main.train_size": 32}))
    with pytest.raises(ApexplorerError, match="two input features; 'digits' has 64"):
        decision_plane(tr.net, tr.data["main"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1, max_size=30),
       st.integers(2, 40))
def test_the_grid_covers_every_point(points, resolution):
    xs, ys, grid = plane_grid(np.array(points, dtype=np.float32), resolution)
    p = np.array(points, dtype=np.float32)
    assert len(xs) == len(ys) == resolution and grid.shape == (resolution * resolution, 2)
    assert xs[0] <= p[:, 0].min() + 1e-3 and xs[-1] >= p[:, 0].max() - 1e-3
    assert ys[0] <= p[:, 1].min() + 1e-3 and ys[-1] >= p[:, 1].max() - 1e-3
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)


def test_the_plane_is_painted_by_class_and_faded_to_white_at_chance():
    from apexplorer.app.boundary_view import module_rgba, plane_rgba

    pred = np.array([[0, 1], [1, 0]])
    conf = np.array([[1.0, 1.0], [0.5, 0.75]])
    rgba = plane_rgba(pred, conf, 2).view(np.uint8).reshape(2, 2, 4)
    assert tuple(rgba[1, 0, :3]) == (255, 255, 255)  # at chance: white
    sure0, sure1, half = rgba[0, 0, :3].astype(int), rgba[0, 1, :3].astype(int), rgba[1, 1, :3].astype(int)
    assert sure0[2] > sure0[0] and sure1[0] > sure1[2]  # class 0 blue, class 1 orange
    assert np.all(half >= sure0)  # less sure: paler, between the colour and white
    pic = module_rgba(np.array([[-1.0, 0.0], [0.5, 1.0]])).view(np.uint8).reshape(2, 2, 4)
    assert tuple(pic[0, 1, :3]) == (255, 255, 255) and pic[0, 0, 2] > pic[0, 0, 0] and pic[1, 1, 0] > pic[1, 1, 2]


def test_a_picture_goes_to_the_page_as_a_png_with_the_plane_upright():
    import base64
    import io

    from PIL import Image

    from apexplorer.app.boundary_view import plane_rgba, png_url

    pred = np.array([[0, 0, 0], [1, 1, 1]])  # row 0: the bottom of the plane (class 0), row 1 the top (class 1)
    rgba = plane_rgba(pred, np.ones((2, 3)), 2)
    url = png_url(rgba)
    assert url.startswith("data:image/png;base64,")
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
    assert img.shape == (2, 3, 4)
    px = rgba.view(np.uint8).reshape(2, 3, 4)
    assert np.array_equal(img[0], px[1]) and np.array_equal(img[1], px[0])  # a PNG's first row is its top
