"""Wilson score interval, checked against a published table and an independent implementation."""

import math

import numpy as np
import pytest

from retention_report.intervals import wilson_interval

# Newcombe RG (1998). Two-sided confidence intervals for the single proportion:
# comparison of seven methods. Statistics in Medicine 17:857-872, Table I,
# method 3 (Wilson score interval without continuity correction), 95%.
NEWCOMBE_1998_WILSON = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize("successes, n, low, high", NEWCOMBE_1998_WILSON)
def test_matches_newcombe_1998_table(successes, n, low, high):
    got_low, got_high = wilson_interval(successes, n)
    assert round(got_low, 4) == pytest.approx(low, abs=1e-12)
    assert round(got_high, 4) == pytest.approx(high, abs=1e-12)


def _wilson_by_hand(s, n, z):
    """Wilson (1927) in its textbook centre +/- half-width form."""
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("s, n", [(0, 1), (1, 1), (3, 7), (50, 100), (999, 1000), (12, 4000)])
@pytest.mark.parametrize("z", [1.0, 1.959963984540054, 2.5758293035489])
def test_matches_independent_computation(s, n, z):
    low, high = wilson_interval(s, n, z=z)
    ref_low, ref_high = _wilson_by_hand(s, n, z)
    assert low == pytest.approx(max(ref_low, 0.0), abs=1e-12)
    assert high == pytest.approx(min(ref_high, 1.0), abs=1e-12)


def test_matches_scipy_if_present():
    stats = pytest.importorskip("scipy.stats")
    for s, n in [(81, 263), (15, 148), (1, 29), (7, 9), (400, 401)]:
        ref = stats.binomtest(s, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson_interval(s, n)
        assert low == pytest.approx(ref.low, abs=1e-12)
        assert high == pytest.approx(ref.high, abs=1e-12)


def test_vectorised_equals_scalar_calls():
    s = np.array([81, 15, 0, 1, 0, 5])
    n = np.array([263, 148, 20, 29, 0, 5])
    low, high = wilson_interval(s, n)
    assert isinstance(low, np.ndarray) and low.shape == (6,)
    for i in range(len(s)):
        one = wilson_interval(int(s[i]), int(n[i]))
        np.testing.assert_allclose([low[i], high[i]], one, rtol=0, atol=0, equal_nan=True)


def test_edges():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0 < high < 1
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and 0 < low < 1
    assert isinstance(wilson_interval(3, 10)[0], float)


@pytest.mark.parametrize("s, n", [(-1, 5), (6, 5), (1, -1), (float("nan"), 5)])
def test_rejects_impossible_counts(s, n):
    with pytest.raises(ValueError):
        wilson_interval(s, n)


def test_ratio_of_sums_se_by_hand_and_against_a_bootstrap():
    from retention_report.intervals import ratio_of_sums_se

    # By hand (the period-figures fixture of test_cohorts): before x = 50, 100, 10; kept y = 70, 0, 0.
    x, y = np.array([50.0, 100.0, 10.0]), np.array([70.0, 0.0, 0.0])
    r = y.sum() / x.sum()
    ss = ((y - r * x) ** 2).sum()  # 48.125^2 + 43.75^2 + 4.375^2
    assert ss == pytest.approx(48.125 ** 2 + 43.75 ** 2 + 4.375 ** 2)
    assert ratio_of_sums_se(ss, x.sum(), 3) == pytest.approx(math.sqrt(1.5 * ss) / 160)
    assert math.isnan(ratio_of_sums_se(0.0, 10.0, 1)) and math.isnan(ratio_of_sums_se(1.0, 0.0, 5))
    # An independent method: the bootstrap standard deviation of R over resampled customers agrees.
    rng = np.random.default_rng(11)
    n = 3_000
    before = rng.lognormal(3.5, 0.8, n)
    kept = before * rng.choice([0.0, 0.6, 1.0, 1.4], n, p=[0.3, 0.2, 0.3, 0.2]) * rng.lognormal(0, 0.3, n)
    ratio = kept.sum() / before.sum()
    se = ratio_of_sums_se(((kept - ratio * before) ** 2).sum(), before.sum(), n)
    draws = rng.integers(0, n, (2_000, n))
    boot = kept[draws].sum(axis=1) / before[draws].sum(axis=1)
    assert se == pytest.approx(boot.std(ddof=1), rel=0.08)
