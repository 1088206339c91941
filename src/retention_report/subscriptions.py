"""Subscriptions page, lower half: how long subscriptions keep paying (by plan and by segment), how many trials
convert, why customers cancel, and the period's churn rates, from the marts subscription_lives(_segments),
subscription_trials, subscription_cancel_reasons and subscription_period_kpis.

Every cell the page shows is a value (with its 95% interval where it is an estimate) or words: "no data" where the
data does not reach, "too few to judge" below min_sample; never a gap."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from .cohorts import TOO_FEW, step_values
from .coverage import NO_DATA
from .intervals import Z_95, ratio_of_sums_se, wilson_interval
from .segments import NOT_GIVEN
from .support import share_text
from .survival import kaplan_meier, median_lifetime

DAYS_PER_MONTH = 365.25 / 12  # a month of the calendar on average: the curves run in days, the page in months
MILESTONE_MONTHS = (3, 6, 12)
NOT_REACHED = "not reached"
UNTHEMED = ("other", "no reason given")  # the cancel-reason rows after the comment themes, in this order


def _number(value) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


# --- How long subscriptions keep paying ----------------------------------------------------------------------


def still_paying_at(curve: pd.DataFrame, months=MILESTONE_MONTHS) -> pd.DataFrame:
    """The share still paying `months` after starting to pay, with its 95% band (indexed by months). nan beyond the
    longest life observed, where the curve says nothing, unless every life had ended by then (then 0)."""
    at = step_values(curve, [m * DAYS_PER_MONTH for m in months])
    at.index = pd.Index(list(months), name="months")
    last = curve.sort_values("day").iloc[-1]
    if last["survival"] == 0:  # nobody left paying: it stays 0 after the last end
        at = at.fillna({"survival": 0.0, "ci_low": last["ci_low"], "ci_high": last["ci_high"]})
    return at


def _group_order(sizes: pd.Series) -> list:
    """Largest group first, ties by name; `not given` last."""
    named = sorted((g for g in sizes.index if g != NOT_GIVEN), key=lambda g: (-sizes[g], str(g)))
    return named + ([NOT_GIVEN] if NOT_GIVEN in sizes.index else [])


def _median_text(curve: pd.DataFrame) -> str:
    days = median_lifetime(curve)
    if math.isnan(days):
        return NO_DATA
    return NOT_REACHED if math.isinf(days) else f"{days / DAYS_PER_MONTH:.1f}"


def survival_curves(lives: pd.DataFrame, by: str, min_sample: int,
                    months=MILESTONE_MONTHS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier curves of subscription lives (subscription_lives, or one segment column's rows of
    subscription_lives_segments) per value of `by` (`first_plan`, `segment`), a missing value as "not given".

    Returns (curves, rows). curves: one row per group and day, columns `by`, `months` (day / DAYS_PER_MONTH) and
    survival.CURVE_COLUMNS (`churned`: lives ended that day). rows: one row per group, largest first: `by`,
    subscriptions, ended, still running, "still paying at N months" for each of `months` (a share with its 95%
    interval, "no data" beyond the longest life observed) and "median lifetime (months)" ("not reached" while more
    than half still pay); both words "too few to judge" below `min_sample` subscriptions."""
    headings = [f"still paying at {m} months" for m in months]
    columns = [by, "subscriptions", "ended", "still running", *headings, "median lifetime (months)"]
    groups = lives[by].astype(object).where(lives[by].notna() & (lives[by].astype(str).str.strip() != ""), NOT_GIVEN)
    curves, rows = [], []
    for group in _group_order(groups.value_counts()):
        mine = lives[groups == group]
        curve = kaplan_meier(mine["days"].to_numpy(dtype=int), mine["ended"].to_numpy(dtype=bool))
        curves.append(curve.assign(**{by: group, "months": curve["day"] / DAYS_PER_MONTH}))
        row = {by: group, "subscriptions": len(mine), "ended": int(mine["ended"].sum()),
               "still running": int((~mine["ended"].astype(bool)).sum())}
        if len(mine) < min_sample:
            row.update({h: TOO_FEW for h in headings}, **{"median lifetime (months)": TOO_FEW})
        else:
            at = still_paying_at(curve, months)
            row.update({h: NO_DATA if math.isnan(at.loc[m, "survival"]) else
                        share_text(at.loc[m, "survival"], at.loc[m, "ci_low"], at.loc[m, "ci_high"])
                        for h, m in zip(headings, months)})
            row["median lifetime (months)"] = _median_text(curve)
        rows.append(row)
    curve_columns = [by, "months", *kaplan_meier([], []).columns]
    return (pd.concat(curves, ignore_index=True)[curve_columns] if curves else pd.DataFrame(columns=curve_columns),
            pd.DataFrame(rows, columns=columns))


