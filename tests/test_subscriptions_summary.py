"""Summary cards for subscriptions (issue 18 item 5): MRR at the period's end with its changes, net MRR retention
with the ratio-of-sums interval, logo churn with its Wilson interval; 'needs the subscriptions export' when it is
absent; a period the data covers in part or not at all is marked so and never judged. Hand-made marts, checked
against independent computations, and one real build of a hand fixture."""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import customer, order
from retention_report.coverage import COMPLETE, NO_DATA, PARTIAL, DataSpan
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.summary import kpi_cards_html, notable_changes, subscription_kpis, summary_cards

Z = 1.959963984540054
ROLES = ("current", "previous", "year_ago")


def subscription_marts(**changes) -> pd.DataFrame:
    """subscription_period_kpis as a build writes it (the columns the cards read), per role; `changes` maps a
    column to its (current, previous, year_ago) values."""
    values = {
        "mrr_end": (Decimal("12500.00"), Decimal("11000.00"), Decimal("8000.00")),
        "customers_end": (500, 450, 320), "arpa": (25.0, 11000 / 450, 25.0),
        "customers_start": (460, 400, 300), "churned_logos": (46, 60, 30),
        "retained_base": (Decimal("11500.00"), Decimal("10000.00"), Decimal("7500.00")),
        "retained_net": (Decimal("11270.00"), Decimal("9000.00"), Decimal("7200.00")),
        "net_mrr_retention": (11270 / 11500, 0.9, 0.96),
        "net_residual_sum_of_squares": (20000.0, 30000.0, 70000.0),
        "coverage": ("full", "full", "full"),
    }
    values.update(changes)
    return pd.DataFrame([{"period_role": role, **{k: v[i] for k, v in values.items()}}
                         for i, role in enumerate(ROLES)]).set_index("period_role")


LABELS = {"current": "2024-Q2", "previous": "2024-Q1", "year_ago": "2023-Q2"}


def money(amount) -> str:
    return f"£{amount:,.0f}"


def cards(marts, missing="") -> dict:
    return {k.name: k for k in subscription_kpis(marts, LABELS, money, missing=missing)}


def test_mrr_net_mrr_retention_and_logo_churn_with_their_intervals():
    got = cards(subscription_marts())
    mrr = got["MRR"]
    assert mrr.value == 12500 and mrr.unit == "money" and mrr.formatted() == "£12,500"
    assert [c.difference for c in mrr.changes] == [1500, 4500]  # against 2024-Q1 and 2023-Q2
    assert all(math.isnan(c.ci_low) for c in mrr.changes)  # a total: no sampling interval, never "beyond" it
    assert mrr.formatted(mrr.changes[0].difference, signed=True) == "+£1,500"
    assert mrr.detail == "500 paying customers at the end of 2024-Q2, £25 a month each on average"
    nrr = got["Net MRR retention"]
    # independently: se = sqrt(n / (n - 1) * RSS) / sum(x) (Cochran's ratio estimator), per period
    se_now, se_before = (math.sqrt(460 / 459 * 20000) / 11500, math.sqrt(400 / 399 * 30000) / 10000)
    assert nrr.value == pytest.approx(0.98)
    change = nrr.changes[0]
    half = Z * math.hypot(se_now, se_before)
    assert (change.difference, change.ci_low, change.ci_high) == pytest.approx((0.08, 0.08 - half, 0.08 + half))
    assert change.beyond_interval
    low = 0.98 - Z * se_now
    assert nrr.detail.startswith(f"95% interval {100 * low:.1f}% to ")
    assert "MRR of the 460 customers paying at the start: £11,270 at the end against £11,500" in nrr.detail
    churn = got["Logo churn"]
    assert churn.value == pytest.approx(0.1) and not churn.higher_is_better
    # Wilson's interval for 46 of 460, written out
    p, n = 46 / 460, 460
    centre = (p + Z ** 2 / (2 * n)) / (1 + Z ** 2 / n)
    width = Z * math.sqrt(p * (1 - p) / n + Z ** 2 / (4 * n ** 2)) / (1 + Z ** 2 / n)
    assert churn.detail == (f"46 of 460 customers paying at the start paid nothing at the end (95% interval "
                            f"{100 * (centre - width):.1f}% to {100 * (centre + width):.1f}%)")
    q = 60 / 400
    se = math.sqrt(p * (1 - p) / 460 + q * (1 - q) / 400)
    assert churn.changes[0].ci_low == pytest.approx(p - q - Z * se)
    html = kpi_cards_html(list(got.values()))
    assert "better, beyond the 95% interval" in html.split('aria-label="Logo churn"')[1]  # less churn is better
    assert "nan" not in html.lower() and "None" not in html


