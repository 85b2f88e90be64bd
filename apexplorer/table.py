"""The table of settings: every key of an experiment, declared once.

Each :class:`Setting` row holds a dotted key (``ap.t1``), its short alias and
CLI flag, its kind, bounds and choices, its default, its label and tooltip,
whether it may change on a running network (``live``) and whether a resume may
change it (``resumable``).  Everything else is built from these rows: the
sections' typed fields and their validation messages (:mod:`.sections`),
``experiment.ALIASES``, the ``train`` options and their help
(:mod:`.commands.options`), the URL query and the command the explorer shows
(:mod:`.share`), the explorer's Settings widgets, the sweep launcher's axes,
the sweep table's columns, the resume policy, and the defaults of
:class:`~apexplorer.network.APConfig` and :class:`~apexplorer.trainer.TrainConfig`.

Adding a setting is adding a row here (and the code that uses its value).

This module imports no other part of the package but leaf modules (errors,
the names of datasets, activations and schedules), so that the network, the
trainer and the optimisers can take their defaults from it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import dataset_names
from .dynamics import ACTIVATIONS
from .errors import ApexplorerError, choices
from .schedule import SCHEDULES

#: the error modes of the learning phase
MODES = ("ste", "epe")
#: the precisions of the relax products
PRECISIONS = ("fp32", "tf32", "bf16")
#: the optimisers of the learnable paths
OPTIMIZERS = ("adam", "sgd")
#: the learning rules: AP, or a baseline
METHODS = ("ap", "bp", "fa", "ep")
DATASETS = tuple(dataset_names())
#: EP's learning rate at most (:meth:`~apexplorer.experiment.Experiment.method_lr`).  Hard-sigmoid units
#: saturate under large steps: with Adam at the digits preset's 5e-3, EP's outputs saturated and it stopped
#: learning; at 1e-3 and 2e-3 it learned (2 x 256, T1 = 100, T2 = 20).
EP_LR = 1e-3


@dataclass(frozen=True)
class Setting:
    """One key of an experiment.

    key : ``section.name`` (``tasks`` rows: ``task.name``, the key of every task's table).
    kind : ``int``, ``float``, ``str``, ``bool`` or ``ints`` (a list of positive integers).
    default : its value when a file leaves it out (None: optional, the wiring's or the method's own).
    doc : what it means (the tooltip, the ``--help`` line, the file format's description).
    alias : a short name accepted wherever a dotted key is (``--set lr=...``, sweep grids, table columns).
    flag : the ``train`` option that sets it (EP's rows share AP's ``--t1``/``--t2``/``--beta``).
    low, strict_low : the lower bound (``>= low``, or ``> low``); choices : the valid values.
    label : its name on the explorer's Settings panel ("": not on the panel).
    soft, step : the widget's soft bounds and step.
    axis : its name in the sweep launcher's menu ("": not offered); examples : values shown in an empty box.
    live : the explorer applies a change to a running network between two batches.
    resumable : a resumed run may change it (how long it trains and how it steps, not what it is).
    files : a string that may also be the path of your own ``.csv`` / ``.npz`` file (beside its choices).
    """

    key: str
    kind: str
    default: object
    doc: str
    alias: str = ""
    flag: str = ""
    low: float | None = None
    strict_low: bool = False
    choices: tuple | None = None
    optional: bool = False
    label: str = ""
    soft: tuple | None = None
    step: float | None = None
    axis: str = ""
    examples: str = ""
    live: bool = False
    resumable: bool = False
    files: bool = False

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def dest(self) -> str:
        """The argparse destination of its flag (``--batch-size`` -> ``batch_size``)."""
        return self.flag[2:].replace("-", "_")

    def meta(self) -> dict:
        """The field metadata the sections check values with."""
        return dict(kind=self.kind, choices=self.choices, low=self.low, strict_low=self.strict_low,
                    optional=self.optional, doc=self.doc, files=self.files)


S = Setting
#: Every key, in the order of the sections' fields (and of the Settings panel, the sweep menu and ``--help``).
TABLE = (
    # [ap]: the two phases and the reservoirs' global knobs
    S("ap.spectral_radius", "float", None,
      "spectral radius of every module's fixed recurrent matrix W: how long the modules remember (above 1 they "
      "tend to chaos; default: the wiring's)",
      alias="sr", flag="--sr", low=0, optional=True, label="Spectral radius ρ", soft=(0.0, 2.0), step=0.05,
      axis="ρ (spectral radius)", examples="0.1, 0.5, 1"),
    S("ap.connection_rate", "float", None,
      "connection rate of every module: the fraction of non-zero entries of its W (default: the wiring's)",
      alias="rate", flag="--rate", low=0, strict_low=True, optional=True, label="Connection rate c",
      soft=(0.01, 1.0), step=0.05, axis="c (connection rate)", examples="0.1, 0.25, 0.5"),
    S("ap.t1", "int", 8, "iterations of the inference phase (T1): h ← f(hW + u)", alias="t1", flag="--t1",
      low=1, label="T1 (inference steps)", soft=(1, 30), axis="T1 (inference steps)", examples="2, 8", live=True),
    S("ap.t2", "int", 8, "iterations of the learning phase (T2), with the error injected", alias="t2",
      flag="--t2", low=1, label="T2 (learning steps)", soft=(1, 30), axis="T2 (learning steps)", examples="2, 8",
      live=True),
    S("ap.mode", "str", "ste", "STE restarts the learning phase from 0; EPE continues from the inference state",
      alias="mode", flag="--mode", choices=MODES, label="Error mode (STE / EPE)", axis="Error mode (ste, epe)",
      examples="ste, epe", live=True),
    S("ap.beta", "float", 1.0, "strength of the output error injected through the feedback paths (−β·e_out·G)",
      alias="beta", flag="--beta", low=0, strict_low=True, label="β (error strength)", soft=(0.0, 5.0), step=0.1,
      axis="β (error strength)", examples="0.5, 1, 2", live=True),
    S("ap.activation", "str", "tanh", "f of every module", alias="activation", choices=tuple(ACTIVATIONS)),
    S("ap.precision", "str", "fp32", "precision of the relax products: fp32, tf32 (GPU) or bf16",
      alias="precision", flag="--precision", choices=PRECISIONS, label="Precision"),
    S("ap.f_prime", "bool", None, "multiply the local error by f'(z0) (1 - z0^2 for tanh); default false",
      optional=True),
    # [train]: the run
    S("train.epochs", "int", 10, "passes over the training data (sequential: per task)", alias="epochs",
      flag="--epochs", low=1, label="Epochs", soft=(1, 300), live=True, resumable=True),
    S("train.batch_size", "int", 500, "samples per training step; ΔA = aᵀe/B averages over them (a task may set "
      "its own)", alias="batch_size", flag="--batch-size", low=1, label="Batch size", soft=(1, 1000),
      axis="Batch size", examples="16, 64", resumable=True),
    S("train.lr", "float", 1e-3, "learning rate of the optimiser of every learnable (feedforward) path",
      alias="lr", flag="--lr", low=0, strict_low=True, label="Learning rate", soft=(1e-5, 0.1), step=1e-4,
      axis="Learning rate", examples="1e-3, 5e-3, 2e-2", live=True, resumable=True),
    S("train.optimizer", "str", "adam", "optimiser of the learnable paths", alias="optimizer", flag="--optimizer",
      choices=OPTIMIZERS),
    S("train.seed", "int", 0, "seed of every random tensor and of the batch order", alias="seed", flag="--seed",
      low=0, label="Seed"),
    S("train.seeds", "int", 1,
      "train K seeds (seed … seed+K−1) as one batched ensemble; each member is reported (and drawn) beside the "
      "mean ± sd", alias="seeds", flag="--seeds", low=1, label="Seeds (ensemble)", soft=(1, 16)),
    S("train.device", "str", "auto", "where the network trains: auto (the GPU when there is one), cpu, cuda or "
      "cuda:N", alias="device", flag="--device", label="Device", resumable=True),
    S("train.schedule", "str", "alternating", "how several tasks share training", alias="schedule",
      flag="--schedule", choices=SCHEDULES),
    S("train.early_stop", "float", 0.9999, "stop when train accuracy reaches this (above 1: never)", low=0,
      strict_low=True, resumable=True),
    S("train.max_loss", "float", None, "divergence threshold (default 15 ln C)", low=0, strict_low=True,
      optional=True, resumable=True),
    S("train.eval_batch_size", "int", 2000, "batch size of evaluation", low=1, resumable=True),
    # [method]: the learning rule
    S("method.name", "str", "ap", "learning rule: ap, or a baseline: bp, fa (fully connected) or ep (layered)",
      alias="method", flag="--method", choices=METHODS, axis="Method (ap, bp, fa, ep)", examples="ap, bp, fa"),
    S("method.hidden", "ints", None, "hidden layers of a bp/fa/ep network, e.g. 256 or 256,256,256 (default 256 "
      "for bp/fa, 256,256 for ep)", alias="hidden", flag="--hidden", optional=True),
    S("method.t1", "int", None, "EP: free-phase steps (default 100)", flag="--t1", low=1, optional=True),
    S("method.t2", "int", None, "EP: clamped-phase steps (default 20)", flag="--t2", low=1, optional=True),
    S("method.beta", "float", None, "EP: clamping strength (default 1)", flag="--beta", optional=True),
    S("method.epsilon", "float", None, "EP: Euler step (default 0.5)", low=0, strict_low=True, optional=True),
    S("method.random_sign", "bool", None, "EP: random sign of beta per batch", optional=True),
    # [init]: how an AP network's paths are drawn
    S("init.scheme", "str", "uniform", "uniform: the paper's U(-1,1)/sqrt(n); gaussian: N(0, std^2) as in the "
      "Fig. 5 notebooks", choices=("uniform", "gaussian")),
    S("init.forward_std", "float", 0.1, "gaussian: s.d. of every feedforward weight", low=0, strict_low=True),
    S("init.feedback_std", "float", 0.5, "gaussian: s.d. of every feedback weight", low=0, strict_low=True),
    S("init.readout_bias", "str", None, "the fixed readout bias (default: uniform, or zero for gaussian)",
      choices=("uniform", "zero"), optional=True),
    S("init.reservoir", "str", None, "reservoir nonzeros: exact (the rate c exactly; default) or authors "
      "(c n^2 places drawn with replacement, repeats added: ~22 % at c = 0.25)", choices=("exact", "authors"),
      optional=True),
    # [tasks.NAME]: one task's data
    S("task.dataset", "str", "digits", "the task's dataset: a built-in one, or your own .csv or .npz file",
      choices=DATASETS, files=True),
    S("task.batch_size", "int", None, "this task's batch size", low=1, optional=True),
    S("task.train_size", "int", None, "train on the first n of a fixed shuffle (a toy task: draw n points)", low=1,
      optional=True),
    S("task.test_size", "int", None, "test on the first n of a fixed shuffle (a toy task: draw n points)", low=1,
      optional=True),
    S("task.noise", "float", None, "2afc: one pixel-noise s.d. for every image (default: the mix 0, 0.2, 1, 2, 4); "
      "a toy task (moons, xor...): the s.d. of the noise on its points", low=0, optional=True),
    S("task.train", "bool", None, "false: not trained; its data only sizes its ports (a task alone on a multitask "
      "wiring, drawn as when every task trains)", optional=True),
    S("task.fresh", "bool", None, "2afc: new training and test images every epoch, drawn from the run's seed (as "
      "the authors' notebook's dataset, which draws on every access)", optional=True),
    S("task.label", "str", None, "a .csv dataset: its label column (default the last)", optional=True),
    S("task.sha256", "str", None, "a dataset file's SHA-256, recorded when the run starts (a rerun on changed "
      "data says so)", optional=True),
    # [wiring]: a preset by its name (its options and inline wirings are tables of their own)
    S("wiring.preset", "str", "digits", "the wiring preset", alias="preset"),
)
del S


def rows(section: str | None = None) -> tuple:
    """The rows of ``section`` (``ap``, ``train``, ``method``, ``init``, ``task``, ``wiring``), or all."""
    return tuple(r for r in TABLE if section is None or r.section == section)


def row(key: str) -> Setting:
    """The row of a dotted key or alias."""
    for r in TABLE:
        if key in (r.key, r.alias):
            return r
    raise ApexplorerError(f"unknown setting {key!r}; settings are {choices(r.key for r in TABLE)}")


def default(key: str):
    """The default of a dotted key (what a file that leaves it out gets)."""
    return row(key).default


def aliases() -> dict:
    """``{alias: dotted key}`` of every row with an alias."""
    return {r.alias: r.key for r in TABLE if r.alias}


def flags() -> dict:
    """``{flag: dotted key}``: the key each ``train`` option sets (a flag EP shares: AP's key)."""
    out = {}
    for r in TABLE:
        if r.flag and r.flag not in out:
            out[r.flag] = r.key
    return out


def live_keys() -> tuple:
    """The keys a running network may change between two batches."""
    return tuple(r.key for r in TABLE if r.live)


def resumable_keys() -> tuple:
    """The keys a resumed run may change."""
    return tuple(r.key for r in TABLE if r.resumable)


def widget_rows() -> tuple:
    """The rows on the explorer's Settings panel."""
    return tuple(r for r in TABLE if r.label)


def axis_rows() -> tuple:
    """The rows the sweep launcher offers as axes."""
    return tuple(r for r in TABLE if r.axis)


__all__ = ["DATASETS", "EP_LR", "METHODS", "MODES", "OPTIMIZERS", "PRECISIONS", "Setting", "TABLE", "aliases",
           "axis_rows", "default", "flags", "live_keys", "resumable_keys", "row", "rows", "widget_rows"]
