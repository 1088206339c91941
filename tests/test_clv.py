"""Buy-till-you-die models (clv.py) checked against the papers and independent computations: the fits reproduce the
published CDNOW estimates (Fader, Hardie and Lee 2005; Fader and Hardie 2013) and lifetimes' fits; P(alive), the
conditional and unconditional expectations equal the papers' closed forms written out here in plain Python (the
hypergeometric function as its series) and lifetimes' values; the vectorised likelihood equals a per-customer loop;
the holdout error is small on data simulated from BG/NBD itself and large on strictly periodic buyers."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_report.clv import (
    BetaGeoParams,
    GammaGammaParams,
    NotEnoughData,
    bgnbd_log_likelihood,
    conditional_expected_purchases,
    conditional_expected_spend,
    expected_cumulative_repeat_purchases,
    expected_repeat_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    holdout_error,
    predicted_clv,
    probability_alive,
)

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
PAPER = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
"""Fader, Hardie and Lee (2005), Table 1's BG/NBD estimates on the CDNOW sample, to the digits published."""


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


@pytest.fixture(scope="module")
def fitted(cdnow) -> BetaGeoParams:
    return fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def spend(cdnow) -> GammaGammaParams:
    return fit_gamma_gamma(cdnow["x"], cdnow["zbar"])


# ------------------------------------------------------------------------------------------- the papers' closed forms

def series_hyp2f1(a, b, c, z):
    """Gauss's hypergeometric series sum_k (a)_k (b)_k / ((c)_k k!) z^k, summed until the terms vanish."""
    term = total = 1.0
    k = 0
    while True:
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        k += 1
        if abs(term) <= 1e-17 * abs(total) and k > abs(a) * z:
            return total


def paper_log_likelihood(p, x, t_x, T):
    """Fader, Hardie and Lee (2005) eq. 6 for one customer, as printed:
    L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
        + [x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x))."""
    def log_beta(u, v):
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    nbd = math.lgamma(p.r + x) - math.lgamma(p.r) + p.r * math.log(p.alpha)
    alive = math.exp(log_beta(p.a, p.b + x) - log_beta(p.a, p.b) + nbd - (p.r + x) * math.log(p.alpha + T))
    dropped = 0.0
    if x > 0:
        dropped = math.exp(log_beta(p.a + 1, p.b + x - 1) - log_beta(p.a, p.b) + nbd
                           - (p.r + x) * math.log(p.alpha + t_x))
    return math.log(alive + dropped)


def paper_p_alive(p, x, t_x, T):
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))."""
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + p.a / (p.b + x - 1) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x))


def paper_conditional_expectation(p, t, x, t_x, T):
    """Fader, Hardie and Lee (2005) eq. 10 as printed (the hypergeometric term in its original parameters)."""
    z = t / (p.alpha + T + t)
    bracket = 1.0 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * series_hyp2f1(
        p.r + x, p.b + x, p.a + p.b + x - 1, z)
    return (p.a + p.b + x - 1) / (p.a - 1) * bracket * paper_p_alive(p, x, t_x, T)


def paper_unconditional_expectation(p, t):
    """Fader, Hardie and Lee (2005) eq. 9: E[X(t)] = (a + b - 1) / (a - 1)
    [1 - (alpha / (alpha + t))^r 2F1(r, b; a + b - 1; t / (alpha + t))]."""
    return (p.a + p.b - 1) / (p.a - 1) * (
        1.0 - (p.alpha / (p.alpha + t)) ** p.r * series_hyp2f1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t)))


def paper_gamma_gamma_log_density(p, q, g, x, m):
    """Fader and Hardie (2013): f(m | p, q, gamma; x) = Gamma(px + q) / (Gamma(px) Gamma(q))
    gamma^q m^(px - 1) x^(px) / (gamma + m x)^(px + q)."""
    return (math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q) + q * math.log(g)
            + (p * x - 1) * math.log(m) + p * x * math.log(x) - (p * x + q) * math.log(g + m * x))


HISTORIES = [  # (x, t_x, T): CDNOW's first customers, none who came back, a heavy buyer, a long-silent one
    (2, 30.43, 38.86), (1, 1.71, 38.86), (0, 0.0, 38.86), (0, 0.0, 31.0), (7, 29.43, 38.86), (29, 38.0, 38.86),
    (50, 70.0, 100.0), (3, 5.0, 60.0), (1, 0.5, 1.0),
]


# ------------------------------------------------------------------------------------------------ the papers' fits

def test_bgnbd_reproduces_the_paper_on_cdnow(fitted):
    """Table 1 of Fader, Hardie and Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    assert (round(fitted.r, 3), round(fitted.alpha, 3), round(fitted.a, 3), round(fitted.b, 3)) == (
        0.243, 4.414, 0.793, 2.426)
    assert round(fitted.log_likelihood, 1) == -9582.4
    assert fitted.customers == 2357


