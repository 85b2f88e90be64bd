"""Where a run trains: ``auto`` (the GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``."""

from __future__ import annotations

import torch

from .errors import ApexplorerError, choices

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without it is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ApexplorerError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
        index = device[5:]
        if index and (not device.startswith("cuda:") or not index.isdigit()):
            raise ApexplorerError(f"unknown device {device!r}; choices are {choices(DEVICES)} or cuda:N")
        if index and int(index) >= torch.cuda.device_count():
            raise ApexplorerError(f"device {device!r}: this machine has {torch.cuda.device_count()} GPU(s), "
                                  f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ApexplorerError(f"unknown device {device!r}; choices are {choices(DEVICES)}")


def device_choices() -> list:
    """The devices this machine offers, for a menu: ``auto``, ``cpu`` and ``cuda:N`` for each GPU."""
    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return ["auto", "cpu", *gpus]


def describe(device: str) -> str:
    """In plain words, where ``device`` trains (``auto`` on this machine, a GPU's name)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"GPU {dev.index or 0}: {torch.cuda.get_device_name(dev)}"
    return "CPU" + (" (no GPU on this machine)" if device == "auto" else "")
