"""Customer retention curves: Kaplan-Meier with a 95% band that holds for small groups.

Customers still active at the export date are censored: we know they lasted
at least their tenure so far, not when they will churn. Kaplan-Meier uses them
while they are at risk instead of dropping them (which would understate
retention) or counting them as retained for ever (which would overstate it).

The estimate, the event table and Greenwood's sum follow lifelines.KaplanMeierFitter
exactly (checked against it to 1e-9), without making lifelines a runtime dependency.

The band is Rothman's (1978): the Wilson score interval for the estimate S with an
effective sample size n' = S(1 - S) / Var(S), Var(S) being Greenwood's S^2 * sum d/(n(n - d))
(Cutler and Ederer's effective sample size; the same formula as R's km.ci, method
"rothman"). Without censoring n' is the number of customers and the band is exactly the
Wilson interval of a binomial proportion, which keeps close to its nominal coverage at
small n (Newcombe 1998). Where nobody has churned yet (S = 1) Greenwood's variance is 0
and the log(-log) band lifelines draws collapses to (1, 1), certainty from one customer;
there n' is the number still at risk (Peto's effective sample size n(t) / S(t) at S = 1),
so one customer gives 100% (20.7-100.0), not 100% (100.0-100.0). Where everyone left has
churned (S = 0) n' is the last one the curve had before, or the number at risk when the
curve falls from 1 to 0 at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import Z_95, wilson_interval

CURVE_COLUMNS = ["day", "at_risk", "churned", "survival", "ci_low", "ci_high", "greenwood"]
"""`greenwood` is Greenwood's sum d/(n(n - d)) up to the day, Var(log S): the log(-log) band lifelines draws is
exp(-exp(log(-log S) -/+ z sqrt(greenwood) / log S))."""


def _clean_inputs(durations, churned):
    days = np.asarray(durations)
    if days.ndim != 1:
        days = days.reshape(-1)
    if not (np.issubdtype(days.dtype, np.integer) or np.issubdtype(days.dtype, np.floating)):
        days = days.astype(float)
    if np.issubdtype(days.dtype, np.floating) and not np.all(np.isfinite(days)):
        raise ValueError("durations must be finite numbers of days (no NaN or inf).")
    if np.any(days < 0):
        raise ValueError("durations must not be negative.")

    events = np.asarray(churned).reshape(-1)
    if events.shape != days.shape:
        raise ValueError(f"durations and churned differ in length ({days.size} vs {events.size}).")
    if events.dtype != bool:
        if not np.all(np.isin(events, (0, 1))):
            raise ValueError("churned must be booleans or 0/1.")
        events = events.astype(bool)
    return days, events


def kaplan_meier(durations, churned, z: float = Z_95) -> pd.DataFrame:
    """Retention curve from each customer's tenure in days and whether they churned.

    One row per distinct tenure (churn or censoring) plus day 0, with columns
    day, at_risk (customers still active at the start of the day), churned
    (churns on that day), survival (share expected to remain after that day),
    ci_low/ci_high (the 95% band, Rothman's: see the module's docstring) and
    greenwood (Greenwood's sum, Var(log S)).

    Day 0 has survival 1 unless customers churned at tenure 0, in which case
    day 0 already counts them, as lifelines does. `day` keeps the input's dtype
    (integers stay integers). No customers gives the single row day 0 with
    at_risk 0 and nan survival: an empty cohort has no curve, only a gap.
    """
    if not z > 0:
        raise ValueError("z must be positive.")
    days, events = _clean_inputs(durations, churned)
    if days.size == 0:
        return _empty(days.dtype)

    # Event table on day 0 plus every distinct tenure (lifelines' timeline).
    timeline, position = np.unique(np.concatenate([np.zeros(1, dtype=days.dtype), days]),
                                   return_inverse=True)
    position = position[1:]
    removed = np.bincount(position, minlength=timeline.size)
    churns = np.bincount(position, weights=events, minlength=timeline.size).astype(int)
    at_risk = days.size - np.concatenate([[0], np.cumsum(removed)[:-1]])

    return _curve(timeline, at_risk, churns, z)


def _empty(dtype) -> pd.DataFrame:
    return pd.DataFrame({"day": np.zeros(1, dtype=dtype), "at_risk": [0], "churned": [0], "survival": [np.nan],
                         "ci_low": [np.nan], "ci_high": [np.nan], "greenwood": [np.nan]})


def effective_sample_size(survival, greenwood, at_risk) -> np.ndarray:
    """Rothman's n' = S(1 - S) / Var(S) = (1 - S) / (S * greenwood) per row of a curve; the number at risk where
    nobody has churned yet (S = 1); where S = 0, the last n' before it (or the number at risk on that day when the
    curve falls from 1 to 0 at once)."""
    s = np.asarray(survival, dtype=float)
    g = np.asarray(greenwood, dtype=float)
    n = np.asarray(at_risk, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cutler_ederer = (1.0 - s) / (s * g)
    out = np.where(s >= 1.0, n, cutler_ederer)
    for i in np.flatnonzero(s <= 0.0):
        before = out[:i][(s[:i] > 0.0) & (s[:i] < 1.0)]
        out[i] = before[-1] if before.size else n[i]
    return out


def rothman_band(survival, greenwood, at_risk, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of S with Rothman's effective sample size (see the module's docstring)."""
    s = np.asarray(survival, dtype=float)
    n_eff = effective_sample_size(s, greenwood, at_risk)
    low, high = wilson_interval(s * n_eff, n_eff, z)
    return np.atleast_1d(low), np.atleast_1d(high)


