"""Activity from orders, events or both (issue 17 item 5): what makes a customer active is defined once
(sql/marts/_activity.sql) and read by the cohort triangle, lifetimes and period figures. Hand fixtures for each
mode; the default (orders) leaves every mart as the SQL before the change made it; events that mirror the completed
orders give the orders' figures."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date

import duckdb
import pandas as pd
import pytest

from conftest import customer, event, order
from retention_report import warehouse
from retention_report.params import PROJECT_ROOT, load_params
from retention_report.periods import parse_period


def rows(con, sql):
    return con.execute(sql).fetchall()


# --- Hand fixture ----------------------------------------------------------------------------------------------
# a: orders only (completed on 01-05 and 02-10, 10.00 each); never uses the product.
# b: uses the product (sessions on 01-03, 02-20 and 03-31) and never orders.
# c: a page_ping on 02-02, a session on 03-05, a completed order on 03-20 (30.00).
# d: a refunded order on 02-01 (never activity) and a session the same day.
CUSTOMERS = [customer(c, "2023-12-01") for c in "abcd"]
ORDERS = [order("o1", "a", "2024-01-05 10:00:00"), order("o2", "a", "2024-02-10 10:00:00"),
          order("o3", "c", "2024-03-20 10:00:00", amount="30.00"),
          order("o4", "d", "2024-02-01 09:00:00", status="refunded")]
EVENTS = [event("e1", "b", "2024-01-03 08:00:00", "session", "60"), event("e2", "b", "2024-02-20 08:00:00", "session"),
          event("e3", "b", "2024-03-31 08:00:00", "session"), event("e4", "c", "2024-02-02 08:00:00", "page_ping"),
          event("e5", "c", "2024-03-05 08:00:00", "session"), event("e6", "d", "2024-02-01 09:30:00", "session")]


@pytest.fixture
def activity_build(build_warehouse):
    def _build(activity: str, active_events: list[str] | None = None, **params):
        return build_warehouse(params_override={"activity": activity, "active_events": active_events or [], **params},
                               customers=CUSTOMERS, orders=ORDERS, events=EVENTS)
    return _build


def triangle(con) -> dict:
    return {(c, k): (n, a) for c, k, n, a in rows(
        con, "SELECT cohort, months_since_first, cohort_customers, active_customers FROM cohort_retention")}


def test_with_orders_the_events_change_nothing(activity_build):
    con = activity_build("orders")
    # cohorts by first completed order: a in 2024-01 (active again in 02), c in 2024-03; b and d never bought
    assert triangle(con) == {("2024-01", 0): (1, 1), ("2024-01", 1): (1, 1), ("2024-01", 2): (1, 0),
                             ("2024-03", 0): (1, 1)}
    assert rows(con, "SELECT data_first_day, data_last_day FROM cohort_bounds") == [
        (date(2024, 1, 5), date(2024, 3, 20))]  # every order's dates, the refunded one included


def test_with_events_a_customer_who_never_orders_is_retained_in_the_triangle(activity_build):
    con = activity_build("events")
    # cohort = month of the first event: b 2024-01 (active 01, 02, 03); c (page_ping 02-02) and d (02-01) 2024-02,
    # c active again in 03 (the session); a never used the product and is in no cohort
    assert triangle(con) == {("2024-01", 0): (1, 1), ("2024-01", 1): (1, 1), ("2024-01", 2): (1, 1),
                             ("2024-02", 0): (2, 2), ("2024-02", 1): (2, 1)}
    # the data's dates are the events' (its last day makes March complete)
    assert rows(con, "SELECT data_first_day, data_last_day, observed_until FROM cohort_bounds") == [
        (date(2024, 1, 3), date(2024, 3, 31), date(2024, 4, 1))]
    # revenue stays the orders': c's 30.00 in March is month 1 of the 2024-02 cohort; a's orders are in no cohort
    assert rows(con, "SELECT cohort, months_since_first, revenue FROM cohort_revenue WHERE revenue > 0") == [
        ("2024-02", 1, 30.0)]


def test_active_events_name_the_events_that_count(activity_build):
    con = activity_build("events", ["session"])
    # c's page_ping does not count: c starts with the session of 03-05
    assert triangle(con) == {("2024-01", 0): (1, 1), ("2024-01", 1): (1, 1), ("2024-01", 2): (1, 1),
                             ("2024-02", 0): (1, 1), ("2024-02", 1): (1, 0), ("2024-03", 0): (1, 1)}


def test_with_both_an_order_or_an_event_makes_a_customer_active(activity_build):
    con = activity_build("both")
    # a 2024-01 (orders 01, 02); b 2024-01 (sessions 01, 02, 03); c 2024-02 (page_ping), active 03 (session and
    # order); d 2024-02 (the session; the refunded order is no activity)
    assert triangle(con) == {("2024-01", 0): (2, 2), ("2024-01", 1): (2, 2), ("2024-01", 2): (2, 1),
                             ("2024-02", 0): (2, 2), ("2024-02", 1): (2, 1)}
    assert rows(con, "SELECT data_first_day, data_last_day FROM cohort_bounds") == [
        (date(2024, 1, 3), date(2024, 3, 31))]


def test_period_figures_count_activity_and_keep_the_orders_revenue(activity_build):
    def figures(con):
        return {m: v for m, v in rows(con, "SELECT metric, value FROM period_kpis")}

    orders, events = figures(activity_build("orders")), figures(activity_build("events"))
    # 2024-Q1: new = first activity in the quarter; nobody was active in the 90 days before it
    assert orders["new_customers"] == 2 and events["new_customers"] == 3  # a, c / b, c, d
    assert orders["customers_at_start"] == events["customers_at_start"] == 0
    # revenue, buyers and repeat purchases are the orders' whatever the activity: a 20.00 (2 orders), c 30.00
    for f in (orders, events):
        assert (f["revenue"], f["buying_customers"], f["repeat_purchase_rate"]) == (50.0, 2, 0.5)


def test_lifetimes_run_from_first_to_last_activity(activity_build):
    def lifetimes(con):
        return rows(con, "SELECT customer_id, first_day, churned, lifetime_days FROM lifetime_by_customer ORDER BY 1")

    # churn_after_days 60. orders: data to 03-20; a (01-05, 02-10) silent 39 days at the end: censored at
    # 75 - 60 = 15 days; c's first order is too recent to judge
    assert lifetimes(activity_build("orders", churn_after_days=60)) == [("a", date(2024, 1, 5), False, 15)]
    # events: data to 03-31; b (01-03, 02-20, 03-31; gaps 48 and 40 days) censored at 88 - 60 = 28; c (02-02) and
    # d (02-01) started fewer than 60 days before the end
    assert lifetimes(activity_build("events", churn_after_days=60)) == [("b", date(2024, 1, 3), False, 28)]
    # both: data to 03-31: a censored at 86 - 60 = 26, b at 28
    assert lifetimes(activity_build("both", churn_after_days=60)) == [("a", date(2024, 1, 5), False, 26),
                                                                        ("b", date(2024, 1, 3), False, 28)]


def test_activity_from_events_needs_the_events_export_and_a_known_mode(build_warehouse):
    for activity, message in [("events", "activity events reads the events export, which was not given"),
                              ("both", "activity both reads the events export"),
                              ("sessions", "activity must be orders, events, subscriptions or both, .* not sessions")]:
        with pytest.raises(warehouse.SqlModelError, match=message):
            build_warehouse(params_override={"activity": activity}, customers=CUSTOMERS, orders=ORDERS)


# --- The default leaves every mart as it was; events mirroring the orders give the orders' figures ---------------
# The SQL files the change edited, as they were before it (from git: main before activity was defined once, and the
# first-week marts as merged), so that a build with the old SQL can be set beside one with the new. A guard for that
# change: when a later change to one of these files alters what it gives with activity: orders on purpose, this
# test has done its work and can go.
BEFORE_ACTIVITY = {
    "b546d13": ["_first_orders", "cohort_activity", "cohort_assignments", "cohort_bounds", "cohort_revenue",
                "lifetime_by_customer", "nps_participation", "nps_retention", "period_kpis", "summary_kpis",
                "touchpoint_appreciation", "touchpoint_effect", "touchpoint_mix"],
    "d471924": ["onboarding_customers", "onboarding_effect_strata"],
}


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    from retention_report.sample_data import write_sample_data

    folder = tmp_path_factory.mktemp("small_sample")
    write_sample_data(folder, customers=1500, invalid_rows=False)
    return folder


def tables(path, skip=()) -> dict[str, pd.DataFrame]:
    """Every table of a built warehouse, rows sorted (a table without ORDER BY has no order to compare)."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
                 if not n.startswith(skip)]
        frames = {n: con.execute(f'SELECT * FROM "{n}"').df() for n in names}
    return {n: f.sort_values(list(f.columns), ignore_index=True) if len(f.columns) else f for n, f in frames.items()}