def test_gamma_gamma_reproduces_the_note_on_cdnow(spend):
    """Fader and Hardie (2013): p = 6.25, q = 3.74, gamma = 15.44 on the 946 CDNOW customers with a repeat purchase,
    their mean spend per repeat purchase (the first purchase left out). CLVTools' correctness test quotes the
    log-likelihood -4055.9177 on means it computes from the transactions; the fixture's means are rounded to cents."""
    assert (round(spend.p, 2), round(spend.q, 2)) == (6.25, 3.74)
    assert abs(spend.gamma - 15.44) < 0.01
    assert spend.customers == 946
    assert spend.log_likelihood == pytest.approx(-4055.9177, abs=0.01)
    assert spend.mean_spend == pytest.approx(spend.p * spend.gamma / (spend.q - 1))


def test_the_notes_worked_figure(fitted):
    """Fader, Hardie and Lee's note on computing E[Y(t) | x, t_x, T]: customer 1 of CDNOW (x = 2, t_x = 30.43,
    T = 38.86) is expected to make 1.226 purchases in the next 39 weeks; with the published parameters as well."""
    for params in (fitted, PAPER):
        assert round(float(conditional_expected_purchases(params, 39, 2, 30.43, 38.86)[0]), 3) == 1.226


def test_fits_are_maxima(cdnow, fitted, spend):
    """Moving any parameter 0.1% either way lowers the log-likelihood: the optimiser stopped at the top."""
    x, t_x, T, m = cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"]
    for name in ("r", "alpha", "a", "b"):
        for step in (0.999, 1.001):
            moved = BetaGeoParams(**{**{k: getattr(fitted, k) for k in ("r", "alpha", "a", "b")},
                                     name: getattr(fitted, name) * step})
            assert bgnbd_log_likelihood(moved, x, t_x, T).sum() < fitted.log_likelihood
    repeat = x > 0
    for name in ("p", "q", "gamma"):
        for step in (0.999, 1.001):
            moved = GammaGammaParams(**{**{k: getattr(spend, k) for k in ("p", "q", "gamma")},
                                        name: getattr(spend, name) * step})
            assert gamma_gamma_log_likelihood(moved, x[repeat], m[repeat]).sum() < spend.log_likelihood


# ------------------------------------------------------------------------------------ closed forms, written out here

def test_likelihood_equals_a_per_customer_loop(cdnow, fitted):
    x, t_x, T = cdnow["x"].to_numpy(), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()
    for params in (fitted, BetaGeoParams(r=1.7, alpha=0.6, a=2.5, b=0.4)):
        vectorised = bgnbd_log_likelihood(params, x, t_x, T)
        loop = [paper_log_likelihood(params, *row) for row in zip(x, t_x, T)]
        np.testing.assert_allclose(vectorised, loop, rtol=1e-12, atol=1e-12)
    assert bgnbd_log_likelihood(fitted, x, t_x, T).sum() == pytest.approx(fitted.log_likelihood, rel=1e-12)


def test_spend_likelihood_equals_a_per_customer_loop(cdnow, spend):
    repeat = cdnow[cdnow["x"] > 0]
    vectorised = gamma_gamma_log_likelihood(spend, repeat["x"], repeat["zbar"])
    loop = [paper_gamma_gamma_log_density(spend.p, spend.q, spend.gamma, x, m)
            for x, m in zip(repeat["x"], repeat["zbar"])]
    np.testing.assert_allclose(vectorised, loop, rtol=1e-12)


@pytest.mark.parametrize("params", [PAPER, BetaGeoParams(r=1.7, alpha=0.6, a=2.5, b=0.4),
                                    BetaGeoParams(r=0.5, alpha=12.0, a=0.3, b=8.0)])
