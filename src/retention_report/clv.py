"""Who is slipping away: buy-till-you-die models of repeat purchases and spend, fitted by maximum likelihood.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way: an alternative to the Pareto/NBD
model", Marketing Science 24(2), 275-284). While a customer is active they buy at a Poisson rate lambda; after
each purchase they drop out for good with probability p. Across customers lambda ~ gamma(shape r, rate alpha) and
p ~ beta(a, b). Each customer is summarised by
- frequency x: repeat purchases (purchases after the first; same-day purchases counted once, as the papers do),
- recency t_x: time from the first purchase to the last (0 when x = 0),
- age T: time from the first purchase to the end of the calibration period,
all in one time unit (weeks for CDNOW; days or weeks in the report, a param). alpha, and t in every prediction,
are in that unit. From the fitted r, alpha, a, b the paper gives closed forms for the probability a customer is
still active (P(alive), its eq. 13 as written in Fader, Hardie and Lee's 2008 note "Computing P(alive) using the
BG/NBD model"), their expected purchases in the next t (eq. 10) and a new customer's expected repeat purchases in
their first t (eq. 9), which summed over a cohort's first-purchase times is the paper's tracking plot (Figure 2).

Gamma-Gamma (Colombo and Jiang 1999; Fader and Hardie 2013, "The Gamma-Gamma model of monetary value"). Each
purchase's value is gamma(shape p, rate nu), nu ~ gamma(shape q, rate gamma) across customers; a customer with x
repeat purchases of mean value m has an expected spend per purchase that shrinks m towards the population mean
p gamma / (q - 1), the more the fewer purchases back it. It assumes spend does not depend on frequency.

Fits take the summaries as arrays with optional weights (how many customers share each row), so a million
customers grouped by (x, t_x, T) in DuckDB fit in a fraction of a second; terms that depend only on x (gammaln,
betaln, digamma) are computed once per distinct x. The log-likelihoods are maximised on the logs of the
parameters (they must be positive) by L-BFGS-B with their analytic gradients. tests/test_clv.py checks the fits
against the papers' CDNOW estimates, the closed forms against series written out in the test, and all of it
against the `lifetimes` package where it installs.

Data the models cannot be fitted to (too few customers, no repeat purchase) raise NotEnoughData, which the report
shows as "not enough data".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

WEEKS_PER_MONTH = 365.25 / 12 / 7
"""An average calendar month in weeks (4.348), to step a weekly model month by month."""
DAYS_PER_MONTH = 365.25 / 12

_LOG_BOUND = 25.0
"""Bounds on the log of each parameter: exp(+/-25) is far beyond any fitted value on real data, yet keeps a
degenerate fit (no heterogeneity at all: r and alpha grow together without limit) finite."""


class NotEnoughData(ValueError):
    """The data cannot support the model: too few customers, or none who bought again."""


@dataclass(frozen=True)
class BetaGeoParams:
    """A fitted BG/NBD: purchase rate ~ gamma(r, alpha), dropout probability ~ beta(a, b); `customers` fitted on
    (weights summed) and the maximised log-likelihood."""

    r: float
    alpha: float
    a: float
    b: float
    customers: float = float("nan")
    log_likelihood: float = float("nan")

    def __repr__(self) -> str:
        fitted = "" if np.isnan(self.customers) else (
            f"; {self.customers:,.0f} customers, log-likelihood {self.log_likelihood:,.1f}")
        return f"BG/NBD(r={self.r:.4g}, alpha={self.alpha:.4g}, a={self.a:.4g}, b={self.b:.4g}{fitted})"


@dataclass(frozen=True)
class GammaGammaParams:
    """A fitted Gamma-Gamma spend model: purchase value ~ gamma(p, nu), nu ~ gamma(q, gamma); `customers` (with a
    repeat purchase) fitted on and the maximised log-likelihood."""

    p: float
    q: float
    gamma: float
    customers: float = float("nan")
    log_likelihood: float = float("nan")

    @property
    def mean_spend(self) -> float:
        """The population's expected spend per purchase, p gamma / (q - 1) (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def __repr__(self) -> str:
        fitted = "" if np.isnan(self.customers) else (
            f"; {self.customers:,.0f} customers, log-likelihood {self.log_likelihood:,.1f}")
        return f"GammaGamma(p={self.p:.4g}, q={self.q:.4g}, gamma={self.gamma:.4g}{fitted})"


