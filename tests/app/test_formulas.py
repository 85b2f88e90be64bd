"""The formula panel: which terms of the rule each frame of the error-flow player lights."""

import pytest
from bokeh.document import Document
from pyviz_comms import Comm

import apexplorer as ap
from apexplorer.app import ErrorFlowPlayer
from apexplorer.app.formulas import LIT, TERMS, UNLIT, FormulaPanel, terms_of
from apexplorer.app.player import flow_frames
from apexplorer.trace import trace_sample


@pytest.mark.parametrize("phase, lit", [
    ("input", ("drive",)),
    ("inference", ("drive", "relax")),
    ("readout", ("readout",)),
    ("error", ("output_error", "inject")),
    ("learning", ("inject", "relax")),
    ("local", ("local",)),
    ("update", ("update",)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_phase_lights_its_terms(phase, lit):
    assert terms_of(phase) == lit


def test_an_unknown_phase_names_the_valid_ones():
    with pytest.raises(ValueError, match="phase 'relax' has no formula; phases are input, inference"):
        terms_of("relax")


def test_every_term_is_written_with_the_papers_symbols():
    latex = {t.key: t.latex for t in TERMS}
    assert latex["relax"].startswith(r"h_{t+1} = f") and "W_k" in latex["relax"] and "u_k" in latex["relax"]
    assert r"\beta" in latex["inject"] and "G_q" in latex["inject"]
    assert latex["local"] == r"e_k = z^0_k - z^1_k"
    assert r"frac{1}{B}" in latex["update"] and r"a_p^{\top} e_k" in latex["update"]
    for t in TERMS:  # a brace left open would stop MathJax typesetting the row
        assert t.latex.count("{") == t.latex.count("}"), t.key


@pytest.fixture
def player(small_wiring, digits):
    net = ap.Network(small_wiring, ap.APConfig(t1=3, t2=2), seed=0)
    p = trace_sample(net, digits.x_test[0], int(digits.y_test[0]))
    view = ErrorFlowPlayer()
    view.__panel__().get_root(Document(), Comm())
    view.set_trace(p, small_wiring)
    return view


def lit_rows(panel: FormulaPanel) -> set:
    return {k for k, row in panel.rows.items() if "ap-term-on" in row.css_classes}


def test_stepping_the_player_lights_the_terms_of_each_frame(player):
    seen = []
    for i, frame in enumerate(player.frames):
        player.frame = i
        assert tuple(player.formulas.lit) == terms_of(frame.phase), frame.title
        assert lit_rows(player.formulas) == set(terms_of(frame.phase)), frame.title
        seen.append(frame.phase)
    assert {"input", "inference", "readout", "error", "learning", "local", "update"} <= set(seen)


def test_phase_1_lights_the_injection_and_phase_0_does_not(player):
    phases = [f.phase for f in player.frames]
    player.frame = phases.index("inference")
    assert "inject" not in lit_rows(player.formulas) and "relax" in lit_rows(player.formulas)
    player.frame = phases.index("learning")
    assert {"inject", "relax"} == lit_rows(player.formulas)
    lit = player.formulas.rows["inject"].styles
    assert lit["background"] == LIT["background"]
    assert player.formulas.rows["drive"].styles["background"] == UNLIT["background"]


def test_a_frame_list_covers_only_phases_with_formulas(small_wiring, digits):
    net = ap.Network(small_wiring, ap.APConfig(t1=2, t2=2, mode="epe"), seed=1)
    frames = flow_frames(trace_sample(net, digits.x_test[1], int(digits.y_test[1])), small_wiring)
    for f in frames:
        assert terms_of(f.phase)


def test_a_lit_term_says_what_its_symbols_stand_for(player):
    player.frame = [f.phase for f in player.frames].index("learning")
    labels = player.formulas.labels
    assert "ε = e_out" in labels["inject"].object and "T₂" in labels["relax"].object
    assert labels["update"].object == "<b>Update</b>"  # unlit: its name only