def test_p_alive_and_conditional_expectation_equal_the_papers_forms(params):
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*HISTORIES))
    np.testing.assert_allclose(probability_alive(params, x, t_x, T),
                               [paper_p_alive(params, *h) for h in HISTORIES], rtol=1e-12)
    for t in (1.0, 13.0, 39.0, 78.0):
        np.testing.assert_allclose(conditional_expected_purchases(params, t, x, t_x, T),
                                   [paper_conditional_expectation(params, t, *h) for h in HISTORIES], rtol=1e-9)
        assert expected_repeat_purchases(params, t) == pytest.approx(paper_unconditional_expectation(params, t),
                                                                     rel=1e-9)
    assert conditional_expected_purchases(params, 0.0, x, t_x, T) == pytest.approx(0.0, abs=1e-12)


def test_conditional_expectation_on_a_degenerate_fit():
    """Strictly periodic buyers drive r and alpha into the hundreds of millions (no heterogeneity: every rate is
    r / alpha) and a towards 0 (no dropout), where scipy's hypergeometric function gives nan: the expectation then
    comes from the series, equal to the paper's form (to 1e-5: the form as printed raises a ratio within 1e-7 of 1
    to the power 10^8, then subtracts the result from 1), and close to the fixed-rate prediction
    rate * t * P(alive)."""
    params = BetaGeoParams(r=1.422e8, alpha=1.444e8, a=1.733e-8, b=4487.0)
    histories = [(0, 0.0, 30.0), (10, 34.0, 35.0), (30, 37.0, 38.0)]
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*histories))
    ours = conditional_expected_purchases(params, 26.0, x, t_x, T)
    np.testing.assert_allclose(ours, [paper_conditional_expectation(params, 26.0, *h) for h in histories],
                               rtol=1e-5)
    np.testing.assert_allclose(ours, params.r / params.alpha * 26 * probability_alive(params, x, t_x, T),
                               rtol=0.01)


def test_expectations_match_lifetimes(cdnow, fitted):
    lifetimes = pytest.importorskip("lifetimes")
    model = lifetimes.BetaGeoFitter()
    model.params_ = pd.Series({"r": fitted.r, "alpha": fitted.alpha, "a": fitted.a, "b": fitted.b})
    x, t_x, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    np.testing.assert_allclose(probability_alive(fitted, x, t_x, T),
                               model.conditional_probability_alive(x, t_x, T), rtol=0, atol=1e-6)
    for t in (1, 39, 78):
        np.testing.assert_allclose(conditional_expected_purchases(fitted, t, x, t_x, T),
                                   model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
                                   rtol=0, atol=1e-6)
    times = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(expected_repeat_purchases(fitted, times),
                               model.expected_number_of_purchases_up_to_time(times), rtol=0, atol=1e-6)


def test_fits_match_lifetimes(cdnow, fitted, spend):
    lifetimes = pytest.importorskip("lifetimes")
    model = lifetimes.BetaGeoFitter().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    ours = [fitted.r, fitted.alpha, fitted.a, fitted.b]
    np.testing.assert_allclose(ours, model.params_[["r", "alpha", "a", "b"]], rtol=1e-4)
    repeat = cdnow[cdnow["x"] > 0]
    spend_model = lifetimes.GammaGammaFitter().fit(repeat["x"], repeat["zbar"])
    np.testing.assert_allclose([spend.p, spend.q, spend.gamma], spend_model.params_[["p", "q", "v"]], rtol=1e-4)
    spend_model.params_ = pd.Series({"p": spend.p, "q": spend.q, "v": spend.gamma})
    np.testing.assert_allclose(conditional_expected_spend(spend, repeat["x"], repeat["zbar"]),
                               spend_model.conditional_expected_average_profit(repeat["x"], repeat["zbar"]),
                               rtol=1e-9)


# ----------------------------------------------------------------------------------------------- spend and value

