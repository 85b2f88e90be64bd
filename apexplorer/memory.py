"""The memory a network needs, checked before it is built.

A module of N neurons keeps an N x N recurrent matrix, and drawing it takes
several times that for a moment (the matrix in float64, a permutation of its
N^2 entries, the eigensolver's copy).  A 100000-neuron module needs terabytes;
torch would try, freeze the machine, and fail with a raw allocation error.
:func:`check_memory` compares an estimate with the free memory first and says
both in plain words.

The estimate counts the large tensors and rounds up; it is meant to catch a
network that cannot fit, not to predict the last megabyte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ApexplorerError

F32 = 4
#: bytes per entry of N x N while a reservoir is drawn: the float64 matrix (8), the
#: int64 permutation of its entries (8), the float64 values (8 c), the eigensolver's
#: float64 copy (8) and the float32 result (4)
DRAW_PER_ENTRY = 36
#: float32 tensors of (B, N) alive per module during a training step: both phases'
#: states, drives and errors, and the products in flight
STATE_TENSORS = 12


@dataclass(frozen=True)
class Need:
    """Bytes a network needs: ``tensors`` kept while it lives, ``draw`` for a moment while its
    largest reservoir is drawn (host memory), ``batch`` while a batch trains."""

    tensors: int
    draw: int
    batch: int
    largest: tuple  # (module name, neurons) of the largest module

    @property
    def total(self) -> int:
        return self.tensors + max(self.draw, self.batch)


def memory_needed(wiring, batch_size: int = 0, members: int = 1, precision: str = "fp32",
                  record: int = 0) -> Need:
    """Estimate the bytes a wiring's network needs.

    Parameters
    ----------
    wiring : Wiring
    batch_size : int
        Samples per batch (0: the network alone, no training step).
    members : int
        Ensemble size E (every tensor has E copies).
    precision : str
        ``bf16`` keeps a bf16 copy of every reservoir.
    record : int
        Steps of trajectories recorded per batch (T1 + T2 when recording, else 0).
    """
    E = max(int(members), 1)
    ep = wiring.endpoint
    res = sum(m.size * m.size for m in wiring.modules)
    ff = sum(ep(p.source).size * ep(p.target).size for p in wiring.feedforward)
    fb = sum(ep(q.source).size * ep(q.target).size for q in wiring.feedback)
    # reservoirs (+ a bf16 copy), biases; learnable weights with Adam's two moments and the
    # divergence guard's copy of all three; fixed feedback weights
    per_member = res * (F32 + (2 if precision == "bf16" else 0)) + F32 * (6 * ff + fb)
    per_member += F32 * sum(m.size for m in wiring.modules)
    tensors = E * per_member
    big = max(wiring.modules, key=lambda m: m.size, default=None)
    largest = (big.name, big.size) if big is not None else ("", 0)
    draw = DRAW_PER_ENTRY * largest[1] ** 2
    neurons = sum(m.size for m in wiring.modules) + sum(p.size for p in wiring.inputs) + \
        sum(p.size for p in wiring.outputs)
    batch = E * F32 * int(batch_size) * neurons * (STATE_TENSORS + int(record))
    return Need(int(tensors), int(draw), int(batch), largest)


def free_bytes(device="cpu") -> int | None:
    """Free memory of ``device``: CUDA's free bytes, or the host's available memory (within
    the cgroup's limit, where there is one); None where it cannot be read."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return None
        return int(torch.cuda.mem_get_info(dev)[0])
    free = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # a container's limit (cgroup v2)
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                free = min(free, int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    return max(int(free), 0)


def format_bytes(n: float) -> str:
    """``80.0 GB``, ``512.0 MB`` (powers of 1000, as the sizes of memory are sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover - the loop returns


def check_memory(wiring, batch_size: int = 0, members: int = 1, precision: str = "fp32", device="cpu",
                 record: int = 0, free: dict | None = None) -> Need:
    """Raise ApexplorerError, in plain words, when the network cannot fit in free memory.

    The reservoirs are drawn in host memory; the tensors and the batch live on
    ``device``.  ``free`` ({"cpu": bytes, "cuda": bytes}) replaces the measured
    free memory (tests).  Returns the estimate when it fits (or when the free
    memory cannot be read).
    """
    import torch

    need = memory_needed(wiring, batch_size, members, precision, record)
    dev = torch.device(device)
    free = free or {}
    host = free.get("cpu", None) if "cpu" in free else free_bytes("cpu")
    name, n = need.largest
    if dev.type == "cuda":
        on_dev = free.get("cuda", None) if "cuda" in free else free_bytes(dev)
        if on_dev is not None and need.tensors + need.batch > on_dev:
            raise ApexplorerError(
                f"this network needs {format_bytes(need.tensors + need.batch)} of GPU memory for its tensors "
                f"and a batch but only {format_bytes(on_dev)} are free on {dev}; use smaller modules, a smaller "
                "batch or fewer seeds")
        host_need = need.draw + need.tensors // max(int(members), 1)
    else:
        host_need = need.total
    if host is not None and host_need > host:
        what = "its tensors" + (" and a batch" if need.batch > need.draw else "")
        if need.draw >= need.batch and n:
            what += f" (drawing module {name!r} of {n:,} neurons takes {format_bytes(need.draw)} for a moment)"
        raise ApexplorerError(f"this network needs {format_bytes(host_need)} for {what} but only "
                              f"{format_bytes(host)} are free; use smaller modules"
                              + (", a smaller batch" if batch_size else "") + (" or fewer seeds" if members > 1
                                                                              else ""))
    return need


__all__ = ["Need", "check_memory", "format_bytes", "free_bytes", "memory_needed"]