# --- Trials ------------------------------------------------------------------------------------------------


def conversion_text(converted: int, lost: int, min_sample: int) -> str:
    """Converted of the trials decided (converted or lost) with its Wilson interval, or why there is none."""
    decided = converted + lost
    if decided == 0:
        return "none decided yet"
    if decided < min_sample:
        return TOO_FEW
    low, high = wilson_interval(converted, decided)
    return share_text(converted / decided, low, high)


def trial_rows(trials: pd.DataFrame, min_sample: int) -> pd.DataFrame:
    """subscription_trials as the page shows it: one row per month with data ("2024-06 (partial)" when the data
    ends inside it), then "all months": trials, converted, lost, undecided (still on trial) and conversion (of the
    trials decided, with its 95% Wilson interval; "too few to judge" below `min_sample` decided). No trial at all:
    an empty frame (the page says there were none)."""
    columns = ["month", "trials", "converted", "lost", "undecided", "conversion"]
    known = trials[trials["coverage"] != NO_DATA]
    if known.empty or int(known["trials"].sum()) == 0:
        return pd.DataFrame(columns=columns)
    counts = ["trials", "converted", "lost", "undecided"]
    rows = [{"month": pd.Timestamp(r.month).strftime("%Y-%m") + (" (partial)" if r.coverage == "partial" else ""),
             **{c: int(getattr(r, c)) for c in counts}} for r in known.itertuples()]
    rows.append({"month": "all months", **{c: int(known[c].sum()) for c in counts}})
    for row in rows:
        row["conversion"] = "no trials" if row["trials"] == 0 else \
            conversion_text(row["converted"], row["lost"], min_sample)
    return pd.DataFrame(rows, columns=columns)


# --- Why customers cancel ------------------------------------------------------------------------------------


