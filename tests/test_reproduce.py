"""``apexplorer reproduce``: a tiny scale of two real results end to end (training through the sweep executor,
a probe, an analysis, the report), a rerun that trains nothing, missing data, and the command line."""

import dataclasses
import json
import re

import pandas as pd
import pytest

from apexplorer.cli import main
from apexplorer.paper import result
from apexplorer.paper.run import reproduce
from apexplorer.sweep import train_point

TINY = {"wiring.options.size": 16, "dataset": "digits", "train.epochs": 2, "train.batch_size": 64,
        "train.lr": 0.01, "tasks.main.train_size": 300, "tasks.main.test_size": 100}


def tiny(rid, set_=None, grid=None, analysis=None):
    """A registry result with its quick scale cut down to seconds."""
    r = result(rid)
    sc = r.scale("quick")
    sc = dataclasses.replace(sc, seeds=2, set=set_ if set_ is not None else TINY, grid=grid or sc.grid,
                             group_grid={}, analysis=analysis or sc.analysis)
    return dataclasses.replace(r, scales={**r.scales, "quick": sc})


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduction")
    radius = tiny("fig2c", grid={"sr": (0.25, 2.0)},
                  analysis={"lyapunov": {"size": 32, "mle_steps": 50, "trials": 2}})
    afc = tiny("app2", set_={"train.epochs": 2, "train.batch_size": 50}, grid={"tasks.main.noise": (0.0, 4.0)})
    lines = []
    data = reproduce([radius, afc], "quick", None, out, emit=lines.append)
    return out, data, lines


def test_the_report_has_its_files_and_a_section_per_result(report):
    out, data, _ = report
    md = (out / "report.md").read_text()
    assert [r["id"] for r in data["results"]] == ["fig2c", "app2"]
    for heading in ("## Summary", "## Fig. 2c: Accuracy, MLE and FTMLE", "## Appendix 2, Fig. 1b-c: 2AFC",
                    "### The paper's values and ours", "### The trends", "### Points",
                    "### Choices the paper leaves open"):
        assert heading in md, heading
    assert "(figures/fig2c.png)" in md and (out / "figures" / "app2.png").is_file()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and not re.search(r'src="(?!data:)', html)
    assert json.loads((out / "results.json").read_text())["scale"] == "quick"


def test_every_number_is_the_mean_and_sd_over_seeds_of_the_runs(report):
    out, data, _ = report
    runs = pd.read_csv(out / "runs.csv")
    for r in data["results"]:
        for p in r["points"]:
            assert p["status"] == "done" and p["seeds"] == [0, 1]
            best = runs[runs["point"] == p["id"]].groupby("seed")["test_acc"].max()
            st = p["metrics"]["best_test_acc"]
            assert st["n"] == 2 and st["mean"] == pytest.approx(best.mean()) and st["sd"] == pytest.approx(best.std())
            assert p["experiment"]["tasks"]["main"]["dataset"] in ("digits", "2afc")
    values = {v["what"]: v for v in data["results"][1]["values"]}  # app2: the notebook's accuracies beside ours
    assert values["noise 1"]["status"] == "no point"  # the tiny grid has noise 0 and 4 only
    for what in ("noise 0", "noise 4"):
        v = values[what]
        assert v["off"] == pytest.approx(v["ours"] - v["paper"])
        assert v["within"] == (abs(v["off"]) <= v["pm"])


def test_the_probe_and_the_analysis_come_back_with_the_rows(report):
    _, data, _ = report
    afc = data["results"][1]
    for p in afc["points"]:
        curves = p["probes"]
        assert set(curves) == {"0", "1"}
        c = curves["0"]
        assert len(c["tilt"]) == 25 and all(0.0 <= x <= 1.0 for x in c["p_right"]) and "choice" in c
        assert c["noise"] == p["experiment"]["tasks"]["main"]["noise"]
    lyap = data["results"][0]["analyses"]["lyapunov"]
    assert [round(r["sr"], 2) for r in lyap] == [0.25, 2.0] and lyap[0]["mle"] < 0 < lyap[1]["mle"]


