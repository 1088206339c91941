"""Customer retention curves: Kaplan-Meier with a Greenwood confidence band.

Customers still active at the export date are censored: we know they lasted
at least their tenure so far, not when they will churn. Kaplan-Meier uses them
while they are at risk instead of dropping them (which would understate
retention) or counting them as retained for ever (which would overstate it).

The arithmetic follows lifelines.KaplanMeierFitter exactly (same event table,
same log-sum estimate, same exponential-Greenwood "log(-log)" band) so the
report's numbers can be checked against it to 1e-9, without making lifelines
a runtime dependency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054
"""Two-sided 95% normal quantile; lifelines' default alpha=0.05 gives the same."""

CURVE_COLUMNS = ["day", "at_risk", "churned", "survival", "ci_low", "ci_high"]


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
    (churns on that day), survival (share expected to remain after that day)
    and ci_low/ci_high, the exponential-Greenwood band lifelines uses by default.

    Day 0 has survival 1 unless customers churned at tenure 0, in which case
    day 0 already counts them, as lifelines does. `day` keeps the input's dtype
    (integers stay integers). No customers gives the single row day 0 with
    at_risk 0 and nan survival: an empty cohort has no curve, only a gap.
    """
    if not z > 0:
        raise ValueError("z must be positive.")
    days, events = _clean_inputs(durations, churned)
    if days.size == 0:
        return pd.DataFrame({"day": np.zeros(1, dtype=days.dtype), "at_risk": [0], "churned": [0],
                             "survival": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan]})

    # Event table on day 0 plus every distinct tenure (lifelines' timeline).
    timeline, position = np.unique(np.concatenate([np.zeros(1, dtype=days.dtype), days]),
                                   return_inverse=True)
    position = position[1:]
    removed = np.bincount(position, minlength=timeline.size)
    churns = np.bincount(position, weights=events, minlength=timeline.size).astype(int)
    at_risk = days.size - np.concatenate([[0], np.cumsum(removed)[:-1]])

    return _curve(timeline, at_risk, churns, z)


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

        # Band for log(-log S), mapped back: it stays inside [0, 1].
        log_minus_log = np.log(-log_survival)
        shift = z * np.sqrt(greenwood) / log_survival
        ci_low = np.exp(-np.exp(log_minus_log - shift))
        ci_high = np.exp(-np.exp(log_minus_log + shift))
    # Only where nobody has churned yet (S = 1) is the band 0/0; there the
    # curve is certain, and lifelines reports (1, 1).
    ci_low = np.where(np.isnan(ci_low), 1.0, ci_low)
    ci_high = np.where(np.isnan(ci_high), 1.0, ci_high)

    return pd.DataFrame({"day": timeline, "at_risk": at_risk.astype(int), "churned": churns,
                         "survival": survival, "ci_low": ci_low, "ci_high": ci_high})


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
        return pd.DataFrame({"day": np.zeros(1, dtype=day.dtype), "at_risk": [0], "churned": [0],
                             "survival": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan]})
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
