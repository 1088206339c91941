"""Monthly recurring revenue as the subscriptions page shows it: the waterfall of a period's movements and the
last months' movements, from the marts subscription_period_kpis and subscription_mrr_monthly (whose decimals
add up exactly: MRR at the end = at the start + new + expansion + reactivation - contraction - churn)."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

# ChartMogul's movements in the order a waterfall reads them: what came in, then what went out.
MOVEMENTS = (("new_mrr", "new", 1), ("expansion_mrr", "expansion", 1), ("reactivation_mrr", "reactivation", 1),
             ("contraction_mrr", "contraction", -1), ("churned_mrr", "churn", -1))


def _decimal(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None and not pd.isna(value) else Decimal(0)


def waterfall_steps(period: pd.Series) -> pd.DataFrame:
    """One bar per step of a period's MRR: the MRR at its start, each movement (rising from where the one
    before ended, falling for contraction and churn), the MRR at its end. Columns: step, kind (total, increase,
    decrease), amount (the movement, positive), bottom and top (where its bar starts and ends), order. Sums run in
    decimals, so the last movement's end is the MRR at the end exactly (the mart's identity)."""
    start = _decimal(period["mrr_start"])
    rows = [("MRR at the start", "total", start, Decimal(0), start)]
    level = start
    for column, step, sign in MOVEMENTS:
        amount = _decimal(period[column])
        after = level + sign * amount
        rows.append((step, "increase" if sign > 0 else "decrease", amount, min(level, after), max(level, after)))
        level = after
    end = _decimal(period["mrr_end"])
    if level != end:  # the mart stops a build that breaks the identity; a frame edited by hand would land here
        raise ValueError(f"MRR movements do not add up: {start} at the start and its movements give {level}, "
                         f"not the {end} at the end")
    rows.append(("MRR at the end", "total", end, Decimal(0), end))
    frame = pd.DataFrame(rows, columns=["step", "kind", "amount", "bottom", "top"])
    for column in ("amount", "bottom", "top"):
        frame[column] = frame[column].astype(float)
    frame["order"] = range(len(frame))
    return frame


def last_months(monthly: pd.DataFrame, period_last_month, months: int = 24) -> pd.DataFrame:
    """The `months` months to the period's last (fewer when subscriptions began later)."""
    month = pd.to_datetime(monthly["month"])
    last = pd.Timestamp(period_last_month)
    first = last - pd.DateOffset(months=months - 1)
    return monthly[(month >= first) & (month <= last)].reset_index(drop=True)


def movement_bars(monthly: pd.DataFrame) -> pd.DataFrame:
    """The movements of each month in long form for a diverging bar chart: month, movement, mrr (positive for
    what came in, negative for contraction and churn); months without movement keep no row."""
    rows = [(m, step, sign * float(amount)) for m, *amounts in
            monthly[["month", *(c for c, _, _ in MOVEMENTS)]].itertuples(index=False)
            for (_, step, sign), amount in zip(MOVEMENTS, amounts) if float(amount)]
    return pd.DataFrame(rows, columns=["month", "movement", "mrr"])


def net_new_mrr(period: pd.Series) -> Decimal:
    """The period's change in MRR: new + expansion + reactivation - contraction - churn."""
    return sum((sign * _decimal(period[column]) for column, _, sign in MOVEMENTS), Decimal(0))
