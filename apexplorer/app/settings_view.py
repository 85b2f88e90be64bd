"""The Settings panel: the run's settings as widgets (each with a tooltip: its meaning and the
paper's default), the library's message when one is invalid, and a question before a
structural change resets a trained network."""

from __future__ import annotations

import panel as pn

from ..devices import device_choices, device_labels
from ..baseline_runs import BASELINE_NAMES
from .safe import escape, in_place, message, set_shown, show
from .session import ExplorerState
from ..table import widget_rows
from .settings import baseline_help, device_note, help_text

def widget_class(r):
    """The widget of a row of the table: a number box, a menu (two choices: buttons), a checkbox or a text box."""
    if r.choices is not None or r.key == "train.device":
        return pn.widgets.RadioButtonGroup if r.choices is not None and len(r.choices) <= 2 else pn.widgets.Select
    return {"int": pn.widgets.IntInput, "float": pn.widgets.FloatInput, "bool": pn.widgets.Checkbox}.get(
        r.kind, pn.widgets.TextInput)


#: The widget class of each setting on the panel (the table's rows with a label).
WIDGETS = {r.name: widget_class(r) for r in widget_rows()}
#: Each setting's label on the panel.
LABELS = {r.name: r.label for r in widget_rows()}
#: Where the panel lays out its settings, by group; a setting of the table in none of them goes under "More".
LAYOUT = (("modules", ("spectral_radius", "connection_rate")), ("phases", ("t1", "t2", "beta", "mode")),
          ("training", ("lr", "batch_size", "epochs", "seed", "seeds", "device", "precision")))

BASELINE_LABELS = {name: method for method, name in BASELINE_NAMES.items()}


