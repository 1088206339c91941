"""Cohort retention page: the cohort marts on hand-computed fixtures, the page's arithmetic, and the whole
build on the sample data against independent pandas and lifelines computations."""

import json
import math

import nbformat
import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE_PERIOD, customer, order
from retention_report import cohorts
from retention_report.survival import kaplan_meier, loglog_band

# --- Hand-computed fixtures ---------------------------------------------------------------------------

# Period 2024-Q1. c1: Jan (two orders: counts once), Mar, then Apr (after the period). c2: Jan 31, Feb 1.
# c3: only a refunded order in Jan (not active), then a completed order in Feb: cohort Feb. c4: Mar.
# c5: first order in April (after the period: absent). c6: Jan only. c7: only a refunded (Jan) and a cancelled
# (Feb) order: never active, so in no cohort and no cell.
TRIANGLE_ORDERS = [
    order("o1", "c1", "2024-01-03 09:00:00"), order("o2", "c1", "2024-01-20 09:00:00"),
    order("o3", "c1", "2024-03-02 09:00:00"), order("o10", "c1", "2024-04-02 00:00:00"),
    order("o4", "c2", "2024-01-31 23:59:59"), order("o5", "c2", "2024-02-01 00:00:00"),
    order("o6", "c3", "2024-01-10 09:00:00", status="refunded"), order("o7", "c3", "2024-02-10 09:00:00"),
    order("o8", "c4", "2024-03-31 12:00:00"), order("o9", "c5", "2024-04-01 00:00:00"),
    order("o11", "c6", "2024-01-15 09:00:00"),
    order("o12", "c7", "2024-01-16 09:00:00", status="refunded"), order("o13", "c7", "2024-02-16 09:00:00", status="cancelled"),
]
TRIANGLE_CUSTOMERS = [customer(c) for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")]


def cells(con, columns="cohort, months_since_first, cohort_customers, active_customers"):
    return con.execute(f"SELECT {columns} FROM cohort_cells ORDER BY cohort, months_since_first").fetchall()


def test_triangle_active_in_month_by_hand(build_warehouse):
    con = build_warehouse(customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS)
    assert cells(con, "cohort, months_since_first, cohort_customers, active_customers, is_complete, in_period") == [
        ("2024-01", 0, 3, 3, True, True),
        ("2024-01", 1, 3, 1, True, True),   # c2 in Feb; two January orders of c1 counted once in month 0
        ("2024-01", 2, 3, 1, True, True),   # c1 in Mar; its April order is after the period
        ("2024-02", 0, 1, 1, True, True),   # c3: the refunded January order does not make January its cohort
        ("2024-02", 1, 1, 0, True, True),   # nobody active: 0, not a missing row
        ("2024-03", 0, 1, 1, True, True),
    ]  # no April rows, no c5, no c7 (the January cohort is c1, c2, c6)
    assert con.execute("SELECT count(*) FROM cohort_retention").fetchone() == (6,)


def test_triangle_active_in_month_or_later_by_hand(build_warehouse):
    con = build_warehouse(customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS,
                          params_override={"retention_mode": "on_or_after"})
    assert cells(con, "cohort, months_since_first, active_customers, active_in_month, retention_rate") == [
        ("2024-01", 0, 3, 3, 1.0),
        ("2024-01", 1, 2, 1, 2 / 3),  # c2 in Feb, c1 in Mar (later): both still around
        ("2024-01", 2, 1, 1, 1 / 3),
        ("2024-02", 0, 1, 1, 1.0),
        ("2024-02", 1, 0, 0, 0.0),
        ("2024-03", 0, 1, 1, 1.0),
    ]


def test_months_not_over_when_the_data_ends_are_marked_incomplete(build_warehouse):
    con = build_warehouse(customers=[customer("a"), customer("b")],
                          orders=[order("o1", "a", "2024-01-10"), order("o2", "a", "2024-02-10"),
                                  order("o3", "b", "2024-02-05"), order("o4", "a", "2024-03-15")])
    assert con.execute("SELECT observed_until FROM cohort_bounds").fetchone()[0].isoformat() == "2024-03-16"
    assert cells(con, "cohort, months_since_first, active_customers, is_complete") == [
        ("2024-01", 0, 1, True), ("2024-01", 1, 1, True), ("2024-01", 2, 1, False),
        ("2024-02", 0, 1, True), ("2024-02", 1, 0, False),  # a zero in an unfinished month is not a drop
    ]
    # Incomplete months are left out of the average curve: month 2 has no complete cohort.
    curve = cohorts.weighted_average_curve(pd.DataFrame(
        cells(con, "cohort, months_since_first, cohort_customers, active_customers, is_complete"),
        columns=["cohort", "months_since_first", "cohort_customers", "active_customers", "is_complete"]
    ).assign(may_predate_data=False), min_cohorts=1, min_sample=1)
    assert curve["months_since_first"].tolist() == [0, 1]
    assert curve.set_index("months_since_first").loc[1, "cohorts"] == 1


def test_signup_cohorts_count_customers_who_never_ordered(build_warehouse):
    con = build_warehouse(
        customers=[customer("a", "2023-12-20"), customer("b", "2024-01-05"), customer("c", "2024-01-31"),
                   customer("d", "2024-04-02")],  # d signs up after the period: absent
        orders=[order("o1", "a", "2024-01-02"), order("o2", "b", "2024-01-06"), order("o3", "b", "2024-03-01")],
        params_override={"cohort_by": "signup"},
    )
    assert cells(con) == [
        ("2023-12", 0, 1, 0), ("2023-12", 1, 1, 1), ("2023-12", 2, 1, 0), ("2023-12", 3, 1, 0),
        ("2024-01", 0, 2, 1), ("2024-01", 1, 2, 0), ("2024-01", 2, 2, 1),  # c never ordered: still in the cohort
    ]


def test_unknown_cohort_by_or_retention_mode_fails_with_the_reason(build_warehouse):
    from retention_report.warehouse import SqlModelError
    with pytest.raises(SqlModelError, match="cohort_by must be first_order or signup"):
        build_warehouse(customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS, params_override={"cohort_by": "order"})
    with pytest.raises(SqlModelError, match="retention_mode must be"):
        build_warehouse(customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS, params_override={"retention_mode": True})


def test_quarterly_triangle_by_hand(build_warehouse):
    con = build_warehouse(period="2024-Q2", customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS)
    rows = con.execute("SELECT cohort, quarters_since_first, cohort_customers, active_customers, is_complete "
                       "FROM cohort_retention_quarterly ORDER BY ALL").fetchall()
    # Q1 cohort: c1, c2, c3, c4, c6; in Q2 only c1 (April). Q2 cohort: c5. Data end on 2 April: Q2 unfinished.
    assert rows == [("2024-Q1", 0, 5, 5, True), ("2024-Q1", 1, 5, 1, False), ("2024-Q2", 0, 1, 1, False)]


def test_cumulative_revenue_per_customer_by_cohort(build_warehouse):
    con = build_warehouse(customers=TRIANGLE_CUSTOMERS, orders=TRIANGLE_ORDERS)
    rows = con.execute("SELECT cohort, months_since_first, revenue, cumulative_revenue_per_customer "
                       "FROM cohort_revenue ORDER BY ALL").fetchall()
    # January cohort (c1, c2, c6): Jan 10+10+10+10, Feb 10 (c2), Mar 10 (c1); refunds never count.
    assert rows == [("2024-01", 0, 40.0, 40 / 3), ("2024-01", 1, 10.0, 50 / 3), ("2024-01", 2, 10.0, 60 / 3),
                    ("2024-02", 0, 10.0, 10.0), ("2024-02", 1, 0.0, 10.0), ("2024-03", 0, 10.0, 10.0)]


def test_lifetimes_churn_and_censoring_by_hand(build_warehouse):
    # churn_after_days 30; the data ends on 2024-03-31 (z's order), so censoring is at 2024-03-01 - first day.
    con = build_warehouse(
        customers=[customer(c) for c in "abcdefgz"],
        orders=[
            order("a1", "a", "2024-01-01"), order("a2", "a", "2024-01-20"), order("a3", "a", "2024-02-05", status="refunded"),
            order("a4", "a", "2024-03-01"),                      # 41 silent days after Jan 20: churned at day 19
            order("b1", "b", "2024-01-01"),                      # churned at day 0
            order("c1", "c", "2024-01-01"), order("c2", "c", "2024-01-25"), order("c3", "c", "2024-02-20"),
            order("c4", "c", "2024-03-15"),                      # window after Mar 15 still open: censored at 60
            order("d1", "d", "2024-03-10"),                      # 21 days of data after the first order: left out
            order("e1", "e", "2024-01-01"), order("e2", "e", "2024-01-31"),  # a 30-day gap is not a lapse: day 30
            order("f1", "f", "2024-03-01"),                      # Mar 2-31 all silent and inside the data: day 0
            order("g1", "g", "2024-03-02"),                      # one day short of a full window: left out
            order("z1", "z", "2024-03-31 18:00:00"),
        ],
        params_override={"churn_after_days": 30},
    )
    got = con.execute("SELECT customer_id, churned, lifetime_days FROM lifetime_by_customer ORDER BY 1").fetchall()
    assert got == [("a", True, 19), ("b", True, 0), ("c", False, 60), ("e", True, 30), ("f", True, 0)]
    counts = con.execute("SELECT * FROM lifetime_counts WHERE segment_column = 'all' ORDER BY day").df()
    assert counts[["day", "churned", "censored"]].values.tolist() == [[0, 2, 0], [19, 1, 0], [30, 1, 0], [60, 0, 1]]
    curve = cohorts.lifetime_curves(counts)
    assert curve["survival"].tolist() == pytest.approx([3 / 5, 2 / 5, 1 / 5, 1 / 5])
    assert curve["at_risk"].tolist() == [5, 3, 2, 1]


def test_period_figures_by_hand(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer(c) for c in ("p1", "p2", "p3", "p4", "p5")],
        orders=[
            order("1", "p1", "2024-03-15", "50"), order("2", "p1", "2024-05-10", "30"), order("3", "p1", "2024-06-10", "40"),
            order("4", "p2", "2024-02-01", "100"),
            order("5", "p3", "2024-04-10", "20"), order("6", "p3", "2024-04-20", "20"),
            order("7", "p4", "2023-06-01", "40"), order("8", "p4", "2024-06-15", "60"),
            order("9", "p5", "2024-01-05", "10"), order("10", "p5", "2024-04-01", "99", status="refunded"),
        ],
    )
    k = con.execute("SELECT * FROM period_kpis").df().set_index("metric")
    assert list(k.columns) == ["value", "previous", "year_ago", "change", "change_year_ago", "kind"]
    # S = {p1, p2, p5} (orders 2024-01-02..03-31), N = {p3}, E = {p1, p3, p4} (orders 2024-04-02..06-30).
    # Kept = S and E = {p1}, churned = {p2, p5}, came back = {p4} (in E, not in S, not new), new = {p3}.
    expected = {"customers_at_start": 3, "new_customers": 1, "customers_at_end": 3, "retained_customers": 1,
                "new_customers_at_end": 1, "churned_customers": 2,
                "reactivated_customers": 1, "customer_retention_rate": 1 / 3, "churn_rate": 2 / 3,
                "returning_customer_ratio": 2 / 3,  # (E - N) / S = (3 - 1) / 3: counts p4's comeback
                "repeat_purchase_rate": 2 / 3, "buying_customers": 3, "revenue": 170,
                # S's revenue in Jan-Mar: 50 + 100 + 10; in the period p1 spent 70, capped at 50 for GRR.
                "gross_revenue_retention": 50 / 160, "net_revenue_retention": 70 / 160,
                "top_20_percent_revenue_share": 70 / 170}
    for metric, value in expected.items():
        assert k.loc[metric, "value"] == pytest.approx(value), metric
    assert k.loc["new_customers", "previous"] == 3 and k.loc["new_customers", "year_ago"] == 1
    assert math.isnan(k.loc["customer_retention_rate", "previous"])  # nobody active before 2024: no rate
    assert k.loc["new_customers", "change"] == -2 and k.loc["new_customers", "change_year_ago"] == 0
    # The terms of net revenue retention's interval: S's revenue before (x) and kept (y) per customer,
    # p1 (50, 70), p2 (100, 0), p5 (10, 0), and the squared residuals of y - R x.
    terms = con.execute("SELECT * FROM revenue_retention_terms").df().set_index("period_role")
    now = terms.loc["current"]
    assert (now.customers, now.revenue_before, now.revenue_kept) == (3, 160, 70)
    r = 70 / 160
    assert now.residual_sum_of_squares == pytest.approx((70 - 50 * r) ** 2 + (100 * r) ** 2 + (10 * r) ** 2)
    assert terms.loc["previous"].customers == 0 and math.isnan(terms.loc["previous"].residual_sum_of_squares)