# ---------------------------------------------------------------------------------------------------- inputs

def _array(values, name: str) -> np.ndarray:
    out = np.asarray(values, dtype=float).reshape(-1)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite numbers (no NaN or inf).")
    if np.any(out < 0):
        raise ValueError(f"{name} must not be negative.")
    return out


def _summaries(frequency, recency, T, weights=None):
    """Validated float arrays of equal length: x (whole numbers), t_x <= T, weights (1 where not given)."""
    x, t_x, age = _array(frequency, "frequency"), _array(recency, "recency"), _array(T, "T")
    if not x.size == t_x.size == age.size:
        raise ValueError(f"frequency, recency and T differ in length ({x.size}, {t_x.size}, {age.size}).")
    if np.any(x != np.round(x)):
        raise ValueError("frequency must count whole purchases.")
    if np.any(t_x > age):
        raise ValueError("recency must not exceed T (the last purchase cannot come after the period's end).")
    return x, t_x, age, _weights(weights, x.size)


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _array(weights, "weights")
    if w.size != n:
        raise ValueError(f"weights has {w.size} rows, the summaries {n}.")
    return w


def _log_bounds(n: int):
    return [(-_LOG_BOUND, _LOG_BOUND)] * n


STATIONARY = 1e-6  # a gradient this small (per unit of log-parameter, on the mean log-likelihood) is nil


def _maximise(objective, start: np.ndarray) -> np.ndarray:
    """The log-parameters maximising the mean log-likelihood: L-BFGS-B on its analytic gradient; should that stop
    short (a line search failing on a flat ridge) away from a stationary point, Nelder-Mead from where it stopped,
    then L-BFGS-B again to polish. A line search that fails where the gradient is already nil (every component
    of the mean log-likelihood's gradient under STATIONARY) has found the optimum: it only could not improve the
    last digits. Nelder-Mead took 19,594 evaluations there on 10,000 repeat customers, for the same optimum."""
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=_log_bounds(start.size),
                      options=options)
    if not result.success and not (np.isfinite(result.fun) and np.max(np.abs(result.jac)) < STATIONARY):
        rough = minimize(lambda theta: objective(theta)[0], result.x, method="Nelder-Mead",
                         bounds=_log_bounds(start.size), options={"maxiter": 4000, "xatol": 1e-10, "fatol": 1e-14})
        result = minimize(objective, rough.x, jac=True, method="L-BFGS-B", bounds=_log_bounds(start.size),
                          options=options)
    if not np.isfinite(result.fun):
        raise NotEnoughData("the model could not be fitted to these customers.")
    return result.x


# ---------------------------------------------------------------------------------------------------- BG/NBD

def _bgnbd_parts(r, alpha, a, b, xs, at, x, t_x, age):
    """log L = lead + log(exp(stay) + exp(drop)) per row (the paper's eq. 6): `stay` is the term for a customer
    still active at T, `drop` for one who dropped out right after their last purchase (only when x > 0). `xs` are
    the distinct frequencies, `at` each row's index into them; `lead` is per distinct frequency."""
    repeat = xs > 0
    lead = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    beta_ab = betaln(a, b)
    log_age, log_tx = np.log(alpha + age), np.log(alpha + t_x)
    rx = r + x
    stay = (betaln(a, b + xs) - beta_ab)[at] - rx * log_age
    drop_x = np.where(repeat, betaln(a + 1.0, np.where(repeat, b + xs - 1.0, 1.0)) - beta_ab, -np.inf)
    drop = drop_x[at] - rx * log_tx
    return lead, stay, drop, log_age, log_tx