def test_partial_and_no_data_periods_are_marked_and_never_judged():
    got = cards(subscription_marts(coverage=("full", "partial", "no data"),
                                   customers_start=(460, 10, 0), churned_logos=(46, 5, 0)))
    for name in ("MRR", "Net MRR retention", "Logo churn"):
        assert got[name].coverage == COMPLETE
        assert [c.coverage for c in got[name].changes] == [PARTIAL, PARTIAL if name == "MRR" else NO_DATA]
        assert not any(c.beyond_interval for c in got[name].changes)
    # a year ago nobody paid at the start, but 320 paid at its end: MRR is known (partial), retention is not
    assert got["MRR"].history[0] == 8000 and math.isnan(got["Net MRR retention"].history[0])
    assert notable_changes(list(got.values())) == []
    now_empty = cards(subscription_marts(coverage=("no data", "full", "full"), customers_end=(0, 450, 320),
                                         customers_start=(0, 400, 300)))
    html = kpi_cards_html(list(now_empty.values()))
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert text.count("no data") >= 3 and "nan" not in text.lower() and "–" not in text
    assert "no customer paid a subscription at the start of the period" in text


def test_without_the_export_every_subscription_card_says_it_needs_it():
    got = cards(subscription_marts(), missing="subscriptions")
    assert all(k.missing == "subscriptions" and k.changes == () for k in got.values())
    text = re.sub(r"<[^>]+>", " ", kpi_cards_html(list(got.values())))
    assert text.count("needs the subscriptions export") == 3 and "%" not in text and "£" not in text


def _summary(present: set[str], subscriptions):
    """summary_cards with the other marts left empty, as test_headlines builds them."""
    from test_headlines import _summary_inputs

    kpis, shares, nps, terms, exports = _summary_inputs({"orders"})
    exports["subscriptions"] = SimpleNamespace(present="subscriptions" in present, first_day=date(2022, 1, 1),
                                               last_day=date(2024, 12, 31))
    built = summary_cards(kpis, shares, nps, terms, load_params(), parse_period("2024-Q2"),
                          DataSpan(date(2022, 1, 1), date(2024, 12, 31)), exports, money=money,
                          subscriptions=subscriptions)
    return {k.name: k for k in built}


def test_summary_cards_include_the_subscription_cards_and_name_the_export_when_absent():
    with_subs = _summary({"subscriptions"}, subscription_marts())
    assert with_subs["MRR"].value == 12500 and not with_subs["Logo churn"].missing
    without = _summary(set(), subscription_marts())
    assert without["MRR"].missing == "subscriptions" and without["Net MRR retention"].missing == "subscriptions"
    assert "MRR" not in _summary(set(), None)  # not asked for: left out, as the support cards are


def test_the_cards_read_the_lead_s_period_mart_from_a_real_build(build_warehouse):
    """Three subscribers of 10.00 paying through 2024-Q1; one cancels (valid_to 2024-05-01), one upgrades to 30.00
    on 2024-05-10: at the end of Q2 MRR is 40.00 of 2 customers, net MRR retention 40 / 30, logo churn 1 of 3."""
    def sub(sid, cid, start, end="", mrr="10.00"):
        return {"subscription_id": sid, "customer_id": cid, "valid_from": start, "valid_to": end, "mrr": mrr,
                "amount": "", "interval": "", "plan": "basic", "status": "active", "trial_end": "",
                "cancelled_at": "", "cancel_reason": ""}

    con = build_warehouse(period="2024-Q2", customers=[customer(c, "2023-01-01") for c in "abc"],
                          orders=[order("o1", "a", "2024-12-31")],
                          subscriptions=[sub("s1", "a", "2024-01-05"), sub("s2", "b", "2024-01-05", "2024-05-01"),
                                         sub("s3", "c", "2024-01-05", "2024-05-10"),
                                         sub("s3", "c", "2024-05-10", "", mrr="30.00")])
    marts = con.execute("SELECT * FROM subscription_period_kpis").df().set_index("period_role")
    got = cards(marts)
    assert got["MRR"].value == 40 and got["MRR"].coverage == COMPLETE
    assert got["Net MRR retention"].value == pytest.approx(40 / 30)
    assert got["Logo churn"].value == pytest.approx(1 / 3)
    assert got["Logo churn"].detail.startswith("1 of 3 customers paying at the start paid nothing at the end")
    # 2024-Q1 begins before the first paid month: no one paid at its start
    assert got["MRR"].changes[0].coverage != COMPLETE


def test_few_customers_at_the_start_are_too_few_to_judge_and_the_interval_stays_above_zero():
    got = {k.name: k for k in subscription_kpis(subscription_marts(
        customers_start=(2, 400, 300), churned_logos=(1, 60, 30), net_mrr_retention=(0.4, 0.9, 0.96),
        retained_base=(Decimal("50.00"), Decimal("10000.00"), Decimal("7500.00")),
        retained_net=(Decimal("20.00"), Decimal("9000.00"), Decimal("7200.00")),
        net_residual_sum_of_squares=(600.0, 30000.0, 70000.0), customers_end=(1, 450, 320)),
        LABELS, money, min_sample=30)}
    assert got["Net MRR retention"].detail.startswith("95% interval 0.0% to ")  # not a negative retention
    assert got["Net MRR retention"].detail.endswith("(too few to judge)")
    assert got["Logo churn"].detail.endswith("(too few to judge)")
    assert got["MRR"].detail.startswith("1 paying customer at the end of 2024-Q2")