def test_segment_retention_keeps_small_and_empty_segments(build_warehouse):
    con = build_warehouse(
        period="2024-Q2",
        customers=[customer("s1", plan="basic", tier="x"), customer("s2", plan="basic", tier="x"),
                   customer("s3", plan="premium", tier=""), customer("s4", plan="gold", tier="y")],
        orders=[order("1", "s1", "2024-03-05"), order("2", "s1", "2024-04-07"), order("3", "s2", "2024-04-02"),
                order("4", "s3", "2024-05-01"), order("5", "s3", "2024-06-03"), order("6", "s1", "2024-07-20")],
        params_override={"min_sample": 2, "segment_columns": ["plan", "tier", "not_in_export"]},
    )
    table = con.execute("SELECT * FROM segment_retention WHERE period_role = 'current'").df()
    got = {(r.segment_column, r.segment, r.months_since_first): (r.customers, r.retained, r.judged)
           for r in table.itertuples()}
    # Month 1 in 2024-Q2: cohorts Mar (s1: active Apr), Apr (s2: not in May), May (s3: active Jun).
    assert got[("all", "all", 1)] == (3, 2, True)
    assert got[("plan", "basic", 1)] == (2, 1, True)
    assert got[("plan", "premium", 1)] == (1, 1, False)
    assert got[("plan", "gold", 1)] == (0, 0, False)       # shown, never silently dropped
    assert got[("plan", "basic", 3)] == (1, 0, False)      # s1 (cohort Mar) in June: no
    assert got[("tier", "not given", 1)] == (1, 1, False)   # s3's empty tier: never "(blank)"
    assert not any(column == "not_in_export" for column, _, _ in got)  # absent: no breakdown (the page says so)
    assert len(table) == 4 * (1 + 3 + 3)
    shown = cohorts.segment_table(table, min_sample=2)
    gold = shown[(shown.segment == "gold") & (shown.months_since_first == 1)].iloc[0]
    assert gold.status == cohorts.TOO_FEW and math.isnan(gold.ci_low)


