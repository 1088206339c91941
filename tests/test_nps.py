"""Net Promoter Score and its intervals.

Expected values are computed inside the tests straight from the formulas in
Rocks B (2016), "Interval estimation for the Net Promoter Score", The American
Statistician 70(4):365-372: each answer scores +1 (promoter), 0 (passive) or
-1 (detractor); per-answer variance v = (pP + pD) - (pP - pD)^2; Wald interval
NPS +/- z*sqrt(v/n); adjusted Wald adds 0.75 detractors, 1.5 passives and
0.75 promoters (n~ = n + 3) and centres on the adjusted score.
"""

import math

import numpy as np
import pandas as pd
import pytest

from retention_report.nps import (
    NpsEstimate,
    net_promoter_score,
    nps_difference,
    nps_table,
    score_group,
)


def _by_formula(promoters, passives, detractors, method, z=1.96):
    """(nps, variance per answer in points^2, ci_low, ci_high), written out longhand."""
    n = promoters + passives + detractors
    nps = 100 * (promoters - detractors) / n
    if method == "adjusted_wald":
        promoters, passives, detractors = promoters + 0.75, passives + 1.5, detractors + 0.75
    n_used = promoters + passives + detractors
    p_pro, p_det = promoters / n_used, detractors / n_used
    centre = p_pro - p_det
    variance = (p_pro + p_det) - (p_pro - p_det) ** 2
    half = z * math.sqrt(variance / n_used)
    low = max(-100.0, 100 * (centre - half))
    high = min(100.0, 100 * (centre + half))
    return nps, 100**2 * variance, low, high


@pytest.mark.parametrize("counts", [(50, 30, 20), (3, 1, 1), (2, 0, 5), (400, 350, 250), (0, 7, 0)])
@pytest.mark.parametrize("method", ["wald", "adjusted_wald"])
def test_matches_formulas(counts, method):
    est = net_promoter_score(*counts, method=method)
    nps, variance, low, high = _by_formula(*counts, method)
    assert est.nps == pytest.approx(nps, abs=1e-12)
    assert est.variance == pytest.approx(variance, abs=1e-9)
    assert est.ci_low == pytest.approx(low, abs=1e-12)
    assert est.ci_high == pytest.approx(high, abs=1e-12)
    assert est.responses == sum(counts)
    assert (est.promoters, est.passives, est.detractors) == counts


def test_worked_example_by_hand():
    # 50/30/20 of 100. Wald: pP=.5, pD=.2, v=.7-.09=.61, se=sqrt(.61/100)=.078102.
    wald = net_promoter_score(50, 30, 20, method="wald")
    assert wald.nps == 30.0
    assert wald.variance == pytest.approx(6100.0)
    assert wald.margin_of_error == pytest.approx(15.308, abs=1e-3)
    assert (wald.ci_low, wald.ci_high) == pytest.approx((14.692, 45.308), abs=1e-3)
    # Adjusted: n~=103, p~P=50.75/103, p~D=20.75/103, NPS~=.291262, v~=.609341.
    adjusted = net_promoter_score(50, 30, 20)
    assert adjusted.nps == 30.0  # the published score is never adjusted
    assert adjusted.margin_of_error == pytest.approx(15.0754, abs=1e-4)
    assert (adjusted.ci_low, adjusted.ci_high) == pytest.approx((14.0509, 44.2016), abs=1e-4)


def test_z_changes_width_only():
    narrow = net_promoter_score(50, 30, 20, z=1.0)
    wide = net_promoter_score(50, 30, 20, z=2.0)
    assert wide.margin_of_error == pytest.approx(2 * narrow.margin_of_error)
    assert (narrow.ci_low + narrow.ci_high) == pytest.approx(wide.ci_low + wide.ci_high)


def test_all_promoters():
    adjusted = net_promoter_score(40, 0, 0)
    assert adjusted.nps == 100.0
    assert adjusted.ci_high <= 100.0
    assert adjusted.ci_low < 100.0  # the point of the adjustment: not a zero-width interval
    wald = net_promoter_score(40, 0, 0, method="wald")
    assert (wald.ci_low, wald.ci_high, wald.margin_of_error) == (100.0, 100.0, 0.0)


def test_all_detractors():
    adjusted = net_promoter_score(0, 0, 40)
    assert adjusted.nps == -100.0
    assert adjusted.ci_low >= -100.0
    assert adjusted.ci_high > -100.0
    mirrored = net_promoter_score(40, 0, 0)
    assert adjusted.ci_high == pytest.approx(-mirrored.ci_low)


def test_single_answer():
    est = net_promoter_score(1, 0, 0)
    # n~=4: p~P=1.75/4, p~D=.75/4, NPS~=.25, v~=.625-.0625=.5625, se=.375.
    assert est.nps == 100.0
    assert (est.ci_low, est.ci_high) == pytest.approx((25 - 73.5, 25 + 73.5))
    assert -100 <= est.ci_low < est.ci_high <= 100


