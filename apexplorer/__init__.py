"""apexplorer: run, watch and teach Adjoint Propagation (AP) in multi-region RNNs.

The library (this package) never imports Panel; the explorer app and the
notebook widgets live in :mod:`apexplorer.app` and ``apps/``.
"""

import importlib

#: Public names -> the module that defines them, imported on first use (PEP 562), so that
#: ``import apexplorer.cli`` is quick and a Ctrl-C while torch loads reaches the command's handler.
_LAZY = {
    'build': 'build',
    'resume': 'build',
    'CheckpointError': 'checkpoint',
    'Dataset': 'data',
    'dataset_names': 'data',
    'load_dataset': 'data',
    'relax': 'dynamics',
    'ApexplorerError': 'errors',
    'DataError': 'errors',
    'DivergenceError': 'errors',
    'WiringError': 'errors',
    'WiringWarning': 'errors',
    'Experiment': 'experiment',
    'ExperimentError': 'experiment',
    'APConfig': 'network',
    'Network': 'network',
    'Phase0': 'network',
    'Phase1': 'network',
    'Plan': 'network',
    'init_tensors': 'network',
    'make_plan': 'network',
    'spectral_radius': 'network',
    'SGD': 'optim',
    'Adam': 'optim',
    'preset': 'presets',
    'preset_names': 'presets',
    'BatchEvent': 'trainer',
    'EpochEvent': 'trainer',
    'StopEvent': 'trainer',
    'TrainConfig': 'trainer',
    'Trainer': 'trainer',
    'Module': 'wiring',
    'Path': 'wiring',
    'Port': 'wiring',
    'Task': 'wiring',
    'Wiring': 'wiring',
    'chain': 'wiring',
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "APConfig", "Adam", "ApexplorerError", "BatchEvent", "CheckpointError", "DataError", "Dataset",
    "DivergenceError", "EpochEvent", "Experiment", "ExperimentError", "Module", "Network", "Path", "Phase0", "Phase1", "Plan", "Port", "SGD",
    "StopEvent", "Task", "TrainConfig", "Trainer", "Wiring", "WiringError", "WiringWarning", "build", "chain",
    "dataset_names", "init_tensors", "load_dataset", "make_plan", "preset", "preset_names", "relax", "resume",
    "spectral_radius",
]
