"""Example experiments shipped with apexplorer: ``apexplorer run NAME`` runs one by its name.

Each is a TOML file in this folder (see :mod:`apexplorer.experiment`);
:func:`names` lists them and :func:`load` reads one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import choices
from ..experiment import Experiment, ExperimentError

FOLDER = Path(__file__).parent


def names() -> list:
    """The names of the shipped examples (their file names without ``.toml``)."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


def path(name: str) -> Path:
    p = FOLDER / f"{name}.toml"
    if not p.is_file():
        raise ExperimentError(f"{name!r} is neither an experiment file nor a shipped example; examples are "
                              f"{choices(names())}")
    return p


def load(name: str) -> Experiment:
    """The shipped example ``name`` (e.g. ``digits-quick``)."""
    return Experiment.load(path(name))
