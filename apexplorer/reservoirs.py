"""Random reservoirs: their sparse draw, their scaling to a spectral radius, and the eigenvalue cache.

* :func:`random_reservoir` draws a sparse W (entries U(-1, 1) at random places, see
  :data:`RESERVOIR_DRAWS`) and scales it to a spectral radius.
* The spectral radius is the draw's costly part: :func:`_radii` remembers it by W's bytes
  (a redrawn W skips the eigensolver) and solves several large ones in parallel threads.
* :func:`one_torch_thread` keeps torch on one thread while LAPACK runs, safely across sessions.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

from .errors import ApexplorerError, choices
from .wiring_checks import check_connection_rate


def spectral_radius(W: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix (computed in float64).

    LAPACK's eigensolver gains little from threads, and on a busy machine
    OpenMP's spin-waiting made it 100x slower, so it runs on one thread.
    """
    if W.numel() == 0:
        return 0.0
    with one_torch_thread():
        return _eig_radius(W)


_THREADS_LOCK = threading.Lock()
_THREADS_HELD = [0, 0]  # [how many sections hold one thread now, torch's thread count before the first]


@contextmanager
def one_torch_thread():
    """Torch on one thread inside, its thread count put back when the last section ends.

    Sessions of the explorer draw networks on their own threads at the same time; with a plain
    save-set-restore, one section could save the other's 1 and "restore" it for good.
    """
    with _THREADS_LOCK:
        if _THREADS_HELD[0] == 0:
            _THREADS_HELD[1] = torch.get_num_threads()
            torch.set_num_threads(1)
        _THREADS_HELD[0] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_HELD[0] -= 1
            if _THREADS_HELD[0] == 0:
                torch.set_num_threads(_THREADS_HELD[1])


def _eig_radius(W: torch.Tensor) -> float:
    return float(torch.linalg.eigvals(W.double().cpu()).abs().max()) if W.numel() else 0.0


_RADII: OrderedDict = OrderedDict()  # digest of a drawn W -> its spectral radius (the draw's costly part)
_RADII_KEEP = 1024
_RADII_LOCK = threading.Lock()  # sessions draw networks on their own threads


def _radius(W: torch.Tensor) -> float:
    """:func:`spectral_radius` of a freshly drawn W, remembered by W's bytes: drawing the same
    W again (the same wiring and seed, in another session or run) skips the eigensolver."""
    return _radii([W])[0]


#: Reservoirs at least this large have their eigenvalues found in parallel threads (smaller ones: not worth a thread).
PARALLEL_EIG_SIZE = 256


def _radii(Ws: list) -> list:
    """Spectral radii of freshly drawn matrices, remembered by their bytes (see :func:`_radius`).

    Several large ones not seen before are solved in parallel threads, one LAPACK thread each
    (the eigensolver releases the GIL): on a 2-core machine four reservoirs of 1536 neurons take
    half the time.  Each radius is the same number as when found alone.
    """
    keys = [(tuple(W.shape), hashlib.blake2b(W.numpy().tobytes(), digest_size=20).digest()) for W in Ws]
    out: list = [None] * len(Ws)
    with _RADII_LOCK:
        for i, key in enumerate(keys):
            if key in _RADII:
                _RADII.move_to_end(key)
                out[i] = _RADII[key]
    todo = [i for i, r in enumerate(out) if r is None]
    big = [i for i in todo if Ws[i].shape[0] >= PARALLEL_EIG_SIZE]
    workers = min(len(big), os.cpu_count() or 1)
    if workers > 1:
        with one_torch_thread(), ThreadPoolExecutor(workers, thread_name_prefix="apexplorer-eig") as pool:
            for i, r in zip(big, pool.map(lambda i: _eig_radius(Ws[i]), big)):
                out[i] = r
    for i in todo:
        if out[i] is None:
            out[i] = spectral_radius(Ws[i])
    with _RADII_LOCK:
        for i in todo:
            _RADII[keys[i]] = out[i]
        while len(_RADII) > _RADII_KEEP:
            _RADII.popitem(last=False)
    return out


#: How a reservoir's nonzeros are placed: ``exact`` (round(c n^2) distinct places, the rate c exactly) or
#: ``authors`` (the authors' rand_sparse_matrix in models_LN.py: int(c n^2) places drawn with replacement,
#: the values of repeated places added; about 22 % distinct nonzeros at c = 0.25, 63 % at c = 1).
RESERVOIR_DRAWS = ("exact", "authors")


def _draw_reservoir(n: int, rate: float, gen: torch.Generator, draw: str = "exact", where: str = "") -> torch.Tensor:
    """An n x n float64 matrix of entries U(-1, 1) at random places (not yet scaled), placed by ``draw``:
    ``exact``: round(c n^2) distinct places; ``authors``: int(c n^2) places with replacement, repeats added.

    A rate outside (0, 1] is a :class:`WiringError` (0 would draw an empty W, above 1 more entries than W
    has), also for a wiring that was never validated.
    """
    check_connection_rate(rate, where)
    W = torch.zeros(n * n, dtype=torch.float64)
    if draw == "authors":
        k = int(n * n * rate)
        rows = torch.randint(0, n, (k,), generator=gen)
        cols = torch.randint(0, n, (k,), generator=gen)
        vals = torch.rand(k, generator=gen, dtype=torch.float64) * 2 - 1
        W.index_add_(0, rows * n + cols, vals)
        return W.view(n, n)
    if draw != "exact":
        raise ApexplorerError(f"unknown reservoir draw {draw!r}; choices are {choices(RESERVOIR_DRAWS)}")
    nnz = int(round(rate * n * n))
    idx = torch.randperm(n * n, generator=gen)[:nnz]
    W[idx] = torch.rand(nnz, generator=gen, dtype=torch.float64) * 2 - 1
    return W.view(n, n)


def _scaled(W: torch.Tensor, rho: float, r: float) -> torch.Tensor:
    """W scaled from its spectral radius ``r`` to ``rho``, as float32."""
    if r > 0:
        W *= rho / r
    elif rho > 0:
        W.zero_()
    return W.float()


def random_reservoir(n: int, rho: float, rate: float, gen: torch.Generator, draw: str = "exact") -> torch.Tensor:
    """Sparse random W: entries U(-1, 1) at random places (``draw``: see :data:`RESERVOIR_DRAWS`), scaled to rho."""
    W = _draw_reservoir(n, rate, gen, draw)
    return _scaled(W, rho, _radius(W))