def test_contact_details_are_never_segments(build_warehouse):
    # A segment column naming a contact detail would publish it as a segment label: it gives no breakdown.
    con = build_warehouse(
        period="2024-Q2",
        customers=[dict(customer("s1", plan="basic"), email="ann@example.com", name="Ann Lee", phone="555-123-4567")],
        orders=[order("1", "s1", "2024-04-05")],
        params_override={"segment_columns": ["plan", "email", "name", "phone"]},
    )
    segments = dict(con.execute("SELECT segment_column, list(DISTINCT segment) FROM segment_retention "
                                "GROUP BY segment_column").fetchall())
    assert segments == {"all": ["all"], "plan": ["basic"]}
    reasons = dict(con.execute("SELECT segment_column, reason FROM segment_choice WHERE NOT used").fetchall())
    assert reasons == {"email": "is personal data, never published", "name": "is personal data, never published",
                       "phone": "is personal data, never published"}


def test_revenue_concentration_lorenz_by_hand(build_warehouse):
    con = build_warehouse(period="2024-Q2", customers=[customer(c) for c in "abcde"],
                          orders=[order(str(i), c, "2024-05-01", amount)
                                  for i, (c, amount) in enumerate(zip("abcde", ["10", "10", "20", "20", "40"]))])
    lorenz = con.execute("SELECT customer_share, revenue_share FROM revenue_concentration "
                         "WHERE period_role = 'current' ORDER BY 1").df()
    assert len(lorenz) == 101
    at = dict(zip(lorenz.customer_share.round(2), lorenz.revenue_share))
    assert at[0.0] == 0 and at[0.2] == 0.1 and at[0.4] == 0.2 and at[0.8] == 0.6 and at[1.0] == 1
    assert at[0.5] == 0.2  # two of five customers lie below the median
    kpi = con.execute("SELECT value FROM period_kpis WHERE metric = 'top_20_percent_revenue_share'").fetchone()[0]
    assert kpi == pytest.approx(0.4)


