"""Appreciation touchpoints: hand-computed fixtures, the stratified difference, and the planted effect."""

import math

import pandas as pd
import pytest

from conftest import customer, order
from retention_report import warehouse
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.touchpoints import coverage_rows, stratified_difference


def touch(tid, cid, when, kind, personalized="false"):
    return {"touchpoint_id": tid, "customer_id": cid, "occurred_at": when, "kind": kind, "personalized": personalized}


def test_stratified_difference_by_hand():
    strata = pd.DataFrame([
        (180, "A", "thanked", 10, 8), (180, "A", "not_thanked", 30, 15),
        (180, "B", "thanked", 20, 10), (180, "B", "not_thanked", 40, 16),
        (180, "C", "thanked", 5, 5),  # no not-thanked customers: listed, not compared
    ], columns=["horizon_days", "stratum", "group", "customers", "retained"])
    result = stratified_difference(strata)
    diff = result[result.group == "difference"].iloc[0]
    w_a, w_b = 40 / 100, 60 / 100
    expected = w_a * (0.8 - 0.5) + w_b * (0.5 - 0.4)
    var = w_a ** 2 * (0.8 * 0.2 / 10 + 0.5 * 0.5 / 30) + w_b ** 2 * (0.5 * 0.5 / 20 + 0.4 * 0.6 / 40)
    assert math.isclose(diff.retention_rate, expected)
    assert math.isclose(diff.ci_high - diff.ci_low, 2 * 1.959963984540054 * math.sqrt(var))
    assert diff.customers == 100 and diff.stratum == "all"
    assert len(result) == 6 and set(result.group) == {"thanked", "not_thanked", "difference"}


def test_coverage_metrics_by_hand(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c, acquisition_channel="web") for c in ("a", "b", "c", "d")],
        orders=[order("o1", "a", "2024-04-01"), order("o2", "b", "2024-04-01"), order("o3", "c", "2024-04-01"),
                order("o4", "d", "2023-01-01")],
        touchpoints=[
            touch("t1", "a", "2024-04-08", "welcome", "true"),      # day 7: covered
            touch("t2", "b", "2024-04-09", "welcome"),              # day 8: not covered
            touch("t3", "c", "2024-03-20", "welcome"),              # before the first order: not covered
            touch("t4", "a", "2024-05-01", "promotion"), touch("t5", "b", "2024-05-01", "newsletter"),
            touch("t6", "b", "2024-05-02", "recall_notice"), touch("t7", "d", "2023-02-01", "thank_you"),
            touch("t8", "a", "2024-05-03", "partner_offer"),
        ],
    )
    welcome = dict(con.execute("SELECT segment, covered FROM welcome_coverage WHERE segment_column = 'all'").fetchall())
    assert welcome == {"all": 1}
    row = con.execute("SELECT customers, appreciated_12m, only_promotional_or_obligation, appreciation_touchpoints, "
                      "promotional_touchpoints, touchpoints, personalised_touchpoints FROM touchpoint_appreciation "
                      "WHERE segment_column = 'all'").fetchone()
    # a: welcome + promotion + partner_offer; b: welcome, newsletter, recall; c: welcome; d: not active in 12 months
    assert row == (3, 3, 0, 3, 2, 7, 1)
    assert con.execute("SELECT kind, touchpoints FROM touchpoint_unmapped_kinds").fetchall() == [("partner_offer", 1)]
    since = dict(con.execute("SELECT bucket, customers FROM touchpoint_since_appreciation").fetchall())
    assert since["31-90 days"] == 2 and since["91-180 days"] == 1 and since["never"] == 0


def test_a_customer_with_no_touchpoints_counts_as_not_covered(build_warehouse):
    con = build_warehouse(period="2024-Q2", customers=[customer("a")], orders=[order("o1", "a", "2024-04-02")],
                          touchpoints=[touch("t1", "zz", "2024-04-02", "welcome")])
    assert con.execute("SELECT customers, covered FROM welcome_coverage WHERE segment_column = 'all'").fetchone() == (1, 0)
    assert con.execute("SELECT customers, appreciated_12m FROM touchpoint_appreciation WHERE segment_column = 'all'"
                       ).fetchone() == (1, 0)
    coverage = coverage_rows(con.execute("SELECT * FROM welcome_coverage").df(), "welcomed", "covered")
    assert coverage.iloc[0].rate == 0 and coverage.iloc[0].segment == "all"


def _effect(data_dir, tmp_path):
    path = warehouse.build_warehouse(tmp_path / "effect.duckdb", data_dir, parse_period("2024-Q2"), load_params())
    strata = warehouse.read_mart(path, "touchpoint_effect_strata")
    result = stratified_difference(strata)
    return result[(result.group == "difference") & (result.horizon_days == 180)].iloc[0]


def test_the_planted_thank_you_effect_is_recovered_and_vanishes_when_switched_off(sample_site, tmp_path):
    effect = pd.read_csv(sample_site.build_dir / "data" / "touchpoint_effect.csv")
    on = effect[(effect.group == "difference") & (effect.horizon_days == 180)].iloc[0]
    # Planted: about +10 points (+8 to +12) of 180-day retention; stated tolerance here: +5 to +17 points.
    assert on.ci_low > 0 and 0.05 < on.retention_rate < 0.17
    from retention_report.sample_data import write_sample_data

    write_sample_data(tmp_path / "off", thank_you_effect=False)
    off = _effect(tmp_path / "off", tmp_path)
    assert off.ci_low < 0 < off.ci_high


def test_personal_data_stays_in_the_private_call_list(sample_site, sample_data):
    call_list = pd.read_csv(sample_site.site.parent / "private" / "2024-Q2" / "call_list.csv")
    assert {"name", "email", "phone", "value", "tenure_days", "last_touch", "why_chosen"} <= set(call_list.columns)
    assert len(call_list) == 25 * 13 and call_list.value.is_monotonic_decreasing
    site_text = "".join(p.read_text(errors="replace") for p in sample_site.site.rglob("*.csv"))
    assert not any(email in site_text for email in call_list.email)