def _curve(timeline, at_risk, churns, z: float) -> pd.DataFrame:
    """The estimate and its band from the event table (day, at risk, churned on the day)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # Product of (1 - d/n) taken as a sum of logs, as lifelines does; a day
        # on which every remaining customer churns gives log 0 = -inf, survival 0.
        log_survival = np.cumsum(np.log(at_risk - churns) - np.log(at_risk))
        # Greenwood: Var(log S) = sum d / (n (n - d)); that day adds 0 (lifelines).
        greenwood_terms = churns / (at_risk * (at_risk - churns).astype(float))
        greenwood = np.cumsum(np.where(np.isinf(greenwood_terms), 0.0, greenwood_terms))
        survival = np.exp(log_survival)
    ci_low, ci_high = rothman_band(survival, greenwood, at_risk, z)
    return pd.DataFrame({"day": timeline, "at_risk": at_risk.astype(int), "churned": churns,
                         "survival": survival, "ci_low": ci_low, "ci_high": ci_high, "greenwood": greenwood})


def loglog_band(curve: pd.DataFrame, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """lifelines' default exponential-Greenwood band from a curve's `survival` and `greenwood`, (1, 1) where S = 1.
    Not shown on any page (it collapses to certainty where nobody has churned yet); kept so that the Greenwood
    sum can be checked against lifelines."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_survival = np.log(curve["survival"].to_numpy(dtype=float))
        shift = z * np.sqrt(curve["greenwood"].to_numpy(dtype=float)) / log_survival
        low = np.exp(-np.exp(np.log(-log_survival) - shift))
        high = np.exp(-np.exp(np.log(-log_survival) + shift))
    return np.where(np.isnan(low), 1.0, low), np.where(np.isnan(high), 1.0, high)


