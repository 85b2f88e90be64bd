"""The device menu of the Settings tab on machines faked with monkeypatched torch.cuda: every GPU by index
and name where there are several, and words for a page visitor where there is none; the CLI keeps its own."""

import pytest
import torch

from apexplorer.devices import NO_CUDA_BUILD, NO_CUDA_DEVICE, device_choices, device_labels, no_gpu_reason, \
    resolve_device
from apexplorer.errors import ApexplorerError


def fake_gpus(monkeypatch, names, built=True):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: bool(names))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(names))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: names[d if isinstance(d, int) else
                                                                            (d.index or 0)])
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: built)


@pytest.fixture
def state():
    from apexplorer.app.session import ExplorerState

    st = ExplorerState("digits")  # built on this machine, before torch is faked
    yield st
    st.close()


def test_two_gpus_are_offered_by_index_and_name(monkeypatch, state):
    from apexplorer.app.settings_view import SettingsView

    fake_gpus(monkeypatch, ["Fake A100", "Fake H200"])
    assert device_choices() == ["auto", "cpu", "cuda:0", "cuda:1"]
    assert device_labels() == {"auto (GPU 0: Fake A100)": "auto", "CPU": "cpu", "GPU 0: Fake A100 (cuda:0)": "cuda:0",
                               "GPU 1: Fake H200 (cuda:1)": "cuda:1"}
    view = SettingsView(state)
    menu = view.widgets["device"]
    assert menu.options == device_labels() and menu.value == state.settings.device
    assert view.where.object == "Trains on: GPU 0: Fake A100"
    assert list(state.settings.param.device.objects) == ["auto", "cpu", "cuda:0", "cuda:1"]
    menu.value = "cpu"  # the menu writes the setting (cpu: nothing here needs the fake GPUs)
    assert state.settings.device == "cpu" and view.where.object == "Trains on: CPU"


@pytest.mark.parametrize("built,why", [(False, "(The server's torch has no CUDA support.)"),
                                       (True, "(No CUDA device is visible to the server.)")],
                         ids=["cpu-only-torch", "no-visible-device"])
def test_without_a_gpu_the_page_says_so_in_its_own_words(monkeypatch, state, built, why):
    from apexplorer.app.settings import device_note
    from apexplorer.app.settings_view import SettingsView

    fake_gpus(monkeypatch, [], built=built)
    assert no_gpu_reason() == (NO_CUDA_DEVICE if built else NO_CUDA_BUILD)
    view = SettingsView(state)
    assert list(view.widgets["device"].options.values()) == ["auto", "cpu"]
    assert view.where.object == f"No GPU found on the server: training runs on the CPU. {why}"
    note = device_note("cuda:1")
    assert note.startswith("This experiment asks for cuda:1, but no GPU was found on the server: choose auto or CPU")
    assert "--device" not in view.where.object + note + "".join(view.widgets["device"].options)


def test_the_cli_keeps_its_flag_words(monkeypatch):
    fake_gpus(monkeypatch, [])
    with pytest.raises(ApexplorerError, match="use --device cpu or auto"):
        resolve_device("cuda")


def test_a_gpu_index_beyond_the_machines_says_which_there_are(monkeypatch):
    from apexplorer.app.settings import device_note

    fake_gpus(monkeypatch, ["Fake A100", "Fake H200"])
    assert device_note("cuda:3") == "cuda:3 is not on this server, whose GPUs are cuda:0, cuda:1: choose one of them, or auto."
