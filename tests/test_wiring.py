"""Wiring validation, JSON round trips and graph ordering on toy wirings."""

import json
import re
import warnings

import pytest

from apexplorer import Module, Path, Port, Task, Wiring, WiringError, WiringWarning, chain, preset, preset_names
from apexplorer import graph
from apexplorer.plan import make_plan


def _mods(*names, size=8):
    return [Module(n, size, {"RI": 2, "SI": 2, "RE": 2, "SE": 2}) for n in names]


def test_chain_round_trips_through_json(tiny_wiring):
    again = Wiring.from_json(tiny_wiring.to_json())
    assert again == tiny_wiring
    assert again.to_dict() == tiny_wiring.to_dict()


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_validates_and_round_trips(name):
    w = preset(name, 64, 10)
    assert Wiring.from_dict(json.loads(w.to_json())) == w


def test_unknown_block_is_named_with_valid_choices():
    with pytest.raises(WiringError, match=r"module 'L1' has no block 'XX'; its blocks are RI, SI, RE, SE"):
        Wiring.create(_mods("L1"), [Port("x", 3)], [Port("y", 2)], [Path("x", "L1.XX"), Path("L1.SI", "y")], [])


def test_unknown_module_is_named_with_valid_choices():
    with pytest.raises(WiringError, match=r"module 'L3' does not exist; modules are L1, L2"):
        Wiring.create(_mods("L1", "L2"), [Port("x", 3)], [Port("y", 2)],
                      [Path("x", "L1.RI"), Path("L1.SI", "L2.RI"), Path("L2.SI", "y")], [Path("L2.SE", "L3.RE")])


def test_blocks_must_add_up_to_module_size():
    with pytest.raises(WiringError, match=r"blocks add up to 7 .* module size is 8"):
        Wiring.create([Module("L1", 8, {"RI": 2, "SI": 2, "RE": 2, "SE": 1})], [Port("x", 3)], [Port("y", 2)],
                      [Path("x", "L1.RI"), Path("L1.SI", "y")], [])


@pytest.mark.parametrize("size", [0, -4, 2.5], ids=["zero", "negative", "float"])
def test_bad_module_size_is_rejected(size):
    with pytest.raises(WiringError, match="size"):
        Wiring.create([Module("L1", size, {"RI": 1})], [Port("x", 3)], [Port("y", 2)], [Path("x", "L1.RI")], [])


@pytest.mark.parametrize("rate", [0, 0.0, -0.1, 1.0000001, 2, float("nan"), float("inf"), True, "0.5"],
                         ids=["zero", "zero-float", "negative", "above-one", "two", "nan", "inf", "bool", "text"])
def test_a_connection_rate_outside_0_to_1_is_named_with_the_valid_range(rate):
    mods = [Module("L1", 8, {"RI": 2, "SI": 2, "RE": 2, "SE": 2}, connection_rate=rate)]
    msg = rf"module 'L1': connection rate {re.escape(repr(rate))} must be in \(0, 1\]"
    with pytest.raises(WiringError, match=msg):
        Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], [Path("x", "L1.RI"), Path("L1.SI", "y")], [])
    if isinstance(rate, (int, float)):
        with pytest.raises(WiringError, match=msg):
            chain([8], 3, 2, connection_rate=rate)
        with pytest.raises(WiringError, match=msg):
            chain([8], 3, 2).with_connection_rate(rate)
        d = chain([8], 3, 2).to_dict()
        d["modules"][0]["connection_rate"] = rate
        with pytest.raises(WiringError, match=msg):
            Wiring.from_dict(d)


@pytest.mark.parametrize("rate", [1e-9, 0.5, 1, 1.0])
def test_a_connection_rate_in_0_to_1_is_accepted(rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WiringWarning)
        w = chain([8], 3, 2, connection_rate=rate)
    assert w.module("L1").connection_rate == rate


def test_feedforward_cycle_is_rejected_and_shown():
    ff = [Path("x", "L1.RI"), Path("L1.SI", "L2.RI"), Path("L2.SI", "L1.RI"), Path("L2.SI", "y")]
    with pytest.raises(WiringError, match=r"cycle L1 -> L2 -> L1|cycle L2 -> L1 -> L2"):
        Wiring.create(_mods("L1", "L2"), [Port("x", 3)], [Port("y", 2)], ff, [])


def test_unreachable_output_is_rejected():
    ff = [Path("x", "L1.RI"), Path("L2.SI", "y")]
    with pytest.raises(WiringError, match=r"output 'y' cannot be reached from input 'x'"):
        Wiring.create(_mods("L1", "L2"), [Port("x", 3)], [Port("y", 2)], ff, [])


def test_module_without_error_gets_a_warning_not_an_error():
    ff = [Path("x", "L1.RI"), Path("L1.SI", "y")]
    with pytest.warns(WiringWarning, match=r"'x->L1.RI' feeds module 'L1', which no error reaches"):
        w = Wiring.create(_mods("L1"), [Port("x", 3)], [Port("y", 2)], ff, [])
    assert w.warnings


def test_zero_sized_error_blocks_are_reservoir_computing():
    blocks = {"RI": 4, "SI": 4, "RE": 0, "SE": 0}
    with pytest.warns(WiringWarning):
        w = chain([8], 3, 2, blocks=blocks)
    assert w.module("L1").block_size("RE") == 0


def test_unknown_json_key_is_named():
    d = chain([8], 3, 2).to_dict()
    d["modulez"] = []
    with pytest.raises(WiringError, match=r"unknown wiring key\(s\) \['modulez'\]"):
        Wiring.from_dict(d)


