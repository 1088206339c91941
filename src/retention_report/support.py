"""Support: how fast customers are answered, what they write about, and whether slow answers cost customers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import Z_95, newcombe_difference, wilson_interval
from .page import unsigned_zero
from .touchpoints import stratified_difference

PROMPTNESS_GROUPS = ("late", "on_time")  # the difference is late minus on time: negative when slowness costs


def _share(hits, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    low, high = wilson_interval(hits, n)
    return np.where(n > 0, hits / np.where(n > 0, n, 1), np.nan), low, high


def response_rows(response: pd.DataFrame) -> pd.DataFrame:
    """`support_response` with its shares and their 95% Wilson intervals: answered within the target (of the
    tickets due an answer), resolved (of all) and satisfied (of those rated)."""
    out = response.copy()
    for name, hits, n in (("within_target", "within_target", "due"), ("resolution", "resolved", "tickets"),
                          ("csat", "satisfied", "rated")):
        out[f"{name}_rate"], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = _share(out[hits], out[n])
    return out


def period_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """`support_period_counts` with the share answered within the target (of the tickets due an answer) and
    CSAT (satisfied of those rated), each with its 95% Wilson interval; NaN where nothing was due or rated."""
    out = counts.copy()
    for name, hits, n in (("within_target", "answered_within_target", "eligible_for_target"),
                          ("csat", "satisfied", "rated")):
        out[f"{name}_rate"], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = _share(out[hits], out[n])
    return out


def hours_text(value: object) -> str:
    """Hours with one decimal (`6.2`); `–` when there is no value."""
    return "–" if pd.isna(value) else f"{float(value):,.1f}"


def hours_interval_text(low: object, high: object) -> str:
    """An interval in hours: `5.0 to 7.5`; `–` when there is none."""
    return "–" if pd.isna(low) else f"{hours_text(low)} to {hours_text(high)}"


def share_text(rate: object, low: object, high: object) -> str:
    """A share with its interval: `69.0% (65.7% to 72.2%)`; `–` when there is no share."""
    if pd.isna(rate):
        return "–"
    share = [unsigned_zero(f"{v:.1%}") for v in (rate, low, high)]  # a rate rounding to zero from below: 0.0%
    return f"{share[0]} ({share[1]} to {share[2]})"


def theme_rows(themes: pd.DataFrame, min_sample: int, z: float = Z_95) -> pd.DataFrame:
    """`support_themes` with the churn share of each theme's customers and of the others, their Wilson
    intervals, the difference with Newcombe's interval (hybrid Wilson, his method 10), and `judged`: false
    when either group has fewer than `min_sample` customers (then no share is claimed on the page)."""
    out = themes.copy()
    p1, l1, u1 = _share(out.churned, out.customers)
    p0, l0, u0 = _share(out.other_churned, out.other_customers)
    out["churn_rate"], out["ci_low"], out["ci_high"] = p1, l1, u1
    out["other_churn_rate"], out["other_ci_low"], out["other_ci_high"] = p0, l0, u0
    out["difference"], out["difference_ci_low"], out["difference_ci_high"] = newcombe_difference(
        out.churned, out.customers, out.other_churned, out.other_customers, z)
    out["judged"] = (out.customers >= min_sample) & (out.other_customers >= min_sample)
    return out


def promptness_effect(strata: pd.DataFrame) -> pd.DataFrame:
    """Retention after a customer's first ticket, answered late against on time: per stratum and group the rate
    with its Wilson interval, and per horizon the stratum-weighted difference (late minus on time) with its 95%
    interval (touchpoints.stratified_difference). The 'left out' rows of the mart are dropped."""
    return stratified_difference(strata[strata["group"] != "all"], groups=PROMPTNESS_GROUPS)


def verdict(low: float, high: float, above: str, below: str) -> str:
    """What a difference with its 95% interval says: `above` when the interval lies above 0, `below` when below,
    else that chance alone could produce it (the words of the promptness and theme headlines)."""
    if low > 0:
        return f"{above}, beyond the 95% interval"
    if high < 0:
        return f"{below}, beyond the 95% interval"
    return "within what chance alone would produce"
