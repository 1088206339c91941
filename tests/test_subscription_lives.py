"""The subscriptions page's lower half (issue 18 item 2): how long subscriptions keep paying, trials converted, lost
or undecided, why customers cancel, who asked to cancel, and the period's churn rates.

One hand fixture through a real build (each case named where it is written), the Kaplan-Meier curves checked
against lifelines, the Wilson intervals against scipy's binomtest, the MRR churn intervals against the ratio
estimator written out here, and the shown rows for their words."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.stats import binomtest

from conftest import customer, order, write_exports
from retention_report import warehouse
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.subscriptions import (MILESTONE_MONTHS, churn_rates, mrr_retention, reason_rows,
                                            shares_adding_to_one, still_paying_at, survival_curves, trial_rows)
from retention_report.survival import kaplan_meier
from test_subscriptions import MARTS, random_histories, run_subscription_models, sub

lifelines = pytest.importorskip("lifelines")

Z = 1.959963984540054
LAST_AT = datetime(2024, 6, 20, 12)  # the data's last moment: the one order

LIVES = [
    # sa: paid 2024-01-01 to 2024-03-01, cancelled (asked 2024-02-10, before Q2: in the 12 months only)
    sub("sa", "c1", "2024-01-01", "2024-03-01", mrr="10.00", plan="basic", status="canceled",
        cancelled_at="2024-02-10", cancel_reason="Too expensive for us"),
    # sb: running: censored at the data's last moment
    sub("sb", "c2", "2024-02-01", "", mrr="20.00", plan="pro"),
    # sc: an upgrade without a gap is one life, its first plan basic, ended 2024-05-15
    sub("sc", "c3", "2024-01-15", "2024-03-15", mrr="10.00", plan="basic"),
    sub("sc", "c3", "2024-03-15", "2024-05-15", mrr="25.00", plan="pro", status="canceled"),
    # sd: cancelled and restarted under the same id: the life ends at the gap, 2024-02-10
    sub("sd", "c4", "2024-01-10", "2024-02-10", mrr="10.00", plan="basic"),
    sub("sd", "c4", "2024-04-01", "", mrr="10.00", plan="basic"),
    # se: a trial from 2024-03-01, paying from 2024-03-15: converted; its life starts at the payment
    sub("se", "c5", "2024-03-01", "", mrr="20.00", plan="pro", trial_end="2024-03-15"),
    # sf: asked to cancel with no reason, ends 2024-08-01 (after the data): still running, still paying
    sub("sf", "c6", "2024-03-01", "2024-08-01", mrr="20.00", plan="basic", cancelled_at="2024-05-02",
        cancel_reason="   "),
    # sz: a free plan never pays: no life
    sub("sz", "c7", "2024-02-01", "", mrr="0.00", plan="free"),
    # sk: a trial begun in March converting on 2024-04-05: converted in Q2, undecided in Q1
    sub("sk", "c11", "2024-03-20", "", mrr="15.00", plan="basic", trial_end="2024-04-05"),
]
TRIALS = [
    # sh: a trial cancelled before it paid: lost; its cancellation is no paying subscription's
    sub("sh", "c8", "2024-04-01", "2024-04-15", mrr="30.00", trial_end="2024-04-15", status="canceled",
        cancelled_at="2024-04-10", cancel_reason="too expensive"),
    # si: its trial ends after the data: undecided
    sub("si", "c9", "2024-06-10", "", mrr="30.00", trial_end="2024-06-24"),
    # sj: trialing with no trial end: undecided
    sub("sj", "c10", "2024-05-01", "", mrr="30.00", status="trialing"),
]
# One cancellation per theme (asked 2024-05-01, paid 2024-01-01 to 2024-06-01), a blank one and unmatched ones.
REASONS = {"r1": ("c20", "Too expensive", "11.00"), "r2": ("c21", "The staff were rude", "12.00"),
           "r3": ("c22", "Wrong invoice, errors everywhere", "13.00"),
           "r4": ("c23", "The price went up and delivery was late", "14.00"),  # price is named first
           "r5": ("c24", "quality dropped", "15.00"), "r6": ("c25", "slow reply", "16.00"),
           "r7": ("c26", "", "17.00"), "r8": ("c27", "moved to a competitor", "18.00"),
           "r9": ("c28", "onerror popups", "19.00"),  # "error" only at the start of a word: other
           "r10": ("c29", "PRICE", "20.00")}
CANCELLED = [sub(s, c, "2024-01-01", "2024-06-01", mrr=m, cancelled_at="2024-05-01", cancel_reason=text)
             for s, (c, text, m) in REASONS.items()] + [
    # c30: two subscriptions cancelled in Q2, one still paying at the data's end (ends 2024-07-01)
    sub("s30a", "c30", "2024-01-01", "2024-07-01", mrr="30.00", plan="pro", cancelled_at="2024-05-10",
        cancel_reason="price too high"),
    # s30b: asked in March (taken back), asked again in May: counted once, with the May request
    sub("s30b", "c30", "2024-02-01", "2024-04-01", mrr="8.00", cancelled_at="2024-03-01", cancel_reason="slow"),
    sub("s30b", "c30", "2024-04-01", "2024-05-20", mrr="10.00", cancelled_at="2024-05-05",
        cancel_reason="slow support reply"),
    # s31: one request carried on both stretches: the later stretch is the one cancelled
    sub("s31", "c31", "2024-01-01", "2024-04-15", mrr="5.00", cancelled_at="2024-04-20", cancel_reason="error"),
    sub("s31", "c31", "2024-04-15", "2024-05-31", mrr="7.00", cancelled_at="2024-04-20", cancel_reason="error"),
]
CUSTOMERS = sorted({row["customer_id"] for row in LIVES + TRIALS + CANCELLED}, key=lambda c: int(c[1:]))
REGION = {"c1": "north", "c2": "south", "c3": "north", "c4": "", "c5": "south"}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The fixture built for `period` (a real build), once per period."""
    root, built = tmp_path_factory.mktemp("sublives"), {}

    def _build(period: str = "2024-Q2"):
        if period not in built:
            data = write_exports(root / f"data-{period}",
                                 customers=[customer(c, "2023-06-01", region=REGION.get(c, "north" if int(c[1:]) % 2
                                                                                        else "south"))
                                            for c in CUSTOMERS],
                                 orders=[order("o1", "c1", LAST_AT.isoformat(sep=" "))],
                                 subscriptions=LIVES + TRIALS + CANCELLED)
            path = warehouse.build_warehouse(root / f"wh-{period}.duckdb", data, parse_period(period), load_params())
            built[period] = duckdb.connect(str(path), read_only=True)
        return built[period]

    yield _build
    for con in built.values():
        con.close()


