"""Lyapunov exponents by the Jacobian method against exactly predictable cases."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from apexplorer import APConfig, ApexplorerError, Network, chain
from apexplorer.analysis import ftmle, lyapunov_exponents, mle, network_ftmle, spectral_radius_sweep
from apexplorer.reservoirs import random_reservoir, spectral_radius
from tests.single_thread import one_thread  # noqa: F401 - autouse


def _orthogonal(n, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return q


@pytest.mark.parametrize("steps", [1, 8, 50])
def test_ftmle_of_a_scaled_rotation_is_exactly_log_rho(steps):
    W = 0.3 * _orthogonal(20, 0)  # every vector shrinks by exactly 0.3 per step
    lam = lyapunov_exponents(W, steps, activation="linear", trials=3)
    np.testing.assert_allclose(lam, math.log(0.3), rtol=0, atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), rho=st.floats(0.05, 1.4), n=st.integers(16, 40))
def test_mle_of_a_linear_reservoir_is_log_of_its_spectral_radius(seed, rho, n):
    W = random_reservoir(n, rho, 0.5, torch.Generator().manual_seed(seed)).double()
    rho = spectral_radius(W)  # the float32 rounding moves it a little
    lam = mle(W, steps=2000, activation="linear", seed=seed)
    assert abs(lam - math.log(rho)) < 0.05


def test_tanh_reservoir_at_zero_drive_has_mle_near_log_rho_increasing_with_rho():
    rows = spectral_radius_sweep([0.1, 0.25, 0.5], size=128, mle_steps=600, seed=2)
    assert [r["sr"] for r in rows] == [0.1, 0.25, 0.5]
    for r in rows:
        assert abs(r["mle"] - r["log_sr"]) < 0.1, r
        assert r["ftmle"] < 0
    assert rows[0]["mle"] < rows[1]["mle"] < rows[2]["mle"]


def test_a_strong_drive_saturates_tanh_and_lowers_the_exponent():
    W = random_reservoir(64, 0.5, 0.5, torch.Generator().manual_seed(0))
    free = ftmle(W, 8)
    driven = ftmle(W, 8, drive=torch.full((64,), 3.0))
    assert driven < free - 1.0  # f'(a) = 1 - tanh(a)^2 is small when |a| is large


def test_network_ftmle_gives_one_exponent_per_inference_module():
    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5, connection_rate=0.5)
    net = Network(w, APConfig(t1=8, t2=8), seed=1)
    out = network_ftmle(net, torch.rand(6, 3))
    assert set(out) == {"L1", "L2"}
    assert all(math.isfinite(v) and v < 0 for v in out.values())


@pytest.mark.parametrize("kwargs,needle", [
    (dict(W=torch.zeros(3, 4), steps=8), "square"),
    (dict(W=torch.eye(3), steps=0), "steps"),
    (dict(W=torch.eye(3), steps=8, activation="gelu"), "tanh, relu"),
], ids=["not-square", "no-steps", "bad-activation"])
def test_bad_arguments_are_named(kwargs, needle):
    with pytest.raises(ApexplorerError, match=needle):
        lyapunov_exponents(**kwargs)


def test_lyapunov_command_prints_mle_near_log_rho_as_json(capsys):
    from apexplorer.cli import main

    assert main(["lyapunov", "--sr", "0.1", "0.25", "0.5", "--size", "96", "--mle-steps", "400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["results"]
    assert [r["sr"] for r in rows] == [0.1, 0.25, 0.5] and out["size"] == 96 and out["steps"] == 8
    for r in rows:
        assert abs(r["mle"] - math.log(r["sr"])) < 0.1
    assert rows[0]["mle"] < rows[1]["mle"] < rows[2]["mle"]


def test_lyapunov_command_rejects_a_bad_rate_with_a_message(capsys):
    from apexplorer.cli import main

    assert main(["lyapunov", "--sr", "0.5", "--size", "8", "--rate", "2"]) == 2
    err = capsys.readouterr().err
    assert "connection rate 2.0" in err and "Traceback" not in err