class SettingsView(pn.viewable.Viewer):
    """Widgets bound to ``state.settings``; structural changes ask before a reset."""

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
        s = state.settings
        self.widgets = {}
        for name, cls in WIDGETS.items():
            kw = {"width": 150} if cls is not pn.widgets.RadioButtonGroup else {}
            if cls in (pn.widgets.Select, pn.widgets.RadioButtonGroup):
                kw["options"] = list(s.param[name].objects)
            if cls in (pn.widgets.IntInput, pn.widgets.FloatInput):
                # no hard bounds (from_param takes the soft ones): the library judges, and says why
                kw.update(start=None, end=None)
            if cls is pn.widgets.FloatInput and s.param[name].step is not None:
                kw["step"] = s.param[name].step
            kw["description"] = help_text(name)
            if name == "device":
                self.widgets[name] = self._device_menu(**kw)
                continue
            w = cls.from_param(s.param[name], label=LABELS[name], **kw) if cls is not pn.widgets.RadioButtonGroup \
                else cls.from_param(s.param[name], **kw)
            self.widgets[name] = w
        self.mode_help = pn.widgets.TooltipIcon(value=help_text("mode"), margin=(5, 0))
        self.where = pn.pane.Markdown("", margin=(0, 5), styles={"color": "#555"}, css_classes=["ap-device-note"],
                                      sizing_mode="stretch_width")
        s.param.watch(self._on_device, "device")
        self._on_device()
        # ticked baselines are a structural change: they train beside a fresh network (Reset / apply)
        # a box per baseline (a group of one: its label is the box's accessible name), each with its tooltip
        self.baselines = {m: pn.widgets.CheckBoxGroup(options={label: m}, value=[m] if m in state.baselines else [],
                                                      margin=(5, 0, 5, 10))
                          for label, m in BASELINE_LABELS.items()}
        for box in self.baselines.values():
            box.param.watch(self._on_baselines, "value")
        self.baseline_help = {m: pn.widgets.TooltipIcon(value=baseline_help(m), margin=(5, 10, 5, 0))
                              for m in self.baselines}
        state.model.param.watch(self._follow_baselines, "baselines")
        self.error = message("danger")
        self.ask = message("warning", visible=True)
        self.apply = pn.widgets.Button(label="Reset and apply", color="warning")
        self.revert = pn.widgets.Button(label="Keep the trained network", variant="outline")
        self.apply.on_click(lambda e: self.state.reset())
        self.revert.on_click(self._on_revert)
        # comes and goes with each structural edit (a path drawn on the graph): shown and hidden in CSS
        # (:func:`~.safe.set_shown`), not by a Bokeh ``visible``, which would lay the whole page out again
        self.confirm = in_place(pn.Column(self.ask, pn.Row(self.apply, self.revert), sizing_mode="stretch_width"))
        state.notices.param.watch(self._on_state, "message")
        state.model.param.watch(self._on_state, "pending")
        self._on_state()

    def ticked(self) -> list:
        """The baselines ticked, in the boxes' order."""
        return [m for m, box in self.baselines.items() if box.value]

    def tick(self, method: str, on: bool = True) -> None:
        """Tick (or untick) the box of baseline ``method``, as a click does."""
        self.baselines[method].value = [method] if on else []

    def _on_baselines(self, event):
        if getattr(self, "_following", False):  # the boxes follow the experiment one by one: not an edit
            return
        if sorted(self.ticked()) != sorted(self.state.baselines):
            self.state.baselines = self.ticked()

    def _follow_baselines(self, event):
        self._following = True
        try:
            for m, box in self.baselines.items():
                if bool(box.value) != (m in event.new):
                    box.value = [m] if m in event.new else []
        finally:
            self._following = False

    def _on_revert(self, event=None):
        self.state.revert()

    def _device_menu(self, **kw):
        """The device menu, by names (``GPU 1: NVIDIA H200 (cuda:1)``), linked both ways to the setting."""
        s = self.state.settings
        kw.pop("options", None)
        kw.pop("width", None)  # a row of its own: a GPU's whole name shows ("auto (GPU 0: NVIDIA H100 80GB HBM3)")
        kw["sizing_mode"] = "stretch_width"
        objects = list(dict.fromkeys([*device_choices(), *s.param.device.objects]))  # every GPU the menu offers
        if objects != list(s.param.device.objects):
            s.param.device.objects = objects
        w = pn.widgets.Select(label=LABELS["device"], options=self._device_options(), value=s.device, **kw)
        w.param.watch(lambda e: setattr(s, "device", e.new), "value")
        s.param.watch(self._on_device_choices, "device", what="objects")
        return w

    def _device_options(self) -> dict:
        labels = device_labels()
        extra = [d for d in self.state.settings.param.device.objects if d not in labels.values()]
        return {**labels, **{f"{d} (not on this server)": d for d in extra}}

    def _on_device_choices(self, *events):
        w = self.widgets["device"]
        w.options = self._device_options()
        w.value = self.state.settings.device

    def _on_device(self, *events):
        if "device" in self.widgets and self.widgets["device"].value != self.state.settings.device:
            self.widgets["device"].value = self.state.settings.device
        self.where.object = device_note(self.state.settings.device)

    def _on_state(self, *events):
        st = self.state
        err = st.settings.check()
        show(self.error, err)
        pend = st.pending
        trained = st.runner.state in ("running", "paused", "finished")
        set_shown(self.confirm, bool(pend) and trained)
        if pend:
            self.ask.object = (f"Changed: **{escape(', '.join(p.replace('_', ' ') for p in pend))}**. These change the "
                               "network itself: applying them starts a fresh, untrained network.")

    def _more(self) -> list:
        """The settings of the table that the layout does not place, two a row under "More"."""
        placed = {n for _, names in LAYOUT for n in names}
        rest = [pn.Column(pn.pane.Markdown(LABELS[n], margin=(0, 5)), self.widgets[n])
                if WIDGETS[n] is pn.widgets.RadioButtonGroup else self.widgets[n] for n in WIDGETS if n not in placed]
        if not rest:
            return []
        return [pn.pane.Markdown("**More**", margin=(0, 5)),
                *(pn.Row(*rest[i:i + 2]) for i in range(0, len(rest), 2))]

    def __panel__(self):
        w = self.widgets
        return pn.Column(
            self.confirm,
            self.error,
            pn.pane.Markdown("**Modules** (every module; per-module values in the Network table)", margin=(0, 5)),
            pn.Row(w["spectral_radius"], w["connection_rate"]),
            pn.pane.Markdown("**Phases**", margin=(0, 5)),
            pn.Row(w["t1"], w["t2"]),
            pn.Row(w["beta"], pn.Column(pn.Row(pn.pane.Markdown("Error mode", margin=(0, 5)), self.mode_help),
                                        w["mode"])),
            pn.pane.Markdown("**Training** (ρ, c, batch size, seed, seeds, device and precision rebuild the network)",
                             margin=(0, 5)),
            pn.Row(w["lr"], w["batch_size"]),
            pn.Row(w["epochs"], w["seed"]),
            pn.Row(w["seeds"], w["precision"]),
            w["device"],
            *self._more(),
            self.where,
            pn.pane.Markdown("**Compare** (baselines train beside AP on the same batches, with hidden layers as "
                             "wide as AP's modules; ticking one rebuilds the network)", margin=(0, 5)),
            # each box with its tooltip; the pairs wrap within the panel's width
            pn.FlexBox(*(pn.Row(self.baselines[m], self.baseline_help[m]) for m in self.baselines),
                       flex_wrap="wrap", sizing_mode="stretch_width", css_classes=["ap-baselines"]),
            sizing_mode="stretch_width",
        )