def lives_of(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT subscription_id, first_plan, started_at, ended_at, days, ended, started_month "
        "FROM subscription_lives").fetchall()}


def days(start: datetime, end: datetime) -> int:
    return (end.date() - start.date()).days


# --- subscription_lives ------------------------------------------------------------------------------------


def test_each_subscription_that_paid_has_one_life_ending_at_its_first_gap(build):
    lives = lives_of(build("2024-Q2"))
    d = datetime
    assert set(lives) == {"sa", "sb", "sc", "sd", "se", "sf", "sk", *REASONS, "s30a", "s30b", "s31"}  # not sz, sh..
    assert lives["sa"][:5] == ("basic", d(2024, 1, 1), d(2024, 3, 1), 60, True)
    assert lives["sb"][:5] == ("pro", d(2024, 2, 1), None, days(d(2024, 2, 1), LAST_AT), False)  # censored
    assert lives["sc"][:5] == ("basic", d(2024, 1, 15), d(2024, 5, 15), days(d(2024, 1, 15), d(2024, 5, 15)), True)
    assert lives["sd"][:5] == ("basic", d(2024, 1, 10), d(2024, 2, 10), 31, True)  # the restart is no life of its own
    assert lives["se"][:5] == ("pro", d(2024, 3, 15), None, days(d(2024, 3, 15), LAST_AT), False)
    assert lives["sf"][2:5] == (None, days(d(2024, 3, 1), LAST_AT), False)  # a scheduled end after the data
    assert lives["sk"][1] == d(2024, 4, 5)
    assert lives["s30b"][:4] == ("basic", d(2024, 2, 1), d(2024, 5, 20), days(d(2024, 2, 1), d(2024, 5, 20)))
    assert str(lives["sc"][5]) == "2024-01-01"


