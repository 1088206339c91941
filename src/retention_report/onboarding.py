"""The first week: activation of new customers (every key event within `onboarding.window_days` of their first
completed order), its funnel, and whether activated customers stay (an association, not an experiment)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from .intervals import Z_95, newcombe_difference, wilson_interval
from .touchpoints import stratified_difference

GROUPS = ("activated", "not_activated")  # compared as first minus second


def activation_effect(strata: pd.DataFrame, z: float = Z_95) -> pd.DataFrame:
    """`onboarding_effect.csv` from `onboarding_effect_strata` (horizon_days, stratum, group, customers, retained):
    per stratum and group the retention rate with its Wilson interval, and per horizon the stratum-weighted
    activated-minus-not-activated difference with its 95% interval (group 'difference'). A thin wrapper over
    `touchpoints.stratified_difference`, the one stratified comparison of the report."""
    return stratified_difference(strata, z, groups=GROUPS)


def bonferroni_z(comparisons: int, level: float = 0.95) -> float:
    """The normal quantile of a two-sided interval at `level` shared over `comparisons` intervals (Bonferroni:
    each at 1 - (1 - level) / comparisons)."""
    alpha = (1 - level) / max(int(comparisons), 1)
    return NormalDist().inv_cdf(1 - alpha / 2)


SPLIT_COLUMNS = ["event", "horizon_days", "customers_did", "retained_did", "customers_not", "retained_not",
                 "retention_did", "retention_not", "difference", "ci_low", "ci_high", "adjusted_low", "adjusted_high"]


def event_split(split: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """`onboarding_event_split.csv` from the mart: per event, the retention of those who did it and of those who
    did not, their difference (did minus not) with its Newcombe interval at `level`, and the Bonferroni-adjusted
    interval over the events compared (the rows of `split`), ordered by the size of the difference, largest
    first."""
    out = split.copy()
    if out.empty:
        return pd.DataFrame(columns=SPLIT_COLUMNS)
    m = len(out)
    args = (out.retained_did, out.customers_did, out.retained_not, out.customers_not)
    d, low, high = newcombe_difference(*args, z=bonferroni_z(1, level))
    _, a_low, a_high = newcombe_difference(*args, z=bonferroni_z(m, level))
    out["retention_did"] = out.retained_did / out.customers_did.where(out.customers_did > 0)
    out["retention_not"] = out.retained_not / out.customers_not.where(out.customers_not > 0)
    out["difference"], out["ci_low"], out["ci_high"] = d, low, high
    out["adjusted_low"], out["adjusted_high"] = a_low, a_high
    order = out.difference.abs().fillna(-1).sort_values(ascending=False, kind="stable").index
    return out.loc[order, SPLIT_COLUMNS].reset_index(drop=True)


def best_event(split: pd.DataFrame) -> pd.Series | None:
    """The event whose doers and non-doers differ most in retention (largest absolute difference), or None."""
    compared = split.dropna(subset=["difference"])
    if compared.empty:
        return None
    return compared.loc[compared.difference.abs().idxmax()]


def monthly_shares(monthly: pd.DataFrame, z: float = Z_95) -> pd.DataFrame:
    """`onboarding_monthly.csv`, wide: per month new customers, activated, the activation share with its Wilson
    interval (`activation_ci_low`, `activation_ci_high`) and each key event's share (`<event>_share`, in funnel
    order) with its own (`<event>_ci_low`, `<event>_ci_high`); shares and bounds are nan for a month without new
    customers."""
    months = monthly.groupby("month", as_index=False, sort=True)[["new_customers", "activated"]].first()
    n = months.new_customers.to_numpy()
    base = months.new_customers.where(months.new_customers > 0)

    def add(name: str, hits) -> None:
        hits = np.asarray(hits, dtype=float)
        months[f"{name}_share"] = hits / base.to_numpy()
        months[f"{name}_ci_low"], months[f"{name}_ci_high"] = wilson_interval(hits, n, z)

    add("activation", months.activated)
    keyed = monthly.dropna(subset=["key_step"]).sort_values("key_step")
    for event in dict.fromkeys(keyed.key_event):
        did = keyed[keyed.key_event == event].set_index("month").did_key_event
        add(event, months.month.map(did).fillna(0))
    return months


def funnel_steps(funnel: pd.DataFrame) -> pd.DataFrame:
    """The funnel with each step's share of the new customers and of the step before (the first step: of the
    new customers)."""
    out = funnel.sort_values("step").reset_index(drop=True)
    base = out.new_customers.where(out.new_customers > 0)
    out["share_of_new"] = out.customers / base
    before = out.customers.shift(1).fillna(out.new_customers)
    out["share_of_step_before"] = out.customers / before.where(before > 0)
    return out


def activation_share(counts: pd.DataFrame, role: str = "current", z: float = Z_95) -> dict:
    """The activated share of a period's new customers (`onboarding_period_counts`) with its Wilson interval:
    {new_customers, activated, share, ci_low, ci_high}; share and bounds nan without new customers."""
    row = counts.set_index("period_role").loc[role]
    n, k = int(row.new_customers), int(row.activated)
    low, high = wilson_interval(k, n, z)
    return {"new_customers": n, "activated": k, "share": k / n if n else math.nan, "ci_low": low, "ci_high": high}


def minutes(seconds: float) -> str:
    """Seconds as plain words: `4.2 minutes`, `1.5 hours`; `no data` when there is no value."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "no data"
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.1f} minutes"


def activity_words(params: dict) -> dict[str, str]:
    """The page's words for day 0 and for coming back, from what makes a customer active (params `activity`,
    `active_events`; cohorts.activity_definition): `start` ("first completed order" / "first activity"), `short`
    ("first order" / "first activity", for titles), `again` ("ordered again" / "were active again") and
    `again_title` ("Ordered again" / "Active again")."""
    from .cohorts import activity_definition

    if (params.get("activity") or "orders") == "orders":
        return {"start": "first completed order", "short": "first order", "again": "ordered again",
                "again_title": "Ordered again"}
    start = activity_definition(params)["start"]
    return {"start": start, "short": start, "again": "were active again", "again_title": "Active again"}
