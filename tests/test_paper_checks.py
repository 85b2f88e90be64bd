"""Every check of :data:`~apexplorer.paper.checks.CHECKS` on real numbers: a case where the trend holds and
one where it does not, so that a check with its comparison turned round, its operands swapped or its
operator flipped fails here (a check that always says "holds", or never, is caught too)."""

import json

import pytest

from apexplorer.paper.checks import CHECKS
from apexplorer.paper.measure import PointData, ResultData
from apexplorer.paper.plan import points
from apexplorer.paper.registry import load_text

RESULT = """
id = "checks"
title = "made-up numbers for the checks"
figure = "Fig. 0"
notes = "made up"
[base]
[base.wiring]
preset = "digits"
[base.tasks]
main = "digits"
[[groups]]
label = "AP"
grid = { sr = [0.1, 0.5, 2.0] }
[[groups]]
label = "slow"
set = { "ap.t1" = 4 }
grid = { sr = [0.1, 0.5, 2.0] }
[scales.paper]
seeds = 2
why = "all"
[scales.quick]
seeds = 2
why = "the same"
"""

#: Test accuracy per epoch of each seed, by (group, sr): AP peaks at sr = 0.5 and declines at 2.0 after its
#: first epoch; "slow" rises with sr.  Seeds differ by 0.02, far less than any gap a check is asked about.
CURVES = {
    ("AP", 0.1): [0.40, 0.55, 0.60], ("AP", 0.5): [0.50, 0.85, 0.90], ("AP", 2.0): [0.30, 0.25, 0.20],
    ("slow", 0.1): [0.45, 0.50, 0.52], ("slow", 0.5): [0.50, 0.58, 0.60], ("slow", 2.0): [0.60, 0.68, 0.70],
}
SECONDS = {"AP": 1.0, "slow": 3.0}  # per epoch
#: A probe's scalar (rises with sr in AP), its per-name values (cosines) and a psychometric curve.
DRIFT = {0.1: 0.1, 0.5: 0.2, 2.0: 0.4}


def _probe(group, sr, epoch):
    right = [0.05, 0.5, 0.95] if group == "AP" else [0.5, 0.5, 0.5]
    return json.dumps({"drift": DRIFT[sr] * (1 if group == "AP" else -1), "p_right": right,
                       "cos": {"L1": 0.99 - 0.01 * epoch, "L2": 0.9 - 0.1 * epoch}})


def _rows(p):
    key = (p.group, p.axes["ap.spectral_radius"])
    return [{"point": p.id, "seed": s, "epoch": e + 1, "test_acc": a + 0.02 * s, "status": "completed",
             "seconds": SECONDS[p.group], "probe": _probe(*key, e)}
            for s in (0, 1) for e, a in enumerate(CURVES[key])]


ANALYSES = {"lyapunov": [{"sr": 0.1, "mle": -2.3, "ftmle": -2.2}, {"sr": 0.5, "mle": -0.7, "ftmle": -0.5},
                         {"sr": 2.0, "mle": 0.69, "ftmle": 0.9}],
            #: one row per seed and beta: a ratio that rises with beta (0.21 at 0.1, 0.61 at 1.0 over the seeds)
            "states": {"per_seed": [{"seed": s, "beta": b, "ratio": r + 0.02 * s}
                                    for s in (0, 1) for b, r in ((0.1, 0.20), (1.0, 0.60))]}}


@pytest.fixture(scope="module")
def data():
    r = load_text(RESULT)
    return ResultData(r, "quick", (0, 1), [PointData.from_rows(p, _rows(p), (0, 1)) for p in points(r, "quick")],
                      dict(ANALYSES))


AP, SLOW = {"group": "AP"}, {"group": "slow"}
AP5, SLOW5 = {"group": "AP", "sr": 0.5}, {"group": "slow", "sr": 0.5}
AP1, AP2 = {"group": "AP", "sr": 0.1}, {"group": "AP", "sr": 2.0}
SLOW1, SLOW2 = {"group": "slow", "sr": 0.1}, {"group": "slow", "sr": 2.0}
BEST = "best_test_acc"

