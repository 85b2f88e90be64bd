"""The learning rules by name: AP (:mod:`apexplorer.learner`) and the baselines (:mod:`apexplorer.baselines`).

The registry is written out here, once, rather than filled in by imports, so
that loading a checkpoint of any method needs no import order.
"""

from __future__ import annotations

from .baselines import BPLearner, EPLearner, FALearner
from .errors import ApexplorerError, choices
from .learner import APLearner

#: Learner class of each method (the ``kind`` a checkpoint records).
LEARNERS = {"ap": APLearner, "bp": BPLearner, "fa": FALearner, "ep": EPLearner}


def learner_class(kind: str):
    """The learner class of ``kind`` (``ap``, ``bp``, ``fa``, ``ep``)."""
    if kind not in LEARNERS:
        raise ApexplorerError(f"unknown method {kind!r}; choices are {choices(LEARNERS)}")
    return LEARNERS[kind]
