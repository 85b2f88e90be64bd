"""Run settings as a ``param.Parameterized`` (no Panel): what the Settings panel edits.

:meth:`Settings.configs` turns them into the library's ``APConfig`` and
``TrainConfig`` and lets the library validate them, so a bad value (T1 = 0, a
negative learning rate) is reported in the library's own words.  Params carry
soft bounds for the widgets but no hard bounds: the library is the one judge.
"""

from __future__ import annotations

from dataclasses import replace

import param

from ..errors import ApexplorerError
from ..network import MODES, PRECISIONS, APConfig
from ..presets import SETTINGS
from ..trainer import DEVICES, TrainConfig
from ..wiring import chain

#: Settings that the worker applies between two batches of a running network; the
#: others (rho, c, batch size, seed, device, precision) need a fresh network, and
#: the app asks before it replaces a trained one.
LIVE = ("t1", "t2", "mode", "beta", "lr", "epochs")


class Settings(param.Parameterized):
    """The phases' and the run's settings (paper defaults; digits preset values)."""

    spectral_radius = param.Number(0.25, softbounds=(0.0, 2.0), step=0.05, label="Spectral radius ρ",
                                   doc="Spectral radius of every module's fixed recurrent matrix W.")
    connection_rate = param.Number(0.25, softbounds=(0.01, 1.0), step=0.05, label="Connection rate c",
                                   doc="Fraction of non-zero entries of W.")
    t1 = param.Integer(8, softbounds=(1, 30), label="T1 (inference steps)",
                       doc="Iterations of the inference phase.")
    t2 = param.Integer(8, softbounds=(1, 30), label="T2 (learning steps)",
                       doc="Iterations of the learning phase.")
    mode = param.Selector(default="ste", objects=list(MODES), label="Error mode",
                          doc="STE restarts the learning phase from 0; EPE continues from the inference state.")
    beta = param.Number(1.0, softbounds=(0.0, 5.0), step=0.1, label="β (error strength)",
                        doc="Strength of the injected error.")
    lr = param.Number(5e-3, softbounds=(1e-5, 0.1), label="Learning rate",
                      doc="Adam learning rate of every learnable path.")
    batch_size = param.Integer(32, softbounds=(1, 1000), label="Batch size")
    epochs = param.Integer(30, softbounds=(1, 300), label="Epochs")
    seed = param.Integer(0, label="Seed", doc="Seed of every random tensor and of the batch order.")
    device = param.Selector(default="auto", objects=list(DEVICES), label="Device",
                            doc="auto uses the GPU when there is one.")
    precision = param.Selector(default="fp32", objects=list(PRECISIONS), label="Precision")

    def configs(self) -> tuple:
        """(APConfig, TrainConfig), validated by the library; raises ApexplorerError."""
        ap = APConfig(t1=self.t1, t2=self.t2, mode=self.mode, beta=self.beta, precision=self.precision).validate()
        tc = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                         device=self.device).validate()
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

    def apply_preset(self, name: str) -> None:
        """Take the preset's recommended settings (presets.SETTINGS)."""
        d = dict(SETTINGS.get(name, {}))
        self.param.update(**{k: v for k, v in d.items() if k in self.param})

    def values(self) -> dict:
        return {k: getattr(self, k) for k in self.param if k != "name"}

    def changed(self, ap: APConfig, tc: TrainConfig, rho: float | None = None, c: float | None = None) -> list:
        """Names of the settings that differ from a running network's configs."""
        mine_ap, mine_tc = (APConfig(t1=self.t1, t2=self.t2, mode=self.mode, beta=self.beta, precision=self.precision),
                            replace(tc, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                                    device=self.device))
        out = [k for k in ("t1", "t2", "mode", "beta", "precision") if getattr(mine_ap, k) != getattr(ap, k)]
        out += [k for k in ("epochs", "batch_size", "lr", "seed", "device") if getattr(mine_tc, k) != getattr(tc, k)]
        if rho is not None and rho != self.spectral_radius:
            out.append("spectral_radius")
        if c is not None and c != self.connection_rate:
            out.append("connection_rate")
        return out