def kaplan_meier_from_counts(days, churned, censored, z: float = Z_95) -> pd.DataFrame:
    """The same curve as `kaplan_meier`, from counts per day instead of one row per customer.

    `days[i]` is a tenure in days, `churned[i]` and `censored[i]` how many customers churned or were
    censored with that tenure (a day may appear more than once; its counts add up). This is what the
    warehouse hands over (a few thousand rows per segment at most), so the notebook never loads
    customer-level rows. The result equals `kaplan_meier` on the expanded customers row for row.
    """
    if not z > 0:
        raise ValueError("z must be positive.")
    day = np.asarray(days).reshape(-1)
    if not (np.issubdtype(day.dtype, np.integer) or np.issubdtype(day.dtype, np.floating)):
        day = day.astype(float)
    dead = np.asarray(churned).reshape(-1)
    lost = np.asarray(censored).reshape(-1)
    if not (day.shape == dead.shape == lost.shape):
        raise ValueError("days, churned and censored differ in length.")
    if day.size and np.issubdtype(day.dtype, np.floating) and not np.all(np.isfinite(day)):
        raise ValueError("days must be finite numbers (no NaN or inf).")
    if np.any(day < 0):
        raise ValueError("days must not be negative.")
    for name, counts in (("churned", dead), ("censored", lost)):
        if counts.size and (np.any(counts < 0) or np.any(np.asarray(counts, dtype=float) % 1 != 0)):
            raise ValueError(f"{name} must be whole non-negative counts.")
    dead, lost = dead.astype(np.int64), lost.astype(np.int64)
    keep = (dead + lost) > 0
    day, dead, lost = day[keep], dead[keep], lost[keep]
    if day.size == 0:
        return _empty(day.dtype)
    timeline, position = np.unique(np.concatenate([np.zeros(1, dtype=day.dtype), day]), return_inverse=True)
    position = position[1:]
    removed = np.bincount(position, weights=dead + lost, minlength=timeline.size).astype(np.int64)
    churns = np.bincount(position, weights=dead, minlength=timeline.size).astype(np.int64)
    at_risk = removed.sum() - np.concatenate([[0], np.cumsum(removed)[:-1]])
    return _curve(timeline, at_risk, churns, z)


def median_lifetime(curve: pd.DataFrame) -> float:
    """First day on which survival is at or below 0.5.

    If the curve never gets that low (more than half the cohort is still
    active, or censored before churning) the answer is inf, as in lifelines'
    `median_survival_time_`: "not reached yet" is a finding the report shows,
    distinct from nan, which here means the curve has no customers at all.
    """
    survival = curve["survival"].to_numpy(dtype=float)
    if survival.size == 0 or np.all(np.isnan(survival)):
        return float("nan")
    reached = np.flatnonzero(survival <= 0.5)
    if reached.size == 0:
        return float("inf")
    return float(curve["day"].to_numpy()[reached[0]])


def median_lifetime_beyond(curve: pd.DataFrame, day: float = 0) -> float:
    """The median lifetime of the customers whose lifetime is longer than `day`: the first later day on which
    S(t) / S(day) is at or below 0.5. For `day` 0 it is the median among customers who ordered again within the
    churn window (a lifetime of 0 days is a first order never followed within it). Kaplan-Meier factorises, so
    S(t) / S(day) is exactly the curve of those customers alone; inf when it never gets that low (not reached),
    nan when nobody outlived `day`."""
    days = curve["day"].to_numpy(dtype=float)
    survival = curve["survival"].to_numpy(dtype=float)
    if survival.size == 0 or np.all(np.isnan(survival)):
        return float("nan")
    index = np.searchsorted(days, day, side="right") - 1
    base = survival[index] if index >= 0 else 1.0
    if not base > 0:
        return float("nan")
    later = days > day
    reached = np.flatnonzero(later & (survival <= 0.5 * base * (1 + 1e-12)))
    if reached.size == 0:
        return float("inf")
    return float(curve["day"].to_numpy()[reached[0]])


def survival_at(curve: pd.DataFrame, days) -> pd.Series:
    """Survival on the given days (e.g. [30, 90, 365]), read off the step curve.

    The curve changes only on its listed days, so a day in between takes the
    value of the latest listed day at or before it; days before day 0 give 1.
    Past the longest observed tenure the last value is carried forward, as
    lifelines' `survival_function_at_times` does; that tail is an
    extrapolation, so compare the requested days with `curve.day.max()`.
    """
    wanted = np.asarray(days, dtype=float).reshape(-1)
    curve_days = curve["day"].to_numpy(dtype=float)
    survival = curve["survival"].to_numpy(dtype=float)
    index = np.searchsorted(curve_days, wanted, side="right") - 1
    values = np.where(index >= 0, survival[np.clip(index, 0, None)], 1.0)
    return pd.Series(values, index=pd.Index(np.asarray(days).reshape(-1), name="day"), name="survival")
