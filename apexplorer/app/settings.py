"""The run's settings as a ``param.Parameterized`` (no Panel): the model of the Settings widgets.

The explorer's one description of the run is its :class:`~apexplorer.experiment.Experiment`;
:class:`Settings` is a view of it.  :meth:`Settings.follow` shows an experiment's values
(a loaded session, a preset, a link), and :meth:`Settings.changes` gives the dotted keys
the user has changed, which the state writes back with ``Experiment.with_changes``.
While a typed value is invalid the widgets keep it and :meth:`Settings.check` says why
in the library's words (``APConfig`` and ``TrainConfig`` judge); the experiment then
stays as it was.  Params carry soft bounds for the widgets but no hard bounds.
"""

from __future__ import annotations

import functools

import param

from ..devices import NO_CUDA_BUILD, NO_CUDA_DEVICE, describe, device_choices, gpu_names, no_gpu_reason
from ..errors import ApexplorerError
from ..network import MODES, PRECISIONS, APConfig
from ..trainer import TrainConfig
from ..wiring import chain

#: Each setting's dotted key in the experiment.
KEYS = {
    "spectral_radius": "ap.spectral_radius", "connection_rate": "ap.connection_rate", "t1": "ap.t1",
    "t2": "ap.t2", "mode": "ap.mode", "beta": "ap.beta", "precision": "ap.precision", "lr": "train.lr",
    "batch_size": "train.batch_size", "epochs": "train.epochs", "seed": "train.seed", "seeds": "train.seeds",
    "device": "train.device",
}
#: Settings that the worker applies between two batches of a running network; the
#: others (rho, c, batch size, seed, seeds, device, precision) need a fresh network,
#: and the app asks before it replaces a trained one.
LIVE = ("t1", "t2", "mode", "beta", "lr", "epochs")
LIVE_KEYS = tuple(KEYS[n] for n in LIVE)


