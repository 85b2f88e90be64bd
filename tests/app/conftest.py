"""Fixtures of the explorer's tests: a clean Panel state, one torch thread, tiny networks."""

import pytest

import apexplorer as ap
from tests.single_thread import one_thread  # noqa: F401 - autouse: the served app runs torch on few threads too


@pytest.fixture(autouse=True)
def clean_panel_state():
    import panel as pn

    yield
    pn.state.reset()


@pytest.fixture
def digits():
    return ap.load_dataset("digits")


@pytest.fixture
def small_wiring(digits):
    """x(64) -> L1(32) -> L2(32) -> y(10), blocks of 8, with error paths back."""
    return ap.chain([32, 32], digits.n_features, digits.n_classes, name="small")


def wait_for(pred, timeout=20.0, step=0.05, tick=None):
    """Poll ``pred`` (calling ``tick`` between polls) until it is true or ``timeout`` passes."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if tick is not None:
            tick()
        if pred():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def wait():
    """``wait(pred, timeout=20, tick=None)``: poll until ``pred()`` is true."""
    return wait_for