def assert_same_tables(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for name in expected:
        # sums of doubles are added up in parallel in no fixed order: two builds of the same SQL differ in the
        # last bits (period_kpis' rates, 1e-13 at most on the sample), so the floats are compared to 1e-9
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=False, rtol=1e-9, obj=name)


def old_sql(tmp_path):
    """sql/ with the edited files as they were before the change (_activity.sql kept: it only adds tables)."""
    folder = tmp_path / "sql_before"
    shutil.copytree(PROJECT_ROOT / "sql", folder)
    for commit, names in BEFORE_ACTIVITY.items():
        for name in names:
            try:
                text = subprocess.run(["git", "-C", str(PROJECT_ROOT), "show", f"{commit}:sql/marts/{name}.sql"],
                                      check=True, capture_output=True, text=True).stdout
            except (OSError, subprocess.CalledProcessError):
                pytest.skip(f"the commit {commit} (before activity was defined once) is not in this checkout")
            (folder / "marts" / f"{name}.sql").write_text(text, encoding="utf-8")
    return folder


def test_with_the_default_activity_every_mart_is_what_the_sql_before_the_change_made(small_sample, tmp_path):
    params, period = load_params(), parse_period("2024-Q2")
    assert params["activity"] == "orders"
    before = warehouse.build_warehouse(tmp_path / "before.duckdb", small_sample, period, params,
                                       sql_dir=old_sql(tmp_path))
    after = warehouse.build_warehouse(tmp_path / "after.duckdb", small_sample, period, params)
    assert_same_tables(tables(after), tables(before))