def test_a_past_period_sees_the_lives_as_they_were_at_its_end(build):
    lives = lives_of(build("2024-Q1"))
    d, end = datetime, datetime(2024, 4, 1)
    assert "sk" not in lives  # paid from 2024-04-05, after the period
    assert lives["sc"][2:5] == (None, days(d(2024, 1, 15), end), False)  # its May end is not known at April 1
    assert lives["sa"][2:5] == (d(2024, 3, 1), 60, True)
    assert lives["se"][3] == days(d(2024, 3, 15), end)


def expected_lives(stretches, last_at: datetime, period_end: datetime) -> dict[str, tuple]:
    """Each subscription's first life read directly from its stretches: its paid stretches (paying by the data's
    last moment and before the period's end) in order, a life going on while the next begins before or as the
    ones before end (None: never)."""
    lives = {}
    for subscription_id in sorted({s.subscription_id for s in stretches}):
        paid = sorted((s for s in stretches if s.subscription_id == subscription_id and s.paid_from is not None
                       and s.cents > 0 and s.paid_from <= last_at and s.paid_from < period_end),
                      key=lambda s: (s.paid_from, s.valid_from))
        if not paid:
            continue
        until = paid[0].valid_to
        for s in paid[1:]:
            if until is not None and s.paid_from > until:
                break
            until = None if until is None or s.valid_to is None else max(until, s.valid_to)
        ended = until if until is not None and until <= last_at and until < period_end else None
        lives[subscription_id] = (paid[0].paid_from, ended, days(paid[0].paid_from, ended or min(last_at, period_end)))
    return lives


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_histories())
def test_lives_on_random_histories_match_a_reading_of_the_stretches(stretches):
    con = run_subscription_models(stretches)
    con.execute("CREATE TABLE segment_choice (position INTEGER, segment_column VARCHAR, used BOOLEAN)")
    con.execute("CREATE TABLE cohort_segments (customer_id VARCHAR, segment_column VARCHAR, segment VARCHAR)")
    values = warehouse.bind_parameters(parse_period("2024-Q4"), load_params())
    warehouse.run_sql(con, (MARTS / "subscription_lives.sql").read_text(), values)
    got = {r[0]: r[1:] for r in con.execute("SELECT subscription_id, started_at, ended_at, days "
                                           "FROM subscription_lives").fetchall()}
    last_at = max([datetime(2024, 12, 31, 23)] + [s.valid_from for s in stretches])
    assert got == expected_lives(stretches, last_at, datetime(2025, 1, 1))


def test_lives_by_segment_carry_every_life_once_per_column_with_not_given(build):
    con = build("2024-Q2")
    rows = con.execute("SELECT subscription_id, segment FROM subscription_lives_segments "
                       "WHERE segment_column = 'region'").fetchall()
    assert len(rows) == con.execute("SELECT count(*) FROM subscription_lives").fetchone()[0]
    segments = dict(rows)
    assert (segments["sa"], segments["sb"], segments["sd"]) == ("north", "south", "not given")


def test_the_curves_are_kaplan_meier_per_plan_as_lifelines_computes_them(build):
    lives = build("2024-Q2").execute("SELECT * FROM subscription_lives").df()
    curves, rows = survival_curves(lives, "first_plan", min_sample=1)
    assert rows["first_plan"].tolist() == ["basic", "pro"]  # most subscriptions first
    for plan, mine in lives.groupby("first_plan"):
        kmf = lifelines.KaplanMeierFitter().fit(mine["days"], mine["ended"])
        curve = curves[curves.first_plan == plan]
        np.testing.assert_array_equal(curve["day"].to_numpy(dtype=float), kmf.survival_function_.index.to_numpy())
        np.testing.assert_allclose(curve["survival"], kmf.survival_function_.iloc[:, 0], atol=1e-12)
        row = rows[rows.first_plan == plan].iloc[0]
        assert (row.subscriptions, row.ended, row["still running"]) == (len(mine), mine.ended.sum(),
                                                                       (~mine.ended).sum())
        # still paying at 3 months: lifelines' curve read at 91.3 days (lifelines carries it on past the data)
        at = kmf.survival_function_at_times(3 * 365.25 / 12).iloc[0]
        assert row["still paying at 3 months"].startswith(f"{at:.1%} (")
        median = kmf.median_survival_time_
        assert row["median lifetime (months)"] == ("not reached" if math.isinf(median) else
                                                   f"{median / (365.25 / 12):.1f}")
    # 12 months: no life observed that long. Where every life left had ended (basic: the last ones end 2024-06-01)
    # none still pays; else the data does not say (lifelines would carry its last value on).
    at_12 = rows.set_index("first_plan")["still paying at 12 months"]
    assert at_12["pro"] == "no data" and at_12["basic"].startswith("0.0% (")


