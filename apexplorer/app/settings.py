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
from dataclasses import fields

import param

from ..devices import NO_CUDA_BUILD, NO_CUDA_DEVICE, describe, device_choices, gpu_names, no_gpu_reason
from ..errors import ApexplorerError
from ..network import APConfig
from ..sections import coerce
from ..table import row, widget_rows
from ..trainer import TrainConfig
from ..wiring import chain

#: Each setting's name on the panel (its field name) and its dotted key: the table's rows with a label.
KEYS = {r.name: r.key for r in widget_rows()}
if len(KEYS) != len(widget_rows()):
    raise ApexplorerError("two settings of the table on the Settings panel share a field name")


def _tooltip(row) -> str:
    return row.doc[:1].upper() + row.doc[1:] + "."


def _param(row):
    """The param of a row: its kind, default, soft bounds, choices, label and tooltip (no hard bounds)."""
    kw = dict(label=row.label, doc=_tooltip(row), allow_None=row.optional)
    if row.key == "train.device":
        return param.Selector(default=row.default, objects=device_choices(), **kw)
    if row.choices is not None:
        return param.Selector(default=row.default, objects=list(row.choices), **kw)
    if row.kind in ("int", "float"):
        kw.update(softbounds=row.soft, **({"step": row.step} if row.step is not None else {}))
        return (param.Integer if row.kind == "int" else param.Number)(row.default, **kw)
    if row.kind == "bool":
        return param.Boolean(row.default, **kw)
    return param.String(row.default, **kw)


def _settings_class():
    params = {r.name: _param(r) for r in widget_rows()}
    return type("_SettingsParams", (param.Parameterized,), {"__module__": __name__, **params})


class Settings(_settings_class()):
    """The phases' and the run's settings, as the widgets show them (one param per row of the table of
    settings with a label)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.param.device.objects = device_choices()  # this machine's GPUs now, not when the module loaded

    def configs(self) -> tuple:
        """(APConfig, TrainConfig), validated by the library; raises ApexplorerError.  Every other value is
        checked by its row of the table."""
        ap_keys, tc_keys = set(fields_of(APConfig)), set(fields_of(TrainConfig))
        ap = APConfig(**{r.name: getattr(self, r.name) for r in widget_rows()
                         if r.section == "ap" and r.name in ap_keys}).validate()
        tc = TrainConfig(**{r.name: getattr(self, r.name) for r in widget_rows()
                            if r.section == "train" and r.name in tc_keys}, ensemble=self.seeds).validate()
        if self.seeds < 1:
            raise ApexplorerError(f"seeds {self.seeds!r} must be a positive integer")
        if self.epochs < 1:  # the library accepts 0 (evaluate only); a page's run of 0 epochs would train nothing
            raise ApexplorerError(f"epochs {self.epochs!r}: a run trains at least 1 epoch; choose 1 or more")
        try:  # the library's own check of a module's rho and c
            chain([4], 1, 1, **{n: getattr(self, n) for n in ("spectral_radius", "connection_rate")
                                if getattr(self, n) is not None})
        except ApexplorerError as e:
            raise ApexplorerError(str(e).split(": ", 1)[-1]) from None  # said of every module, not of 'L1'
        for n, k in KEYS.items():
            if k != "train.device":  # a device is judged by the library, above
                coerce(k, getattr(self, n), row(k).meta())
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


def fields_of(cls) -> tuple:
    return tuple(f.name for f in fields(cls))


__all__ = ["KEYS", "Settings", "device_note", "help_text", "paper_defaults"]
