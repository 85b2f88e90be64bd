"""The presenter layout and the shortcuts' popover, without a browser."""

import panel as pn
from bokeh.document import Document
from pyviz_comms import Comm

from apexplorer.app import Explorer
from apexplorer.app.bridge import PRESENTER_FONT


def test_presenter_hides_the_intro_and_the_setup_and_enlarges_the_font():
    e = Explorer(live=False)
    try:
        e.__panel__().get_root(Document(), Comm())
        assert e._intro.visible and e._setup_tabs.visible and not e.bridge.presenter
        e.presenter = True
        assert not e._intro.visible and not e._graph_title.visible and not e._setup_tabs.visible
        assert e.bridge.presenter and e.bridge.font == PRESENTER_FONT and PRESENTER_FONT.startswith("clamp(18px")
        assert e.run.pause.width > 90  # the Run buttons grow with the font
        assert "presenter=1" in e.bridge.query
        e.presenter = False
        assert e._intro.visible and e._setup_tabs.visible and not e.bridge.presenter
        assert "presenter" not in e.bridge.query
    finally:
        e.close()


def test_explorer_presenter_option_opens_the_presenter_layout():
    e = Explorer(live=False, presenter=True)
    try:
        e.__panel__().get_root(Document(), Comm())
        assert e.bridge.presenter and not e._intro.visible
    finally:
        e.close()


def test_a_link_with_presenter_opens_it_and_keeps_the_links_experiment(monkeypatch):
    args = {"presenter": [b"1"], "preset": [b"digits"], "ap.spectral_radius": [b"0.5"]}
    monkeypatch.setattr(type(pn.state), "session_args", property(lambda self: args))
    e = Explorer(live=False)
    try:
        assert e.presenter and e.bridge.presenter
        assert e.state.experiment.ap.spectral_radius == 0.5 and not e.state.message
        assert "presenter=1" in e.bridge.query and "spectral_radius=0.5" in e.bridge.query
    finally:
        e.close()
    args["presenter"] = [b"0"]
    e = Explorer(live=False)
    try:
        assert not e.presenter
    finally:
        e.close()


def test_escape_closes_the_shortcuts_popover_and_help_toggles_it():
    e = Explorer(live=False)
    try:
        e.key("help")
        assert e.keys_help.visible and "Esc" in e.keys_help.object
        e.key("close")
        assert not e.keys_help.visible
        e.key("close")  # closing a closed popover opens nothing
        assert not e.keys_help.visible
        assert e.keys_help.styles["position"] == "absolute"  # it floats: it takes no room in the column
    finally:
        e.close()


def test_the_p_key_switches_the_presenter_layout():
    e = Explorer(live=False)
    try:
        e.key("presenter")
        assert e.presenter and e.bridge.presenter
        e.key("presenter")
        assert not e.presenter and not e.bridge.presenter
        assert "| P |" in e.keys_help.object
    finally:
        e.close()
