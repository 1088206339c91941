"""Does appreciation pay? A stratified comparison of thanked and not-thanked customers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .intervals import Z_95, wilson_interval
from .page import format_money, signed_points


def stratified_difference(strata: pd.DataFrame, z: float = Z_95,
                          groups: tuple[str, str] = ("thanked", "not_thanked")) -> pd.DataFrame:
    """`touchpoint_effect.csv` from per-stratum counts (horizon_days, stratum, group, customers, retained).

    Per stratum and group: the retention rate with its Wilson interval. Per horizon, a row stratum='all',
    group='difference': the first-minus-second group's difference (`groups`: thanked minus not thanked, or
    e.g. answered late minus on time) averaged over strata weighted by their size (n_s / N, strata with both
    groups only), with variance sum(w_s^2 (p1 q1 / n1 + p0 q0 / n0)). Strata missing a group cannot be compared
    and are left out of the difference (they stay listed).
    """
    treated, control = groups
    groups = strata[strata["group"].isin([treated, control])].copy()
    low, high = wilson_interval(groups.retained.to_numpy(), groups.customers.to_numpy(), z)
    groups["retention_rate"] = np.where(groups.customers > 0, groups.retained / groups.customers.where(groups.customers > 0), np.nan)
    groups["ci_low"], groups["ci_high"] = low, high
    rows = [groups]
    for horizon, per_horizon in groups.groupby("horizon_days"):
        # Both groups as columns even when one has no customer at all (no one thanked yet: no difference).
        both = pd.MultiIndex.from_product([["customers", "retained"], [control, treated]])
        wide = per_horizon.pivot(index="stratum", columns="group", values=["customers", "retained"]).reindex(
            columns=both).dropna()
        wide = wide[(wide[("customers", treated)] > 0) & (wide[("customers", control)] > 0)]
        if wide.empty:
            estimate = low_d = high_d = math.nan
            size = 0
        else:
            n1, n0 = wide[("customers", treated)], wide[("customers", control)]
            p1, p0 = wide[("retained", treated)] / n1, wide[("retained", control)] / n0
            weights = (n1 + n0) / (n1 + n0).sum()
            estimate = float((weights * (p1 - p0)).sum())
            se = math.sqrt(float((weights ** 2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum()))
            low_d, high_d, size = estimate - z * se, estimate + z * se, int((n1 + n0).sum())
        rows.append(pd.DataFrame([{"horizon_days": horizon, "stratum": "all", "group": "difference",
                                   "customers": size, "retained": np.nan, "retention_rate": estimate,
                                   "ci_low": low_d, "ci_high": high_d}]))
    columns = ["horizon_days", "stratum", "group", "customers", "retained", "retention_rate", "ci_low", "ci_high"]
    return pd.concat(rows, ignore_index=True)[columns].sort_values(["horizon_days", "stratum", "group"],
                                                                     ignore_index=True)


def coverage_rows(frame: pd.DataFrame, metric: str, covered: str, z: float = Z_95) -> pd.DataFrame:
    """Rows of `touchpoint_coverage.csv` (metric, segment, customers, covered, rate, ci_low, ci_high)."""
    segment = np.where(frame.segment_column == "all", "all", frame.segment_column + ": " + frame.segment.astype(str))
    customers, hits = frame.customers.astype(int).to_numpy(), frame[covered].astype(int).to_numpy()
    low, high = wilson_interval(hits, customers, z)
    return pd.DataFrame({"metric": metric, "segment": segment, "customers": customers, "covered": hits,
                         "rate": np.where(customers > 0, hits / np.maximum(customers, 1), np.nan),
                         "ci_low": low, "ci_high": high})


def mrr_kept(strata: pd.DataFrame) -> pd.DataFrame:
    """Per horizon and group (thanked / not_thanked) of `touchpoint_subscription_effect`: subscribers, their MRR at
    the start and what they paid at the horizon, and MRR kept = the ratio of those sums (descriptive: not
    stratified, no interval; nan when no MRR at the start)."""
    rows = strata[strata["group"].isin(["thanked", "not_thanked"])]
    kept = rows.groupby(["horizon_days", "group"], as_index=False).agg(
        customers=("customers", "sum"), mrr_start=("mrr_start", lambda s: float(s.astype(float).sum())),
        mrr_kept=("mrr_kept", lambda s: float(s.astype(float).sum())))
    kept["mrr_kept_share"] = kept.mrr_kept / kept.mrr_start.where(kept.mrr_start > 0)
    return kept


def subscription_effect_sentence(effect: pd.DataFrame, kept: pd.DataFrame, left_out: int, min_sample: int,
                                 horizon: int = 180, currency: str | None = None) -> str:
    """The headline of the subscribers' comparison: the stratified difference in the share still paying at
    `horizon` (stratified_difference's 'difference' row) with its interval and verdict, the association caveat,
    and the MRR kept per group."""
    diffs = effect[effect.group == "difference"].set_index("horizon_days")
    if horizon not in diffs.index or pd.isna(diffs.retention_rate.get(horizon)):
        return ("There were not enough comparable subscribers (thanked and not thanked in the same plan, MRR "
                f"quartile and start quarter, with {horizon} days of follow-up) to compare them"
                + (f"; {left_out:,} left out because their follow-up was not over." if left_out else "."))
    d = diffs.loc[horizon]
    if d.customers < min_sample:
        verdict = f"too few to judge (fewer than {min_sample} subscribers in comparable strata)"
    elif d.ci_low > 0:
        verdict = "thanked subscribers kept paying more often, beyond the 95% interval"
    elif d.ci_high < 0:
        verdict = "thanked subscribers kept paying less often, beyond the 95% interval"
    else:
        verdict = "the difference is within what chance alone would produce"
    text = (f"{horizon} days after their first paid month, the share of subscribers still paying differed by "
            f"**{signed_points(d.retention_rate)} points** (95% interval {signed_points(d.ci_low)} to "
            f"{signed_points(d.ci_high)}) "
            f"between those thanked in their first 30 days and comparable subscribers who were not: {verdict}. "
            f"{int(d.customers):,} subscribers in comparable strata; left out because their follow-up was not over: "
            f"{left_out:,}. An association, not an experiment: who is thanked may differ in ways the strata do not "
            f"capture.")
    groups = kept[kept.horizon_days == horizon].set_index("group")
    words = {"thanked": "thanked", "not_thanked": "not thanked"}
    parts = [f"{words[g]} {groups.mrr_kept_share[g]:.0%} of {format_money(groups.mrr_start[g], currency)} a month"
             for g in ("thanked", "not_thanked") if g in groups.index and pd.notna(groups.mrr_kept_share[g])]
    if parts:
        text += f" MRR kept at {horizon} days (all subscribers, not stratified): " + "; ".join(parts) + "."
    return text
