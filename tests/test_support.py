"""The support marts on hand-made tickets (each figure worked out here), the promptness comparison on the sample
(the planted effect recovered) and on data without one (an interval around zero), and the page."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_PERIOD, customer, order

from retention_report import warehouse
from retention_report.intervals import wilson_interval
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.support import promptness_effect, theme_rows


def ticket(ticket_id: str, customer_id: str, created_at: str, **extra) -> dict:
    return {"ticket_id": ticket_id, "customer_id": customer_id, "created_at": created_at, "first_response_at": "",
            "first_response_minutes": "", "resolved_at": "", "resolution_minutes": "", "status": "", "channel": "",
            "category": "", "satisfaction": "", "reopens": "", "comment": "", **extra}


def _hours(created: str, answered: str) -> float:
    return (pd.Timestamp(answered) - pd.Timestamp(created)).total_seconds() / 3600


def test_response_times_due_tickets_resolution_and_csat_from_times_or_minutes(build_warehouse):
    customers = [customer(f"c{i}") for i in range(1, 9)]
    orders = [order("o1", "c1", "2024-01-02 10:00:00")]
    tickets = [
        ticket("t1", "c1", "2024-02-01 10:00:00", first_response_at="2024-02-01 12:00:00",
               resolved_at="2024-02-02 10:00:00", channel="email", satisfaction="good"),
        ticket("t2", "c2", "2024-02-03 10:00:00", first_response_minutes="90", resolution_minutes="600",
               channel="chat", satisfaction="2"),
        ticket("t3", "c3", "2024-02-05 10:00:00", first_response_at="2024-02-07 10:00:00", channel="email",
               satisfaction="5"),  # late, still open at the end
        ticket("t4", "c4", "2024-03-31 20:00:00", channel="email"),  # unanswered and not yet due at the end
        ticket("t5", "c5", "2024-03-01 10:00:00", channel="phone", status="solved"),  # unanswered, due: late
        ticket("t6", "c6", "2024-03-02 10:00:00", first_response_minutes="1440", channel="phone",
               satisfaction="offered"),  # exactly on the target
        ticket("t7", "c7", "2023-12-20 10:00:00", first_response_at="2023-12-20 11:00:00"),  # before the period
        ticket("t8", "c8", "2024-01-10 10:00:00", first_response_at="2024-01-10 10:30:00",
               resolved_at="2024-04-03 10:00:00", category="billing"),  # resolved after the period's end
    ]
    con = build_warehouse(period="2024-Q1", customers=customers, orders=orders, support_tickets=tickets)
    r = con.execute("SELECT * FROM support_response WHERE breakdown = 'all'").df().iloc[0]
    answered = sorted([_hours("2024-02-01 10:00:00", "2024-02-01 12:00:00"), 1.5, 48.0, 24.0, 0.5])
    assert r.tickets == 7 and r.answered == 5
    assert r.due == 6  # t4 was raised 4 hours before the end: not yet due
    assert r.within_target == 4  # t1, t2, t6 (24 h is within), t8
    assert r.median_first_response_hours == pytest.approx(np.median(answered))
    assert r.p90_first_response_hours == pytest.approx(np.quantile(answered, 0.9))
    assert r.resolved == 4  # t1, t2 (minutes), t5 (said solved), t8 (later, but resolved)
    assert r.median_resolution_hours == pytest.approx(np.median([24.0, 10.0, _hours("2024-01-10 10:00:00",
                                                                                     "2024-04-03 10:00:00")]))
    assert (r.rated, r.satisfied) == (3, 2)
    channels = con.execute("SELECT value, tickets, within_target FROM support_response WHERE breakdown = 'channel' "
                           "ORDER BY value").fetchall()
    assert channels == [("chat", 1, 1), ("email", 3, 1), ("not given", 1, 1), ("phone", 2, 1)]
    backlog = dict(con.execute("SELECT bucket, open_tickets FROM support_backlog").fetchall())
    # Open at the end of March: t4 (4 hours before), t3 (56 days), t6 (29.6 days, answered, never resolved), t8
    # (82 days, resolved in April), t7 (103 days, never resolved). t5 is said solved.
    assert backlog == {"under 1 day": 1, "1-3 days": 0, "3-7 days": 0, "7-30 days": 1, "30-90 days": 2,
                       "90 days or more": 1}
    counts = con.execute("SELECT * FROM support_period_counts WHERE period_role = 'current'").df().iloc[0]
    assert (counts.tickets, counts.eligible_for_target, counts.answered_within_target) == (7, 6, 4)


def test_the_median_interval_is_the_order_statistics_conover_names(build_warehouse):
    rng = np.random.default_rng(3)
    minutes = rng.integers(1, 5000, 101)
    tickets = [ticket(f"t{i}", "c1", "2024-02-01 10:00:00", first_response_minutes=str(m)) for i, m in enumerate(minutes)]
    con = build_warehouse(period="2024-Q1", customers=[customer("c1")], orders=[order("o1", "c1", "2024-01-02")],
                          support_tickets=tickets)
    low, high = con.execute("SELECT median_ci_low, median_ci_high FROM support_response WHERE breakdown = 'all'").fetchone()
    hours, n = np.sort(minutes / 60), len(minutes)
    # Ranks n/2 - 1.96 sqrt(n)/2 (rounded down) and 1 + n/2 + 1.96 sqrt(n)/2 (rounded up), 1-based.
    j, k = math.floor(n / 2 - 1.959964 * math.sqrt(n) / 2), math.ceil(1 + n / 2 + 1.959964 * math.sqrt(n) / 2)
    assert (low, high) == pytest.approx((hours[j - 1], hours[k - 1]))
    # Its coverage, by the binomial distribution: P(X(j) <= median <= X(k)) at least 95% (rounding outwards
    # makes it a little conservative).
    from scipy.stats import binom
    assert 0.95 <= binom.cdf(k - 1, n, 0.5) - binom.cdf(j - 1, n, 0.5) <= 0.98


def test_themes_churn_and_reach_out_reasons(build_warehouse):
    customers = [customer(f"c{i}", name=f"Person {i}", email=f"p{i}@example.com") for i in range(1, 5)]
    orders = [order("o1", "c1", "2024-01-05"), order("o2", "c2", "2024-01-06"), order("o3", "c3", "2024-01-07"),
              order("o4", "c1", "2024-02-20"),  # c1 orders again after the ticket: not churned
              order("o5", "c4", "2024-09-30")]  # the data runs to the end of September
    tickets = [
        ticket("t1", "c1", "2024-02-01 09:00:00", comment="Parcel arrived damaged", first_response_minutes="60"),
        ticket("t2", "c2", "2024-02-01 09:00:00", comment="The courier never came", first_response_minutes="3000",
               satisfaction="bad"),
        ticket("t3", "c3", "2024-03-30 09:00:00", comment="Wrong price on my invoice"),  # open, unanswered
    ]
    con = build_warehouse(period="2024-Q1", customers=customers, orders=orders, support_tickets=tickets)
    themes = con.execute("SELECT * FROM support_themes").df().set_index("theme")
    assert (themes.loc["delivery"].customers, themes.loc["delivery"].churned) == (2, 1)  # c2 never ordered again
    assert (themes.loc["delivery"].other_customers, themes.loc["delivery"].other_churned) == (1, 1)  # c3
    assert themes.loc["price"].customers == 1 and themes.loc["mistakes and errors"].customers == 1
    judged = theme_rows(themes.reset_index(), min_sample=2).set_index("theme")
    assert judged.loc["delivery"].churn_rate == 0.5 and not judged.loc["delivery"].judged  # 1 other: too few
    low, high = wilson_interval(1, 2)
    assert (judged.loc["delivery"].ci_low, judged.loc["delivery"].ci_high) == pytest.approx((low, high))
    reasons = con.execute("SELECT customer_id, reason FROM support_reach_out ORDER BY ALL").fetchall()
    assert reasons == [("c2", "rated ticket t2 bad"), ("c2", "ticket t2 answered after 50 hours"),
                       ("c3", "ticket t3 unanswered for 2 days at the period's end")]
    reach = con.execute("SELECT customer_id, email, reasons, reason_count FROM reach_out ORDER BY customer_id").fetchall()
    assert [(c, n) for c, _, _, n in reach] == [("c2", 2), ("c3", 1)]  # one row per customer, every reason
    assert reach[0][2] == "rated ticket t2 bad; ticket t2 answered after 50 hours"


def test_promptness_is_compared_within_strata_as_computed_here(build_warehouse):
    """Two strata with different base rates: the weighted difference is worked out by hand."""
    customers, orders, tickets = [], [], []
    # Stratum A (no order before, category a): on time 3 of 4 retained, late 1 of 4. Stratum B (category b):
    # on time 2 of 2, late 1 of 2.
    plan = [("a", False, [1, 1, 1, 0]), ("a", True, [1, 0, 0, 0]), ("b", False, [1, 1]), ("b", True, [1, 0])]
    n = 0
    for category, late, retained in plan:
        for kept in retained:
            n += 1
            cid = f"c{n}"
            customers.append(customer(cid))
            tickets.append(ticket(f"t{n}", cid, "2024-01-10 10:00:00", category=category,
                                  first_response_minutes="3000" if late else "30"))
            if kept:
                orders.append(order(f"o{n}", cid, "2024-02-01 10:00:00"))
    orders.append(order("last", "c1", "2024-12-31 10:00:00"))  # the data runs long enough for 180 days
    con = build_warehouse(period="2024-Q1", customers=customers, orders=orders, support_tickets=tickets)
    strata = con.execute("SELECT * FROM support_promptness_strata").df()
    effect = promptness_effect(strata).query("group == 'difference'").set_index("horizon_days")
    w_a, w_b = 8 / 12, 4 / 12
    expected = w_a * (1 / 4 - 3 / 4) + w_b * (1 / 2 - 2 / 2)
    variance = w_a ** 2 * (0.25 * 0.75 / 4 + 0.75 * 0.25 / 4) + w_b ** 2 * (0.5 * 0.5 / 2 + 0)
    assert effect.loc[90].retention_rate == pytest.approx(expected)
    assert effect.loc[90].ci_high - effect.loc[90].retention_rate == pytest.approx(1.959964 * math.sqrt(variance),
                                                                                  rel=1e-5)


def test_the_sample_recovers_the_planted_cost_of_late_answers(sample_site):
    effect = pd.read_csv(sample_site.site / SAMPLE_PERIOD / "data" / "support_promptness_effect.csv")
    d = effect[(effect.group == "difference") & (effect.horizon_days == 180)].iloc[0]
    assert d.ci_high < 0 and -0.20 < d.retention_rate < -0.06  # planted: about -12 to -14 points
    text = (sample_site.site / SAMPLE_PERIOD / "support.html").read_text(encoding="utf-8")
    assert "answered late stayed less often, beyond the 95% interval" in text
    assert "an association, not proof" in text and "nan" not in text.lower().split()


def test_without_a_planted_effect_the_interval_contains_zero(tmp_path):
    from retention_report.sample_data import write_sample_data

    write_sample_data(tmp_path / "data", customers=20_000, service_effect=False)
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", tmp_path / "data", parse_period(SAMPLE_PERIOD),
                                     load_params())
    strata = warehouse.read_mart(path, "support_promptness_strata")
    for horizon, d in promptness_effect(strata).query("group == 'difference'").set_index("horizon_days").iterrows():
        assert d.ci_low < 0 < d.ci_high, horizon


def test_the_call_list_is_private_and_no_contact_detail_reaches_the_site(sample_site):
    private = sample_site.site.parent / "private" / SAMPLE_PERIOD / "reach_out.csv"
    calls = pd.read_csv(private)
    assert len(calls) and calls.customer_id.is_unique and calls.email.str.contains("@").all()
    assert calls.revenue.is_monotonic_decreasing
    assert calls.reasons.str.contains("ticket").any() and calls.reasons.str.contains("top 20%").any()
    site_text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sample_site.site.rglob("*")
                          if p.is_file() and p.suffix in (".html", ".csv", ".json", ".js"))
    for email in calls.email.head(50):
        assert email not in site_text
