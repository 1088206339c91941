"""Does appreciation pay? A stratified comparison of thanked and not-thanked customers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .intervals import Z_95, wilson_interval


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
