"""Net Promoter Score with a margin of error, for segments of any size.

NPS = 100 * (promoters - detractors) / responses, on -100..100. Its sampling
variance per answer is (pP + pD) - (pP - pD)^2 (each answer scores +1, 0 or -1).

The default interval is the adjusted Wald of Rocks (2016), "Interval
estimation for the Net Promoter Score", The American Statistician 70:365-372:
add 0.75 detractors, 1.5 passives and 0.75 promoters (3 pseudo-answers) before
computing the Wald interval. Plain Wald gives a zero-width interval whenever
every answer falls in one group (common in small segments); the adjusted
version does not and has better coverage. The pseudo-answers only shape the
interval: the published score is always the plain one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GROUPS = ("promoter", "passive", "detractor")

# Rocks (2016), and his R package `NPS`: pseudo-answers added to
# (detractors, passives, promoters) for the adjusted Wald interval.
PSEUDO_DETRACTORS, PSEUDO_PASSIVES, PSEUDO_PROMOTERS = 0.75, 1.5, 0.75
METHODS = ("adjusted_wald", "wald")


def score_group(score) -> str:
    """'promoter' for 9-10, 'passive' for 7-8, 'detractor' for 0-6.

    Anything other than a whole number 0..10 raises: a stray 11 or 7.5 is a
    data error to fix upstream, not an answer to file in some group.
    """
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise ValueError(f"not a 0-10 score: {score!r}") from None
    if isinstance(score, bool) or not value.is_integer() or not 0 <= value <= 10:
        raise ValueError(f"not a 0-10 score: {score!r}")
    if value >= 9:
        return "promoter"
    if value >= 7:
        return "passive"
    return "detractor"


@dataclass(frozen=True)
class NpsEstimate:
    """A segment's NPS and its interval, all on the -100..100 scale.

    `variance` is per answer, in points^2, of the proportions the interval was
    built from (pseudo-answers included for adjusted Wald), so that
    `margin_of_error = z * sqrt(variance / (responses + pseudo-answers))`.
    The interval is centred on the adjusted score, so for small segments it is
    not symmetric about `nps`, and it is clipped to [-100, 100].
    """

    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    variance: float
    margin_of_error: float
    ci_low: float
    ci_high: float
    method: str = "adjusted_wald"


@dataclass(frozen=True)
class NpsDifference:
    """NPS of a minus NPS of b, in points, with an interval for the difference.

    `beyond_interval` is True when the interval excludes 0, i.e. the change is
    larger than sampling noise at the chosen confidence level.
    """

    difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    beyond_interval: bool

    @property
    def se(self) -> float:
        """Short alias of `standard_error`."""
        return self.standard_error


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")


def _interval_inputs(promoters, passives, detractors, method):
    """Counts the interval is built from: (n~, NPS~ and per-answer variance, on 0..1 scale)."""
    promoters = np.asarray(promoters, dtype=float)
    passives = np.asarray(passives, dtype=float)
    detractors = np.asarray(detractors, dtype=float)
    empty = (promoters + passives + detractors) == 0
    if method == "adjusted_wald":
        promoters = promoters + PSEUDO_PROMOTERS
        passives = passives + PSEUDO_PASSIVES
        detractors = detractors + PSEUDO_DETRACTORS
    n = promoters + passives + detractors
    with np.errstate(divide="ignore", invalid="ignore"):
        share_promoters = promoters / n
        share_detractors = detractors / n
    centre = share_promoters - share_detractors
    variance = (share_promoters + share_detractors) - centre**2
    # Guard against -1e-17 from rounding when every answer is in one group.
    variance = np.maximum(variance, 0.0)
    # No answers means no estimate, even though pseudo-answers would give one.
    centre = np.where(empty, np.nan, centre)
    variance = np.where(empty, np.nan, variance)
    return n, centre, variance


def _nps_arrays(promoters, passives, detractors, method, z):
    """Vectorised core shared by `net_promoter_score` and `nps_table`."""
    _check_method(method)
    counts = [np.asarray(c, dtype=float) for c in (promoters, passives, detractors)]
    if any(np.any(np.isnan(c)) or np.any(c < 0) for c in counts):
        raise ValueError("answer counts must be non-negative numbers.")
    if not z > 0:
        raise ValueError("z must be positive.")
    promoters, passives, detractors = counts
    responses = promoters + passives + detractors
    with np.errstate(divide="ignore", invalid="ignore"):
        nps = np.where(responses == 0, np.nan, 100.0 * (promoters - detractors) / responses)
    n_interval, centre, variance = _interval_inputs(promoters, passives, detractors, method)
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = 100.0 * z * np.sqrt(variance / n_interval)
    ci_low = np.clip(100.0 * centre - margin, -100.0, 100.0)
    ci_high = np.clip(100.0 * centre + margin, -100.0, 100.0)
    return responses, nps, 100.0**2 * variance, margin, ci_low, ci_high


def net_promoter_score(promoters, passives, detractors, method: str = "adjusted_wald",
                       z: float = 1.96) -> NpsEstimate:
    """NPS of one segment from its answer counts, with a confidence interval.

    `method` is "adjusted_wald" (default, Rocks 2016) or "wald". No answers
    gives nan for the score and the interval rather than an exception, so an
    empty segment shows as a gap in the report.
    """
    responses, nps, variance, margin, ci_low, ci_high = _nps_arrays(
        promoters, passives, detractors, method, z)
    return NpsEstimate(
        responses=_as_count(responses), promoters=_as_count(promoters),
        passives=_as_count(passives), detractors=_as_count(detractors),
        nps=float(nps), variance=float(variance), margin_of_error=float(margin),
        ci_low=float(ci_low), ci_high=float(ci_high), method=method,
    )


def _as_count(value):
    value = float(np.asarray(value))
    return int(value) if value.is_integer() else value


def nps_difference(a: NpsEstimate, b: NpsEstimate, z: float = 1.96) -> NpsDifference:
    """Has NPS moved between segment b and segment a (e.g. last quarter and this)?

    The difference reported is the plain `a.nps - b.nps`. Its interval follows
    each estimate's method, as in Rocks's `NPS` R package: for adjusted Wald the
    pseudo-answers are added to each sample, the interval is centred on the
    difference of adjusted scores and se = sqrt(Var~a/n~a + Var~b/n~b).
    The interval is clipped to the possible range [-200, 200]; if either
    segment has no answers everything is nan and `beyond_interval` is False.
    """
    if not z > 0:
        raise ValueError("z must be positive.")
    n_a, centre_a, var_a = _interval_inputs(a.promoters, a.passives, a.detractors, a.method)
    n_b, centre_b, var_b = _interval_inputs(b.promoters, b.passives, b.detractors, b.method)
    standard_error = 100.0 * math.sqrt(float(var_a / n_a + var_b / n_b))
    centre = 100.0 * float(centre_a - centre_b)
    ci_low = max(centre - z * standard_error, -200.0)
    ci_high = min(centre + z * standard_error, 200.0)
    return NpsDifference(
        difference=a.nps - b.nps,
        standard_error=standard_error,
        ci_low=ci_low,
        ci_high=ci_high,
        beyond_interval=bool(ci_low > 0 or ci_high < 0),
    )


def nps_table(df, group_cols, method: str = "adjusted_wald", z: float = 1.96):
    """One row per group: responses, nps, ci_low, ci_high.

    `df` holds answer counts in columns promoters, passives, detractors; rows
    sharing a group are summed first, so daily or per-channel counts can be
    passed straight in. `group_cols` may be a column name, a list, or empty
    for a single overall row. Groups with no answers keep a row with nan.
    """
    import pandas as pd

    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    count_cols = ["promoters", "passives", "detractors"]
    missing = [c for c in group_cols + count_cols if c not in df.columns]
    if missing:
        raise KeyError(f"nps_table: missing columns {missing}")
    if group_cols:
        counts = df.groupby(group_cols, sort=True, dropna=False, observed=True)[count_cols].sum().reset_index()
    else:
        counts = df[count_cols].sum().to_frame().T
    responses, nps, _, _, ci_low, ci_high = _nps_arrays(
        counts["promoters"].to_numpy(), counts["passives"].to_numpy(),
        counts["detractors"].to_numpy(), method, z)
    table = counts[group_cols].copy() if group_cols else pd.DataFrame(index=counts.index)
    table["responses"] = responses.astype(int) if np.all(np.mod(responses, 1) == 0) else responses
    table["nps"] = nps
    table["ci_low"] = ci_low
    table["ci_high"] = ci_high
    return table.reset_index(drop=True)


# The statuses of sql/marts/nps_subscription_status.sql, in the page's words.
SUBSCRIPTION_STATUSES = {
    "paying": "paying a subscription",
    "on_trial": "on trial (a subscription running, not paying yet)",
    "cancelled": "had cancelled before (none running)",
    "never_subscribed": "never subscribed (by the answer)",
}


def subscription_status_table(counts, method: str = "adjusted_wald", min_sample: int = 30, z: float = 1.96):
    """NPS by subscription status at the moment of answering (the mart nps_subscription_status: one row per
    status with promoters, passives, detractors, answers): one row per status in the mart's order with its words
    (`status`), answers, nps and its interval (nan where there are no answers) and `judgement` ("too few to
    judge" below min_sample answers, "no answers" at none)."""
    table = nps_table(counts, ["subscription_status"], method=method, z=z)
    table = counts[["subscription_status", "promoters", "passives", "detractors"]].merge(
        table, on="subscription_status", how="left")
    table.insert(1, "status", table.subscription_status.map(SUBSCRIPTION_STATUSES).fillna(table.subscription_status))
    table = table.rename(columns={"responses": "answers"})
    table["judgement"] = [("no answers" if n == 0 else "too few to judge" if n < min_sample else "")
                          for n in table.answers]
    return table


def subscription_status_sentence(table, period, method: str = "adjusted_wald", min_sample: int = 30,
                                 z: float = 1.96) -> str:
    """The headline of NPS by subscription status: paying subscribers' NPS against that of customers who had
    cancelled before (the difference with its interval, nps_difference), each with its interval; a group with
    fewer than min_sample answers is said to be too few to judge."""
    rows = table.set_index("subscription_status")
    parts = []
    for status in SUBSCRIPTION_STATUSES:
        if status not in rows.index or not rows.answers[status]:
            continue
        r = rows.loc[status]
        n = int(r.answers)
        parts.append(f"{r.status}: **{r.nps:+.0f}** (95% interval {r.ci_low:+.0f} to {r.ci_high:+.0f}, "
                     f"{n:,} answer{'' if n == 1 else 's'}{', too few to judge' if n < min_sample else ''})")
    if not parts:
        return f"No identified customer answered the survey in {period}, so there is no NPS by subscription status."
    text = f"NPS in {period} by subscription status at the moment of answering: " + "; ".join(parts) + "."
    if {"paying", "cancelled"} <= set(rows.index) and min(rows.answers["paying"], rows.answers["cancelled"]) > 0:
        estimate = {s: net_promoter_score(int(rows.promoters[s]), int(rows.passives[s]), int(rows.detractors[s]),
                                          method=method, z=z) for s in ("paying", "cancelled")}
        diff = nps_difference(estimate["paying"], estimate["cancelled"], z=z)
        if min(rows.answers["paying"], rows.answers["cancelled"]) < min_sample:
            verdict = f"too few answers to judge (fewer than {min_sample} in a group)"
        elif diff.beyond_interval:
            verdict = "beyond what chance alone would produce"
        else:
            verdict = "within what chance alone would produce"
        text += (f" Paying subscribers against those who had cancelled: {diff.difference:+.0f} points (95% interval "
                 f"{diff.ci_low:+.0f} to {diff.ci_high:+.0f}), {verdict}. An association: who stays paying and who "
                 f"scores high may share a cause.")
    return text