def test_expected_spend_shrinks_towards_the_population_mean(spend):
    """p (gamma + x m) / (p x + q - 1): the population mean for a customer with no repeat purchase (whatever their
    mean says), between it and their own mean otherwise, nearer their own the more purchases back it."""
    population = spend.mean_spend
    assert conditional_expected_spend(spend, [0, 0, 0], [0.0, 500.0, np.nan]) == pytest.approx([population] * 3)
    with pytest.raises(ValueError, match="mean_spend must be finite"):
        conditional_expected_spend(spend, [2], [np.nan])
    own = np.array([100.0, 100.0, 100.0])
    expected = conditional_expected_spend(spend, [1, 5, 50], own)
    weights = spend.p * np.array([1, 5, 50]) / (spend.p * np.array([1, 5, 50]) + spend.q - 1)
    np.testing.assert_allclose(expected, weights * own + (1 - weights) * population, rtol=1e-12)
    assert population < expected[0] < expected[1] < expected[2] < 100.0


def test_predicted_clv_matches_lifetimes(cdnow, fitted, spend):
    """lifetimes' customer_lifetime_value with its monthly discount rate and 4.345-week month is ours with the
    equivalent annual rate and units_per_month = 4.345."""
    lifetimes = pytest.importorskip("lifetimes")
    purchases = lifetimes.BetaGeoFitter()
    purchases.params_ = pd.Series({"r": fitted.r, "alpha": fitted.alpha, "a": fitted.a, "b": fitted.b})
    purchases.predict = purchases.conditional_expected_number_of_purchases_up_to_time  # as its fit() sets it
    spend_model = lifetimes.GammaGammaFitter()
    spend_model.params_ = pd.Series({"p": spend.p, "q": spend.q, "v": spend.gamma})
    theirs = spend_model.customer_lifetime_value(purchases, cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"],
                                                 time=12, discount_rate=0.01, freq="W")
    ours = predicted_clv(fitted, spend, cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], horizon_months=12,
                         discount_rate=1.01 ** 12 - 1, units_per_month=4.345)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_predicted_clv_by_hand(fitted, spend):
    """Undiscounted, the months add up to expected spend times the purchases expected over the whole horizon;
    discounted, each month's purchases weigh (1 + d)^-i with d the monthly equivalent of the annual rate."""
    x, t_x, T, m = np.array([2.0, 0.0, 7.0]), np.array([30.43, 0.0, 29.43]), np.array([38.86] * 3), np.array(
        [22.35, 0.0, 73.74])
    value = conditional_expected_spend(spend, x, m)
    flat = predicted_clv(fitted, spend, x, t_x, T, m, horizon_months=6, units_per_month=4.0)
    np.testing.assert_allclose(flat, value * conditional_expected_purchases(fitted, 24.0, x, t_x, T), rtol=1e-12)
    discounted = predicted_clv(fitted, spend, x, t_x, T, m, horizon_months=6, discount_rate=0.2,
                               units_per_month=4.0)
    by_hand = sum((conditional_expected_purchases(fitted, 4.0 * i, x, t_x, T)
                   - conditional_expected_purchases(fitted, 4.0 * (i - 1), x, t_x, T)) * 1.2 ** (-i / 12)
                  for i in range(1, 7)) * value
    np.testing.assert_allclose(discounted, by_hand, rtol=1e-12)
    assert np.all(discounted < flat)
    with pytest.raises(ValueError):
        predicted_clv(fitted, spend, x, t_x, T, m, horizon_months=0)


def test_tracking_sums_each_customers_expectation(fitted):
    """The tracking plot's expected line is sum over customers of E[X(time - first purchase)], 0 before it."""
    births = np.array([0.0, 0.0, 3.5, 7.0, 11.0])
    counts = np.array([2.0, 1.0, 4.0, 1.0, 3.0])
    times = np.array([0.0, 2.0, 5.0, 39.0, 78.0])
    by_hand = [sum(w * (paper_unconditional_expectation(fitted, time - s) if time > s else 0.0)
                   for s, w in zip(births, counts)) for time in times]
    np.testing.assert_allclose(expected_cumulative_repeat_purchases(fitted, births, times, counts), by_hand,
                               rtol=1e-9)
    expanded = np.repeat(births, counts.astype(int))
    np.testing.assert_allclose(expected_cumulative_repeat_purchases(fitted, expanded, times), by_hand, rtol=1e-9)


# --------------------------------------------------------------------------------------------- weights and errors

