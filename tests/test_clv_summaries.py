"""The buy-till-you-die summaries (clv_summaries): frequency, recency, age and repeat value per customer and cut,
on a hand fixture worked out below and on random orders against a pandas reading of the papers' definitions
(lifetimes' summary_data_from_transaction_data: purchases grouped by day, the first one not a repeat)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest

from conftest import customer, order

PARAMS = {"holdout_weeks": 4, "clv_time_unit": "weeks"}


def _summaries(con) -> dict[tuple[str, str], tuple]:
    return {(cut, c): (f, r, a, v, h) for cut, c, f, r, a, v, h in con.execute(
        "SELECT cut, customer_id, frequency, recency, age, repeat_value, holdout_purchases FROM clv_summaries"
    ).fetchall()}


def test_a_hand_history_at_each_cut(build_warehouse):
    orders = [order("o1", "c1", "2024-01-01", "10.00"), order("o2", "c1", "2024-01-01", "5.00"),  # one day: 15
              order("o3", "c1", "2024-02-15", "20.00"), order("o4", "c1", "2024-06-10", "30.00"),
              order("o5", "c1", "2024-07-05", "99.00"),  # after the period: in no cut
              order("o6", "c2", "2024-05-01", "12.00"),
              order("o7", "c3", "2024-03-01", "12.00", status="refunded")]
    con = build_warehouse("2024-Q2", params_override=PARAMS, customers=[customer(c) for c in ("c1", "c2", "c3")],
                          orders=orders)
    got = _summaries(con)
    # Period (to 2024-06-30): Jan 1, Feb 15, Jun 10: two repeat days, 161 days first to last, 181 days of age.
    assert got[("period", "c1")] == (2, pytest.approx(161 / 7), pytest.approx(181 / 7), pytest.approx(25.0), None)
    assert got[("period", "c2")] == (0, 0, pytest.approx(60 / 7), None, None)
    # Calibration: 4 weeks before the period's end, to 2024-06-02; c1's June 10 is its holdout purchase.
    assert got[("calibration", "c1")] == (1, pytest.approx(45 / 7), pytest.approx(153 / 7), pytest.approx(20.0), 1)
    assert got[("calibration", "c2")] == (0, 0, pytest.approx(32 / 7), None, 0)
    # The previous period's end (2024-03-31): c2 had not bought yet; a refund is no purchase.
    assert got[("previous", "c1")] == (1, pytest.approx(45 / 7), pytest.approx(90 / 7), pytest.approx(20.0), None)
    assert ("previous", "c2") not in got and not any(c == "c3" for _, c in got)
    weekly = con.execute("SELECT week, purchases FROM clv_holdout_weekly ORDER BY week").fetchall()
    assert weekly == [(1, 0), (2, 1), (3, 0), (4, 0)]  # June 10 is in the week from June 10 (cut June 3)


def test_days_as_the_unit(build_warehouse):
    con = build_warehouse("2024-Q2", params_override=dict(PARAMS, clv_time_unit="days"),
                          customers=[customer("c1")],
                          orders=[order("o1", "c1", "2024-01-01"), order("o2", "c1", "2024-02-15")])
    assert _summaries(con)[("period", "c1")][:3] == (1, 45, 181)


def _reference(orders: pd.DataFrame, cut: date, unit: float) -> pd.DataFrame:
    """lifetimes' definitions, written out with pandas: purchases grouped by day; age to the cut's last day."""
    kept = orders[orders.day < cut].groupby(["customer_id", "day"], as_index=False).amount.sum()
    rows = []
    for customer_id, days in kept.sort_values("day").groupby("customer_id"):
        first, last = days.day.iloc[0], days.day.iloc[-1]
        repeats = days.amount.iloc[1:]
        rows.append((customer_id, len(days) - 1, (last - first).days / unit, (cut - timedelta(days=1) - first).days / unit,
                     repeats.mean() if len(repeats) else None))
    return pd.DataFrame(rows, columns=["customer_id", "frequency", "recency", "age", "repeat_value"])


def test_random_orders_match_a_pandas_reading_of_the_definitions(build_warehouse):
    rng = random.Random(3)
    orders = [order(f"o{i}", f"c{rng.randrange(40)}", str(date(2023, 1, 1) + timedelta(days=rng.randrange(560))),
                    f"{rng.randrange(100, 9000) / 100:.2f}") for i in range(400)]
    con = build_warehouse("2024-Q2", params_override=PARAMS, customers=[customer(f"c{i}", "2022-01-01") for i in range(40)],
                          orders=orders)
    frame = pd.DataFrame(orders).assign(day=lambda f: pd.to_datetime(f.ordered_at).dt.date,
                                        amount=lambda f: f.amount.astype(float))
    for cut, at in (("period", date(2024, 7, 1)), ("previous", date(2024, 4, 1)), ("calibration", date(2024, 6, 3))):
        mine = con.execute("SELECT customer_id, frequency, recency, age, repeat_value FROM clv_summaries WHERE cut = ? "
                           "ORDER BY customer_id", [cut]).df()
        expected = _reference(frame, at, 7.0).sort_values("customer_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, expected, check_dtype=False)