#: (check, arguments, whether it holds).  Means over the two seeds: best AP 0.61 / 0.91 / 0.31 and slow
#: 0.53 / 0.61 / 0.71 at sr = 0.1 / 0.5 / 2.0.
CASES = [
    ("peak_within", dict(where=AP, axis="sr", metric=BEST, low=0.2, high=1.0), True),
    ("peak_within", dict(where=AP, axis="sr", metric=BEST, low=1.0, high=2.0), False),
    ("peak_within", dict(where=SLOW, axis="sr", metric=BEST, low=1.0, high=2.0), True),
    ("below_peak", dict(where=AP, axis="sr", metric=BEST, at=[0.1, 2.0], margin=0.25), True),
    ("below_peak", dict(where=AP, axis="sr", metric=BEST, at=[0.1, 2.0], margin=0.35), False),  # 0.1 is 0.30 below
    ("below_peak", dict(where=AP, axis="sr", metric=BEST, at=[0.5], margin=0.0), True),  # the peak: 0 below
    ("below_peak", dict(where=AP, axis="sr", metric=BEST, at=[0.5], margin=0.01), False),
    ("spread_within", dict(where=SLOW, axis="sr", metric=BEST, tol=0.2), True),  # spread 0.18
    ("spread_within", dict(where=SLOW, axis="sr", metric=BEST, tol=0.15), False),
    ("spread_within", dict(where=AP, axis="sr", metric=BEST, tol=0.35, exclude=[2.0]), True),  # 0.30 without 2.0
    ("spread_within", dict(where=AP, axis="sr", metric=BEST, tol=0.35), False),  # 0.60 with it
    ("trend", dict(where=SLOW, axis="sr", metric=BEST), True),
    ("trend", dict(where=SLOW, axis="sr", metric=BEST, direction="decreasing"), False),
    ("trend", dict(where=AP, axis="sr", metric=BEST), False),  # up, then down below the start
    ("ordered", dict(a=AP5, b=SLOW5, metric=BEST), True),  # 0.91 > 0.61
    ("ordered", dict(a=SLOW5, b=AP5, metric=BEST), False),
    ("ordered", dict(a=AP5, b=SLOW5, metric=BEST, margin=0.25), True),
    ("ordered", dict(a=AP5, b=SLOW5, metric=BEST, margin=0.35), False),
    ("close", dict(a=SLOW5, b=AP1, metric=BEST, tol=0.01), True),  # 0.61 and 0.61
    ("close", dict(a=SLOW5, b=AP5, metric=BEST, tol=0.25), False),  # 0.30 apart
    ("close", dict(a=AP1, b=AP1, metric="final_test_acc", tol=0.001, metric_b=BEST), True),  # last = best
    ("close", dict(a=AP2, b=AP2, metric="final_test_acc", tol=0.05, metric_b=BEST), False),  # 0.21 vs 0.31
    ("not_below", dict(a=AP5, b=SLOW5, metric=BEST, tol=0.0), True),  # far above
    ("not_below", dict(a=SLOW1, b=AP1, metric=BEST, tol=0.1), True),  # 0.08 below, within 0.1
    ("not_below", dict(a=SLOW1, b=AP1, metric=BEST, tol=0.05), False),
    ("not_below", dict(a=SLOW5, b=AP5, metric=BEST, tol=0.1), False),  # 0.30 below
    ("rises", dict(where=AP5, column="test_acc", gain=0.3), True),  # 0.51 -> 0.91
    ("rises", dict(where=AP5, column="test_acc", gain=0.5), False),
    ("rises", dict(where=AP2, column="test_acc", gain=0.01), False),  # falls from its first epoch
    ("stable", dict(where=AP5, metric="test_acc", tol=0.01), True),
    ("stable", dict(where=AP2, metric="test_acc", tol=0.05), False),  # best 0.31, last 0.21
    ("stable", dict(where=AP2, metric="test_acc", tol=0.05, expect=False), True),  # it declined, as expected
    ("stable", dict(where=AP5, metric="test_acc", tol=0.01, expect=False), False),
    ("drop_compare", dict(a_first=AP5, a_last=AP2, b_first=SLOW5, b_last=SLOW2, metric=BEST), True),  # 0.6 vs -0.1
    ("drop_compare", dict(a_first=SLOW5, a_last=SLOW2, b_first=AP5, b_last=AP2, metric=BEST), False),
    ("drop_compare", dict(a_first=AP5, a_last=AP2, b_first=SLOW5, b_last=SLOW2, metric=BEST, margin=0.75), False),
    ("at_least", dict(where=SLOW, metric=BEST, value=0.5), True),
    ("at_least", dict(where=SLOW, metric=BEST, value=0.6), False),  # 0.53 at sr = 0.1
    ("at_most", dict(where=SLOW, metric=BEST, value=0.75), True),
    ("at_most", dict(where=SLOW, metric=BEST, value=0.7), False),  # 0.71 at sr = 2.0
    ("faster_to", dict(a=AP5, b=SLOW5, level=0.95), True),  # both reach 0.58: AP after 2 s, slow after 9 s
    ("faster_to", dict(a=SLOW5, b=AP5, level=0.95), False),
    ("faster_to", dict(a=AP5, b=SLOW5, level=0.95, factor=0.2), False),  # 2 s is not below 0.2 x 9 s
    ("faster_to", dict(a=SLOW2, b=AP2, level=0.95, factor=4.0), True),  # to 0.29: 3 s < 4 x 1 s (AP2 then falls)
    ("faster_to", dict(a=SLOW2, b=AP2, level=0.95, factor=2.0), False),
    ("analysis_compare", dict(analysis="lyapunov", key="mle", op="<", value=0.0, x_max=1.0), True),
    ("analysis_compare", dict(analysis="lyapunov", key="mle", op=">", value=0.0, x_max=1.0), False),
    ("analysis_compare", dict(analysis="lyapunov", key="mle", op=">", value=0.0, x_min=1.0), True),
    ("analysis_compare", dict(analysis="lyapunov", key="mle", op="<", value=0.0, x_min=1.0), False),
    ("analysis_compare", dict(analysis="lyapunov", key="mle", op="<", value=0.0), False),  # 0.69 at sr = 2
    ("analysis_close", dict(analysis="lyapunov", a="mle", b="ftmle", tol=0.25), True),  # at most 0.21 apart
    ("analysis_close", dict(analysis="lyapunov", a="mle", b="ftmle", tol=0.15), False),
    ("analysis_close", dict(analysis="lyapunov", a="mle", b="ftmle", tol=0.15, x_max=0.1), True),  # 0.1 apart
    ("analysis_seeds", dict(analysis="states", rows="per_seed", key="ratio", op="<", value=0.5, x="beta",
                            x_max=0.5), True),
    ("analysis_seeds", dict(analysis="states", rows="per_seed", key="ratio", op=">", value=0.5, x="beta",
                            x_max=0.5), False),
    ("analysis_seeds", dict(analysis="states", rows="per_seed", key="ratio", op=">", value=0.5, x="beta",
                            x_min=0.5), True),
    ("analysis_seeds", dict(analysis="states", rows="per_seed", key="ratio", op="<", value=0.5, x="beta"),
     False),  # 0.61 at beta = 1
    ("analysis_seed_trend", dict(analysis="states", rows="per_seed", key="ratio", x="beta"), True),
    ("analysis_seed_trend", dict(analysis="states", rows="per_seed", key="ratio", x="beta",
                                 direction="decreasing"), False),
    # within 0.15 of the group's best, per seed: slow 2 of 3 points (0.60, 0.70), AP 1 of 3 (0.90 alone)
    ("near_best_share", dict(groups=["slow", "AP"], margin=0.15), True),
    ("near_best_share", dict(groups=["AP", "slow"], margin=0.15), False),
    ("near_best_share", dict(groups=["slow", "AP"], margin=0.05), False),  # 1 of 3 in both
    ("psychometric", dict(where=AP5), True),
    ("psychometric", dict(where=SLOW5), False),  # flat at 0.5
    ("psychometric", dict(where=AP5, low=0.01), False),  # 0.05 at the left end
    ("probe_at_least", dict(where=AP5, key="cos", names=["L1"], value=0.95), True),  # min 0.97
    ("probe_at_least", dict(where=AP5, key="cos", names=["L1", "L2"], value=0.95), False),  # L2: 0.7 at the end
    ("probe_at_least", dict(where=AP5, key="cos", names=["L2"], value=0.85, which="final"), False),  # 0.7
    ("probe_at_least", dict(where=AP5, key="cos", names=["L2"], value=0.8, which="mean"), True),  # 0.8
    ("probe_below", dict(where=AP5, key="cos", names=["L2"], value=0.75), True),  # min 0.7
    ("probe_below", dict(where=AP5, key="cos", names=["L1", "L2"], value=0.9), False),  # L1's min 0.97 is not
    ("probe_below", dict(where=AP5, key="cos", names=["L1"], value=0.97), False),  # not below its own 0.97
    ("probe_trend", dict(where=AP, axis="sr", key="drift"), True),
    ("probe_trend", dict(where=AP, axis="sr", key="drift", direction="decreasing"), False),
    ("probe_trend", dict(where=SLOW, axis="sr", key="drift", direction="decreasing"), True),
]


@pytest.mark.parametrize("check,args,holds", CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_a_check_holds_or_not_by_the_numbers(data, check, args, holds):
    got = CHECKS[check](data, **args)
    assert got.holds is holds, got.ours
    assert got.ours


def test_every_check_has_a_case_that_holds_and_one_that_does_not():
    for name in CHECKS:
        assert {h for c, _, h in CASES if c == name} == {True, False}, name