def test_task_with_unknown_path_is_rejected(tiny_wiring):
    d = tiny_wiring.to_dict()
    d["tasks"] = [{"name": "t", "input": "x", "output": "y", "paths": ["x->L1.RI", "nope"]}]
    with pytest.raises(WiringError, match=r"path 'nope' does not exist"):
        Wiring.from_dict(d)


def test_feedback_from_input_is_rejected():
    with pytest.raises(WiringError, match="feedback paths start at an output port"):
        Wiring.create(_mods("L1"), [Port("x", 3)], [Port("y", 2)], [Path("x", "L1.RI"), Path("L1.SI", "y")],
                      [Path("x", "L1.RE")])


# ---------------------------------------------------------------- ordering
def test_topological_order_follows_edges_not_listing_order():
    assert graph.topological_order(["C", "A", "B"], [("A", "B"), ("B", "C")]) == ["A", "B", "C"]


def test_topological_order_keeps_listing_order_for_ties():
    assert graph.topological_order(["B", "A"], []) == ["B", "A"]


def test_find_cycle_returns_none_for_a_dag():
    assert graph.find_cycle(["a", "b", "c"], [("a", "b"), ("a", "c"), ("b", "c")]) is None


def test_plan_orders_inference_forward_and_learning_backward():
    # modules listed out of order; the plan must follow the graph
    mods = _mods("L3", "L1", "L2")
    ff = [Path("x", "L1.RI"), Path("L1.SI", "L2.RI"), Path("L2.SI", "L3.RI"), Path("L3.SI", "y")]
    fb = [Path("y", "L3.RE"), Path("L3.SE", "L2.RE"), Path("L2.SE", "L1.RE")]
    w = Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb)
    plan = make_plan(w, w.tasks[0])
    assert [m for m, _ in plan.inference] == ["L1", "L2", "L3"]
    assert [m for m, _ in plan.learning] == ["L3", "L2", "L1"]


def test_plan_of_a_branching_wiring():
    # x feeds A and B; both feed C; error skips from C straight to A
    mods = _mods("C", "B", "A")
    ff = [Path("x", "A.RI"), Path("x", "B.RI"), Path("A.SI", "C.RI"), Path("B.SI", "C.RI", "b2c"), Path("C.SI", "y")]
    fb = [Path("y", "C.RE"), Path("C.SE", "A.RE"), Path("C.SE", "B.RE")]
    w = Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb)
    plan = make_plan(w, w.tasks[0])
    order = [m for m, _ in plan.inference]
    assert order.index("C") > order.index("A") and order.index("C") > order.index("B")
    assert [m for m, _ in plan.learning][0] == "C"
    assert {name for name, _, _ in plan.learn} == {p.name for p in ff}


def test_suppressed_paths_leave_modules_out_of_the_plan():
    mods = _mods("L1", "L2")
    ff = [Path("x", "L1.RI"), Path("L1.SI", "y"), Path("L1.SI", "L2.RI"), Path("L2.SI", "y")]
    fb = [Path("y", "L1.RE"), Path("y", "L2.RE")]
    task = Task("short", "x", "y", paths=("x->L1.RI", "L1.SI->y", "y->L1.RE"))
    w = Wiring.create(mods, [Port("x", 3)], [Port("y", 2)], ff, fb, [task])
    plan = make_plan(w, task)
    assert [m for m, _ in plan.inference] == ["L1"]
    assert [m for m, _ in plan.learning] == ["L1"]


def test_layout_hints_travel_with_the_wiring_and_name_a_missing_module():
    from apexplorer.wiring import chain
    from apexplorer.errors import WiringError

    w = chain([8, 8], 3, 2).with_position("L2", 4.5, -2.0)
    assert w.position("L2") == (4.5, -2.0) and w.position("L1") is None
    d = w.to_dict()
    assert d["layout"] == {"L2": [4.5, -2.0]}
    assert Wiring.from_dict(d) == w and w.without_layout() == chain([8, 8], 3, 2)
    assert "layout" not in chain([8, 8], 3, 2).to_dict()  # a wiring without hints is written as before
    with pytest.raises(WiringError, match=r"layout: module 'L9' does not exist; modules are L1, L2"):
        Wiring.from_dict({**d, "layout": {"L9": [0, 0]}})
    with pytest.raises(WiringError, match=r"layout of module 'L1': \['a', 0\] must be \[x, y\]"):
        Wiring.from_dict({**d, "layout": {"L1": ["a", 0]}})


@pytest.mark.parametrize("source,target,kind,message", [
    ("L1.SI", "L2.RI", "feedforward", ""), ("x", "L1.RI", "feedforward", ""), ("L2.SI", "y", "feedforward", ""),
    ("L2.SE", "L1.RE", "feedback", ""), ("y", "L1.RE", "feedback", ""),
    ("L1.SI", "L2.RE", "", "L1.SI sends inference, but L2.RE receives error"),
    ("L2.SE", "L1.RI", "", "L2.SE sends error, but L1.RI receives inference"),
    ("L1.RI", "L2.RI", "", "L1.RI receives inference, so no path starts there"),
    ("x", "y", "", "skips every module"),
])
def test_a_path_drawn_between_two_blocks_gets_its_kind_from_their_roles(source, target, kind, message):
    from apexplorer.wiring import chain
    from apexplorer.errors import WiringError
    from apexplorer.wiring_checks import new_path_kind

    w = chain([8, 8], 3, 2)
    if kind:
        assert new_path_kind(w, source, target) == kind
    else:
        with pytest.raises(WiringError, match=message):
            new_path_kind(w, source, target)
