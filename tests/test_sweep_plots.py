"""Sweep plots and the Sweeps view, on a results table with exactly known values."""

import math

import pandas as pd
import pytest

from apexplorer.sweep import plots as sp
from apexplorer.errors import ApexplorerError
from apexplorer.app.safe import escape

RADII = (0.01, 0.1, 1.0)
STEPS = (2, 8)
SEEDS = (0, 1, 2)


def acc(rho, steps, seed, epoch):
    """A known accuracy: grows with epoch, peaks at rho 0.1, varies over seeds by +-0.01."""
    return 0.5 + 0.1 * epoch - 0.05 * abs(math.log10(rho) + 1) + 0.01 * (seed - 1) + 0.001 * steps


@pytest.fixture
def table():
    rows = []
    for rho in RADII:
        for steps in STEPS:
            for seed in SEEDS:
                for epoch in (1, 2):
                    rows.append({"point": f"p{rho}-{steps}", "seed": seed, "epoch": epoch, "dataset": "digits",
                                 "sr": rho, "steps": steps, "t1": steps, "t2": steps, "lr": 0.005, "beta": 1.0,
                                 "test_acc": acc(rho, steps, seed, epoch), "train_acc": 0.9, "loss": 1.0,
                                 "seconds": 0.1, "status": "completed", "message": "", "ftmle": math.log(rho)})
    rows.append({"point": "bad", "seed": 0, "epoch": float("nan"), "sr": -1.0, "steps": 2, "status": "error",
                 "message": "spectral radius -1 must be >= 0"})
    return pd.DataFrame(rows)


def _render(plot):
    import holoviews as hv

    return hv.render(plot, backend="bokeh")


def test_final_rows_keep_each_runs_last_epoch_and_drop_errors(table):
    runs = sp.final_rows(table)
    assert len(runs) == len(RADII) * len(STEPS) * len(SEEDS)
    assert (runs["epoch"] == 2).all() and (runs["status"] == "completed").all()


def test_seed_stats_are_mean_and_sd_over_seeds(table):
    st = sp.seed_stats(sp.final_rows(table), ["sr", "steps"])
    row = st[(st["sr"] == 0.1) & (st["steps"] == 8)].iloc[0]
    assert row["mean"] == pytest.approx(acc(0.1, 8, 1, 2))
    assert row["sd"] == pytest.approx(0.01)  # seeds at -0.01, 0, +0.01
    assert (row["min"], row["max"], row["n"]) == (pytest.approx(row["mean"] - 0.01), pytest.approx(row["mean"] + 0.01), 3)


def test_grid_axes_leave_out_columns_that_mirror_another(table):
    assert sp.varying_axes(sp.final_rows(table)) == ["sr", "steps"]


def test_accuracy_vs_sr_has_a_band_and_ftmle_on_a_second_axis(table):
    fig = _render(sp.accuracy_vs_sr(table, by="steps"))
    assert [a.axis_label for a in fig.yaxis] == ["test_acc", "ftmle"]
    assert type(fig.xaxis[0]).__name__ == "LogAxis"
    kinds = [type(r.glyph).__name__ for r in fig.renderers]
    assert kinds.count("VArea") + kinds.count("Patch") >= 2  # a band per steps value
    fig = _render(sp.accuracy_vs_sr(table, ftmle=False, band="minmax"))
    assert [a.axis_label for a in fig.yaxis] == ["test_acc"]


def test_accuracy_vs_iterations_draws_a_line_per_radius(table):
    plot = sp.accuracy_vs_iterations(table)
    curves = [el for el in plot.traverse(lambda e: e, [lambda e: type(e).__name__ == "Curve"])]
    assert sorted(c.label for c in curves) == ["sr=0.01", "sr=0.1", "sr=1.0"]
    line = next(c for c in curves if c.label == "sr=0.1")
    assert list(line.dimension_values("steps")) == [2, 8]
    assert list(line.dimension_values("test_acc")) == pytest.approx([acc(0.1, 2, 1, 2), acc(0.1, 8, 1, 2)])
    _render(plot)


def test_heatmap_cells_are_means_over_seeds(table):
    plot = sp.heatmap(table, "sr", "steps")
    hm = plot.get(0)
    cells = dict(zip(zip(hm.dimension_values("sr"), hm.dimension_values("steps")), hm.dimension_values("test_acc")))
    assert cells[("0.1", "8")] == pytest.approx(acc(0.1, 8, 1, 2))
    _render(plot)


def test_sweep_plots_pick_the_layouts_that_fit_the_grid(table):
    plots = sp.sweep_plots(table)
    assert list(plots) == ["accuracy vs spectral radius", "accuracy vs iterations", "heatmap", "learning curves"]
    for p in plots.values():
        _render(p)


@pytest.mark.parametrize("call,needle", [
    (lambda t: sp.heatmap(t, "sr", "gamma"), r"no column\(s\) gamma"),
    (lambda t: sp.accuracy_vs_sr(t, band="iqr"), "unknown band 'iqr'"),
    (lambda t: sp.accuracy_vs_iterations(t.assign(steps=4, t1=4, t2=4)), "no varying iteration axis"),
], ids=["column", "band", "no-iterations"])
def test_plot_mistakes_name_the_valid_choices(table, call, needle):
    with pytest.raises(ApexplorerError, match=needle):
        call(table)


# ---------------------------------------------------------------------------
# the Sweeps view
# ---------------------------------------------------------------------------
def test_sweeps_view_loads_a_table_and_maps_back_to_plain_settings(table, tmp_path):
    from apexplorer.app.sweeps import SweepsView

    f = tmp_path / "res.csv"
    table.to_csv(f, index=False)
    view = SweepsView(str(f))
    assert view.settings() == {"path": str(f), "metric": "test_acc", "x": "sr", "y": "steps", "by": "steps",
                               "band": "sd"}
    assert list(view.plots()) == ["Accuracy vs ρ", "Iterations", "Heatmap", "Learning curves"]
    assert escape("18 finished runs") in view._message.object and escape("1 error rows") in view._message.object
    view.by = "(none)"
    view.metric = "train_acc"
    assert view.settings()["by"] is None and view.settings()["metric"] == "train_acc"
    view.__panel__().get_root()
    view.follow = True  # a sweep still writing: reload every few seconds
    assert view._callback is not None
    view.follow = False
    assert view._callback is None


def test_sweeps_view_shows_a_message_for_a_bad_file(tmp_path):
    from apexplorer.app.sweeps import SweepsView

    view = SweepsView()
    view.path = str(tmp_path / "missing.csv")
    assert view._message.alert_type == "danger" and escape("does not exist") in view._message.object
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    view.path = str(tmp_path / "other.csv")
    assert escape("not a sweep results table") in view._message.object