def shares_adding_to_one(counts, step: float = 0.001) -> np.ndarray:
    """Each count's share of their total rounded to `step` (0.1%) so that the shown shares add up to exactly 100%:
    the largest remainders are rounded up (Hamilton's method). nan when the total is 0."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total == 0:
        return np.full(counts.shape, np.nan)
    units = round(1 / step)
    exact = counts * units / total
    whole = np.floor(exact)
    short = int(units - whole.sum())
    order = np.lexsort((np.arange(counts.size), -(exact - whole)))  # largest remainder first, then table order
    whole[order[:short]] += 1
    return whole / units


def _share_texts(counts) -> list[str]:
    return ["none asked" if math.isnan(s) else f"{s:.1%}" for s in shares_adding_to_one(counts)]


def reason_rows(reasons: pd.DataFrame) -> pd.DataFrame:
    """subscription_cancel_reasons as the page shows it: the reasons that had a cancellation in the period or the
    12 months to its end, most cancellations first ("other" and "no reason given" last): cancellations, their share
    (adding up to 100%; "none asked" when the window has none), customers and the MRR they cancel (a number in
    the reporting currency: format it as money), in the period and in the 12 months. No cancellation in either:
    an empty frame."""
    columns = ["reason", "cancellations", "share of cancellations", "customers", "MRR lost",
               "cancellations in 12 months", "share in 12 months", "MRR lost in 12 months"]
    asked = reasons[(reasons["cancellations"] > 0) | (reasons["cancellations_12m"] > 0)].copy()
    if asked.empty:
        return pd.DataFrame(columns=columns)
    asked["last"] = asked["theme"].map({t: i + 1 for i, t in enumerate(UNTHEMED)}).fillna(0)
    asked = asked.sort_values(["last", "cancellations", "cancellations_12m", "theme"],
                              ascending=[True, False, False, True])
    return pd.DataFrame({
        "reason": asked["theme"].to_numpy(),
        "cancellations": asked["cancellations"].astype(int).to_numpy(),
        "share of cancellations": _share_texts(asked["cancellations"]),
        "customers": asked["customers"].astype(int).to_numpy(),
        "MRR lost": asked["mrr_lost"].astype(float).to_numpy(),
        "cancellations in 12 months": asked["cancellations_12m"].astype(int).to_numpy(),
        "share in 12 months": _share_texts(asked["cancellations_12m"]),
        "MRR lost in 12 months": asked["mrr_lost_12m"].astype(float).to_numpy(),
    }, columns=columns)


# --- The period's churn rates ------------------------------------------------------------------------------


class Estimate(NamedTuple):
    value: float
    se: float  # nan where it cannot be estimated (fewer than two customers)
    ci_low: float
    ci_high: float


def mrr_retention(kpis_row, kind: str, z: float = Z_95) -> Estimate:
    """Net or gross (`kind`) MRR retention of a subscription_period_kpis row: the ratio of sums over the customers
    paying at the start, its standard error (intervals.ratio_of_sums_se from the mart's residual sum of squares)
    and its 95% interval, cut at 0 (no ratio of MRRs falls below) and, for gross retention, at 1 (it counts no
    expansion). All nan when nobody paid at the start."""
    if kind not in ("net", "gross"):
        raise ValueError(f"kind must be net or gross, not {kind!r}.")
    value = _number(kpis_row[f"{kind}_mrr_retention"])
    customers = _number(kpis_row["customers_start"])
    se = ratio_of_sums_se(_number(kpis_row[f"{kind}_residual_sum_of_squares"]), _number(kpis_row["retained_base"]),
                          0 if math.isnan(customers) else int(customers))
    if math.isnan(value) or math.isnan(se):
        return Estimate(value, se, math.nan, math.nan)
    ceiling = 1.0 if kind == "gross" else math.inf
    return Estimate(value, se, max(0.0, value - z * se), min(ceiling, value + z * se))


def churn_rates(kpis_current_row, min_sample: int) -> pd.DataFrame:
    """The period's churn, from subscription_period_kpis' current row: logo churn (customers paying at the start
    who pay nothing at the end, with its Wilson interval), gross MRR churn (1 - gross MRR retention: MRR lost to
    cancellations and downgrades) and net MRR churn (1 - net MRR retention: below 0 when expansion outweighs
    them), with the intervals of mrr_retention turned round. One row each: `measure`, `churn` (the page's words:
    a share with its 95% interval, "no data" when nobody paid at the start, "too few to judge" below
    `min_sample` customers then) and the numbers behind it, `rate`, `ci_low`, `ci_high` (nan where `churn` has
    words) and `customers_start`."""
    row = kpis_current_row
    customers = 0 if pd.isna(row["customers_start"]) else int(row["customers_start"])
    known = customers > 0 and str(row["coverage"]) != NO_DATA
    churned = 0 if pd.isna(row["churned_logos"]) else int(row["churned_logos"])
    logo = (churned / customers, *wilson_interval(churned, customers)) if known else (math.nan,) * 3
    estimates = {"logo churn": logo}
    for kind in ("gross", "net"):
        kept = mrr_retention(row, kind) if known else Estimate(*(math.nan,) * 4)
        estimates[f"{kind} MRR churn"] = (1 - kept.value, 1 - kept.ci_high, 1 - kept.ci_low)
    rows = []
    for measure, (rate, low, high) in estimates.items():
        if not known or math.isnan(rate):
            words = NO_DATA
        elif customers < min_sample:
            words = TOO_FEW
        elif math.isnan(low):
            words = f"{rate:.1%}"
        else:
            words = share_text(rate, low, high)
        judged = words not in (NO_DATA, TOO_FEW)
        rows.append({"measure": measure, "churn": words, "rate": rate if judged else math.nan,
                     "ci_low": low if judged else math.nan, "ci_high": high if judged else math.nan,
                     "customers_start": customers})
    return pd.DataFrame(rows, columns=["measure", "churn", "rate", "ci_low", "ci_high", "customers_start"])