def test_weights_fit_like_repeated_rows(cdnow):
    rows = cdnow.groupby(["x", "t_x", "T"]).size().reset_index(name="customers")
    grouped = fit_bgnbd(rows["x"], rows["t_x"], rows["T"], weights=rows["customers"])
    rng = np.random.default_rng(5)
    sample = rows.sample(300, random_state=5).reset_index(drop=True)
    counts = rng.integers(1, 6, len(sample))
    weighted = fit_bgnbd(sample["x"], sample["t_x"], sample["T"], weights=counts)
    repeated = sample.loc[sample.index.repeat(counts)].sample(frac=1.0, random_state=1)
    by_row = fit_bgnbd(repeated["x"], repeated["t_x"], repeated["T"])
    for name in ("r", "alpha", "a", "b", "customers", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(getattr(by_row, name), rel=1e-6)
        assert getattr(grouped, name) == pytest.approx(getattr(fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"]),
                                                               name), rel=1e-6)
    spend_rows = cdnow[cdnow["x"] > 0].groupby(["x", "zbar"]).size().reset_index(name="customers")
    spend_weighted = fit_gamma_gamma(spend_rows["x"], spend_rows["zbar"], weights=spend_rows["customers"])
    spend_by_row = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    for name in ("p", "q", "gamma", "customers", "log_likelihood"):
        assert getattr(spend_weighted, name) == pytest.approx(getattr(spend_by_row, name), rel=1e-6)


def test_not_enough_data(cdnow):
    once_only = cdnow[cdnow["x"] == 0]
    with pytest.raises(NotEnoughData, match="no customer bought more than once"):
        fit_bgnbd(once_only["x"], once_only["t_x"], once_only["T"])
    few = cdnow.head(20)
    with pytest.raises(NotEnoughData, match="20 customers"):
        fit_bgnbd(few["x"], few["t_x"], few["T"])
    assert fit_bgnbd(few["x"], few["t_x"], few["T"], min_customers=10).customers == 20
    with pytest.raises(NotEnoughData, match="0 customers with a repeat purchase"):
        fit_gamma_gamma(once_only["x"], once_only["zbar"])
    with pytest.raises(NotEnoughData):
        fit_gamma_gamma(few["x"], few["zbar"])
    with pytest.raises(NotEnoughData):
        fit_bgnbd([], [], [])
    assert issubclass(NotEnoughData, ValueError)


def test_bad_summaries_are_refused():
    with pytest.raises(ValueError, match="recency must not exceed T"):
        probability_alive(PAPER, [1], [5.0], [4.0])
    with pytest.raises(ValueError, match="whole purchases"):
        fit_bgnbd([1.5] * 40, [1.0] * 40, [4.0] * 40)
    with pytest.raises(ValueError, match="finite"):
        fit_bgnbd([1, np.nan], [1.0, 1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="differ in length"):
        probability_alive(PAPER, [1, 2], [1.0], [2.0])


def test_readable_repr(fitted, spend):
    assert repr(fitted) == ("BG/NBD(r=0.2426, alpha=4.414, a=0.7929, b=2.426; 2,357 customers, "
                            "log-likelihood -9,582.4)")
    assert repr(spend).startswith("GammaGamma(p=6.249, q=3.745, gamma=15.45; 946 customers")
    assert repr(PAPER) == "BG/NBD(r=0.243, alpha=4.414, a=0.793, b=2.426)"


# ------------------------------------------------------------------------------------------------------ the holdout

def simulate_bgnbd(params, customers, rng, calibration=39.0, holdout=39.0, cohort_weeks=12.0):
    """A BG/NBD population: first purchases spread over the first `cohort_weeks` (like CDNOW's quarter), then
    Poisson purchases at each customer's gamma-drawn rate, each followed by dropout with their beta-drawn p.
    Returns x, t_x, T over the calibration weeks and the repeat purchases in the `holdout` weeks after it."""
    first = rng.uniform(0.0, cohort_weeks, customers)
    rate = rng.gamma(params.r, 1.0 / params.alpha, customers)
    dropout = rng.beta(params.a, params.b, customers)
    end = calibration + holdout
    at, active = first.copy(), np.ones(customers, dtype=bool)
    x, t_x, later = np.zeros(customers), np.zeros(customers), np.zeros(customers)
    while active.any():
        at = at + rng.exponential(1.0, customers) / rate
        active &= at <= end
        in_calibration = active & (at <= calibration)
        x += in_calibration
        t_x = np.where(in_calibration, at - first, t_x)
        later += active & (at > calibration)
        active &= rng.random(customers) >= dropout
    return x, t_x, calibration - first, later


def periodic_buyers(customers, every, rng, purchases=None, calibration=39.0, holdout=26.0, cohort_weeks=12.0):
    """Customers who buy exactly every `every` weeks from their first purchase, for `purchases` purchases in all
    (None: for ever). Returns x, t_x, T over the calibration weeks and the repeat purchases in the holdout."""
    first = rng.uniform(0.0, cohort_weeks, customers)
    made_by_calibration = np.floor((calibration - first) / every) + 1
    made_by_end = np.floor((calibration + holdout - first) / every) + 1
    if purchases is not None:
        made_by_calibration = np.minimum(made_by_calibration, purchases)
        made_by_end = np.minimum(made_by_end, purchases)
    x = made_by_calibration - 1
    return x, x * every, calibration - first, made_by_end - made_by_calibration


def test_holdout_error_arithmetic():
    assert holdout_error([1.0, 2.0, 3.0], [2, 2, 4]) == pytest.approx(0.25)
    assert holdout_error(12.0, 10) == pytest.approx(0.2)
    assert holdout_error([0.0], [0]) == 0.0
    assert holdout_error([0.5], [0]) == math.inf
    with pytest.raises(ValueError):
        holdout_error([np.nan], [1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_holdout_is_close_on_bgnbd_data(seed):
    """Fit on 39 weeks of 20,000 customers simulated from CDNOW's parameters, predict the next 39 weeks by the
    conditional expectation: the total predicted is within 7.5% of the simulated purchases, half the report's 15%
    limit (sampling alone moves it by up to about 5% at this size over 20 seeds; about 9% with 5,000 customers)."""
    rng = np.random.default_rng(seed)
    x, t_x, T, later = simulate_bgnbd(PAPER, 20_000, rng)
    params = fit_bgnbd(x, t_x, T)
    predicted = conditional_expected_purchases(params, 39.0, x, t_x, T)
    assert holdout_error(predicted, later) < 0.075
    assert params.r == pytest.approx(PAPER.r, rel=0.25) and params.a == pytest.approx(PAPER.a, rel=0.5)


@pytest.mark.parametrize("every, purchases", [(13, None), (4, 8)], ids=["quarterly", "eight-four-weekly"])
def test_holdout_is_far_off_on_periodic_buyers(every, purchases):
    """Strictly periodic buyers are not Poisson: quarterly buyers for ever (the gap since the last purchase is read as
    a low rate, the forecast falls about a quarter short), or purchases every 4 weeks that stop after the eighth
    (read as still active, so the forecast runs on far past the last). Either way the holdout error passes 15%.
    (Buyers every 4 weeks for ever stay near 6-9%: with a period short against the calibration, the aggregate
    forecast holds even though no single customer's P(alive) means anything.)"""
    rng = np.random.default_rng(4)
    x, t_x, T, later = periodic_buyers(5000, every, rng, purchases, cohort_weeks=12.0 if purchases is None else 26.0)
    params = fit_bgnbd(x, t_x, T)
    predicted = conditional_expected_purchases(params, 26.0, x, t_x, T)
    assert np.all(np.isfinite(predicted))
    assert holdout_error(predicted, later) > 0.15


def test_customers_sharing_a_history_are_evaluated_once_with_the_same_result(cdnow, fitted):
    # Each distinct (x, T) is evaluated once and spread back to its customers; a per-customer evaluation (one
    # customer at a time, nothing shared) gives the same numbers to the last bit, for one time and for a column.
    x, t_x, T = (np.tile(cdnow[c].to_numpy(dtype=float), 3) for c in ("x", "t_x", "T"))
    one_at_a_time = lambda t: np.array([conditional_expected_purchases(fitted, t, x[i], t_x[i], T[i])[0]
                                        for i in range(0, x.size, 7)])
    np.testing.assert_array_equal(conditional_expected_purchases(fitted, 39.0, x, t_x, T)[::7], one_at_a_time(39.0))
    weeks = np.array([[4.0], [26.0], [52.0]])
    by_week = conditional_expected_purchases(fitted, weeks, x, t_x, T)
    assert by_week.shape == (3, x.size)
    for row, t in enumerate(weeks[:, 0]):
        np.testing.assert_array_equal(by_week[row, ::7], one_at_a_time(t))
