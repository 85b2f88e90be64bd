"""Error magnitudes per SI neuron and module, and their history over training."""

import numpy as np
import pytest
import torch

from apexplorer import APConfig, Network, TrainConfig, Trainer, chain
from apexplorer.analysis import ErrorHistory, error_magnitudes, si_slices
from apexplorer.wiring import Module, Path, Port, Wiring
from tests.single_thread import one_thread  # noqa: F401 - autouse


@pytest.fixture
def net():
    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5,
              connection_rate=0.5, name="tiny")
    n = Network(w, APConfig(), seed=0)
    for k in n.weights:
        n.weights[k].mul_(4)
    return n


def test_si_neurons_are_the_sources_of_outgoing_feedforward_paths(net):
    sl = si_slices(net)
    assert {k: v.tolist() for k, v in sl.items()} == {"L2": [2, 3], "L1": [2, 3]}
    assert si_slices(net, block="SE")["L1"].tolist() == [6, 7]


def test_multitask_modules_measure_every_si_block():
    blocks = (("RI1", 2), ("RI2", 2), ("SI1", 2), ("SI2", 2), ("RE", 2), ("SE", 2))
    mods = [Module("L1", 12, blocks)]
    ff = [Path("x", "L1.RI1"), Path("x", "L1.RI2"), Path("L1.SI1", "y"), Path("L1.SI2", "y")]
    w = Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, [Path("y", "L1.RE")])
    assert si_slices(Network(w, seed=0))["L1"].tolist() == [4, 5, 6, 7]


def test_per_neuron_error_is_the_mean_absolute_error_over_all_samples(net):
    g = torch.Generator().manual_seed(0)
    # batches of different sizes: a mean of the batch means would differ from the mean over samples
    batches = [(torch.rand(B, 3, generator=g), torch.randint(0, 2, (B,), generator=g)) for B in (4, 7, 2)]
    meter = error_magnitudes(net, batches)
    es, eo = [], []
    for x, y in batches:
        p1 = net.learning(net.inference(x), y)
        es.append(p1.e["L1"][:, 2:4])
        eo.append(p1.e_out["y"])
    want = torch.cat(es).abs().mean(0).double().numpy()
    per = meter.per_neuron()
    np.testing.assert_allclose(per["L1"], want, rtol=1e-6)
    np.testing.assert_allclose(per["y"], torch.cat(eo).abs().mean(0).double().numpy(), rtol=1e-6)
    assert meter.count == 13
    assert meter.per_module()["L1"] == pytest.approx(float(want.mean()))
    assert per["L1"].min() > 0


def test_beta_zero_gives_zero_module_error(net):
    net0 = Network(net.wiring, APConfig(beta=0.0), tensors=net.tensors)
    meter = error_magnitudes(net0, [(torch.rand(4, 3), torch.tensor([0, 1, 0, 1]))])
    assert meter.per_module()["L1"] == 0.0 and meter.per_module()["L2"] == 0.0
    assert meter.per_module()["y"] > 0


def test_history_follows_the_trainers_events_and_snapshots(net, tiny_data):
    tr = Trainer(net, tiny_data, TrainConfig(epochs=3, batch_size=20, device="cpu", early_stop=2.0))
    hist = ErrorHistory()
    x, y = tiny_data.x_test[:10], tiny_data.y_test[:10]
    epoch_events = []
    for ev in tr.train():
        hist.update(ev)
        if ev.kind == "epoch":
            epoch_events.append(ev)
            hist.snapshot(tr.net, x, y)
    e = hist.epochs()
    assert e["epoch"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(e["L1"], [ev.error["L1"] for ev in epoch_events])
    assert len(hist.batches()["L2"]) == 3 * 4
    n = hist.neurons()
    assert n["epoch"].tolist() == [1, 2, 3] and n["L1"].shape == (3, 2) and n["y"].shape == (3, 2)
    # events serialised as dicts (e.g. JSON lines) are read the same way
    again = ErrorHistory()
    for d in tr.history:
        again.update(d)
    np.testing.assert_allclose(again.epochs()["L2"], e["L2"])