def test_events_that_mirror_the_completed_orders_give_the_orders_figures(small_sample, tmp_path):
    """Completed orders only, and one event per order at its moment: activity events must then count exactly
    what activity orders counts (the triangle, lifetimes, period figures, every active customer)."""
    data = tmp_path / "mirror"
    data.mkdir()
    shutil.copy(small_sample / "customers.csv", data)
    with (small_sample / "orders.csv").open(encoding="utf-8") as handle:
        completed = [r for r in csv.DictReader(handle) if r["status"] == "completed"]
    with (data / "orders.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(completed[0]))
        writer.writeheader()
        writer.writerows(completed)
    with (data / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["customer_id", "occurred_at", "event"])
        writer.writeheader()
        writer.writerows({"customer_id": r["customer_id"], "occurred_at": r["ordered_at"], "event": "purchase"}
                         for r in completed)
    period = parse_period("2024-Q2")
    built = {activity: tables(warehouse.build_warehouse(tmp_path / f"{activity}.duckdb", data, period,
                                                        dict(load_params(), activity=activity)),
                              )
             for activity in ("orders", "events")}
    assert len(built["orders"]["cohort_retention"]) > 100 and built["orders"]["lifetime_by_customer"].churned.any()
    assert_same_tables(built["events"], built["orders"])


def test_the_words_for_active_follow_the_params():
    from retention_report.cohorts import activity_definition

    base = {"active_statuses": ["completed"]}
    orders = activity_definition({**base, "activity": "orders"})
    assert orders["start"] == "first completed order" and orders["active"] == "a completed order"
    assert orders["month"].startswith("at least one order that month whose status is completed.")
    events = activity_definition({**base, "activity": "events", "active_events": ["login", "session"]})
    assert (events["start"], events["active"]) == ("first activity", "a product event (`login`, `session`)")
    assert "Orders are not activity here" in events["month"]
    both = activity_definition({**base, "activity": "both"}, {"orders", "events"})  # both: the exports given
    assert both["active"] == "an order whose status is completed or a product event of any kind"
    assert "from the orders and the events export (`activity: both`" in both["month"]


def test_the_cohort_page_says_what_active_means(run_page):
    text = run_page("10_cohort_retention.ipynb", params_override={"activity": "events", "active_events": ["session"]},
                    customers=CUSTOMERS, orders=ORDERS, events=EVENTS)
    assert ("**Active in a month**: at least one product event (`session`) that month, from the events export "
            "(`activity: events`") in text
    assert "**Cohort**: the month of a customer's first activity" in text
    assert "Months since first activity" in text  # the charts' axes
    # S's definition in the period table (a table cell: markdown escapes taken out)
    assert "active (a product event (session)) in the churn window before the first day" in text.replace("\\", "")
    assert "first activity ever inside the period" in text
    for word in ("nan", "None", "NaN", "(blank)"):
        assert word not in text
