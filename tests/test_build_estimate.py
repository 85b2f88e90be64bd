"""An ensemble's build is estimated before it starts and can be cancelled while its members are drawn."""

import threading

import pytest

import apexplorer as ap
from apexplorer.errors import BuildCancelled
from apexplorer.build import build_seconds
from apexplorer.init import cancellable, init_ensemble


def test_build_seconds_scales_with_the_members_and_is_timed_once():
    w = ap.chain([32, 32], 16, 4)
    one = build_seconds(w, 1)
    assert one > 0
    assert build_seconds(w, 100) == pytest.approx(100 * one)  # the same timing, not a new one


def test_a_cancelled_event_stops_drawing_an_ensemble_between_members():
    w = ap.chain([16], 8, 2)
    stop = threading.Event()
    assert init_ensemble(w, [0, 1])["reservoirs"]["L1"].shape[0] == 2  # no event: drawn as before
    stop.set()
    with cancellable(stop), pytest.raises(BuildCancelled, match=r"cancelled after drawing 0 of 3 members"):
        init_ensemble(w, [0, 1, 2])
    assert init_ensemble(w, [0])["reservoirs"]["L1"].shape[0] == 1  # outside the block: no longer watched
