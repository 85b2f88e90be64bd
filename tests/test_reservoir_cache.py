"""Drawing the same reservoir twice reuses its spectral radius: the same W, bit for bit, without
the eigensolver (the explorer redraws a preset's network in every session)."""

import torch

import apexplorer.reservoirs as N
from apexplorer.init import init_tensors


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


def test_a_networks_reservoirs_found_in_parallel_equal_those_drawn_one_by_one(monkeypatch):
    """init_tensors draws every reservoir, then solves the large ones in parallel threads: the same
    matrices, bit for bit, as random_reservoir drawing them one after another from the same generator,
    and torch's thread count is put back."""
    import apexplorer as ap

    monkeypatch.setattr(N, "PARALLEL_EIG_SIZE", 40)
    monkeypatch.setattr(N.os, "cpu_count", lambda: 4)
    w = ap.chain([48, 40, 64], 10, 3, name="three")
    N._RADII.clear()
    solved = []
    real = N._eig_radius
    monkeypatch.setattr(N, "_eig_radius", lambda W: solved.append(N.threading.current_thread().name) or real(W))
    threads = torch.get_num_threads()
    got = init_tensors(w, 7)["reservoirs"]
    assert torch.get_num_threads() == threads
    assert len(solved) == 3 and all(name.startswith("apexplorer-eig") for name in solved)
    N._RADII.clear()
    gen = torch.Generator().manual_seed(7)
    for m in w.modules:
        assert torch.equal(got[m.name], N.random_reservoir(m.size, m.spectral_radius, m.connection_rate, gen))


def test_sessions_drawing_at_once_give_torch_its_thread_count_back():
    """Two threads in one-thread sections that overlap, the first leaving while the second is inside:
    torch stays on one thread while either is inside and gets its own count back when both have left
    (with a save-set-restore each, the second would save the first's 1 and leave torch on it for good)."""
    import threading

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen = []

        def a():
            with N.one_torch_thread():
                a_in.set()
                b_in.wait(10)
            a_out.set()

        def b():
            a_in.wait(10)
            with N.one_torch_thread():
                b_in.set()
                a_out.wait(10)
                seen.append(torch.get_num_threads())  # a has left, b is still inside

        ts = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        assert seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