# --- The page's arithmetic -----------------------------------------------------------------------------


def test_weighted_average_curve_pools_only_cohorts_that_reached_the_month():
    frame = pd.DataFrame({
        "cohort": ["A", "A", "A", "B", "B", "C"], "months_since_first": [0, 1, 2, 0, 1, 0],
        "cohort_customers": [100, 100, 100, 10, 10, 50], "active_customers": [100, 40, 30, 10, 1, 50],
        "is_complete": [True, True, True, True, False, True], "may_predate_data": False})
    curve = cohorts.weighted_average_curve(frame, min_cohorts=1, min_sample=1).set_index("months_since_first")
    assert curve.loc[1, "retention_rate"] == pytest.approx(0.4)  # B's month 1 is unfinished
    assert curve.loc[2, "cohorts"] == 1 and curve.loc[0, "cohort_customers"] == 160


def test_difference_interval_brackets_the_difference_and_matches_newcombe():
    # Newcombe (1998) table II example (f): 56/70 - 48/80: interval 0.0524 to 0.3339.
    low, high = cohorts.difference_interval(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=1e-4) and high == pytest.approx(0.3339, abs=1e-4)


def test_most_moved_segment_needs_enough_customers_in_both_periods():
    rows = []
    for role, data in {"current": [("a", 50, 25), ("b", 50, 10), ("c", 5, 5)],
                       "year_ago": [("a", 50, 20), ("b", 50, 30), ("c", 40, 0)]}.items():
        rows += [{"period_role": role, "segment_column": "plan", "segment": s, "months_since_first": 3,
                  "customers": n, "retained": r, "retention_rate": r / n} for s, n, r in data]
    move = cohorts.most_moved_segment(pd.DataFrame(rows), 3, "year_ago", min_sample=30)
    assert move.segment == "plan: b" and move.change == pytest.approx(-0.4) and move.clear
    assert cohorts.most_moved_segment(pd.DataFrame(rows), 3, "year_ago", min_sample=60) is None