def test_a_rerun_trains_nothing_and_keeps_the_numbers(report):
    out, data, _ = report
    again = []
    radius = tiny("fig2c", grid={"sr": (0.25, 2.0)}, analysis={"lyapunov": {"size": 32, "mle_steps": 50, "trials": 2}})
    r2 = reproduce([radius], "quick", None, out, write_report=False, emit=again.append)
    assert any("0 runs to train" in line for line in again)
    first = data["results"][0]["points"][0]["metrics"]["best_test_acc"]
    assert r2["results"][0]["points"][0]["metrics"]["best_test_acc"] == first


def test_a_missing_dataset_is_not_run_and_says_how_to_get_it(tmp_path, monkeypatch):
    import apexplorer.data as data_mod

    monkeypatch.setattr(data_mod, "search_dirs", lambda name, data_dir=None: [tmp_path / "none"])
    r = tiny("fig2ab", set_={**{k: v for k, v in TINY.items() if k != "dataset"}, "tasks.main.train_size": 300})
    r = dataclasses.replace(r, groups=tuple(dataclasses.replace(g, grid=(("dataset", ("mnist", "digits")),))
                                            for g in r.groups))
    lines = []
    data = reproduce([r], "quick", 1, tmp_path / "out", emit=lines.append)
    assert lines[0].startswith("fig2ab (Fig. 2a-b): 2 points x 1 seed at the quick scale; 1 run to train, 1 point not "
                               "run (data missing)"), lines[0]
    block = data["results"][0]
    status = {p["label"]: p["status"] for p in block["points"]}
    assert status == {"AP dataset=mnist": "not run: mnist is not on this machine", "AP dataset=digits": "done"}
    mnist = next(v for v in block["values"] if "MNIST" in v["what"] and "FMNIST" not in v["what"])
    assert mnist["ours"] is None and mnist["text"] == "not run: mnist is not on this machine"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "To get mnist: put the four IDX files" in md


def test_the_command_lists_the_results_and_needs_a_folder(capsys):
    assert main(["reproduce", "--list", "fig5e"]) == 0
    out = capsys.readouterr().out
    assert "fig5e" in out and "digits stands in for MNIST" in out
    assert main(["reproduce", "--list", "sgd-batch1"]) == 0
    assert "quick: 1 point x 3 seeds;" in capsys.readouterr().out
    assert main(["reproduce", "fig2c"]) == 2
    assert "give --out DIR" in capsys.readouterr().err
    assert main(["reproduce", "fig9", "--out", "x"]) == 2
    assert "unknown result 'fig9'" in capsys.readouterr().err


def probe_for_tests(trainer, event):
    """A probe that records the epoch (or 'end') for every member."""
    k = trainer.net.members or 1
    return [{"when": "end" if event is None else event.epoch, "member": i} for i in range(k)]


def test_a_probe_s_values_travel_in_the_rows_of_its_point():
    exp = result("fig2c").experiment("quick").with_changes({**TINY, "train.epochs": 2})
    rows = train_point(exp.to_dict(), (0, 1), "p", probe="tests.test_reproduce:probe_for_tests")
    got = [(r["seed"], r["epoch"], json.loads(r["probe"])) for r in rows]
    assert got == [(0, 1, {"when": 1, "member": 0}), (0, 2, {"when": "end", "member": 0}),
                   (1, 1, {"when": 1, "member": 1}), (1, 2, {"when": "end", "member": 1})]
    bad = train_point(exp.to_dict(), (0,), "p", probe="tests.test_reproduce:nothing")
    assert bad[0]["status"] == "error" and "is not a function" in bad[0]["message"]


def test_the_cosine_probe_tells_b_s_error_from_b_s_input():
    exp = result("fig5e").experiment("quick", "simultaneous").with_changes(
        {"tasks": {"B": "digits", "A": "digits"}, "wiring.options.size": 8, "train.epochs": 1, "train.batch_size": 100})
    rows = train_point(exp.to_dict(), (0,), "p", probe="apexplorer.paper.probes:cosines")
    got = json.loads(rows[-1]["probe"])
    assert set(got) == {"error", "error_min", "update", "update_min", "error_quiet_b"}
    assert got["error"]["L2"] == pytest.approx(1.0) and got["error"]["yA"] == pytest.approx(1.0)
    for m in ("L1", "L3", "L4"):  # B's error is what moves A's errors in the shared modules
        assert got["error"][m] < got["error_quiet_b"][m] <= 1.0 + 1e-6