def test_below_min_sample_a_group_is_too_few_to_judge_and_a_missing_value_is_not_given():
    lives = pd.DataFrame({"plan": ["a", "a", "a", None, ""], "days": [10, 20, 30, 5, 7],
                          "ended": [True, True, False, True, False]})
    curves, rows = survival_curves(lives, "plan", min_sample=3)
    assert rows["plan"].tolist() == ["a", "not given"]
    assert rows.iloc[1][["subscriptions", "ended", "still running"]].tolist() == [2, 1, 1]
    assert set(rows.iloc[1][["still paying at 3 months", "median lifetime (months)"]]) == {"too few to judge"}
    assert rows.iloc[0]["median lifetime (months)"] == f"{20 / (365.25 / 12):.1f}"  # S falls to 1/3 on day 20
    assert not rows.isna().any().any()
    empty_curves, empty_rows = survival_curves(lives.iloc[:0], "plan", min_sample=3)
    assert empty_curves.empty and empty_rows.empty and "still paying at 6 months" in empty_rows.columns


def test_when_every_life_has_ended_the_share_still_paying_later_is_zero_not_unknown():
    curve = kaplan_meier([10, 40], [True, True])
    at = still_paying_at(curve)
    assert at["survival"].tolist() == [0.0] * len(MILESTONE_MONTHS)
    assert not at.isna().any().any()


# --- subscription_trials ---------------------------------------------------------------------------------


def test_trials_by_month_converted_lost_or_undecided(build):
    rows = build("2024-Q2").execute("SELECT CAST(month AS VARCHAR), trials, converted, lost, undecided, coverage "
                                    "FROM subscription_trials").fetchall()
    assert rows == [("2024-01-01", 0, 0, 0, 0, "full"), ("2024-02-01", 0, 0, 0, 0, "full"),
                    ("2024-03-01", 2, 2, 0, 0, "full"), ("2024-04-01", 1, 0, 1, 0, "full"),
                    ("2024-05-01", 1, 0, 0, 1, "full"), ("2024-06-01", 1, 0, 0, 1, "partial")]
    # At the end of Q1, sk (paying from 2024-04-05) had not decided yet.
    assert build("2024-Q1").execute("SELECT converted, undecided FROM subscription_trials "
                                    "WHERE month = DATE '2024-03-01'").fetchone() == (1, 1)


def test_trial_rows_give_conversion_with_its_wilson_interval():
    trials = pd.DataFrame({"month": pd.to_datetime(["2024-05-01", "2024-06-01", "2024-07-01"]),
                           "trials": [40, 12, 0], "converted": [18, 2, 0], "lost": [20, 1, 0],
                           "undecided": [2, 9, 0], "coverage": ["full", "partial", "no data"]})
    rows = trial_rows(trials, min_sample=30)
    assert rows["month"].tolist() == ["2024-05", "2024-06 (partial)", "all months"]
    ci = binomtest(18, 38).proportion_ci(method="wilson")
    assert rows.iloc[0].conversion == f"{18 / 38:.1%} ({ci.low:.1%} to {ci.high:.1%})"
    assert rows.iloc[1].conversion == "too few to judge"
    ci = binomtest(20, 41).proportion_ci(method="wilson")
    assert rows.iloc[2].tolist() == ["all months", 52, 20, 21, 11, f"{20 / 41:.1%} ({ci.low:.1%} to {ci.high:.1%})"]
    assert trial_rows(trials.assign(trials=0, converted=0, lost=0, undecided=0), 30).empty


# --- subscription_cancel_reasons and subscription_reach_out ---------------------------------------------------

