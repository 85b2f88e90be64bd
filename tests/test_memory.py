"""The memory check: a network that cannot fit is refused in plain words before torch allocates."""

import time

import pytest

import apexplorer as ap
from apexplorer.errors import ApexplorerError
from apexplorer.memory import check_memory, format_bytes, free_bytes, memory_needed


def test_the_estimate_covers_every_tensor_of_a_built_network(tiny_wiring):
    net = ap.Network(tiny_wiring, ap.APConfig(t1=2, t2=2), seed=0)
    held = sum(t.numel() * t.element_size() for group in net.tensors.values() for t in group.values())
    need = memory_needed(tiny_wiring)
    assert held <= need.tensors <= 6 * held  # Adam's moments and the guard's copies come on top


def test_an_ensemble_and_a_batch_scale_the_estimate(tiny_wiring):
    one, four = memory_needed(tiny_wiring, batch_size=32), memory_needed(tiny_wiring, batch_size=32, members=4)
    assert four.tensors == 4 * one.tensors and four.batch == 4 * one.batch
    assert memory_needed(tiny_wiring, batch_size=64).batch == 2 * one.batch


def test_a_huge_module_is_refused_with_bytes_needed_and_free():
    w = ap.chain([100_000], 64, 10)
    with pytest.raises(ApexplorerError) as e:
        check_memory(w, batch_size=32, free={"cpu": 21_300_000_000})
    msg = str(e.value)
    assert msg.startswith("this network needs ") and "but only 21.3 GB are free" in msg
    assert "module 'L1' of 100,000 neurons takes 360.0 GB" in msg


def test_a_network_too_big_for_this_machine_fails_at_once_in_plain_words():
    t = time.monotonic()
    with pytest.raises(ApexplorerError, match=r"this network needs .* but only .* are free"):
        ap.Network(ap.chain([100_000], 64, 10), ap.APConfig())
    assert time.monotonic() - t < 5  # nothing was allocated


def test_a_small_network_fits(tiny_wiring):
    assert check_memory(tiny_wiring, batch_size=32).total < 10_000_000
    assert free_bytes("cpu") > 0


@pytest.mark.parametrize("n, text", [(512, "512 B"), (21_300_000_000, "21.3 GB"), (8e10, "80.0 GB"),
                                     (3.6e14, "360.0 TB")], ids=["bytes", "gb", "80gb", "tb"])
def test_bytes_read_as_people_say_them(n, text):
    assert format_bytes(n) == text
