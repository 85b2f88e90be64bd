"""The explorer app and its parts, for ``panel serve apps/explorer.py`` and notebooks.

>>> from apexplorer.app import Explorer
>>> Explorer()          # the last expression of a notebook cell shows the whole explorer

The parts work alone too: :class:`NetworkGraph` and :class:`NetworkEditor`
(the wiring), :class:`TasksView`, :class:`SettingsView`, :class:`RunControls`,
and the live views :class:`CurvesView`, :class:`ErrorView`,
:class:`TrajectoryView`, :class:`PCAView`, :class:`ErrorFlowPlayer`, and for two-feature
tasks :class:`BoundaryView` (the decision over the input plane).  A live
view takes events from your own loop (``view.push(event)``) or follows a
trainer in the background (``runner = view.follow(trainer); runner.train()``).

In a notebook run :func:`notebook` first (``from apexplorer.app import notebook;
notebook()``): Panel's extension with the extras the widgets need (Plotly, Tabulator,
MathJax) and its JavaScript inline, so the widgets render offline too.  This package
imports Panel; the rest of apexplorer never does.
"""

from .alignment_view import AlignmentView
from .boundary_view import BoundaryView
from .explorer import Explorer, explorer
from .curves import CurvesView
from .formulas import FormulaPanel
from .live import ErrorView, LiveView
from .network_view import NetworkEditor, NetworkGraph, graph_data
from .notebook_setup import notebook
from .player import ErrorFlowPlayer, flow_frames
from .run_view import RunControls
from .runner import Runner
from .session import ExplorerState
from .settings import Settings
from .settings_view import SettingsView
from .tasks_view import TasksView
from .trajectory import PCAView, TrajectoryView
from .wiring_model import WiringModel

__all__ = [
    "AlignmentView", "BoundaryView", "CurvesView", "ErrorFlowPlayer", "ErrorView", "Explorer", "ExplorerState", "FormulaPanel",
    "LiveView", "NetworkEditor", "NetworkGraph", "PCAView", "RunControls", "Runner", "Settings", "SettingsView", "TasksView",
    "TrajectoryView", "WiringModel", "explorer", "flow_frames", "graph_data", "notebook",
]
