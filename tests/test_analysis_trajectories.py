"""Phase trajectories, STE/EPE vectors and their PCA view."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from apexplorer import APConfig, ApexplorerError, Network, chain
from apexplorer.analysis import (
    epe_trajectory, epe_vectors, pca_trajectory, phase_trajectories, ste_vectors,
)
from tests.single_thread import one_thread  # noqa: F401 - autouse


def _tiny(t1=8, t2=8, mode="ste", beta=1.0, seed=0):
    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5,
              connection_rate=0.5, name="tiny")
    net = Network(w, APConfig(t1=t1, t2=t2, mode=mode, beta=beta), seed=seed)
    for k in net.weights:  # strong enough that the error is visible
        net.weights[k].mul_(4)
    return net


def _batch(seed=0, B=5):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 3, generator=g), torch.randint(0, 2, (B,), generator=g)


@pytest.mark.parametrize("mode", ["ste", "epe"])
@pytest.mark.parametrize("module", ["L1", "L2"])
def test_trajectories_end_at_the_phase_states(mode, module):
    net = _tiny(t1=6, t2=4, mode=mode)
    x, y = _batch()
    traj0, traj1 = phase_trajectories(net, x, y, module)
    assert traj0.shape == (7, 5, 8) and traj1.shape == (5, 5, 8)
    p0 = net.inference(x)
    p1 = net.learning(p0, y)
    torch.testing.assert_close(traj0[-1], p0.z[module], rtol=0, atol=0)
    torch.testing.assert_close(traj1[-1], p1.z[module], rtol=0, atol=0)
    start = torch.zeros(5, 8) if mode == "ste" else p0.z[module]
    torch.testing.assert_close(traj1[0], start, rtol=0, atol=0)


def test_ste_vectors_are_learning_minus_inference_states():
    net = _tiny(t1=5, t2=3)
    x, y = _batch()
    traj0, traj1 = phase_trajectories(net, x, y, "L1")
    v = ste_vectors(traj0, traj1)
    assert v.shape == (4, 5, 8)
    torch.testing.assert_close(v[2], traj1[2] - traj0[2])
    assert float(v[0].abs().max()) == 0.0  # STE: both phases start at h0 = 0
    assert float(v[-1].abs().max()) > 1e-4


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), t1=st.integers(1, 6), t2=st.integers(1, 6))
def test_ste_vectors_vanish_when_beta_is_zero(seed, t1, t2):
    net = _tiny(t1=t1, t2=t2, beta=0.0, seed=seed % 50)
    x, y = _batch(seed)
    for m in ("L1", "L2"):
        v = ste_vectors(*phase_trajectories(net, x, y, m))
        assert float(v.abs().max()) == 0.0


def test_ste_vectors_reject_mismatched_states():
    with pytest.raises(ApexplorerError, match="same states"):
        ste_vectors(torch.zeros(3, 2, 4), torch.zeros(3, 2, 5))


def test_epe_injected_at_t1_is_the_networks_own_epe():
    net = _tiny(t1=6, t2=4, mode="ste")
    x, y = _batch(3)
    epe = epe_trajectory(net, x, y, "L1", inject_at=6)
    ref = Network(net.wiring, APConfig(t1=6, t2=4, mode="epe"), tensors=net.tensors)
    p0 = ref.inference(x)
    p1 = ref.learning(p0, y)
    torch.testing.assert_close(epe.error, p1.e["L1"], rtol=0, atol=0)
    assert epe.inference.shape == (6 + 4 + 1, 5, 8) and epe.learning.shape == (5, 5, 8)


@pytest.mark.parametrize("inject_at", [1, 3, 8])
def test_epe_branch_leaves_the_inference_trajectory_at_the_injection_step(inject_at):
    net = _tiny(t1=8, t2=4)
    x, y = _batch(1)
    epe = epe_trajectory(net, x, y, "L1", inject_at)
    torch.testing.assert_close(epe.learning[0], epe.inference[inject_at], rtol=0, atol=0)
    # L1's inference trajectory does not depend on where the error comes in
    full, _ = phase_trajectories(net, x, y, "L1")
    k = min(len(epe.inference), len(full))
    assert len(epe.inference) == inject_at + 4 + 1
    torch.testing.assert_close(epe.inference[:k], full[:k], rtol=1e-6, atol=1e-7)
    v = epe_vectors(epe)
    assert v.shape == (5, 5, 8)
    assert float(v[0].abs().max()) == 0.0 and float(v[-1].abs().max()) > 1e-5
    torch.testing.assert_close(epe.error, epe.inference[inject_at] - epe.learning[-1])


def test_epe_rejects_a_bad_injection_step_and_module():
    net = _tiny()
    x, y = _batch()
    with pytest.raises(ApexplorerError, match="inject_at"):
        epe_trajectory(net, x, y, "L1", 0)
    with pytest.raises(ApexplorerError, match="'L9'.*L1, L2"):
        epe_trajectory(net, x, y, "L9", 2)


def test_pca_of_a_line_has_all_variance_on_one_component():
    d = np.array([1.0, 2.0, -1.0, 0.5])
    traj0 = np.outer(np.arange(5), d)
    traj1 = np.outer(np.arange(5) + 0.5, d)
    p = pca_trajectory(traj0, traj1)
    np.testing.assert_allclose(p.explained_variance_ratio, [1.0, 0.0, 0.0], atol=1e-12)
    # distances along the line are kept: consecutive points are |d| apart
    np.testing.assert_allclose(np.abs(np.diff(p.inference[:, 0])), np.linalg.norm(d), rtol=1e-12)
    np.testing.assert_allclose(np.abs(p.vectors[:, 0]), 0.5 * np.linalg.norm(d), rtol=1e-12)


def test_pca_of_batched_module_trajectories_keeps_the_batch_axis():
    net = _tiny()
    x, y = _batch()
    p = pca_trajectory(*phase_trajectories(net, x, y, "L2"), n_components=2)
    assert p.inference.shape == (9, 5, 2) and p.learning.shape == (9, 5, 2) and p.vectors.shape == (9, 5, 2)
    assert p.components.shape == (2, 8)


def test_pca_of_identical_states_reports_no_variance_without_warnings():
    p = pca_trajectory(np.ones((4, 6)), np.ones((3, 6)))
    np.testing.assert_array_equal(p.explained_variance_ratio, np.zeros(3))
    np.testing.assert_array_equal(p.vectors, np.zeros((3, 3)))


@settings(max_examples=40, deadline=None)
@given(
    steps0=st.integers(1, 10), steps1=st.integers(1, 10), n=st.integers(1, 12), k=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1e-6, 1.0, 1e3]),
)
def test_pca_variance_ratios_lie_in_unit_interval_and_sum_to_at_most_one(steps0, steps1, n, k, seed, scale):
    rng = np.random.default_rng(seed)
    p = pca_trajectory(rng.normal(size=(steps0, n)) * scale, rng.normal(size=(steps1, n)) * scale, k)
    r = p.explained_variance_ratio
    assert len(r) == min(k, steps0 + steps1, n) == p.inference.shape[1]
    assert np.all(r >= 0) and np.all(r <= 1 + 1e-12)
    assert r.sum() <= 1 + 1e-9


def test_ensembles_are_analysed_one_member_at_a_time():
    from apexplorer.analysis import member

    w = chain([8, 8], 3, 2, blocks={"RI": 2, "SI": 2, "RE": 2, "SE": 2}, spectral_radius=0.5, connection_rate=0.5)
    ens = Network(w, APConfig(t1=4, t2=4), seeds=(3, 4))
    x, y = _batch()
    with pytest.raises(ApexplorerError, match="ensemble of 2 members.*member"):
        phase_trajectories(ens, x, y, "L1")
    one = member(ens, 1)
    alone = Network(w, APConfig(t1=4, t2=4), seed=4)
    for k in alone.weights:
        torch.testing.assert_close(one.weights[k], alone.weights[k])
    t0, _ = phase_trajectories(one, x, y, "L1")
    torch.testing.assert_close(t0, phase_trajectories(alone, x, y, "L1")[0])
    with pytest.raises(ApexplorerError, match="members 0..1"):
        member(ens, 2)