EXPECTED_REASONS = {  # theme: (cancellations, customers, mrr_lost) in Q2, then in the 12 months to its end
    "price": (4, 4, "75.00", 5, 5, "85.00"),                 # r1, r4, r10, s30a; and sa in February
    "staff and rudeness": (1, 1, "12.00", 1, 1, "12.00"),
    "mistakes and errors": (2, 2, "20.00", 2, 2, "20.00"),   # r3 and s31 (its later stretch: 7.00)
    "delivery": (0, 0, "0.00", 0, 0, "0.00"),                # named in r4, after price
    "product quality": (1, 1, "15.00", 1, 1, "15.00"),
    "waiting and response time": (2, 2, "26.00", 2, 2, "26.00"),  # r6 and s30b once (May: 10.00)
    "other": (2, 2, "37.00", 2, 2, "37.00"),
    "no reason given": (2, 2, "37.00", 2, 2, "37.00"),      # r7 and sf (blank)
}


def test_each_cancellation_counts_once_under_the_theme_its_reason_names_first(build):
    rows = build("2024-Q2").execute("SELECT * FROM subscription_cancel_reasons").fetchall()
    got = {r[0]: (r[1], r[2], str(r[3]), r[4], r[5], str(r[6])) for r in rows}
    assert got == EXPECTED_REASONS
    assert [r[0] for r in rows][-2:] == ["other", "no reason given"]
    assert sum(r[1] for r in rows) == 14  # sh, a trial, is no paying subscription cancelled


def test_reason_rows_share_the_cancellations_to_exactly_100_percent(build):
    shown = reason_rows(build("2024-Q2").execute("SELECT * FROM subscription_cancel_reasons").df())
    assert shown["reason"].tolist()[:1] == ["price"] and shown["reason"].tolist()[-2:] == ["other", "no reason given"]
    shares = [float(s.rstrip("%")) for s in shown["share of cancellations"]]
    assert sum(shares) == pytest.approx(100.0) and shares[0] == pytest.approx(round(100 * 4 / 14, 1))
    assert "delivery" not in shown["reason"].tolist()  # no cancellation in either window
    assert shown["MRR lost"].sum() == pytest.approx(75 + 12 + 20 + 15 + 26 + 37 + 37)
    assert not shown.isna().any().any()


def test_shares_add_up_to_one_by_the_largest_remainders():
    assert shares_adding_to_one([1, 1, 1]).tolist() == [0.334, 0.333, 0.333]
    assert shares_adding_to_one([2, 1, 4, 0, 7]).sum() == pytest.approx(1.0)
    assert np.isnan(shares_adding_to_one([0, 0])).all()
    quiet = pd.DataFrame({"theme": ["price", "other"], "cancellations": [0, 0], "customers": [0, 0],
                          "mrr_lost": [0, 0], "cancellations_12m": [3, 0], "customers_12m": [3, 0],
                          "mrr_lost_12m": [30, 0]})
    rows = reason_rows(quiet)
    assert rows[["reason", "share of cancellations", "share in 12 months"]].values.tolist() == [
        ["price", "none asked", "100.0%"]]
    assert reason_rows(quiet.assign(cancellations_12m=0)).empty


def test_the_customers_who_asked_to_cancel_one_row_each_with_the_largest_subscription(build):
    rows = {r[0]: r[1:] for r in build("2024-Q2").execute("SELECT * FROM subscription_reach_out").fetchall()}
    assert rows["c30"] == ("pro", Decimal("40.00"), "price", True)  # 30 + 10, still paying s30a to 2024-07-01
    assert rows["c6"] == ("basic", Decimal("20.00"), "no reason given", True)
    assert rows["c31"] == ("basic", Decimal("7.00"), "mistakes and errors", False)
    assert rows["c20"] == ("basic", Decimal("11.00"), "price", False)
    assert "c1" not in rows and "c8" not in rows  # asked before the period; a trial
    assert len(rows) == len(REASONS) + 3


def test_the_call_list_names_the_subscribers_who_asked_to_cancel(build):
    reasons = dict(build("2024-Q2").execute("SELECT customer_id, reasons FROM reach_out").fetchall())
    assert reasons["c30"] == "asked to cancel: pro, 40.00/month, price (still paying)"


# --- The period's churn rates ------------------------------------------------------------------------------


