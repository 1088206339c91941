"""Subscriptions tied to the rest of the report (issue 18 item 4): with `activity: subscriptions`, `both` or a
list such as [orders, subscriptions], a customer is active in every month a subscription of theirs is paid at
some moment (sql/marts/_activity.sql), so the cohort triangle, lifetimes and period figures work for subscribers.
Hand fixtures; the refusals of an activity not known or of an export named that was not given."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from conftest import customer, order, write_exports
from retention_report import warehouse
from retention_report.exports import ExportError
from retention_report.params import PROJECT_ROOT, load_params
from retention_report.periods import parse_period
from retention_report.validate import activity_sources, check_params


def sub(subscription_id: str, customer_id: str, valid_from: str, valid_to: str = "", mrr: str = "20.00",
        **values) -> dict:
    row = {"subscription_id": subscription_id, "customer_id": customer_id, "valid_from": valid_from,
           "valid_to": valid_to, "mrr": mrr, "amount": "", "interval": "", "plan": "basic", "status": "active",
           "trial_end": "", "cancelled_at": "", "cancel_reason": ""}
    row.update(values)
    return row


# --- Hand fixture (built for 2024-Q2; the data ends with a's order on 2024-06-30) -------------------------------
# s: subscription only, paid 2024-01-10 .. 2024-04-10: active January to April (four months), then never.
# v: subscription only, 2023-12-01 .. 2024-03-01 at midnight (exclusive): December to February, not March.
# t: on trial 2024-02-01 .. 02-15, then paid and still running: February to June.
# u: a trial only (ends when the stretch ends): never paid, never active.
# w: an order on 2024-01-20, a subscription 2024-03-05 .. 2024-05-05 (March to May).
# a: orders only, 2024-01-05 and 2024-06-30.
CUSTOMERS = [customer(c, "2023-11-01") for c in "svtuwa"]
ORDERS = [order("o1", "a", "2024-01-05 10:00:00"), order("o2", "a", "2024-06-30 10:00:00"),
          order("o3", "w", "2024-01-20 10:00:00")]
SUBSCRIPTIONS = [sub("s1", "s", "2024-01-10", "2024-04-10"), sub("s2", "v", "2023-12-01", "2024-03-01"),
                 sub("s3", "t", "2024-02-01", "", trial_end="2024-02-15", cancelled_at="2024-06-20"),
                 sub("s4", "u", "2024-03-01", "2024-03-15", trial_end="2024-03-15", status="trialing"),
                 sub("s5", "w", "2024-03-05", "2024-05-05", plan="pro", mrr="35.00")]


@pytest.fixture
def subscription_build(tmp_path):
    """Build the fixture for 2024-Q2 with `activity` (subscriptions=None: without that export); the temporary
    tables activity_sources, cohort_activity and first_orders are kept (as kept_sources, kept_activity, kept_first) by one model added
    after every other, in a copy of sql/."""
    sql = tmp_path / "sql"
    shutil.copytree(PROJECT_ROOT / "sql", sql)
    (sql / "marts" / "zzzz_keep.sql").write_text(
        "CREATE TABLE kept_sources AS SELECT * FROM activity_sources;\n"
        "CREATE TABLE kept_activity AS SELECT * FROM cohort_activity;\n"
        "CREATE TABLE kept_first AS SELECT * FROM first_orders;\n", encoding="utf-8")
    opened = []

    def _build(activity, subscriptions=SUBSCRIPTIONS, **params):
        exports = {"customers": CUSTOMERS, "orders": ORDERS}
        if subscriptions is not None:
            exports["subscriptions"] = subscriptions
        data = write_exports(tmp_path / f"data{len(opened)}", **exports)
        path = warehouse.build_warehouse(tmp_path / f"wh{len(opened)}.duckdb", data, parse_period("2024-Q2"),
                                         dict(load_params(), activity=activity, **params), sql_dir=sql)
        con = duckdb.connect(str(path), read_only=True)
        opened.append(con)
        return con

    yield _build
    for con in opened:
        con.close()


def triangle(con) -> dict:
    return {(c, k): (n, a) for c, k, n, a in con.execute(
        "SELECT cohort, months_since_first, cohort_customers, active_customers FROM cohort_retention").fetchall()}


def active_months(con) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for customer_id, month in con.execute(
            "SELECT customer_id, strftime(activity_month, '%Y-%m') FROM kept_activity ORDER BY 1, 2").fetchall():
        got.setdefault(customer_id, []).append(month)
    return got


def test_a_subscriber_is_retained_in_the_triangle_exactly_as_long_as_the_subscription_is_paid(subscription_build):
    con = subscription_build("subscriptions")
    # each customer's months: a paid moment in the month; valid_to is exclusive (v's March 1 at midnight is not
    # March); t's trial month February counts from the trial's end; u (a trial only) and a (orders) never
    assert active_months(con) == {"s": ["2024-01", "2024-02", "2024-03", "2024-04"],
                                  "v": ["2023-12", "2024-01", "2024-02"],
                                  "t": ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06"],
                                  "w": ["2024-03", "2024-04", "2024-05"]}
    got = triangle(con)
    # s alone is the 2024-01 cohort: retained in months 1, 2 and 3 (February to April), not after
    assert [got[("2024-01", k)] for k in range(6)] == [(1, 1), (1, 1), (1, 1), (1, 1), (1, 0), (1, 0)]
    assert [got[("2023-12", k)][1] for k in range(7)] == [1, 1, 1, 0, 0, 0, 0]
    assert [got[("2024-02", k)][1] for k in range(5)] == [1] * 5  # t runs to the data's end
    assert [got[("2024-03", k)][1] for k in range(4)] == [1, 1, 1, 0]  # w's order in January does not count
    # the data activity is read from: the first paid moment to the subscription data's last moment (the last
    # order on 06-30 here, subscription_span.last_at)
    assert con.execute("SELECT data_first_day, data_last_day FROM cohort_bounds").fetchone() == (
        date(2023, 12, 1), date(2024, 6, 30))
    # lifetimes run from the first to the last paid month; a subscription still paid has not churned
    lifetimes = dict(con.execute("SELECT customer_id, churned FROM lifetime_by_customer").fetchall())
    assert lifetimes == {"s": True, "v": True, "t": False, "w": False}
    # period figures: at 2024-04-01, s, t, v (paid in February, inside the 90 days) and w were active; at the end,
    # t and w (May, inside 90 days of July 1) are
    kpis = dict(con.execute("SELECT metric, value FROM period_kpis").fetchall())
    assert (kpis["customers_at_start"], kpis["customers_at_end"], kpis["retained_customers"]) == (4, 2, 2)
    assert kpis["revenue"] == 10.0  # revenue stays the orders' (a's 06-30 order; w's is before the period)


def test_both_counts_orders_and_subscriptions_and_the_list_form_says_the_same(subscription_build):
    both, listed = subscription_build("both"), subscription_build(["orders", "subscriptions"])
    assert active_months(both) == active_months(listed)
    months = active_months(both)
    assert months["w"] == ["2024-01", "2024-03", "2024-04", "2024-05"]  # the order, then the subscription
    assert months["a"] == ["2024-01", "2024-06"]
    got = triangle(both)
    # 2024-01: a (orders), s (subscription), w (its order in January): month 1 only s; months 2-3 s and w;
    # month 4 w (May); month 5 a (June)
    assert [got[("2024-01", k)] for k in range(6)] == [(3, 3), (3, 1), (3, 2), (3, 2), (3, 1), (3, 1)]
    assert triangle(listed) == got
    # w's cohort is its first activity, the order
    first = dict(both.execute("SELECT customer_id, first_order_at::DATE FROM kept_first").fetchall())
    assert first["w"] == date(2024, 1, 20) and first["t"] == date(2024, 2, 15)
    # with orders alone the subscriptions change nothing: only a and w, by their orders
    orders = subscription_build("orders")
    assert active_months(orders) == {"a": ["2024-01", "2024-06"], "w": ["2024-01"]}


def test_both_reads_the_orders_and_whichever_activity_export_was_given(subscription_build):
    # without the subscriptions export and without events, both names nothing beyond the orders: refused
    with pytest.raises(warehouse.SqlModelError, match="activity both reads the events export or the "
                                                      "subscriptions export .* and neither was given"):
        subscription_build("both", subscriptions=None)
    # with the subscriptions export and no events, both is the orders and the subscriptions
    assert set(subscription_build("both").execute("SELECT source FROM kept_sources").fetchall()) == {
        ("orders",), ("subscriptions",)}


def test_an_activity_naming_an_absent_export_or_not_known_is_refused(subscription_build):
    for activity, message in [
            ("subscriptions", r"activity subscriptions reads the subscriptions export, which was not given: add it "
                              r"to the data folder or set activity: orders"),
            (["orders", "subscriptions"], r"activity \[orders, subscriptions\] reads the subscriptions export"),
            (["subscriptions", "events"], r"reads the events and subscriptions export, which was not given"),
            ("sessions", r"activity must be orders, events, subscriptions or both, or a list .* not sessions"),
            (["orders", "both"], r"activity must be orders, events, subscriptions or both")]:
        with pytest.raises(warehouse.SqlModelError, match=message):
            subscription_build(activity, subscriptions=None)
    # the params check refuses the same values before any build (it cannot know which exports are given)
    for good in ("subscriptions", "both", ["orders", "subscriptions"], ["events"]):
        check_params({**load_params(), "activity": good})
    for bad in ("sessions", ["orders", "both"], ["orders", 3], {"orders": True}):
        with pytest.raises(ExportError, match="activity must be orders, events, subscriptions or both"):
            check_params({**load_params(), "activity": bad})


def test_the_sources_and_the_words_follow_the_params_and_the_exports_given():
    from retention_report.cohorts import activity_definition

    assert activity_sources({"activity": "both"}, {"orders", "subscriptions"}) == ("orders", "subscriptions")
    assert activity_sources({"activity": "both"}, {"orders", "events"}) == ("orders", "events")
    assert activity_sources({"activity": ["subscriptions", "orders", "orders"]}) == ("orders", "subscriptions")
    assert activity_sources({"activity": None}) == ("orders",)
    base = {"active_statuses": ["completed"]}
    subs = activity_definition({**base, "activity": "subscriptions"})
    assert (subs["active"], subs["start"]) == ("a paid subscription", "first activity")
    assert subs["month"].startswith("a subscription of theirs paid at some moment of that month (from its first "
                                    "paid day, after any trial, up to its end), from the subscriptions export "
                                    "(`activity: subscriptions`: a subscriber counts as active in every month")
    assert "Orders are not activity here" in subs["month"]
    both = activity_definition({**base, "activity": "both"}, {"orders", "subscriptions"})
    assert both["active"] == "an order whose status is completed or a paid subscription"
    assert both["month"].startswith("at least one order whose status is completed that month or a subscription "
                                    "of theirs paid at some moment of that month")
    assert "from the orders and the subscriptions export (`activity: both`" in both["month"]
    listed = activity_definition({**base, "activity": ["orders", "subscriptions"]})
    assert "(`activity: [orders, subscriptions]`" in listed["month"]
    # not told which exports were given, both says so rather than guess
    assert "whichever were given" in activity_definition({**base, "activity": "both"})["month"]
    # the events-only words are those of before
    events = activity_definition({**base, "activity": "both"}, {"orders", "events"})
    assert events["active"] == "an order whose status is completed or a product event of any kind"
    assert "from the orders and the events export (`activity: both`" in events["month"]


# --- NPS by subscription status (item 4: NPS by subscription status) -------------------------------------------
def answer(rid, cid, when, score):
    return {"response_id": rid, "customer_id": cid, "responded_at": when, "score": str(score), "would_buy_again": "",
            "comment": ""}


NPS_CUSTOMERS = [customer(c, "2023-11-01") for c in ("p", "q", "r", "n", "m", "x")]
NPS_SUBSCRIPTIONS = [
    sub("sp", "p", "2024-01-01"),                                   # paying throughout
    sub("sq", "q", "2024-04-01", trial_end="2024-04-20"),            # on trial to 04-20, then paying
    sub("sr", "r", "2024-01-01", "2024-03-01", status="canceled"),   # ended before the period
    sub("sm", "m", "2024-06-01"),                                    # begins after m's answer
    sub("sx1", "x", "2024-01-01", "2024-02-01", status="canceled"),  # x: cancelled, then back on 05-01
    sub("sx2", "x", "2024-05-01"),
]
NPS_ANSWERS = [answer("a1", "p", "2024-04-10", 10), answer("a2", "q", "2024-04-05", 8),
               answer("a3", "q", "2024-05-01", 9), answer("a4", "r", "2024-04-10", 3),
               answer("a5", "r", "2024-02-10", 9),  # before the period
               answer("a6", "n", "2024-04-10", 6), answer("a7", "m", "2024-04-10", 0),
               answer("a8", "x", "2024-04-15", 4), answer("a9", "x", "2024-05-15", 7),
               answer("a10", "", "2024-04-10", 10)]  # anonymous: no status
NPS_ORDERS = [order("o1", "n", "2024-01-05"), order("o2", "n", "2024-06-30")]


def test_nps_answers_are_grouped_by_the_subscription_status_at_the_moment_of_answering(build_warehouse):
    from retention_report.nps import subscription_status_table

    con = build_warehouse(period="2024-Q2", customers=NPS_CUSTOMERS, orders=NPS_ORDERS,
                          subscriptions=NPS_SUBSCRIPTIONS, nps_responses=NPS_ANSWERS)
    counts = con.execute("SELECT * FROM nps_subscription_status").df()
    assert [tuple(r) for r in counts.itertuples(index=False)] == [
        ("paying", 2, 1, 0, 3),            # p's 10, q's 9 after the trial, x's 7 after coming back
        ("on_trial", 0, 1, 0, 1),          # q's 8 during the trial
        ("cancelled", 0, 0, 2, 2),         # r's 3, x's 4 between its two subscriptions
        ("never_subscribed", 0, 0, 2, 2)]  # n's 6; m's 0 before its subscription began
    table = subscription_status_table(counts, method="adjusted_wald", min_sample=2).set_index("subscription_status")
    # independently: NPS = 100 (P - D) / n; adjusted Wald (Rocks 2016): 0.75 promoters, 1.5 passives and 0.75
    # detractors added, Wald interval around the adjusted score
    n, p, d = 3 + 3, (2 + 0.75) / 6, 0.75 / 6
    se = ((p + d) - (p - d) ** 2) ** 0.5 / n ** 0.5
    assert table.nps["paying"] == pytest.approx(100 * 2 / 3)
    assert (table.ci_low["paying"], table.ci_high["paying"]) == pytest.approx(
        (100 * (p - d - 1.96 * se), 100 * (p - d + 1.96 * se)))
    assert table.nps["cancelled"] == -100 and table.judgement["on_trial"] == "too few to judge"
    assert table.judgement["paying"] == ""
    # without the export every answer is of a customer who never subscribed
    none = build_warehouse(period="2024-Q2", customers=NPS_CUSTOMERS, orders=NPS_ORDERS, nps_responses=NPS_ANSWERS)
    assert none.execute("SELECT subscription_status, answers FROM nps_subscription_status").fetchall() == [
        ("paying", 0), ("on_trial", 0), ("cancelled", 0), ("never_subscribed", 8)]


def test_the_nps_page_says_nps_by_subscription_status_or_that_the_export_is_absent(run_page, tmp_path):
    text = run_page("20_nps.ipynb", period="2024-Q2", params_override={"min_sample": 2}, customers=NPS_CUSTOMERS,
                    orders=NPS_ORDERS, subscriptions=NPS_SUBSCRIPTIONS, nps_responses=NPS_ANSWERS)
    section = text[text.index("NPS in 2024-Q2 by subscription status"):]
    assert section.startswith("NPS in 2024-Q2 by subscription status at the moment of answering: paying a "
                              "subscription: **+67** (95% interval")
    assert "had cancelled before (none running): **-100**" in section
    assert "Paying subscribers against those who had cancelled: +167 points" in section
    assert "An association" in section
    for word in ("nan", "None", "NaN", "(blank)"):
        assert word not in text


def test_without_the_subscriptions_export_the_nps_section_says_so(run_page):
    from retention_report.validate import absent_export_line

    text = run_page("20_nps.ipynb", period="2024-Q2", params_override={"min_sample": 2}, customers=NPS_CUSTOMERS,
                    orders=NPS_ORDERS, nps_responses=NPS_ANSWERS)
    assert absent_export_line("subscriptions", "there is no NPS by subscription status") in text
    assert "by subscription status at the moment of answering:" not in text


# --- Thanked against not-thanked subscribers (item 4: MRR retention of appreciated customers) ------------------
def subscriber_fixture(still_paying: dict[tuple[str, bool], int], per_group: int = 10):
    """Subscribers all starting on 2023-01-10 on plan basic (10.00) or pro (50.00), per_group of each plan and
    group (thanked: a thank_you on 2023-01-20, inside the 30 days; not thanked: a promotion then, or a thank_you
    on day 40, after the window); still_paying[(plan, thanked)] of them pay on (no end), the rest end on
    2023-03-01. One thanked pro subscriber who stays upgrades to 80.00 on 2023-05-01. The data ends 2024-06-30."""
    customers, subscriptions, touchpoints = [], [], []
    for plan, mrr in (("basic", "10.00"), ("pro", "50.00")):
        for thanked in (True, False):
            for i in range(per_group):
                cid = f"{plan}-{'t' if thanked else 'n'}-{i}"
                customers.append(customer(cid, "2023-01-01"))
                stays = i < still_paying[(plan, thanked)]
                if plan == "pro" and thanked and i == 0 and stays:
                    subscriptions += [sub(f"s-{cid}", cid, "2023-01-10", "2023-05-01", plan=plan, mrr=mrr),
                                      sub(f"s-{cid}", cid, "2023-05-01", "", plan=plan, mrr="80.00")]
                else:
                    subscriptions.append(sub(f"s-{cid}", cid, "2023-01-10", "" if stays else "2023-03-01",
                                             plan=plan, mrr=mrr))
                kind, day = (("thank_you", "2023-01-20") if thanked else
                             (("promotion", "2023-01-20") if i % 2 else ("thank_you", "2023-02-19")))
                touchpoints.append({"touchpoint_id": f"t-{cid}", "customer_id": cid, "occurred_at": day, "kind": kind})
    return dict(customers=customers, orders=[order("o1", "basic-t-0", "2024-06-30")], subscriptions=subscriptions,
                touchpoints=touchpoints)


def test_thanked_subscribers_planted_to_keep_paying_more_are_found_so(build_warehouse):
    from retention_report.intervals import Z_95
    from retention_report.touchpoints import mrr_kept, stratified_difference

    planted = {("basic", True): 8, ("basic", False): 5, ("pro", True): 9, ("pro", False): 6}
    con = build_warehouse(period="2024-Q2", **subscriber_fixture(planted))
    strata = con.execute("SELECT * FROM touchpoint_subscription_effect").df()
    # 40 subscribers ranked by their first MRR into quartiles: equal MRRs share one (basic 1, pro 3), all from 2023-Q1
    assert set(strata[strata.group != "all"].stratum) == {f"{p} / MRR quartile {q} / 2023-Q1" for p, q in
                                   (("basic", 1), ("pro", 3))}
    effect = stratified_difference(strata[strata.group != "all"])
    diff = effect[(effect.group == "difference") & (effect.horizon_days == 180)].iloc[0]
    # independently, from the strata's own counts: weights n_s / N, variance sum w^2 (p1 q1 / n1 + p0 q0 / n0)
    rows = strata[(strata.horizon_days == 180) & (strata.group != "all")]
    wide = rows.pivot(index="stratum", columns="group", values=["customers", "retained"])
    n1, n0 = wide[("customers", "thanked")], wide[("customers", "not_thanked")]
    p1, p0 = wide[("retained", "thanked")] / n1, wide[("retained", "not_thanked")] / n0
    w = (n1 + n0) / (n1 + n0).sum()
    estimate = float((w * (p1 - p0)).sum())
    se = float((w ** 2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum()) ** 0.5
    assert diff.retention_rate == pytest.approx(estimate) and diff.ci_low == pytest.approx(estimate - Z_95 * se)
    # the plant: 17 of 20 thanked against 11 of 20 not thanked still pay, +30 points in each plan
    assert rows.groupby("group").retained.sum().to_dict() == {"thanked": 17, "not_thanked": 11}
    assert estimate == pytest.approx(0.30) and diff.ci_low > 0
    # MRR kept (ratio of sums): thanked 8 x 10 + 8 x 50 + 80 (the upgrade) of 10 x 10 + 10 x 50
    kept = mrr_kept(strata).set_index(["horizon_days", "group"])
    assert kept.mrr_kept_share[(180, "thanked")] == pytest.approx((80 + 400 + 80) / 600)
    assert kept.mrr_kept_share[(180, "not_thanked")] == pytest.approx((50 + 300) / 600)
    assert strata[strata.group == "all"].customers.tolist() == [0, 0]  # every follow-up is over


def test_with_no_difference_planted_the_interval_holds_zero(build_warehouse):
    from retention_report.touchpoints import stratified_difference, subscription_effect_sentence, mrr_kept

    # opposite differences in the two plans, equal in size: none on the whole
    none = {("basic", True): 6, ("basic", False): 4, ("pro", True): 4, ("pro", False): 6}
    con = build_warehouse(period="2024-Q2", **subscriber_fixture(none))
    strata = con.execute("SELECT * FROM touchpoint_subscription_effect").df()
    effect = stratified_difference(strata[strata.group != "all"])
    diff = effect[(effect.group == "difference") & (effect.horizon_days == 180)].iloc[0]
    assert diff.retention_rate == pytest.approx(0) and diff.ci_low < 0 < diff.ci_high
    text = subscription_effect_sentence(effect, mrr_kept(strata), 0, min_sample=30, currency="EUR")
    assert "the difference is within what chance alone would produce" in text
    assert "An association, not an experiment" in text and "of €600.00 a month" in text
    assert subscription_effect_sentence(effect, mrr_kept(strata), 0, min_sample=50).count("too few to judge") == 1


# --- The call list: subscribers who asked to cancel (item 5 of the brief) ---------------------------------------
def test_the_call_list_gains_the_subscribers_who_asked_to_cancel_merged_with_other_reasons(tmp_path):
    """subscription_reach_out (the subscriptions page's mart) stood in for by fixed rows, in a copy of sql/: a
    model that runs after it and before zz_reach_out replaces it."""
    sql = tmp_path / "sql"
    shutil.copytree(PROJECT_ROOT / "sql", sql)
    (sql / "marts" / "yy_test_subscription_reach_out.sql").write_text(
        "CREATE OR REPLACE TABLE subscription_reach_out AS SELECT * FROM (VALUES "
        "('a', 'pro', 49.5::DECIMAL(18, 2), 'price', true), ('b', 'basic', 20::DECIMAL(18, 2), NULL, false)) "
        "AS v(customer_id, plan, mrr_lost, reason_theme, still_running);\n", encoding="utf-8")
    data = write_exports(
        tmp_path / "data", customers=[customer(c, "2023-11-01", email=f"{c}@example.com") for c in "abc"],
        orders=[order("o1", "a", "2024-02-01", amount="15.00"), order("o2", "c", "2024-06-30", amount="500.00")],
        # b pays 20.00 a month from January to April: 80.00 of revenue, more than a's 15.00 order and one month of 49.50
        subscriptions=[sub("s1", "b", "2024-01-01", "2024-05-01", mrr="20.00"),
                       sub("s2", "a", "2024-04-01", "2024-05-01", mrr="49.50", plan="pro")],
        nps_responses=[answer("r1", "a", "2024-04-10", 2)])  # a detractor nobody followed up
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", data, parse_period("2024-Q2"),
                                     dict(load_params(), reporting_currency="EUR"), sql_dir=sql)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT customer_id, email, revenue, reasons, reason_count FROM reach_out").fetchall()
    assert rows == [
        ("b", "b@example.com", 80.0, "asked to cancel: basic, 20.00 EUR/month, no reason given (no longer paying)", 1),
        ("a", "a@example.com", 64.5, "asked to cancel: pro, 49.50 EUR/month, price (still paying); detractor (score 2 "
                                     "on 2024-04-10) not followed up within 7 days", 2)]
