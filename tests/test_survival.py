"""Kaplan-Meier retention curve, checked point by point against lifelines; its band against Rothman's formula as R's
km.ci writes it, the binomial Wilson interval (scipy) where nobody is censored, and by hand at small n."""

import math

import numpy as np
import pandas as pd
import pytest

from retention_report.intervals import Z_95
from retention_report.survival import kaplan_meier, loglog_band, median_lifetime, median_lifetime_beyond, survival_at

lifelines = pytest.importorskip("lifelines")

# Tenure in days and whether the customer churned (0 = still active: censored).
# Ties at 2, 3 and 8, censoring tied with churn at 2 and 3, censored last.
HAND_DAYS = [1, 2, 2, 3, 3, 3, 5, 8, 8, 10]
HAND_CHURNED = [1, 1, 0, 1, 1, 0, 0, 1, 1, 0]


def rothman_reference(kmf, z=Z_95):
    """Rothman's band as R's km.ci (rothman.fun) writes it, from lifelines' event table and estimate: Greenwood's
    Var(S) = S^2 * cumsum(d / (n (n - d))), n0 = S(1 - S) / Var(S), limits
    n0 / (n0 + z^2) * (S + z^2 / (2 n0) -/+ z sqrt(Var(S) + z^2 / (4 n0^2))). Only where 0 < S < 1 (km.ci writes
    (1, 1) where S = 1: the collapse our band avoids)."""
    table = kmf.event_table
    n, d = table["at_risk"].to_numpy(dtype=float), table["observed"].to_numpy(dtype=float)
    s = kmf.survival_function_.iloc[:, 0].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        var = s ** 2 * np.cumsum(d / (n * (n - d)))
        n0 = s * (1 - s) / var
        root = z * np.sqrt(var + z ** 2 / (4 * n0 ** 2))
        low = n0 / (n0 + z ** 2) * (s + z ** 2 / (2 * n0) - root)
        high = n0 / (n0 + z ** 2) * (s + z ** 2 / (2 * n0) + root)
    inside = (s > 0) & (s < 1)
    return inside, low, high


def _assert_matches_lifelines(durations, churned):
    curve = kaplan_meier(durations, churned)
    kmf = lifelines.KaplanMeierFitter().fit(durations, churned)
    assert list(curve.columns) == ["day", "at_risk", "churned", "survival", "ci_low", "ci_high", "greenwood"]
    np.testing.assert_array_equal(curve["day"].to_numpy(dtype=float), kmf.survival_function_.index.to_numpy())
    np.testing.assert_array_equal(curve["day"].to_numpy(dtype=float), kmf.event_table.index.to_numpy())
    np.testing.assert_array_equal(curve["at_risk"], kmf.event_table["at_risk"])
    np.testing.assert_array_equal(curve["churned"], kmf.event_table["observed"])
    np.testing.assert_allclose(curve["survival"], kmf.survival_function_.iloc[:, 0], rtol=0, atol=1e-9)
    # Greenwood's sum is lifelines' own: its log(-log) band follows from it to 1e-9.
    low, high = loglog_band(curve)
    np.testing.assert_allclose(low, kmf.confidence_interval_.iloc[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(high, kmf.confidence_interval_.iloc[:, 1], rtol=0, atol=1e-9)
    # The band shown is Rothman's, as km.ci computes it, wherever 0 < S < 1.
    inside, ref_low, ref_high = rothman_reference(kmf)
    np.testing.assert_allclose(curve["ci_low"][inside], ref_low[inside], rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve["ci_high"][inside], ref_high[inside], rtol=0, atol=1e-9)
    assert ((curve["ci_low"] <= curve["survival"]) & (curve["survival"] <= curve["ci_high"])).all()
    assert median_lifetime(curve) == kmf.median_survival_time_
    return curve, kmf


def test_hand_example_matches_lifelines():
    curve, _ = _assert_matches_lifelines(HAND_DAYS, HAND_CHURNED)
    assert curve["day"].tolist() == [0, 1, 2, 3, 5, 8, 10]
    assert curve["at_risk"].tolist() == [10, 10, 9, 7, 4, 3, 1]
    assert curve["churned"].tolist() == [0, 1, 1, 2, 0, 2, 0]


def test_hand_example_values_by_hand():
    curve = kaplan_meier(HAND_DAYS, HAND_CHURNED).set_index("day")
    assert curve.loc[0, "survival"] == 1.0 and curve.loc[0, "ci_high"] == 1.0
    # Nobody churned yet: the band is Wilson's for 10 of 10, n / (n + z^2), not the certainty (1, 1).
    assert curve.loc[0, "ci_low"] == pytest.approx(10 / (10 + Z_95 ** 2))
    assert curve.loc[1, "survival"] == pytest.approx(9 / 10)
    assert curve.loc[2, "survival"] == pytest.approx(9 / 10 * 8 / 9)
    assert curve.loc[3, "survival"] == pytest.approx(0.8 * 5 / 7)
    assert curve.loc[5, "survival"] == pytest.approx(0.8 * 5 / 7)  # censoring only: no step
    assert curve.loc[8, "survival"] == pytest.approx(0.8 * 5 / 7 * 1 / 3)
    # Greenwood at day 1: var(log S) = 1/(10*9); log(-log) band by hand.
    s, var = 0.9, 1 / 90
    assert curve.loc[1, "greenwood"] == pytest.approx(var)
    shift = 1.959963984540054 * math.sqrt(var) / math.log(s)
    low, high = loglog_band(curve.reset_index())
    assert low[1] == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) - shift)))
    assert high[1] == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) + shift)))
    # Day 1 is before any censoring: n' = 0.9 * 0.1 / (0.81 / 90) = 10, and the band is Wilson's for 9 of 10
    # (Newcombe 1998, table I, method 3: 0.5958 to 0.9821).
    assert curve.loc[1, "ci_low"] == pytest.approx(0.5958, abs=1e-4)
    assert curve.loc[1, "ci_high"] == pytest.approx(0.9821, abs=1e-4)
    assert median_lifetime(curve.reset_index()) == 8