def kpis_row(**changes) -> pd.Series:
    """A subscription_period_kpis row: 100 customers paying 50 each at the start; at the end 8 pay nothing, 10 pay
    20, 10 pay 80 and the rest 50."""
    start = [50.0] * 100
    end = [0.0] * 8 + [20.0] * 10 + [80.0] * 10 + [50.0] * 72
    base, net, gross = sum(start), sum(end), sum(min(e, s) for s, e in zip(start, end))
    row = {"customers_start": 100, "churned_logos": 8, "retained_base": Decimal(f"{base:.2f}"),
           "net_mrr_retention": net / base, "gross_mrr_retention": gross / base,
           "net_residual_sum_of_squares": sum((e - net / base * s) ** 2 for s, e in zip(start, end)),
           "gross_residual_sum_of_squares": sum((min(e, s) - gross / base * s) ** 2 for s, e in zip(start, end)),
           "coverage": "full", "_pairs": list(zip(start, end))}
    row.update(changes)
    return pd.Series(row)


def test_churn_rates_with_the_wilson_and_ratio_intervals():
    row = kpis_row()
    rates = churn_rates(row, min_sample=30).set_index("measure")
    ci = binomtest(8, 100).proportion_ci(method="wilson")
    assert rates.loc["logo churn", "churn"] == f"8.0% ({ci.low:.1%} to {ci.high:.1%})"
    assert (rates.loc["logo churn", "ci_low"], rates.loc["logo churn", "ci_high"]) == pytest.approx((ci.low, ci.high))
    # The ratio estimator's standard error written out: sqrt(n / (n - 1) * sum((y - R x)^2)) / sum(x).
    for kind, kept in (("gross", lambda s, e: min(e, s)), ("net", lambda s, e: e)):
        pairs = row["_pairs"]
        ratio = sum(kept(s, e) for s, e in pairs) / sum(s for s, _ in pairs)
        se = math.sqrt(100 / 99 * sum((kept(s, e) - ratio * s) ** 2 for s, e in pairs)) / sum(s for s, _ in pairs)
        got = rates.loc[f"{kind} MRR churn"]
        assert (got.rate, got.ci_low, got.ci_high) == pytest.approx((1 - ratio, 1 - ratio - Z * se, 1 - ratio + Z * se))
    assert rates.loc["gross MRR churn", "rate"] == pytest.approx((8 * 50 + 10 * 30) / 5000)  # 14%
    assert rates.loc["net MRR churn", "rate"] == pytest.approx((8 * 50 + 10 * 30 - 10 * 30) / 5000)  # 8%


def test_gross_retention_s_interval_stops_at_1_and_net_retention_s_at_0():
    nearly_all = kpis_row(gross_mrr_retention=0.999, gross_residual_sum_of_squares=5000.0)
    assert mrr_retention(nearly_all, "gross").ci_high == 1.0
    assert churn_rates(nearly_all, 30).set_index("measure").loc["gross MRR churn", "ci_low"] == 0.0
    nearly_none = kpis_row(net_mrr_retention=0.01, net_residual_sum_of_squares=1e7)
    assert mrr_retention(nearly_none, "net").ci_low == 0.0


def test_churn_rates_say_no_data_or_too_few_never_nan():
    assert set(churn_rates(kpis_row(), min_sample=101)["churn"]) == {"too few to judge"}
    nobody = kpis_row(customers_start=0, churned_logos=0, retained_base=Decimal("0.00"), net_mrr_retention=None,
                      gross_mrr_retention=None, net_residual_sum_of_squares=None, gross_residual_sum_of_squares=None,
                      coverage="no data")
    assert set(churn_rates(nobody, min_sample=30)["churn"]) == {"no data"}


def test_the_period_kpis_of_a_build_give_churn_rates(build):
    row = build("2024-Q2").execute("SELECT * FROM subscription_period_kpis WHERE period_role = 'current'").df().iloc[0]
    rates = churn_rates(row, min_sample=1).set_index("measure")
    assert rates.loc["logo churn", "rate"] == pytest.approx(row.churned_logos / row.customers_start)
    assert rates.loc["gross MRR churn", "rate"] == pytest.approx(1 - row.gross_mrr_retention)
    assert not rates["churn"].isna().any() and "nan" not in " ".join(rates["churn"])

