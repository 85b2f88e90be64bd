"""apexplorer: run, watch and teach Adjoint Propagation (AP) in multi-region RNNs.

The library (this package) never imports Panel; the explorer app and the
notebook widgets live in :mod:`apexplorer.app` and ``apps/``.
"""


def _quit_quietly_if_the_command_starts() -> None:
    """Ctrl-C while the command line imports torch (the package's first import): exit 130 with a line, not
    a KeyboardInterrupt traceback.  Only for ``apexplorer ...`` and ``python -m apexplorer...``; a program
    importing the library gets its KeyboardInterrupt."""
    import os
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 == "-m" or os.path.basename(argv0) in ("apexplorer", "apexplorer.exe"):
        print("apexplorer: interrupted while starting up; nothing was trained yet", file=sys.stderr)
        raise SystemExit(130)


try:
    from .build import build, resume
    from .checkpoint import CheckpointError
    from .data import Dataset, dataset_names, load_dataset
    from .dynamics import relax
    from .errors import ApexplorerError, DataError, WiringError, WiringWarning
    from .experiment import Experiment, ExperimentError
    from .init import init_tensors
    from .network import APConfig, Network
    from .plan import Phase0, Phase1, Plan, make_plan
    from .reservoirs import spectral_radius
    from .optim import SGD, Adam
    from .presets import preset, preset_names
    from .trainer import BatchEvent, EpochEvent, StopEvent, TrainConfig, Trainer
    from .wiring import Module, Path, Port, Task, Wiring, chain
except KeyboardInterrupt:
    _quit_quietly_if_the_command_starts()
    raise

__version__ = "0.1.0"

__all__ = [
    "APConfig", "Adam", "ApexplorerError", "BatchEvent", "CheckpointError", "DataError", "Dataset",
    "EpochEvent", "Experiment", "ExperimentError", "Module", "Network", "Path", "Phase0", "Phase1", "Plan", "Port", "SGD",
    "StopEvent", "Task", "TrainConfig", "Trainer", "Wiring", "WiringError", "WiringWarning", "build", "chain",
    "dataset_names", "init_tensors", "load_dataset", "make_plan", "preset", "preset_names", "relax", "resume",
    "spectral_radius",
]