def test_random_cohort_matches_lifelines():
    rng = np.random.default_rng(20240601)
    n = 5_000
    churn_day = rng.exponential(300, n).round().astype(int) + 1
    export_day = rng.integers(1, 720, n)  # still active at the export: censored
    durations = np.minimum(churn_day, export_day)
    churned = churn_day <= export_day
    assert 0.2 < churned.mean() < 0.8 and len(np.unique(durations)) < n  # ties and censoring both present
    curve, kmf = _assert_matches_lifelines(durations, churned)
    assert math.isfinite(median_lifetime(curve))
    days = [0, 30, 90, 180, 365, 719, 5000]
    np.testing.assert_allclose(survival_at(curve, days), kmf.survival_function_at_times(days), rtol=0, atol=1e-9)


def test_random_float_durations_match_lifelines():
    rng = np.random.default_rng(7)
    durations = rng.weibull(1.3, 5_000) * 200
    churned = rng.random(5_000) < 0.6
    curve, _ = _assert_matches_lifelines(durations, churned)
    assert curve["day"].dtype.kind == "f"


def test_churn_on_day_zero_matches_lifelines():
    curve, _ = _assert_matches_lifelines([0, 0, 0, 1, 2, 2, 4], [1, 0, 1, 1, 1, 0, 1])
    assert curve.loc[0, "survival"] == pytest.approx(5 / 7)


def test_everyone_churns_matches_lifelines():
    curve, _ = _assert_matches_lifelines([1, 2, 2, 3], [1, 1, 1, 1])
    assert curve["survival"].iloc[-1] == 0.0
    # Not (0, 0) as lifelines' band: no censoring, so Wilson's interval for 0 of 4.
    assert (curve["ci_low"].iloc[-1], curve["ci_high"].iloc[-1]) == (0.0, pytest.approx(Z_95 ** 2 / (4 + Z_95 ** 2)))


def test_median_not_reached_is_inf_like_lifelines():
    curve, kmf = _assert_matches_lifelines([5, 10, 10, 20, 30, 40], [1, 0, 0, 1, 0, 0])
    assert median_lifetime(curve) == math.inf == kmf.median_survival_time_
    curve, _ = _assert_matches_lifelines([3, 4, 5], [0, 0, 0])
    assert (curve["survival"] == 1.0).all()


def test_median_at_exactly_half():
    curve, _ = _assert_matches_lifelines([1, 2, 3, 4], [0, 1, 0, 1])
    # S(1) = 1 (censored), S(2) = 1 - 1/3 = 2/3, S(4) = 0: first at or below 1/2 is day 4.
    assert median_lifetime(curve) == 4
    curve, _ = _assert_matches_lifelines([1, 2, 3, 4], [1, 1, 0, 0])
    assert curve.set_index("day").loc[2, "survival"] == 0.5
    assert median_lifetime(curve) == 2


