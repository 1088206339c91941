"""Who is slipping away: each customer's probability of still being active (BG/NBD), expected purchases and spend
(Gamma-Gamma) and predicted value over the next `clv_horizon_months`, fitted during the build on clv_summaries
(clv.py holds the models); and the holdout check of how well the model predicts this business. The results are
tables of the warehouse, so the call list (zz_reach_out.sql) and the page read them as they read any mart:

- clv_fit: one row: whether the models could be fitted, their parameters, the holdout check and its verdict,
  and whether the fit sees customers leave at all (sees_leaving);
- clv_tracking: per week of the holdout, actual and predicted repeat purchases, weekly and cumulative;
- clv_conditional: per calibration frequency (0 to 6, then 7 or more), actual and predicted holdout purchases;
- clv_predictions: per customer who bought by the period's end: P(alive) now and at the previous period's end,
  expected purchases, expected spend per purchase, predicted value now and then, and whether they are valuable
  and slipping."""
from __future__ import annotations

import math
from datetime import date
from typing import Any, Callable

import duckdb
import numpy as np
import pandas as pd

from .clv import (DAYS_PER_MONTH, NotEnoughData, conditional_expected_purchases, conditional_expected_spend,
                  fit_bgnbd, fit_gamma_gamma, holdout_error, predicted_clv, probability_alive)

FREQUENCY_GROUPS = 7  # the conditional-expectations plot's groups: 0, 1, ..., 6 and "7 or more", as in the paper
VALUABLE_SHARE = 0.2  # "valuable": the top fifth by predicted value at the previous period's end
# Below this mean chance of leaving after a purchase (a / (a + b)) the fit sees almost no one leave: every
# P(alive) sits near 1, so it cannot tell who left from who is quiet (a year of history often fits so).
MIN_DROPOUT = 0.01


def unit_days(params: dict[str, Any]) -> float:
    """Days in the time unit the summaries are counted in (clv_time_unit)."""
    return 1.0 if params.get("clv_time_unit", "weeks") == "days" else 7.0


def _summaries(con: duckdb.DuckDBPyConnection, cut: str) -> pd.DataFrame:
    return con.execute("SELECT customer_id, frequency, recency, age, repeat_value, holdout_purchases "
                       "FROM clv_summaries WHERE cut = ? ORDER BY customer_id", [cut]).df()


