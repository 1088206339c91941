"""The subscriptions page's MRR figures: the waterfall of a period's movements and the months' movement bars,
read against the period and month rows they come from."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from retention_report.mrr import last_months, movement_bars, net_new_mrr, waterfall_steps


def period(**values) -> pd.Series:
    row = {"mrr_start": Decimal("100.00"), "new_mrr": Decimal("30.50"), "expansion_mrr": Decimal("4.25"),
           "reactivation_mrr": Decimal("0.00"), "contraction_mrr": Decimal("10.10"), "churned_mrr": Decimal("20.00"),
           "mrr_end": Decimal("104.65")}
    row.update(values)
    return pd.Series(row)


def test_each_bar_starts_where_the_one_before_ended_and_the_last_lands_on_the_mrr_at_the_end():
    steps = waterfall_steps(period())
    assert list(steps.step) == ["MRR at the start", "new", "expansion", "reactivation", "contraction", "churn",
                                "MRR at the end"]
    assert list(steps.kind) == ["total", "increase", "increase", "increase", "decrease", "decrease", "total"]
    # Levels read by hand: 100 -> 130.50 -> 134.75 -> 134.75 -> 124.65 -> 104.65.
    assert list(zip(steps.bottom, steps.top)) == [(0, 100), (100, 130.5), (130.5, 134.75), (134.75, 134.75),
                                                  (124.65, 134.75), (104.65, 124.65), (0, 104.65)]
    assert list(steps.amount) == [100, 30.5, 4.25, 0, 10.1, 20, 104.65]
    assert net_new_mrr(period()) == Decimal("4.65")


def test_a_period_whose_movements_do_not_add_up_is_refused_not_drawn():
    with pytest.raises(ValueError, match="do not add up.*104.64"):
        waterfall_steps(period(mrr_end=Decimal("104.64")))


def test_decimals_add_up_where_binary_doubles_would_not():
    # 0.1 + 0.2 in doubles is 0.30000000000000004: the identity is checked in decimals, so a true one passes.
    row = period(mrr_start=Decimal("0.10"), new_mrr=Decimal("0.20"), expansion_mrr=Decimal(0),
                 contraction_mrr=Decimal(0), churned_mrr=Decimal(0), mrr_end=Decimal("0.30"))
    assert waterfall_steps(row).top.iloc[-1] == pytest.approx(0.3)


def test_movement_bars_point_up_for_what_came_in_and_down_for_what_went_out():
    monthly = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                            "new_mrr": [Decimal("5"), Decimal("0")], "expansion_mrr": [Decimal("1"), Decimal("0")],
                            "reactivation_mrr": [Decimal("0"), Decimal("2")],
                            "contraction_mrr": [Decimal("3"), Decimal("0")], "churned_mrr": [Decimal("0"), Decimal("4")]})
    bars = movement_bars(monthly)
    assert [(str(m.date()), step, mrr) for m, step, mrr in bars.itertuples(index=False)] == [
        ("2024-01-01", "new", 5.0), ("2024-01-01", "expansion", 1.0), ("2024-01-01", "contraction", -3.0),
        ("2024-02-01", "reactivation", 2.0), ("2024-02-01", "churn", -4.0)]


def test_the_last_24_months_end_with_the_period_s_last_month():
    monthly = pd.DataFrame({"month": pd.date_range("2021-01-01", "2024-12-01", freq="MS").date})
    shown = last_months(monthly, "2024-06-01")
    assert len(shown) == 24 and str(shown.month.iloc[0]) == "2022-07-01" and str(shown.month.iloc[-1]) == "2024-06-01"
    assert len(last_months(monthly.iloc[30:], "2024-06-01")) == 12  # subscriptions began 2023-07