def test_no_answers_is_nan_not_an_error():
    for method in ("wald", "adjusted_wald"):
        est = net_promoter_score(0, 0, 0, method=method)
        assert est.responses == 0
        assert all(math.isnan(v) for v in (est.nps, est.variance, est.margin_of_error, est.ci_low, est.ci_high))


def test_estimate_is_frozen():
    est = net_promoter_score(5, 5, 5)
    assert isinstance(est, NpsEstimate)
    with pytest.raises(AttributeError):
        est.nps = 0.0


@pytest.mark.parametrize("bad", [(-1, 0, 0), (1, float("nan"), 0)])
def test_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        net_promoter_score(*bad)


def test_rejects_unknown_method():
    with pytest.raises(ValueError):
        net_promoter_score(1, 2, 3, method="bootstrap")


def test_difference_by_formula():
    a_counts, b_counts = (50, 30, 20), (30, 30, 40)
    a, b = net_promoter_score(*a_counts), net_promoter_score(*b_counts)
    diff = nps_difference(a, b)

    def adjusted(p, m, d):
        p, m, d = p + 0.75, m + 1.5, d + 0.75
        n = p + m + d
        return (p - d) / n, ((p + d) / n - ((p - d) / n) ** 2), n

    ca, va, na = adjusted(*a_counts)
    cb, vb, nb = adjusted(*b_counts)
    se = 100 * math.sqrt(va / na + vb / nb)
    assert diff.difference == pytest.approx(30.0 - (-10.0))
    assert diff.standard_error == pytest.approx(se, abs=1e-12)
    assert diff.se == diff.standard_error
    assert diff.ci_low == pytest.approx(100 * (ca - cb) - 1.96 * se, abs=1e-12)
    assert diff.ci_high == pytest.approx(100 * (ca - cb) + 1.96 * se, abs=1e-12)
    assert diff.beyond_interval is True


def test_difference_within_noise():
    a, b = net_promoter_score(12, 8, 10), net_promoter_score(11, 9, 10)
    diff = nps_difference(a, b)
    assert diff.ci_low < 0 < diff.ci_high
    assert diff.beyond_interval is False
    reverse = nps_difference(b, a)
    assert reverse.difference == pytest.approx(-diff.difference)
    assert (reverse.ci_low, reverse.ci_high) == pytest.approx((-diff.ci_high, -diff.ci_low))


def test_difference_wald_uses_plain_proportions():
    a = net_promoter_score(50, 30, 20, method="wald")
    b = net_promoter_score(30, 30, 40, method="wald")
    diff = nps_difference(a, b)
    se = math.sqrt(a.variance / 100 + b.variance / 100)
    assert diff.standard_error == pytest.approx(se)
    assert (diff.ci_low, diff.ci_high) == pytest.approx((40 - 1.96 * se, 40 + 1.96 * se))


def test_difference_with_empty_segment():
    diff = nps_difference(net_promoter_score(5, 5, 5), net_promoter_score(0, 0, 0))
    assert math.isnan(diff.difference) and math.isnan(diff.ci_low)
    assert diff.beyond_interval is False


@pytest.mark.parametrize("score, group", [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                          (9, "promoter"), (10, "promoter"), (np.int64(9), "promoter"), (7.0, "passive")])
def test_score_group(score, group):
    assert score_group(score) == group


@pytest.mark.parametrize("score", [-1, 11, 7.5, float("nan"), None, "nine", True])
def test_score_group_rejects_non_scores(score):
    with pytest.raises(ValueError):
        score_group(score)


def test_nps_table_matches_scalar_calls():
    df = pd.DataFrame({
        "plan": ["basic", "basic", "pro", "pro", "team"],
        "region": ["eu", "eu", "eu", "us", "us"],
        "promoters": [5, 5, 0, 40, 0],
        "passives": [1, 2, 0, 30, 0],
        "detractors": [3, 0, 4, 20, 0],
    })
    table = nps_table(df, ["plan", "region"])
    assert list(table.columns) == ["plan", "region", "responses", "nps", "ci_low", "ci_high"]
    assert len(table) == 4  # the two basic/eu rows are summed
    expected = {("basic", "eu"): (10, 3, 3), ("pro", "eu"): (0, 0, 4), ("pro", "us"): (40, 30, 20),
                ("team", "us"): (0, 0, 0)}
    for row in table.itertuples():
        est = net_promoter_score(*expected[(row.plan, row.region)])
        assert row.responses == est.responses
        np.testing.assert_allclose([row.nps, row.ci_low, row.ci_high], [est.nps, est.ci_low, est.ci_high],
                                   rtol=0, atol=1e-12, equal_nan=True)

    overall = nps_table(df, [], method="wald")
    est = net_promoter_score(50, 33, 27, method="wald")
    assert len(overall) == 1
    assert overall.loc[0, "nps"] == pytest.approx(est.nps)
    assert overall.loc[0, "ci_low"] == pytest.approx(est.ci_low)
    assert list(nps_table(df, "plan")["plan"]) == ["basic", "pro", "team"]
