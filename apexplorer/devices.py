"""Where a run trains: ``auto`` (the GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``."""

from __future__ import annotations

import torch

from .errors import ApexplorerError, choices, plural

DEVICES = ("auto", "cpu", "cuda")
#: Why torch sees no GPU (:func:`no_gpu_reason`).
NO_CUDA_BUILD = "this torch has no CUDA support (a CPU-only build)"
NO_CUDA_DEVICE = "no CUDA device is visible (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)"


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
            raise ApexplorerError(f"device {device!r}: this machine has {plural(torch.cuda.device_count(), 'GPU')}, "
                                  f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ApexplorerError(f"unknown device {device!r}; choices are {choices(DEVICES)}")


def gpu_names() -> dict:
    """``{"cuda:N": name}`` of every GPU this machine's torch sees, in index order (empty without CUDA)."""
    if not torch.cuda.is_available():
        return {}
    return {f"cuda:{i}": torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}


def no_gpu_reason() -> str:
    """'' when torch sees a GPU; else why not: :data:`NO_CUDA_BUILD` or :data:`NO_CUDA_DEVICE`."""
    if gpu_names():
        return ""
    return NO_CUDA_DEVICE if torch.backends.cuda.is_built() else NO_CUDA_BUILD


def device_choices() -> list:
    """The devices this machine offers, for a menu: ``auto``, ``cpu`` and ``cuda:N`` for each GPU."""
    return ["auto", "cpu", *gpu_names()]


def device_labels() -> dict:
    """:func:`device_choices` by readable names, for a menu: ``{"GPU 1: NVIDIA H200 (cuda:1)": "cuda:1", ...}``."""
    gpus = gpu_names()
    first = next(iter(gpus.items()), None)
    auto = f"auto (GPU 0: {first[1]})" if first else "auto (the CPU: no GPU found)"
    return {auto: "auto", "CPU": "cpu", **{f"GPU {d[5:]}: {name} ({d})": d for d, name in gpus.items()}}


def describe(device: str) -> str:
    """In plain words, where ``device`` trains (``auto`` on this machine, a GPU's name)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"GPU {dev.index or 0}: {torch.cuda.get_device_name(dev)}"
    return "CPU" + (" (no GPU on this machine)" if device == "auto" else "")
