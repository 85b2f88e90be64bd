"""Drawing the same reservoir twice reuses its spectral radius: the same W, bit for bit, without
the eigensolver (the explorer redraws a preset's network in every session)."""

import torch

import apexplorer.network as N


def test_a_redrawn_reservoir_is_identical_and_skips_the_eigensolver(monkeypatch):
    N._RADII.clear()
    first = N.random_reservoir(48, 0.7, 0.3, torch.Generator().manual_seed(5))
    calls = []
    monkeypatch.setattr(N, "spectral_radius", lambda W: calls.append(W) or 1 / 0)
    again = N.random_reservoir(48, 0.7, 0.3, torch.Generator().manual_seed(5))
    assert not calls and torch.equal(first, again)
    assert abs(float(torch.linalg.eigvals(first.double()).abs().max()) - 0.7) < 1e-6


def test_another_draw_computes_its_own_radius(monkeypatch):
    N._RADII.clear()
    N.random_reservoir(32, 0.5, 0.5, torch.Generator().manual_seed(1))
    calls = []
    real = N.spectral_radius
    monkeypatch.setattr(N, "spectral_radius", lambda W: calls.append(1) or real(W))
    W = N.random_reservoir(32, 0.5, 0.5, torch.Generator().manual_seed(2))
    assert calls == [1]
    assert abs(float(torch.linalg.eigvals(W.double()).abs().max()) - 0.5) < 1e-6


def test_the_memory_of_radii_is_bounded(monkeypatch):
    N._RADII.clear()
    monkeypatch.setattr(N, "_RADII_KEEP", 3)
    for s in range(5):
        N.random_reservoir(8, 0.5, 0.5, torch.Generator().manual_seed(s))
    assert len(N._RADII) == 3
