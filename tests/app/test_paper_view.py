"""The Paper gallery view: it lists the paper's results, loads a point's experiment through its callback, and shows
a report's numbers beside the paper's."""

import json

import pytest

from apexplorer.app.files import ServerFiles
from apexplorer.app.paper_view import PaperView
from apexplorer.app.safe import escape
from apexplorer.experiment import Experiment
from apexplorer.paper import gallery, result, results
from tests.app.conftest import render


def test_it_lists_every_result_of_the_paper_and_its_points():
    v = PaperView()
    render(v)
    assert v.param.result.objects == [r.id for r in results()]
    v.result = "fig5e"
    assert v.param.point.objects == ["alternating", "simultaneous", "A alone", "B alone", "A separate", "B separate"]
    assert "Fig. 5b, 5e" in v.header.object and escape("88.73 %") in v.values.object
    assert "no report of ours loaded" in v.header.object


def test_load_hands_the_chosen_point_s_experiment_to_the_callback():
    got = []
    v = PaperView(on_load=got.append)
    v.param.update(result="fig5f", scale="paper", point="simultaneous")
    v.load_button.clicks += 1
    assert len(got) == 1 and isinstance(got[0], Experiment)
    assert got[0] == result("fig5f").experiment("paper", "simultaneous") == v.loaded
    assert (got[0].wiring.preset, got[0].train.schedule, got[0].init.scheme) == ("fig5c", "simultaneous", "gaussian")


def test_changing_the_scale_keeps_a_point_that_exists_at_both():
    v = PaperView(result="fig2c", scale="paper")
    v.point = "AP sr=0.5"
    v.scale = "quick"
    assert v.point == "AP sr=0.5" and v.experiment().get("wiring.options.size") == 256


@pytest.fixture
def report_dir(tmp_path):
    block = {"id": "fig2ab", "scale": "quick", "values": [
        {"what": "FMNIST test accuracy, two modules of 1024", "metric": "best_test_acc", "paper": 0.8897,
         "pm": None, "ours": 0.8234, "sd": 0.0021, "n": 3, "status": "done", "within": None, "off": -0.0663,
         "text": "6.63 points below (the paper gives no ±)"},
        {"what": "MNIST test accuracy, two modules of 1024", "metric": "best_test_acc", "paper": 0.9747,
         "pm": None, "ours": None, "status": "not run: mnist is not on this machine",
         "text": "not run: mnist is not on this machine"}],
        "claims": [{"what": "the test accuracy rises over training (FMNIST)", "holds": True,
                    "ours": "epoch 1 48.5 %, best 82.3 %"}]}
    (tmp_path / "results.json").write_text(json.dumps({"scale": "quick", "results": [block]}))
    return tmp_path


def test_a_report_s_numbers_are_shown_beside_the_paper_s(report_dir):
    v = PaperView(result="fig2ab", shipped=report_dir)
    render(v)
    rows = {r["what"]: r for r in gallery.rows("fig2ab", gallery.read_report(report_dir))}
    fm = rows["FMNIST test accuracy, two modules of 1024"]
    assert fm["paper"] == "88.97 %" and fm["ours"] == "82.34 ± 0.21 % (n = 3, quick)"
    assert escape("82.34 ± 0.21 % (n = 3, quick)") in v.values.object and escape("6.63 points below") in v.values.object
    assert escape("not run: mnist is not on this machine") in v.values.object
    assert (f"| {escape('the test accuracy rises over training (FMNIST)')} | {escape('epoch 1 48.5 %, best 82.3 %')} | "
            "yes |") in v.claims.object
    assert "the report shipped with apexplorer" in v.header.object and str(report_dir) not in v.header.object
    assert not v.message.visible
    v.result = "fig2c"  # a result the report does not have
    assert "lacks it" in v.header.object


def test_a_report_comes_only_from_the_package_an_upload_or_the_operator_s_folder(tmp_path, report_dir):
    v = PaperView(result="fig2ab", files=ServerFiles(report_dir))
    render(v)
    assert v.param.report.objects == ["none"] and "no report of ours loaded" in v.header.object
    for data, words in [(b"", "is empty"), (bytes(range(256)) * 4, "is not a text file"),
                        (b"{not json", "cannot read the report"), (b'{"results": 1}', "has no list of 'results'"),
                        (b'{"results": [{"id": "fig2ab", "values": [{"what": "x", "ours": "<b>"}]}]}',
                         "results[0].values[0].ours is str, not a number")]:
        assert not v.read_upload(data, "mine.json")
        assert v.message.visible and escape(words) in v.message.object, words
        assert escape("results.json that") in v.message.object  # says what a report is
    assert v.read_upload((report_dir / "results.json").read_bytes(), "mine.json")
    assert not v.message.visible and "uploaded report mine" in v.header.object.replace("\\", "")
    assert "82" in v.values.object
    for name in ["/etc/passwd", "../x", "nowhere"]:  # only names inside the operator's folder
        assert not v.read_server(name)
        assert str(tmp_path) not in v.message.object.replace("\\", "")
    assert v.read_server("results.json") and v.report == "server: results.json"
    v.report = "none"
    assert "no report of ours loaded" in v.header.object