class Settings(param.Parameterized):
    """The phases' and the run's settings, as the widgets show them."""

    spectral_radius = param.Number(0.25, softbounds=(0.0, 2.0), step=0.05, label="Spectral radius ρ",
                                   doc="Spectral radius of every module's fixed recurrent matrix W: how long the "
                                       "modules remember (above 1 they tend to chaos).")
    connection_rate = param.Number(0.25, softbounds=(0.01, 1.0), step=0.05, label="Connection rate c",
                                   doc="Fraction of non-zero entries of every module's W.")
    t1 = param.Integer(8, softbounds=(1, 30), label="T1 (inference steps)",
                       doc="Iterations of the inference phase (phase 0): h ← f(hW + u).")
    t2 = param.Integer(8, softbounds=(1, 30), label="T2 (learning steps)",
                       doc="Iterations of the learning phase (phase 1), with the error injected.")
    mode = param.Selector(default="ste", objects=list(MODES), label="Error mode",
                          doc="STE restarts the learning phase from 0; EPE continues from the inference state.")
    beta = param.Number(1.0, softbounds=(0.0, 5.0), step=0.1, label="β (error strength)",
                        doc="Strength of the output error injected through the feedback paths (−β·e_out·G).")
    lr = param.Number(5e-3, softbounds=(1e-5, 0.1), label="Learning rate",
                      doc="Learning rate of the optimiser of every learnable (feedforward) path.")
    batch_size = param.Integer(32, softbounds=(1, 1000), label="Batch size",
                               doc="Samples per training step; ΔA = aᵀe/B averages over them.")
    epochs = param.Integer(30, softbounds=(1, 300), label="Epochs", doc="Passes over the training data.")
    seed = param.Integer(0, label="Seed", doc="Seed of every random tensor and of the batch order.")
    seeds = param.Integer(1, softbounds=(1, 16), label="Seeds (ensemble)",
                          doc="Train K seeds (seed … seed+K−1) as one batched ensemble; the curves show the mean, "
                              "a ±sd band and each member.")
    device = param.Selector(default="auto", objects=device_choices(), label="Device",
                            doc="Where the network trains: auto uses the GPU when there is one; cuda:N is GPU N.")
    precision = param.Selector(default="fp32", objects=list(PRECISIONS), label="Precision",
                               doc="Precision of the relax products: fp32, tf32 (GPU) or bf16.")

    def __init__(self, **params):
        super().__init__(**params)
        self.param.device.objects = device_choices()  # this machine's GPUs now, not when the module loaded

    def configs(self) -> tuple:
        """(APConfig, TrainConfig), validated by the library; raises ApexplorerError."""
        ap = APConfig(t1=self.t1, t2=self.t2, mode=self.mode, beta=self.beta, precision=self.precision).validate()
        tc = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                         device=self.device, ensemble=self.seeds).validate()
        if self.seeds < 1:
            raise ApexplorerError(f"seeds {self.seeds!r} must be a positive integer")
        if self.epochs < 1:  # the library accepts 0 (evaluate only); a page's run of 0 epochs would train nothing
            raise ApexplorerError(f"epochs {self.epochs!r}: a run trains at least 1 epoch; choose 1 or more")
        try:  # the library's own check of a module's rho and c
            chain([4], 1, 1, spectral_radius=self.spectral_radius, connection_rate=self.connection_rate)
        except ApexplorerError as e:
            raise ApexplorerError(str(e).split(": ", 1)[-1]) from None  # said of every module, not of 'L1'
        return ap, tc

    def check(self) -> str:
        """'' when the settings are valid, else the library's message."""
        try:
            self.configs()
        except ApexplorerError as e:
            return str(e)
        return ""

    def values(self) -> dict:
        return {k: getattr(self, k) for k in KEYS}

    def follow(self, exp, wiring=None) -> None:
        """Show ``exp``'s values; rho and c are the experiment's, else those of the wiring's first module."""
        values = {n: exp.get(k) for n, k in KEYS.items()}
        first = wiring.modules[0] if wiring is not None and wiring.modules else None
        for n in ("spectral_radius", "connection_rate"):
            if values[n] is None:
                values[n] = getattr(first, n) if first is not None else getattr(self, n)
        if values["device"] not in self.param.device.objects:  # a device this machine lacks: shown, not chosen
            self.param.device.objects = [*self.param.device.objects, values["device"]]
        self.param.update(**{k: v for k, v in values.items() if getattr(self, k) != v})

    def changes(self, exp, wiring=None) -> dict:
        """The dotted keys whose shown value differs from ``exp`` (rho and c: from what the modules have)."""
        out = {}
        first = wiring.modules[0] if wiring is not None and wiring.modules else None
        for n, k in KEYS.items():
            mine, theirs = getattr(self, n), exp.get(k)
            if theirs is None and first is not None:
                theirs = getattr(first, n)
            if mine != theirs:
                out[k] = mine
        return out


#: Why the server has no GPU, as a page visitor reads it (the library's reasons speak of torch and flags).
NO_GPU = {NO_CUDA_BUILD: "The server's torch has no CUDA support.",
          NO_CUDA_DEVICE: "No CUDA device is visible to the server."}


def device_note(device: str) -> str:
    """Where ``device`` trains, in a page visitor's words (menus, not ``--device``)."""
    reason = no_gpu_reason()
    if reason:
        why = NO_GPU[reason]
        if device.startswith("cuda"):
            return f"This experiment asks for {device}, but no GPU was found on the server: choose auto or CPU. ({why})"
        return f"No GPU found on the server: training runs on the CPU. ({why})"
    try:
        return f"Trains on: {describe(device)}"
    except ApexplorerError:
        gpus = list(gpu_names())
        return f"{device} is not on this server, whose GPUs are {', '.join(gpus)}: choose one of them, or auto."


@functools.lru_cache(maxsize=1)
def paper_defaults() -> dict:
    """The paper's value of every setting (its 2-layer Fashion-MNIST model): name -> value."""
    from ..experiment import Experiment
    from ..presets import preset

    exp = Experiment.from_preset("paper-2layer")
    module = preset("paper-2layer", 784, 10).modules[0]
    out = {n: exp.get(k) for n, k in KEYS.items()}
    out.update(spectral_radius=module.spectral_radius, connection_rate=module.connection_rate)
    return out


def help_text(name: str) -> str:
    """A setting's tooltip: what it means and the paper's default."""
    doc = Settings.param[name].doc or ""
    return f"{doc} Paper: {paper_defaults()[name]}."


__all__ = ["KEYS", "LIVE", "LIVE_KEYS", "Settings", "device_note", "help_text", "paper_defaults"]
