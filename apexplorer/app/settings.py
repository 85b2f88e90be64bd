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


#: Settings the paper does not speak of (where this machine trains, which seed).
NOT_THE_PAPERS = ("device", "seed")
#: What each baseline is, for its checkbox's tooltip.
BASELINE_HELP = {
    "bp": "Backpropagation: the error goes back through the transposed forward weights of a layered network.",
    "fa": "Feedback alignment: the error goes back through fixed random weights instead of the transposed ones.",
    "ep": "Equilibrium propagation: a free and a nudged relaxation of a layered network; the difference trains it.",
}


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _and(items) -> str:
    """Places in the paper, one after another ("Fig. 5a, 5d / Table 1": their own names hold commas)."""
    return " / ".join(items)


@functools.lru_cache(maxsize=1)
def paper_runs() -> tuple:
    """The paper's experiments, one per table or figure that trains (``apexplorer/paper/results/*.toml``, at the
    paper's scale): ((where in the paper, its base Experiment, its seeds, the methods its points train), ...)."""
    from ..experiment import Experiment
    from ..paper import results
    from ..paper.plan import points

    out = []
    for r in results():
        pts = points(r, "paper")
        if not pts:  # analyses only: nothing trains
            continue
        sc = r.scale("paper")
        base = Experiment.from_dict(r.base)
        out.append((r.figure, base.with_changes(sc.set) if sc.set else base, sc.seeds,
                    tuple(dict.fromkeys(p.experiment.method.name for p in pts))))
    return tuple(out)


def _value(name: str, exp, seeds: int):
    """Setting ``name`` in a paper's experiment: rho and c left to the wiring are those of its modules."""
    if name == "seeds":  # the paper repeats each point; the page's seeds are such repeats, as an ensemble
        return seeds
    v = exp.get(KEYS[name])
    if v is None and name in ("spectral_radius", "connection_rate"):
        from types import SimpleNamespace

        from ..build import make_wiring

        sizes = SimpleNamespace(n_features=784, n_classes=10)  # the sizes do not change a module's rho or c
        v = getattr(make_wiring(exp, {t: sizes for t in exp.tasks}).modules[0], name)
    return v


@functools.lru_cache(maxsize=1)
def paper_values() -> dict:
    """Each setting's values in the paper's experiments (:func:`paper_runs`): name -> [(value, [where])], the
    value most of them use first."""
    out = {}
    for name in KEYS:
        if name in NOT_THE_PAPERS:
            continue
        where = {}
        for figure, exp, seeds, _ in paper_runs():
            where.setdefault(_value(name, exp, seeds), []).append(figure)
        out[name] = sorted(where.items(), key=lambda kv: -len(kv[1]))
    return out


def paper_text(name: str) -> str:
    """"Paper: 100 (300 in Table 1; ...)": setting ``name`` in the paper's experiment files ('' for none)."""
    values = paper_values().get(name)
    if not values:
        return ""
    (main, _), *others = values
    rest = "; ".join(f"{_fmt(v)} in {_and(figures)}" for v, figures in others)
    return f"Paper: {_fmt(main)}" + (f" ({rest})" if rest else "") + "."


def paper_defaults() -> dict:
    """The value most of the paper's experiments give each setting: name -> value."""
    return {n: v[0][0] for n, v in paper_values().items()}


def help_text(name: str) -> str:
    """A setting's tooltip: what it means and its values in the paper's experiments."""
    doc = Settings.param[name].doc or ""
    paper = paper_text(name)
    return f"{doc} {paper}" if paper else doc


def baseline_help(method: str) -> str:
    """A baseline checkbox's tooltip: what the rule is and where the paper trains it."""
    figures = [figure for figure, _, _, methods in paper_runs() if method in methods]
    return BASELINE_HELP[method] + (f" Paper: {_and(figures)}." if figures else "")


def fields_of(cls) -> tuple:
    return tuple(f.name for f in fields(cls))


__all__ = ["KEYS", "Settings", "baseline_help", "device_note", "help_text", "paper_defaults", "paper_text",
           "paper_values"]