def test_survival_at_reads_the_step_function():
    curve = kaplan_meier(HAND_DAYS, HAND_CHURNED)
    got = survival_at(curve, [0, 1, 2, 4, 7, 8, 9, 10, 365, -1])
    assert got.index.tolist() == [0, 1, 2, 4, 7, 8, 9, 10, 365, -1]
    expected = [1, 0.9, 0.8, 0.8 * 5 / 7, 0.8 * 5 / 7, 0.8 * 5 / 21, 0.8 * 5 / 21, 0.8 * 5 / 21, 0.8 * 5 / 21, 1]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)


def test_empty_cohort_is_a_gap():
    curve = kaplan_meier([], [])
    assert len(curve) == 1 and curve["at_risk"].iloc[0] == 0
    assert math.isnan(curve["survival"].iloc[0])
    assert math.isnan(median_lifetime(curve))


def test_accepts_series_and_bools():
    a = kaplan_meier(pd.Series(HAND_DAYS), pd.Series(HAND_CHURNED, dtype=bool))
    b = kaplan_meier(HAND_DAYS, HAND_CHURNED)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("durations, churned", [
    ([1, -2, 3], [1, 1, 1]),
    ([1, float("nan"), 3], [1, 1, 1]),
    ([1, 2, 3], [1, 2, 0]),
    ([1, 2, 3], [1, 0]),
])
def test_rejects_bad_input(durations, churned):
    with pytest.raises(ValueError):
        kaplan_meier(durations, churned)


# --- From counts per day (what the warehouse hands over) -----------------------------------------------

from retention_report.survival import kaplan_meier_from_counts  # noqa: E402


def _counts(durations, churned):
    frame = pd.DataFrame({"day": durations, "churned": np.asarray(churned, dtype=int)})
    frame["censored"] = 1 - frame["churned"]
    return frame.groupby("day", as_index=False)[["churned", "censored"]].sum()


def test_from_counts_equals_the_per_customer_curve_and_lifelines():
    rng = np.random.default_rng(11)
    n = 4_000
    churn_day = rng.geometric(1 / 120, n)
    censor_day = rng.integers(0, 600, n)
    durations = np.minimum(churn_day, censor_day)
    churned = churn_day <= censor_day
    counts = _counts(durations, churned).sample(frac=1, random_state=1)  # order must not matter
    curve = kaplan_meier_from_counts(counts["day"], counts["churned"], counts["censored"])
    pd.testing.assert_frame_equal(curve, kaplan_meier(durations, churned), check_dtype=False)
    kmf = lifelines.KaplanMeierFitter().fit(durations, churned)
    np.testing.assert_array_equal(curve["at_risk"], kmf.event_table["at_risk"])
    np.testing.assert_allclose(curve["survival"], kmf.survival_function_.iloc[:, 0], rtol=0, atol=1e-9)
    inside, low, high = rothman_reference(kmf)
    np.testing.assert_allclose(curve["ci_low"][inside], low[inside], rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve["ci_high"][inside], high[inside], rtol=0, atol=1e-9)


def test_from_counts_adds_repeated_days_and_skips_empty_ones():
    curve = kaplan_meier_from_counts([2, 1, 2, 5, 3], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0])
    assert curve["day"].tolist() == [0, 1, 2]
    assert curve["at_risk"].tolist() == [3, 3, 2]
    assert curve["survival"].tolist() == pytest.approx([1, 2 / 3, 1 / 3])
    empty = kaplan_meier_from_counts([4], [0], [0])
    assert len(empty) == 1 and math.isnan(empty["survival"].iloc[0])


@pytest.mark.parametrize("days, churned, censored", [
    ([1, -2], [1, 1], [0, 0]), ([1, 2], [1, -1], [0, 0]), ([1, 2], [1.5, 1], [0, 0]), ([1, 2], [1], [0, 0]),
])
def test_from_counts_rejects_bad_input(days, churned, censored):
    with pytest.raises(ValueError):
        kaplan_meier_from_counts(days, churned, censored)


# --- The band at small n ------------------------------------------------------------------------------------