def bgnbd_log_likelihood(params: BetaGeoParams, frequency, recency, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (Fader, Hardie and Lee 2005, eq. 6) under `params`."""
    x, t_x, age, _ = _summaries(frequency, recency, T)
    xs, at = np.unique(x, return_inverse=True)
    lead, stay, drop, _, _ = _bgnbd_parts(params.r, params.alpha, params.a, params.b, xs, at, x, t_x, age)
    return lead[at] + np.logaddexp(stay, drop)


def _bgnbd_objective(x, t_x, age, w):
    """Minus the mean log-likelihood over the log-parameters, and its gradient. Sums of terms that depend on x only
    are taken once per distinct x, weighted by the customers with that x."""
    total = w.sum()
    xs, at = np.unique(x, return_inverse=True)
    wx = np.bincount(at, weights=w, minlength=xs.size)
    repeat = xs > 0
    w_x = w * x

    def objective(theta):
        r, alpha, a, b = np.exp(theta)
        lead, stay, drop, log_age, log_tx = _bgnbd_parts(r, alpha, a, b, xs, at, x, t_x, age)
        both = np.logaddexp(stay, drop)
        # Each customer's share of likelihood from "dropped out right after the last purchase", times weight.
        w_dropped = w * np.exp(drop - both)
        dropped_x = np.bincount(at, weights=w_dropped, minlength=xs.size)
        inv_age, inv_tx = 1.0 / (alpha + age), 1.0 / (alpha + t_x)
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xs) @ wx
        # d/dr, d/dalpha: the kept branch has (alpha + T), the dropped one (alpha + t_x).
        d_r = ((digamma(r + xs) - digamma(r) + np.log(alpha)) @ wx - w @ log_age
               - w_dropped @ (log_tx - log_age))
        d_alpha = (r / alpha * total - (r * w + w_x) @ inv_age
                   - (r * w_dropped + w_dropped * x) @ (inv_tx - inv_age))
        # d/da, d/db by digamma(z + 1) = digamma(z) + 1 / z between the two branches' beta functions.
        d_a = dropped_x.sum() / a - psi_abx + total * psi_ab
        d_b = ((digamma(b + xs) @ wx) - psi_abx + total * (psi_ab - digamma(b))
               - dropped_x[repeat] @ (1.0 / (b + xs[repeat] - 1.0)))
        grads = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) / total
        return -(lead @ wx + w @ both) / total, -grads

    return objective


def _grouped(x, t_x, age, w):
    """Identical (x, t_x, T) rows merged, their weights summed: ungrouped summaries fit as fast as grouped ones."""
    frame = pd.DataFrame({"x": x, "t_x": t_x, "age": age, "w": w})
    grouped = frame[frame["w"] > 0].groupby(["x", "t_x", "age"], sort=False)["w"].sum().reset_index()
    return tuple(grouped[column].to_numpy(dtype=float) for column in ("x", "t_x", "age", "w"))


def fit_bgnbd(frequency, recency, T, weights=None, min_customers: int = 30) -> BetaGeoParams:
    """The BG/NBD maximising the likelihood of customers' repeat purchases (frequency x), recency t_x and age T;
    `weights` counts the customers sharing each row (grouped summaries). Raises NotEnoughData with fewer than
    `min_customers` customers or when nobody bought twice (nothing then tells dropout from a low purchase rate)."""
    x, t_x, age, w = _summaries(frequency, recency, T, weights)
    customers = float(w.sum())
    if customers < min_customers:
        raise NotEnoughData(f"{customers:,.0f} customers, fewer than the {min_customers} needed to fit BG/NBD.")
    if not w @ (x > 0) > 0:
        raise NotEnoughData("no customer bought more than once: BG/NBD has nothing to learn purchase rates from.")
    x, t_x, age, w = _grouped(x, t_x, age, w)
    # Start where a Poisson rate fits the repeat purchases (r / alpha = purchases per unit of age), with moderate
    # heterogeneity and dropout; the scale of alpha follows the data's time unit.
    rate = (w @ x) / max(w @ age, 1e-12)
    start = np.log([1.0, 1.0 / max(rate, 1e-9), 1.0, 3.0])
    theta = _maximise(_bgnbd_objective(x, t_x, age, w), start)
    r, alpha, a, b = np.exp(theta)
    params = BetaGeoParams(float(r), float(alpha), float(a), float(b))
    ll = float(w @ bgnbd_log_likelihood(params, x, t_x, age))
    return BetaGeoParams(params.r, params.alpha, params.a, params.b, customers, ll)


def probability_alive(params: BetaGeoParams, frequency, recency, T) -> np.ndarray:
    """P(still active at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
    (Fader, Hardie and Lee 2008): 1 for customers who never bought again (the model lets only a
    purchase trigger dropout)."""
    x, t_x, age, _ = _summaries(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_odds_dropped = (np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0))
                        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
    return np.where(repeat, expit(-log_odds_dropped), 1.0)


def conditional_expected_purchases(params: BetaGeoParams, t, frequency, recency, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t (from T to T + t) of a customer with that history
    (Fader, Hardie and Lee 2005, eq. 10):
    (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)]
    * P(alive), z = t / (alpha + T + t). The hypergeometric term is evaluated in Euler's equivalent form
    ((alpha + T) / (alpha + T + t))^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z), whose first two
    parameters do not grow with x. `t` broadcasts against the customers (a column of times gives one row each)."""
    x, t_x, age, _ = _summaries(frequency, recency, T)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must not be negative.")
    return _expected_if_alive(params, t, x, age) * probability_alive(params, x, t_x, age)


def _expected_if_alive(params: BetaGeoParams, t, x, age) -> np.ndarray:
    """E[Y(t) | x, T, still active at T]: the bracket of eq. 10 (it does not depend on t_x). With customers along
    the last axis and `t` one time or a column of times, each distinct (x, T) is evaluated once: a million
    customers hold a few tens of thousands (the hypergeometric function is most of a prediction's cost)."""
    t, x, age = (np.asarray(v, dtype=float) for v in (t, x, age))
    if x.ndim == 1 and x.shape == age.shape and x.size > 1 and (t.ndim == 0 or t.shape[-1] == 1):
        x_at, xs = pd.factorize(x)  # hashing, not sorting: a million rows in milliseconds
        age_at, ages = pd.factorize(age)
        at, pairs = pd.factorize(x_at * ages.size + age_at)
        if pairs.size < x.size:
            return _expected_if_alive_rows(params, t, xs[pairs // ages.size], ages[pairs % ages.size])[..., at]
    return _expected_if_alive_rows(params, t, x, age)


def _expected_if_alive_rows(params: BetaGeoParams, t, x, age) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    factor = _discounted_hyp2f1(r + x, b + x, a + b + x - 1.0, z, a - 1.0)
    return (a + b + x - 1.0) / (a - 1.0) * (1.0 - factor)


def expected_repeat_purchases(params: BetaGeoParams, t) -> np.ndarray:
    """E[X(t)]: a new customer's expected repeat purchases in the first t after their first purchase (Fader, Hardie
    and Lee 2005, eq. 9): (a + b - 1) / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b; a + b - 1; t / (alpha + t))],
    the 2F1 term in Euler's form as in conditional_expected_purchases."""
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must not be negative.")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (1.0 - _discounted_hyp2f1(r, b, a + b - 1.0, z, a - 1.0))


def _discounted_hyp2f1(A, B, C, z, euler_power) -> np.ndarray:
    """(1 - z)^A 2F1(A, B; C; z), the term both expectations share (A = r + x, B = b + x, C = a + b + x - 1, or
    x = 0). Evaluated as Euler's equivalent (1 - z)^(a - 1) 2F1(C - A, C - B; C; z), `euler_power` = a - 1, whose
    parameters do not grow with x; where scipy cannot evaluate that (a degenerate fit with r and alpha in the
    millions, as strictly periodic buyers give), by summing the original series, whose terms are all positive."""
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, C, z)))
    with np.errstate(invalid="ignore", over="ignore"):  # what scipy cannot evaluate is summed below
        out = np.exp(euler_power * np.log1p(-z)) * hyp2f1(C - A, C - B, C, z)
    bad = ~np.isfinite(out)
    if bad.any():
        out = np.array(out, dtype=float)
        out[bad] = np.exp(A[bad] * np.log1p(-z[bad]) + np.log(_positive_series_hyp2f1(A[bad], B[bad], C[bad],
                                                                                        z[bad])))
    return out


def _positive_series_hyp2f1(A, B, C, z, max_terms: int = 100_000) -> np.ndarray:
    """2F1(A, B; C; z) = sum_k (A)_k (B)_k / ((C)_k k!) z^k for A, B, C > 0 and 0 <= z < 1, summed until the terms
    no longer change the sum (they rise while k < about A z, then fall geometrically)."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    active = np.ones(z.shape, dtype=bool)
    for k in range(max_terms):
        term[active] *= (A[active] + k) * (B[active] + k) / ((C[active] + k) * (k + 1.0)) * z[active]
        total[active] += term[active]
        active &= ~((term <= 1e-17 * total) & (k + 1.0 > A * z))
        if not active.any():
            break
    total[active] = np.nan  # not converged: say so rather than return a partial sum
    return total


def expected_cumulative_repeat_purchases(params: BetaGeoParams, first_purchase, times, weights=None) -> np.ndarray:
    """The tracking plot's expected line: at each calendar time in `times`, the repeat purchases the model expects
    a cohort to have made so far, sum over customers of E[X(time - first purchase)] (0 before their first).
    `first_purchase` is each customer's (or row's, with `weights` customers) first purchase on the same time axis;
    differencing the result gives expected purchases per week (or day)."""
    births = _array(first_purchase, "first_purchase")
    w = _weights(weights, births.size)
    times = np.asarray(times, dtype=float).reshape(-1)
    distinct, at = np.unique(births, return_inverse=True)
    per_birth = np.bincount(at, weights=w, minlength=distinct.size)
    ages = np.clip(times[:, None] - distinct[None, :], 0.0, None)
    return expected_repeat_purchases(params, ages) @ per_birth


# ---------------------------------------------------------------------------------------------------- Gamma-Gamma

def _spend_inputs(frequency, mean_spend, weights=None):
    """Validated arrays; a customer with no repeat purchase has no mean spend (NULL from SQL): 0 stands for it."""
    x, m = _array(frequency, "frequency"), np.asarray(mean_spend, dtype=float).reshape(-1)
    if x.size != m.size:
        raise ValueError(f"frequency and mean_spend differ in length ({x.size} vs {m.size}).")
    m = _array(np.where(x == 0, 0.0, m), "mean_spend")
    return x, m, _weights(weights, x.size)


def gamma_gamma_log_likelihood(params: GammaGammaParams, frequency, mean_spend) -> np.ndarray:
    """Each repeat customer's log density of their mean spend m over x purchases (Fader and Hardie 2013):
    log Gamma(px + q) - log Gamma(px) - log Gamma(q) + q log gamma + (px - 1) log m + px log x
    - (px + q) log(gamma + x m). Needs x > 0 and m > 0."""
    x, m, _ = _spend_inputs(frequency, mean_spend)
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("the Gamma-Gamma likelihood needs customers with repeat purchases and a positive spend.")
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1.0) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(g + x * m))


def _gamma_gamma_objective(x, m, w):
    """Minus the mean log-likelihood over the log-parameters, and its gradient. What does not depend on the
    parameters is summed once; the gamma functions are taken once per distinct x; per customer, only
    log(gamma + x m) and one division remain."""
    total = w.sum()
    xm = x * m
    xs, at = np.unique(x, return_inverse=True)
    wx = np.bincount(at, weights=w, minlength=xs.size)
    w_x = w * x
    sum_x_logs = w_x @ (np.log(m) + np.log(x))  # sum of w x (log m + log x)
    sum_log_m = w @ np.log(m)

    def objective(theta):
        p, q, g = np.exp(theta)
        log_g_xm = np.log(g + xm)
        sum_log_g_xm, sum_x_log_g_xm = w @ log_g_xm, w_x @ log_g_xm
        psi_pxq, psi_px = digamma(p * xs + q), digamma(p * xs)
        ll = ((gammaln(p * xs + q) - gammaln(p * xs)) @ wx - total * gammaln(q) + total * q * np.log(g)
              + p * sum_x_logs - sum_log_m - p * sum_x_log_g_xm - q * sum_log_g_xm)
        d_p = (xs * (psi_pxq - psi_px)) @ wx + sum_x_logs - sum_x_log_g_xm
        d_q = psi_pxq @ wx - total * digamma(q) + total * np.log(g) - sum_log_g_xm
        d_g = total * q / g - (p * w_x + q * w) @ (1.0 / (g + xm))
        grads = np.array([d_p * p, d_q * q, d_g * g]) / total
        return -ll / total, -grads

    return objective


def fit_gamma_gamma(frequency, mean_spend, weights=None, min_customers: int = 30) -> GammaGammaParams:
    """The Gamma-Gamma maximising the likelihood of repeat customers' mean spend per repeat purchase (`mean_spend`,
    over `frequency` repeat purchases, the papers' m_x); rows with no repeat purchase or no spend are left out, as
    in the papers (their mean spend may be NaN). Raises NotEnoughData with fewer than `min_customers` such customers."""
    x, m, w = _spend_inputs(frequency, mean_spend, weights)
    keep = (x > 0) & (m > 0) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    customers = float(w.sum())
    if customers < min_customers:
        raise NotEnoughData(f"{customers:,.0f} customers with a repeat purchase, fewer than the {min_customers} "
                            "needed to fit the spend model.")
    # Start at moderate shapes with the population mean p gamma / (q - 1) equal to the observed mean.
    start = np.log([1.0, 2.0, (w @ m) / customers])
    p, q, g = np.exp(_maximise(_gamma_gamma_objective(x, m, w), start))
    params = GammaGammaParams(float(p), float(q), float(g))
    ll = float(w @ gamma_gamma_log_likelihood(params, x, m))
    return GammaGammaParams(params.p, params.q, params.gamma, customers, ll)


def conditional_expected_spend(params: GammaGammaParams, frequency, mean_spend) -> np.ndarray:
    """E[spend per purchase | x, m] = p (gamma + x m) / (p x + q - 1) (Fader and Hardie 2013): a weighted
    average of the population mean p gamma / (q - 1) and the customer's own mean m, with weight p x / (p x + q - 1)
    on m. Customers with no repeat purchase (x = 0, whatever `mean_spend` says) get the population mean."""
    x, m, _ = _spend_inputs(frequency, mean_spend)
    p, q, g = params.p, params.q, params.gamma
    return p * (g + x * m) / (p * x + q - 1.0)


# ---------------------------------------------------------------------------------------------------- value

def predicted_clv(purchases: BetaGeoParams, spend: GammaGammaParams, frequency, recency, T, mean_spend,
                  horizon_months: int = 12, discount_rate: float = 0.0,
                  units_per_month: float = WEEKS_PER_MONTH) -> np.ndarray:
    """Each customer's predicted value over the next `horizon_months` months, discounted to the period's end:

        sum over months i = 1..H of  spend * (E[Y(i u) | x, t_x, T] - E[Y((i - 1) u) | x, t_x, T]) / (1 + d)^i

    where E[Y] is conditional_expected_purchases (BG/NBD), spend is conditional_expected_spend (Gamma-Gamma),
    u = `units_per_month` (WEEKS_PER_MONTH for a weekly model, DAYS_PER_MONTH for a daily one) and
    d = (1 + discount_rate)^(1/12) - 1 is the monthly rate equivalent to the annual `discount_rate`. A month's
    purchases are discounted by the whole month, as lifetimes' customer_lifetime_value does (it takes a monthly
    rate directly and counts a month as 4.345 weeks or 30 days). Spend is per purchase in the orders' currency."""
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError("horizon_months must be a whole number of months, at least 1.")
    if not discount_rate > -1.0:
        raise ValueError("discount_rate must be above -100%.")
    if not units_per_month > 0:
        raise ValueError("units_per_month must be positive.")
    x, t_x, age, _ = _summaries(frequency, recency, T)
    value = conditional_expected_spend(spend, x, mean_spend)
    months = np.arange(int(horizon_months) + 1, dtype=float)
    cumulative = _expected_if_alive(purchases, months[:, None] * units_per_month, x, age)
    monthly = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
    discount = (1.0 + monthly) ** -months[1:]
    return value * probability_alive(purchases, x, t_x, age) * (discount @ np.diff(cumulative, axis=0))


def holdout_error(predicted, actual) -> float:
    """How far the predicted total of repeat purchases over the holdout is from the actual total, as a share of the
    actual: |sum(predicted) - sum(actual)| / sum(actual). 0 when both are 0; infinite when nothing was bought but
    something was predicted (no prediction can be judged reliable then)."""
    pred = float(np.sum(_array(predicted, "predicted")))
    act = float(np.sum(_array(actual, "actual")))
    if act == 0:
        return 0.0 if pred == 0 else float("inf")
    return abs(pred - act) / act