# --- The whole build on the sample data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def completed(sample_data):
    """Valid completed orders read straight from the sample CSVs (independent of the warehouse)."""
    orders = pd.read_csv(sample_data / "orders.csv", dtype=str, keep_default_na=False)
    known = set(pd.read_csv(sample_data / "customers.csv", dtype=str, keep_default_na=False).customer_id) - {""}
    orders["ts"] = pd.to_datetime(orders.ordered_at, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    orders["amount_n"] = pd.to_numeric(orders.amount, errors="coerce")
    orders = orders[orders.ts.notna() & (orders.amount_n >= 0) & orders.customer_id.isin(known)]
    orders = orders.drop_duplicates("order_id", keep="first")
    return orders[orders.status == "completed"]


def read(sample_site, name):
    return pd.read_csv(sample_site.build_dir / "data" / f"{name}.csv", dtype={"cohort": str, "segment": str},
                       keep_default_na=False, na_values=[""])


def test_sample_triangle_on_or_after_counts_equal_pandas(sample_site, completed):
    done = completed[completed.ts < pd.Timestamp("2024-07-01")]
    month = done.ts.dt.to_period("M")
    first = month.groupby(done.customer_id).transform("min")
    k = (month - first).map(lambda d: d.n)
    last_k = k.groupby([done.customer_id, first]).max().rename("last").reset_index()
    triangle = read(sample_site, "cohort_retention")
    assert triangle.is_complete.all()  # the data runs to December 2024: every month of the triangle is over
    for cohort in ["2022-01", "2023-03", "2024-01"]:
        lasts = last_k[last_k.ts == pd.Period(cohort, "M")]["last"]
        rows = triangle[triangle.cohort == cohort].set_index("months_since_first")
        expected = [(lasts >= m).sum() for m in rows.index]
        assert rows.active_in_or_after_month.tolist() == expected


def test_sample_lifetime_curve_equals_lifelines_on_an_independent_computation(sample_site, sample_data, completed):
    lifelines = pytest.importorskip("lifelines")
    from test_survival import rothman_reference

    churn_after = 90
    last_day = pd.Timestamp("2024-06-30")  # the period's last day: the data runs past it
    days = completed[completed.ts < pd.Timestamp("2024-07-01")].ts.dt.normalize()
    per_customer = days.groupby(completed.customer_id.loc[days.index]).apply(lambda s: sorted(set(s)))
    durations, events, judged = [], [], []
    for customer_id, order_days in per_customer.items():
        first = order_days[0]
        if (last_day - first).days < churn_after:
            continue
        lapse = None
        for day, following in zip(order_days, order_days[1:] + [None]):
            silent = (following - day).days > churn_after if following is not None else True
            if silent and (last_day - day).days >= churn_after:
                lapse = day
                break
        durations.append((lapse - first).days if lapse is not None else (last_day - first).days - churn_after)
        events.append(lapse is not None)
        judged.append(customer_id)
    kmf = lifelines.KaplanMeierFitter().fit(durations, events)
    curve = read(sample_site, "retention_curve")
    assert list(curve.columns[:7]) == ["segment", "day", "at_risk", "churned", "survival", "ci_low", "ci_high"]

    def assert_equals_lifelines(ours, fitted):
        np.testing.assert_array_equal(ours.day.to_numpy(dtype=float), fitted.survival_function_.index.to_numpy())
        np.testing.assert_array_equal(ours.at_risk, fitted.event_table.at_risk)
        np.testing.assert_array_equal(ours.churned, fitted.event_table.observed)
        np.testing.assert_allclose(ours.survival, fitted.survival_function_.iloc[:, 0], rtol=0, atol=1e-9)
        low, high = loglog_band(ours)  # Greenwood's sum is lifelines' own
        np.testing.assert_allclose(low, fitted.confidence_interval_.iloc[:, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(high, fitted.confidence_interval_.iloc[:, 1], rtol=0, atol=1e-9)
        inside, ref_low, ref_high = rothman_reference(fitted)  # the band shown: Rothman's, as km.ci computes it
        np.testing.assert_allclose(ours.ci_low.to_numpy()[inside], ref_low[inside], rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.ci_high.to_numpy()[inside], ref_high[inside], rtol=0, atol=1e-9)

    assert_equals_lifelines(curve[curve.segment == "all"], kmf)
    # Every point of every segment's curve too, segments read from the raw customers (first row of a repeated id).
    people = pd.read_csv(sample_data / "customers.csv", dtype=str, keep_default_na=False).drop_duplicates("customer_id")
    lives = pd.DataFrame({"days": durations, "churned": events},
                         index=pd.Index(judged, name="customer_id")).join(people.set_index("customer_id"))
    compared = 0
    for column in ["acquisition_channel", "plan", "region"]:
        for value, group in lives.groupby(lives[column].str.strip().replace("", "not given")):
            fitted = lifelines.KaplanMeierFitter().fit(group.days, group.churned)
            assert_equals_lifelines(curve[curve.segment == f"{column}: {value}"], fitted)
            compared += 1
    assert compared == curve.segment.nunique() - 1
    # Every segment's curve starts with all its customers, and the segments of a column add up to everyone.
    starts = curve[curve.day == 0].set_index("segment").at_risk
    for column in ["acquisition_channel", "plan", "region"]:
        assert starts[starts.index.str.startswith(column + ":")].sum() == len(durations)
    summary = read(sample_site, "lifetime_summary").set_index("segment")
    assert summary.loc["all", "median_days"] == kmf.median_survival_time_
    assert summary.loc["all", "survival_90d"] == pytest.approx(float(kmf.survival_function_at_times(90).iloc[0]), abs=1e-9)


def test_sample_triangle_shows_the_welcome_programme(sample_site):
    triangle = read(sample_site, "cohort_retention")
    # Compare the 12 cohorts before the programme with the 6 after it that have six complete months.
    window = triangle[(triangle.cohort >= "2022-07") & (triangle.cohort <= "2023-12")]
    rates = cohorts.split_at(window, "2023-07").pivot(index="months_since_first", columns="group", values="retention_rate")
    lift = rates["from 2023-07"] - rates["before 2023-07"]
    assert (lift > 0).all(), lift
    assert lift.mean() > 0.03, lift


def test_sample_period_figures_equal_pandas(sample_site, completed):
    kpis = read(sample_site, "period_kpis").set_index("metric")
    assert list(kpis.columns[:4]) == ["value", "previous", "year_ago", "change"]
    start, end = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-07-01")
    window = pd.Timedelta(days=90)
    active = lambda a, b: set(completed[(completed.ts >= a) & (completed.ts < b)].customer_id)
    first = completed.groupby("customer_id").ts.min()
    s, e = active(start - window, start), active(end - window, end)
    n = set(first[(first >= start) & (first < end)].index)
    assert kpis.loc["customers_at_start", "value"] == len(s)
    assert kpis.loc["customers_at_end", "value"] == len(e)
    assert kpis.loc["new_customers", "value"] == len(n)
    assert kpis.loc["new_customers_at_end", "value"] == len(n & e)
    assert kpis.loc["customer_retention_rate", "value"] == pytest.approx(len(s & e) / len(s))
    assert kpis.loc["returning_customer_ratio", "value"] == pytest.approx((len(e) - len(n & e)) / len(s))
    assert kpis.loc["churn_rate", "value"] == pytest.approx(len(s - e) / len(s))
    assert kpis.loc["churned_customers", "value"] == len(s - e)
    assert kpis.loc["reactivated_customers", "value"] == len(e - s - n)
    row = kpis.loc["customer_retention_rate"]
    assert row.change == pytest.approx(row.value - row.previous)


def test_sample_page_shows_the_findings_as_text_only(sample_site):
    notebook = nbformat.read(sample_site.build_dir / "10_cohort_retention.ipynb", as_version=4)
    kinds = {kind for cell in notebook.cells if cell.cell_type == "code"
             for out in cell.get("outputs", []) for kind in out.get("data", {})}
    assert "text/html" not in kinds and "application/javascript" not in kinds
    page = (sample_site.site / SAMPLE_PERIOD / "cohorts.html").read_text(encoding="utf-8")
    for phrase in ["Customer retention in 2024-Q2 was", "the best was", "The segment that moved most",
                   "too few to judge", "Kaplan", "retention_curve.csv", "period_kpis.csv"]:
        assert phrase in page, phrase
    segments = read(sample_site, "segment_retention")
    assert set(segments.months_since_first) == {1, 3, 6, 12}
    assert {"acquisition_channel", "plan", "region"} <= set(segments.segment_column)
    for name in ["cohort_retention", "retention_curve", "segment_retention", "period_kpis", "cohort_revenue",
                 "revenue_concentration", "cohort_retention_quarterly"]:
        assert len(read(sample_site, name)) <= 6000, name


def test_recent_against_earlier_pools_complete_cells_only():
    frame = pd.DataFrame({"cohort": ["a", "b", "c", "d"], "months_since_first": [3, 3, 3, 3],
                          "cohort_customers": [10, 30, 20, 50], "active_customers": [1, 9, 10, 0],
                          "is_complete": [True, True, True, False], "may_predate_data": False})
    got = cohorts.recent_against_earlier(frame, 3, cohorts_each=2)
    assert (got["recent_first"], got["recent_last"], got["earlier_first"]) == ("b", "c", "a")
    assert got["recent"] == pytest.approx(19 / 50) and got["earlier"] == pytest.approx(0.1)


def test_returning_ratio_counts_only_new_customers_still_active_at_the_end(build_warehouse):
    # A year: n1 is new in January and lapses (not in E); n2 is new in December (in E). S = {s1}, s1 in E.
    con = build_warehouse(
        period="2024", customers=[customer(c, "2023-01-01") for c in ("s1", "n1", "n2")],
        orders=[order("1", "s1", "2023-12-01"), order("2", "s1", "2024-12-01"), order("3", "n1", "2024-01-10"),
                order("4", "n2", "2024-12-10")])
    k = dict(con.execute("SELECT metric, value FROM period_kpis").fetchall())
    assert (k["customers_at_start"], k["new_customers"], k["customers_at_end"], k["new_customers_at_end"]) == (1, 2, 2, 1)
    assert k["returning_customer_ratio"] == 1.0  # (2 - 1) / 1; with every new customer subtracted it would be 0
    assert k["customer_retention_rate"] == 1.0 and k["churn_rate"] == 0.0  # s1 kept


def test_retention_sentence_reads_the_numbers():
    # Retention is kept / S: 150 of 200 (75.0%) against 70 of 100 (70.0%) and 64 of 80 (80.0%).
    kpis = pd.DataFrame({
        "metric": ["customers_at_start", "retained_customers", "churned_customers", "reactivated_customers",
                   "new_customers", "new_customers_at_end", "customer_retention_rate", "churn_rate"],
        "value": [200.0, 150.0, 50.0, 30.0, 40.0, 25.0, 0.75, 0.25],
        "previous": [100.0, 70.0, 30.0, 5.0, 20.0, 10.0, 0.70, 0.30],
        "year_ago": [80.0, 64.0, 16.0, 5.0, 20.0, 10.0, 0.80, 0.20]})
    kpis["change"], kpis["change_year_ago"] = kpis.value - kpis.previous, kpis.value - kpis.year_ago
    text = cohorts.retention_sentence(kpis, "2024-Q2", "2024-Q1", "2023-Q2")
    assert "**75.0%**" in text and "up 5.0 points on 2024-Q1 (70.0%)" in text
    assert "down 5.0 points on 2023-Q2 (80.0%)" in text
    assert "150 were still active at the end and 50 churned (churn 25.0%" in text
    assert "30 customers came back after a lapse and 25 of the 40 new customers were active at the end" in text
    once = cohorts.retention_sentence(kpis, "2024", "2023", "2023")
    assert once.count("points on 2023") == 1 and once.count("in 2023") == 1


def test_when_the_data_stops_inside_the_period_customers_at_end_are_counted_at_the_data_end(build_warehouse):
    # Data ends 2024-05-15, inside 2024-Q2: E is measured over the 90 days before 2024-05-16, not before July.
    con = build_warehouse(
        period="2024-Q2", customers=[customer(c) for c in "abc"],
        orders=[order("1", "a", "2024-02-01"), order("2", "b", "2024-03-01"), order("3", "b", "2024-05-15"),
                order("4", "c", "2024-03-01")])
    k = dict(con.execute("SELECT metric, value FROM period_kpis").fetchall())
    assert (k["customers_at_start"], k["customers_at_end"], k["retained_customers"]) == (3, 2, 2)  # b and c, not a


def test_revenue_retention_of_a_month_counts_only_customers_who_bought_in_the_month_before(build_warehouse):
    # 2024-06: S = customers with a completed order in the 90 days before June (from 2024-03-03), but the stretch
    # compared is May only. m2 is in S (April) without buying in May: its June spend is won back, not retained.
    con = build_warehouse(
        period="2024-06", customers=[customer(c) for c in ("m1", "m2", "m3")],
        orders=[order("1", "m1", "2024-05-10", "40"), order("2", "m1", "2024-06-05", "60"),
                order("3", "m2", "2024-04-10", "50"), order("4", "m2", "2024-06-10", "30"),
                order("5", "m3", "2024-05-20", "100")])
    k = dict(con.execute("SELECT metric, value FROM period_kpis").fetchall())
    assert k["customers_at_start"] == 3
    assert k["gross_revenue_retention"] == pytest.approx(40 / 140)  # m1 capped at its May 40; m3 spent nothing
    assert k["net_revenue_retention"] == pytest.approx(60 / 140)    # not (60 + 30) / 140


def test_cohort_sentence_names_the_best_and_worst_complete_cohorts_by_hand():
    cells = pd.DataFrame({
        "cohort": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-01"],
        "months_since_first": [3, 3, 3, 3, 1],
        "cohort_customers": [100, 50, 20, 100, 100], "active_customers": [40, 10, 15, 90, 99],
        "is_complete": [True, True, True, False, True], "may_predate_data": False})
    cells["retention_rate"] = cells.active_customers / cells.cohort_customers
    # 2024-03 (20 customers) is below min_sample, 2024-04's month 3 is not over, month 1 is another month.
    text = cohorts.cohort_sentence(cells, 3, min_sample=30)
    assert text == ("Of the 2 monthly cohorts with month 3 complete, the best was **2024-01** (40.0% active in month 3, "
                    "40 of 100) and the worst **2024-02** (20.0%, 10 of 50).")
    with pytest.raises(ValueError):
        cohorts.best_and_worst_cohorts(cells, 3, min_sample=101)
    assert cohorts.cohort_sentence(cells, 3, min_sample=101) == (
        "No cohort has a complete month 3 with 101 or more customers yet.")


def test_sample_sentences_name_what_the_tables_show(sample_site):
    import re
    page = (sample_site.site / SAMPLE_PERIOD / "cohorts.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    kpis = read(sample_site, "period_kpis").set_index("metric")
    crr = kpis.loc["customer_retention_rate"]
    assert f"Customer retention in 2024-Q2 was {100 * crr.value:.1f}%" in text
    assert f"on 2024-Q1 ({100 * crr.previous:.1f}%)" in text and f"on 2023-Q2 ({100 * crr.year_ago:.1f}%)" in text
    triangle = read(sample_site, "cohort_retention")
    month3 = triangle[(triangle.months_since_first == 3) & triangle.is_complete & (triangle.cohort_customers >= 30)
                      & ~triangle.may_predate_data]
    assert set(triangle.loc[triangle.may_predate_data, "cohort"]) == {"2022-01", "2022-02", "2022-03"}
    best, worst = month3.loc[month3.retention_rate.idxmax()], month3.loc[month3.retention_rate.idxmin()]
    assert f"the best was {best.cohort} ({100 * best.retention_rate:.1f}% active in month 3" in text
    assert f"the worst {worst.cohort} ({100 * worst.retention_rate:.1f}%" in text
    segments = read(sample_site, "segment_retention")
    segments = segments[(segments.months_since_first == 3) & (segments.segment_column != "all")]
    wide = segments.pivot_table(index=["segment_column", "segment"], columns="period_role",
                                values=["retention_rate", "customers"])
    wide = wide[(wide["customers"]["current"] >= 30) & (wide["customers"]["year_ago"] >= 30)]
    change = wide["retention_rate"]["current"] - wide["retention_rate"]["year_ago"]
    column, value = change.abs().idxmax()
    assert (f"The segment that moved most was {column}: {value}: month-3 retention "
            f"{100 * wide['retention_rate']['current'][(column, value)]:.1f}% in 2024-Q2") in text


def test_the_page_runs_on_a_tiny_export_and_labels_small_segments(tmp_path):
    # An analyst's first try on a handful of customers: every section must cope with few cohorts and no lifetime yet,
    # and every segment (all below min_sample) is shown, labelled "too few to judge", never dropped.
    from test_segments import run_cohort_page

    people = [customer(c, plan="basic" if c in ("c1", "c3") else "plus") for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")]
    shown = run_cohort_page(tmp_path, people, {})
    segment_table = next(text for text in shown if "Retention by segment in 2024" in text)
    # Month 1 inside 2024-Q1: the January cohort (c1, c2, c6) in February, the February cohort (c3) in March.
    for label, cell in [("plan: basic", "0.0% (0.0–65.8), n=2, too few to judge"),     # c1 not in Feb, c3 not in Mar
                        ("plan: plus", "50.0% (9.5–90.5), n=2, too few to judge")]:   # c2 in Feb, c6 not
        row = next(line for line in segment_table.splitlines() if line.startswith(f"| {label}"))
        assert cell.replace("(", "\\(").replace(")", "\\)") in row, row
    assert any("no lifetime can be judged" in text for text in shown)
    triangle = pd.read_csv(tmp_path / "page" / "data" / "cohort_retention.csv", dtype={"cohort": str})
    assert triangle[["cohort", "months_since_first", "active_customers"]].values.tolist() == [
        ["2024-01", 0, 3], ["2024-01", 1, 1], ["2024-01", 2, 1], ["2024-02", 0, 1], ["2024-02", 1, 0], ["2024-03", 0, 1]]