def test_without_censoring_the_band_is_the_binomial_wilson_interval_from_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 40):
        days = rng.integers(0, 30, n)
        curve = kaplan_meier(days, np.ones(n, dtype=bool))
        left = n - np.cumsum(curve["churned"].to_numpy())
        for row, survivors in zip(curve.itertuples(), left):
            ci = stats.binomtest(int(survivors), n).proportion_ci(method="wilson")
            assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9), (n, row.day)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_one_to_three_customers_who_never_churned_get_a_band_not_certainty(n):
    # The segments of one to three customers that showed "100.0% (100.0-100.0)": nobody churned, so Greenwood's
    # variance is 0 and the log(-log) band collapses. Rothman's band is Wilson's for n of n: n / (n + z^2) to 1
    # (20.7%, 34.4%, 43.9%), as scipy's binomial Wilson interval gives.
    stats = pytest.importorskip("scipy.stats")
    curve = kaplan_meier([400] * n, [0] * n)
    low = stats.binomtest(n, n).proportion_ci(method="wilson").low
    assert curve["survival"].tolist() == [1.0, 1.0]
    assert curve["ci_low"].tolist() == pytest.approx([low, low]) and curve["ci_high"].tolist() == [1.0, 1.0]
    assert curve["ci_low"].iloc[0] == pytest.approx(n / (n + Z_95 ** 2)) and curve["ci_low"].iloc[0] < 0.44
    old_low, _ = loglog_band(curve)
    assert old_low.tolist() == [1.0, 1.0]  # the band the page showed


def test_where_everyone_left_churns_the_band_keeps_the_effective_sample_size():
    # No censoring: S = 0 at the last day, and the band is Wilson's for 0 of 3.
    curve = kaplan_meier([1, 2, 3], [1, 1, 1]).set_index("day")
    assert curve.loc[3, "survival"] == 0.0 and curve.loc[3, "ci_low"] == 0.0
    assert curve.loc[3, "ci_high"] == pytest.approx(Z_95 ** 2 / (3 + Z_95 ** 2))
    # Two censored on day 1, the other three all churn on day 5: the band is Wilson's for 0 of those 3.
    curve = kaplan_meier([1, 1, 5, 5, 5], [0, 0, 1, 1, 1]).set_index("day")
    assert curve.loc[5, "ci_high"] == pytest.approx(Z_95 ** 2 / (3 + Z_95 ** 2))


# --- The median of those who ordered again ------------------------------------------------------------------


def test_median_beyond_day_zero_by_hand():
    # 10 customers: 6 never ordered again (lifetime 0, churned), then churn on days 10 and 20, one censored on
    # day 30, one churn on day 40. The median lifetime is 0 (S(0) = 0.4); of the 4 who ordered again, 3 of 4 last
    # past day 10 and 2 of 3 of those past day 20: 0.5, so half of them stopped within 20 days.
    curve = kaplan_meier([0] * 6 + [10, 20, 30, 40], [1] * 6 + [1, 1, 0, 1])
    assert median_lifetime(curve) == 0
    assert median_lifetime_beyond(curve, 0) == 20
    assert math.isinf(median_lifetime_beyond(kaplan_meier([0, 0, 5, 9], [1, 1, 0, 0]), 0))  # not reached
    assert math.isnan(median_lifetime_beyond(kaplan_meier([0, 0], [1, 1]), 0))  # nobody ordered again


def test_median_beyond_day_zero_equals_lifelines_on_those_who_ordered_again():
    rng = np.random.default_rng(77)
    for trial in range(20):
        n = int(rng.integers(5, 3000))
        never = rng.random(n) < rng.uniform(0.2, 0.8)
        churn_day = np.where(never, 0, rng.geometric(1 / rng.uniform(20, 200), n))
        censor_day = rng.integers(0, 500, n)
        durations = np.minimum(churn_day, censor_day)
        churned = churn_day <= censor_day
        curve = kaplan_meier(durations, churned)
        again = durations > 0
        if not again.any():
            continue
        expected = lifelines.KaplanMeierFitter().fit(durations[again], churned[again]).median_survival_time_
        assert median_lifetime_beyond(curve, 0) == expected, trial


def test_the_band_is_never_certainty_on_any_data():
    # Property: on any customers (1 to 40, any tenures, any churn), 0 <= low <= S <= high <= 1 and the band has width:
    # no "100.0% (100.0-100.0)" and no "0.0% (0.0-0.0)", however few the customers.
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=40))
    def check(rows):
        days, churned = zip(*rows)
        curve = kaplan_meier(list(days), list(churned))
        low, s, high = curve["ci_low"].to_numpy(), curve["survival"].to_numpy(), curve["ci_high"].to_numpy()
        assert ((0 <= low) & (low <= s + 1e-12) & (s <= high + 1e-12) & (high <= 1)).all()
        assert (high - low > 1e-6).all(), curve

    check()