def _grouped(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Identical (frequency, recency, age) rows as one, `customers` counting them (and `extra` columns summed):
    a million customers fit and predict as a few hundred thousand rows."""
    return (frame.groupby(["frequency", "recency", "age"], as_index=False)
            .agg(customers=("frequency", "size"), **{c: (c, "sum") for c in extra}))


def fit_purchases(frame: pd.DataFrame, min_customers: int):
    """BG/NBD fitted on a cut's summaries (NotEnoughData when they cannot carry it)."""
    rows = _grouped(frame)
    return fit_bgnbd(rows.frequency, rows.recency, rows.age, rows.customers, min_customers=min_customers)


def holdout_check(calibration: pd.DataFrame, weekly_actual: pd.DataFrame, params: dict[str, Any],
                  min_customers: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fit on the data up to holdout_weeks before the period's end and predict each week of the holdout for the
    customers known then (E[Y(t) | x, t_x, T], summed): the papers' tracking plot (weekly and cumulative) and
    conditional-expectations plot (by calibration frequency), and the holdout error (clv.holdout_error: the
    predicted total against the actual). Returns (figures, tracking, conditional)."""
    weeks = int(params.get("holdout_weeks", 26))
    per_week = 7.0 / unit_days(params)
    fit = fit_purchases(calibration, min_customers)
    rows = _grouped(calibration, ("holdout_purchases",))
    times = per_week * np.arange(1, weeks + 1)
    cumulative = conditional_expected_purchases(fit, times[:, None], rows.frequency, rows.recency,
                                                rows.age) @ rows.customers.to_numpy(dtype=float)
    actual = weekly_actual.sort_values("week").purchases.to_numpy(dtype=float)
    tracking = pd.DataFrame({"week": np.arange(1, weeks + 1), "actual": actual,
                             "predicted": np.diff(cumulative, prepend=0.0),
                             "actual_cumulative": np.cumsum(actual), "predicted_cumulative": cumulative})
    expected = conditional_expected_purchases(fit, times[-1], rows.frequency, rows.recency, rows.age)
    group = np.minimum(rows.frequency.to_numpy(dtype=int), FREQUENCY_GROUPS)
    conditional = (pd.DataFrame({"frequency": group, "customers": rows.customers,
                                 "actual": rows.holdout_purchases, "predicted": expected * rows.customers})
                   .groupby("frequency", as_index=False).sum())
    conditional["actual_mean"] = conditional.actual / conditional.customers
    conditional["predicted_mean"] = conditional.predicted / conditional.customers
    conditional["frequency_label"] = [f"{f} or more" if f == FREQUENCY_GROUPS else str(f)
                                      for f in conditional.frequency]
    figures = {"holdout_error": holdout_error(cumulative[-1:], [actual.sum()]),
               "holdout_predicted": float(cumulative[-1]), "holdout_actual": float(actual.sum()),
               "holdout_customers": int(rows.customers.sum()),
               "calibration_r": fit.r, "calibration_alpha": fit.alpha, "calibration_a": fit.a,
               "calibration_b": fit.b}
    return figures, tracking, conditional


def customer_predictions(now: pd.DataFrame, before: pd.DataFrame, params: dict[str, Any],
                         min_customers: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit both models on the period's summaries and predict each customer: P(alive), expected purchases and
    spend, predicted value over clv_horizon_months (discounted at discount_rate a year); and the same figures at
    the previous period's end under the same fit (`before`'s summaries), so a fall is the customer's, not the
    model's. Valuable and slipping: among the top VALUABLE_SHARE by predicted value at the previous period's end,
    P(alive) at or above alive_threshold then and below it now. Returns (figures, predictions)."""
    horizon = int(params.get("clv_horizon_months", 12))
    rate = float(params.get("discount_rate", 0.10))
    threshold = float(params.get("alive_threshold", 0.5))
    per_month = DAYS_PER_MONTH / unit_days(params)
    purchases = fit_purchases(now, min_customers)
    try:
        spend = fit_gamma_gamma(now.frequency, now.repeat_value, min_customers=min_customers)
    except NotEnoughData:
        spend = None

    def predict(frame: pd.DataFrame) -> pd.DataFrame:
        x, t_x, age = frame.frequency, frame.recency, frame.age
        out = pd.DataFrame({"customer_id": frame.customer_id,
                            "p_alive": probability_alive(purchases, x, t_x, age),
                            "expected_purchases": conditional_expected_purchases(purchases, horizon * per_month,
                                                                                 x, t_x, age)})
        if spend is None:
            out["expected_spend"] = out["predicted_value"] = math.nan
        else:
            out["expected_spend"] = conditional_expected_spend(spend, x, frame.repeat_value)
            out["predicted_value"] = predicted_clv(purchases, spend, x, t_x, age, frame.repeat_value, horizon, rate,
                                                   units_per_month=per_month)
        return out

    current = predict(now)
    previous = predict(before) if len(before) else current.iloc[:0]
    table = current.merge(previous.rename(columns={c: f"{c}_previous" for c in previous.columns if c != "customer_id"}),
                          on="customer_id", how="left")
    table = table.merge(now[["customer_id", "frequency", "recency", "age"]], on="customer_id")
    table["value_lost"] = table.predicted_value_previous - table.predicted_value
    cut = table.predicted_value_previous.quantile(1 - VALUABLE_SHARE) if table.predicted_value_previous.notna().any() \
        else math.inf
    table["valuable_and_slipping"] = ((table.predicted_value_previous >= cut) & (table.p_alive_previous >= threshold)
                                      & (table.p_alive < threshold)).fillna(False).astype(bool)
    figures = {"customers": int(len(now)), "repeat_customers": int((now.frequency > 0).sum()),
               "r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b,
               "p": spend.p if spend else math.nan, "q": spend.q if spend else math.nan,
               "gamma": spend.gamma if spend else math.nan}
    return figures, table


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


TRACKING = {"week": "int64", "actual": "float64", "predicted": "float64", "actual_cumulative": "float64",
            "predicted_cumulative": "float64"}
CONDITIONAL = {"frequency": "int64", "customers": "int64", "actual": "float64", "predicted": "float64",
               "actual_mean": "float64", "predicted_mean": "float64", "frequency_label": "object"}
PREDICTIONS = {"customer_id": "object", **{c: "float64" for c in (
    "p_alive", "expected_purchases", "expected_spend", "predicted_value", "p_alive_previous",
    "expected_purchases_previous", "expected_spend_previous", "predicted_value_previous", "frequency", "recency",
    "age", "value_lost")}, "valuable_and_slipping": "bool"}


def write_predictions(con: duckdb.DuckDBPyConnection, params: dict[str, Any], period_end: date,
                      on_step: Callable[[str], None] = lambda step: None) -> None:
    """Fit, check and predict from clv_summaries (sql/marts/clv_summaries.sql) into clv_fit, clv_tracking,
    clv_conditional and clv_predictions. Data that cannot carry a model (too few customers, nobody who bought
    twice) gives a clv_fit that says why and empty tables, never a failed build. The holdout counts only when the
    data reaches the period's last day (`period_end`); the predictions are reliable when its error is at most
    max_holdout_error. `on_step` names the two fits (the bench times each)."""
    min_customers = int(params.get("min_sample", 30))
    limit = float(params.get("max_holdout_error", 0.15))
    fit: dict[str, Any] = {"status": "fitted", "reason": "", "holdout_status": "checked", "max_holdout_error": limit,
                           "time_unit": params.get("clv_time_unit", "weeks"), "holdout_weeks":
                           int(params.get("holdout_weeks", 26))}
    tracking, conditional, predictions = _empty(TRACKING), _empty(CONDITIONAL), _empty(PREDICTIONS)
    on_step("predictions fit")
    try:
        figures, predictions = customer_predictions(_summaries(con, "period"), _summaries(con, "previous"), params,
                                                    min_customers)
        fit.update(figures)
    except NotEnoughData as exc:
        fit.update(status="not enough data", reason=str(exc), holdout_status="not checked")
    if fit["status"] == "fitted":
        on_step("predictions holdout")
        data_end = con.execute("SELECT last_day FROM export_ranges WHERE export = 'orders'").fetchone()[0]
        try:
            figures, tracking, conditional = holdout_check(
                _summaries(con, "calibration"), con.execute("SELECT week, purchases FROM clv_holdout_weekly").df(),
                params, min_customers)
            fit.update(figures)
            if data_end is None or data_end < period_end:
                fit["holdout_status"] = "the data ends before the period does"
        except NotEnoughData as exc:
            fit.update(holdout_status="not enough data", reason=str(exc))
    fit["reliable"] = bool(fit["status"] == "fitted" and fit["holdout_status"] == "checked"
                           and fit.get("holdout_error", math.inf) <= limit)
    fit["dropout_per_purchase"] = fit["a"] / (fit["a"] + fit["b"]) if fit["status"] == "fitted" else math.nan
    fit["sees_leaving"] = bool(fit["dropout_per_purchase"] >= MIN_DROPOUT)
    for name, frame in (("clv_fit", pd.DataFrame([fit])), ("clv_tracking", tracking),
                        ("clv_conditional", conditional), ("clv_predictions", predictions)):
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _frame")
        con.unregister("_frame")


def verdict_line(fit, detailed: bool = False) -> str:
    """The holdout check of a clv_fit row in words: what was predicted and made, the error against
    max_holdout_error; `detailed` opens with the verdict ("Reliable for this business" or not)."""
    if fit["status"] != "fitted":
        return f"no model could be fitted ({fit['reason']})."
    weeks = int(fit["holdout_weeks"])
    if fit["holdout_status"] == "not enough data":
        words = (f"the model could not be checked: the data up to {weeks} weeks before the period's end cannot carry "
                 f"it ({fit['reason']})")
    elif fit["holdout_status"] != "checked":
        words = f"the model could not be checked over the last {weeks} weeks: {fit['holdout_status']}"
    else:
        error, limit = float(fit["holdout_error"]), float(fit["max_holdout_error"])
        made = (f"they made {fit['holdout_actual']:,.0f}: " + (f"an error of {error:.1%}" if math.isfinite(error)
                                                               else "none, so the error has no measure")
                + f", {'within' if error <= limit else 'beyond'} the {limit:.0%} allowed (`max_holdout_error`)")
        words = (f"fitted on the data up to {weeks} weeks before the period's end, the model predicted "
                 f"{fit['holdout_predicted']:,.0f} repeat purchases in those weeks by the "
                 f"{int(fit['holdout_customers']):,} customers known then; {made}")
    if not detailed:
        return words + "."
    opening = "**Reliable for this business:** " if fit["reliable"] else "**Not reliable for this business:** "
    return opening + words[0].upper() + words[1:] + "." + ("" if fit["sees_leaving"] else " " + leaving_caveat(fit))


def leaving_caveat(fit) -> str:
    """Why a fit that sees almost no one leave (sees_leaving false) cannot say who is slipping away."""
    dropout = float(fit["dropout_per_purchase"])
    chance = f"{dropout:.2%}" if dropout >= 0.0001 else "less than 0.01%"  # never a bare "0.00%"
    return (f"But the model sees almost no one leave: it puts the chance of leaving after a purchase at "
            f"{chance}, so nearly every customer's chance of still being a customer is close "
            f"to 100% and it cannot tell who has left from who is only quiet. "
            + ("Its purchase predictions stand; who" if fit["reliable"] else "Who")
            + " is slipping away needs a longer history (or a business whose customers do leave).")
