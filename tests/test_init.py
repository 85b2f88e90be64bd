"""How a network's paths are drawn: the paper's uniform scheme (unchanged) and the Fig. 5 notebooks' Gaussian one,
and the experiment's [init] section and 2afc noise level that ask for them."""

import pytest
import torch

from apexplorer import chain
from apexplorer.build import build, load_data
from apexplorer.errors import ApexplorerError
from apexplorer.experiment import Experiment, ExperimentError
from apexplorer.init import Init, init_tensors
from apexplorer.reservoirs import random_reservoir


def _uniform_by_hand(w, seed):
    """The uniform scheme drawn again, step by step, in the order AP_ALGORITHM.md gives."""
    gen = torch.Generator().manual_seed(seed)
    out = {"reservoirs": {}, "weights": {}, "feedback": {}, "readout_bias": {}}
    for m in w.modules:
        out["reservoirs"][m.name] = random_reservoir(m.size, m.spectral_radius, m.connection_rate, gen)
    for p in w.feedforward:
        s, t = w.endpoint(p.source), w.endpoint(p.target)
        out["weights"][p.name] = ((torch.rand(s.size, t.size, generator=gen, dtype=torch.float64) * 2 - 1)
                                  * s.size ** -0.5).float()
    for q in w.feedback:
        s, t = w.endpoint(q.source), w.endpoint(q.target)
        scale = s.size ** -0.5 if s.kind == "output" else 1.0
        out["feedback"][q.name] = ((torch.rand(s.size, t.size, generator=gen, dtype=torch.float64) * 2 - 1)
                                   * scale).float()
    for o in w.outputs:
        out["readout_bias"][o.name] = ((torch.rand(o.size, generator=gen, dtype=torch.float64) * 2 - 1)
                                       * 4 ** -0.5).float()
    return out


@pytest.mark.parametrize("init", [None, Init(), Init("uniform", 0.3, 0.9)], ids=["none", "default", "uniform-stds"])
def test_the_uniform_scheme_draws_bit_for_bit_what_it_always_drew(init):
    w = chain([16, 16], 5, 3)
    ours = init_tensors(w, 11, init)
    ref = _uniform_by_hand(w, 11)
    for group, d in ref.items():
        for k, v in d.items():
            assert torch.equal(ours[group][k], v), (group, k)


def test_the_gaussian_scheme_keeps_the_reservoirs_and_zeroes_the_readout_bias():
    w = chain([64, 64], 300, 10)
    g, u = init_tensors(w, 3, Init("gaussian")), init_tensors(w, 3)
    for k in u["reservoirs"]:
        assert torch.equal(g["reservoirs"][k], u["reservoirs"][k])
    assert float(g["weights"]["x->L1.RI"].std()) == pytest.approx(0.1, rel=0.05)
    assert float(g["feedback"]["L2.SE->L1.RE"].std()) == pytest.approx(0.5, rel=0.1)
    assert torch.equal(g["readout_bias"]["y"], torch.zeros(10))
    kept = init_tensors(w, 3, Init("gaussian", readout_bias="uniform"))["readout_bias"]["y"]
    assert 0 < float(kept.abs().max()) <= 16 ** -0.5


def test_the_gaussian_scheme_draws_the_stds_it_is_given():
    """The tests above use the default stds (0.1, 0.5); other values must reach every path, the output's
    error paths included, and the readout bias may be zeroed in the uniform scheme too."""
    w = chain([64, 64], 300, 10)
    base, wide = init_tensors(w, 3, Init("gaussian")), init_tensors(w, 3, Init("gaussian", 0.3, 0.9))
    for k, v in base["weights"].items():  # the same draws, scaled
        torch.testing.assert_close(wide["weights"][k], 3 * v, rtol=1e-6, atol=0)
    for k, v in base["feedback"].items():
        torch.testing.assert_close(wide["feedback"][k], 1.8 * v, rtol=1e-6, atol=0)
    assert float(wide["weights"]["x->L1.RI"].std()) == pytest.approx(0.3, rel=0.05)
    assert float(torch.cat([v.flatten() for v in wide["feedback"].values()]).std()) == pytest.approx(0.9, rel=0.1)
    zero = init_tensors(w, 3, Init("uniform", readout_bias="zero"))
    assert torch.equal(zero["readout_bias"]["y"], torch.zeros(10))
    assert torch.equal(zero["weights"]["x->L1.RI"], init_tensors(w, 3)["weights"]["x->L1.RI"])


def test_an_unknown_scheme_names_the_choices():
    with pytest.raises(ApexplorerError, match="unknown init scheme 'normal'; choices are uniform, gaussian"):
        init_tensors(chain([8], 3, 2), 0, Init("normal"))


def test_the_init_section_round_trips_and_is_left_out_when_default(tmp_path):
    e = Experiment.from_preset("digits")
    assert "init" not in e.to_dict() and not any(k.startswith("init.") for k in e.flat())
    g = e.with_changes({"init.scheme": "gaussian", "init.feedback_std": "0.25"})
    assert g.to_dict()["init"] == {"scheme": "gaussian", "forward_std": 0.1, "feedback_std": 0.25}
    for suffix in (".toml", ".json"):
        assert Experiment.load(g.save(tmp_path / f"e{suffix}")) == g
    assert g.diff(e)["init.scheme"] == ("gaussian", None)
    assert g.train_args() is None  # no train flag says it: the command is `apexplorer run FILE`
    fig5 = Experiment.from_preset("fig5b", ["fashion-mnist", "digits"])  # the preset's own gaussian init
    assert fig5.train_args()[:2] == ["--preset", "fig5b"]


@pytest.mark.parametrize("changes,message", [
    ({"init.scheme": "normal"}, "init.scheme = 'normal' is not valid; choices are uniform, gaussian"),
    ({"init.forward_std": "0"}, r"init.forward_std = 0.0 must be a number > 0"),
    ({"init.readout_bias": "one"}, "init.readout_bias = 'one' is not valid; choices are uniform, zero"),
    ({"tasks.main.noise": "1"}, "a noise level is for the generated datasets .*, not 'digits'"),
], ids=["scheme", "std", "bias", "noise"])
def test_bad_init_and_noise_settings_name_the_field(changes, message):
    with pytest.raises(ExperimentError, match=message):
        Experiment.from_preset("digits").with_changes(changes)


def test_the_fig5_presets_recommend_the_notebooks_settings():
    e = Experiment.from_preset("fig5b", ["fashion-mnist", "digits"])
    assert (e.ap.mode, e.ap.t1, e.ap.t2, e.init.scheme, e.init.config().bias) == ("epe", 8, 8, "gaussian", "zero")
    assert Experiment.from_preset("fig5b-via-l2", "digits").init.is_default


def test_a_2afc_task_at_one_noise_level_gets_1000_and_400_images_at_that_level():
    clean = Experiment.from_preset("2afc").with_changes({"tasks.main.noise": 0.0, "train.device": "cpu"})
    noisy = clean.with_changes({"tasks.main.noise": 4.0})
    a, b = load_data(clean)["main"], load_data(noisy)["main"]
    assert (len(a.y_train), len(a.y_test)) == (1000, 400)
    assert float(a.x_train.std()) < float(b.x_train.std())
    # a clean image is a Gabor patch: its extreme pixels reach +-1 exactly
    assert float(a.x_train.abs().amax(1).min()) == pytest.approx(1.0)
    tr = build(clean.with_changes({"init.scheme": "gaussian", "train.epochs": 1}))
    assert torch.equal(tr.net.tensors["readout_bias"]["y"], torch.zeros(2))
