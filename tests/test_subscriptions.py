"""Subscriptions: monthly recurring revenue per stretch, customer-months and ChartMogul's movements, the monthly
identity (end = start + new + expansion + reactivation - contraction - churn, to the cent), period figures.

Hand fixtures for each movement through a real build; a property test (hypothesis) over random histories
against an independent computation: each customer's MRR read directly at every month's end, movement by
movement, in Python's Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import customer, order
from retention_report import warehouse
from retention_report.params import PROJECT_ROOT, load_params
from retention_report.periods import parse_period

MARTS = PROJECT_ROOT / "sql" / "marts"
SUBSCRIPTION_MODELS = ("_01_subscription_periods.sql", "subscription_mrr_monthly.sql",
                       "subscription_period_kpis.sql")
MOVEMENTS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def sub(subscription_id: str, customer_id: str, valid_from: str, valid_to: str = "", **values) -> dict:
    row = {"subscription_id": subscription_id, "customer_id": customer_id, "valid_from": valid_from,
           "valid_to": valid_to, "mrr": "", "amount": "", "interval": "", "plan": "basic", "status": "active",
           "trial_end": "", "cancelled_at": "", "cancel_reason": ""}
    row.update(values)
    return row


def _months(con, customer_id: str) -> list[tuple]:
    return [(str(m), float(mrr), float(before), movement) for m, mrr, before, movement in con.execute(
        "SELECT month, mrr, mrr_before, movement FROM subscription_customer_months WHERE customer_id = ? "
        "ORDER BY month", [customer_id]).fetchall()]


def _movement_of(con, customer_id: str) -> dict[str, str]:
    return {str(m): movement for m, movement in con.execute(
        "SELECT month, movement FROM subscription_customer_months WHERE customer_id = ? AND movement <> 'flat'",
        [customer_id]).fetchall()}


@pytest.fixture
def histories(build_warehouse):
    """One customer per movement the issue names, built for 2024-Q2 with an order on 2024-12-31 (the data runs
    to the year's end, so every month is fully covered)."""
    customers = [customer(f"c{i}", "2023-01-01") for i in range(1, 10)]
    subscriptions = [
        # c1: upgrade 10 -> 25 on 2024-03-10
        sub("s1", "c1", "2024-01-15", "2024-03-10", amount="10.00", interval="month"),
        sub("s1", "c1", "2024-03-10", "", amount="25.00", interval="month", plan="pro"),
        # c2: downgrade 30 -> 12 on 2024-04-01 at midnight: March ends at 30, April at 12
        sub("s2", "c2", "2024-01-01", "2024-04-01", mrr="30.00", plan="pro"),
        sub("s2", "c2", "2024-04-01", "", mrr="12.00"),
        # c3: cancels: paid through 2024-02-20
        sub("s3", "c3", "2024-01-20", "2024-02-20", amount="15.00", interval="month", status="canceled",
            cancelled_at="2024-02-01", cancel_reason="too expensive"),
        # c4: cancels (ends 2024-02-10) and comes back 2024-05-03: within the 12-month window
        sub("s4", "c4", "2024-01-05", "2024-02-10", mrr="20.00", status="canceled"),
        sub("s4b", "c4", "2024-05-03", "", mrr="20.00"),
        # c5: paid in 2022 only, back in 2024-03: last paid month 2022-06, 21 months before: new again
        sub("s5", "c5", "2022-01-10", "2022-07-01", mrr="9.00", status="canceled"),
        sub("s5b", "c5", "2024-03-02", "", mrr="9.00"),
        # c6: a yearly plan: 240 a year, 2 seats -> 40.00 a month
        sub("s6", "c6", "2024-02-14", "", amount="240.00", interval="year", quantity="2"),
        # c7: a 14-day trial from 2024-03-25, paying from 2024-04-08
        sub("s7", "c7", "2024-03-25", "", amount="50.00", interval="month", trial_end="2024-04-08"),
        # c8: two subscriptions at once: 10 from January, 5 more from March, the first ends in May
        sub("s8a", "c8", "2024-01-01", "2024-05-15", mrr="10.00"),
        sub("s8b", "c8", "2024-03-01", "", mrr="5.00"),
        # c9: a trial that never converts: no revenue, no movement
        sub("s9", "c9", "2024-04-01", "2024-04-15", amount="30.00", interval="month", trial_end="2024-04-15",
            status="canceled"),
    ]
    con = build_warehouse("2024-Q2", customers=customers,
                          orders=[order("o1", "c1", "2024-12-31")], subscriptions=subscriptions)
    return con


def test_each_movement_is_named_and_sized_as_chartmogul_defines_it(histories):
    con = histories
    assert _months(con, "c1")[:3] == [("2024-01-01", 10.0, 0.0, "new"), ("2024-02-01", 10.0, 10.0, "flat"),
                                      ("2024-03-01", 25.0, 10.0, "expansion")]
    assert _movement_of(con, "c2") == {"2024-01-01": "new", "2024-04-01": "contraction"}
    assert _months(con, "c2")[3] == ("2024-04-01", 12.0, 30.0, "contraction")
    assert _months(con, "c3") == [("2024-01-01", 15.0, 0.0, "new"), ("2024-02-01", 0.0, 15.0, "churn")]
    assert _movement_of(con, "c4") == {"2024-01-01": "new", "2024-02-01": "churn", "2024-05-01": "reactivation"}
    assert _movement_of(con, "c5") == {"2022-01-01": "new", "2022-07-01": "churn", "2024-03-01": "new"}
    assert _months(con, "c6")[0] == ("2024-02-01", 40.0, 0.0, "new")
    # The trial month brings nothing; revenue and the new movement come with the first paid month.
    assert _months(con, "c7")[0] == ("2024-04-01", 50.0, 0.0, "new")
    assert _movement_of(con, "c8") == {"2024-01-01": "new", "2024-03-01": "expansion", "2024-05-01": "contraction"}
    assert _months(con, "c8")[4] == ("2024-05-01", 5.0, 15.0, "contraction")
    assert _months(con, "c9") == []


def test_a_stretch_ending_at_midnight_on_the_first_counts_on_the_last_day_before(histories):
    # c2's 30.00 stretch ends 2024-04-01 00:00: March ends at 30.00, the 12.00 stretch starts counting in April.
    assert [m for m in _months(histories, "c2") if m[0] in ("2024-03-01", "2024-04-01")] == [
        ("2024-03-01", 30.0, 30.0, "flat"), ("2024-04-01", 12.0, 30.0, "contraction")]


def test_the_reactivation_window_is_a_param(build_warehouse):
    rows = [sub("a", "c1", "2024-01-05", "2024-02-10", mrr="20.00"), sub("b", "c1", "2024-05-03", "", mrr="20.00")]
    base = dict(customers=[customer("c1")], orders=[order("o1", "c1", "2024-12-31")], subscriptions=rows)
    within = build_warehouse("2024-Q2", **base)
    assert _movement_of(within, "c1")["2024-05-01"] == "reactivation"
    # Last paid month 2024-01, back in 2024-05: four months later. A window of three makes it new business again.
    short = build_warehouse("2024-Q2", params_override={"subscriptions": {"reactivation_window_months": 3}}, **base)
    assert _movement_of(short, "c1")["2024-05-01"] == "new"


def test_a_return_exactly_at_the_window_is_a_reactivation_and_one_month_later_new(build_warehouse):
    rows = [sub("a", "c1", "2023-01-05", "2023-02-01", mrr="20.00"), sub("b", "c1", "2024-01-03", "", mrr="20.00"),
            sub("c", "c2", "2023-01-05", "2023-02-01", mrr="20.00"), sub("d", "c2", "2024-02-03", "", mrr="20.00"),
            # a trial as long as the stretch: never paid
            sub("e", "c3", "2024-01-05", "2024-01-19", mrr="20.00", trial_end="2024-01-19")]
    con = build_warehouse("2024-Q2", customers=[customer("c1"), customer("c2"), customer("c3")],
                          orders=[order("o1", "c1", "2024-12-31")], subscriptions=rows)
    assert _movement_of(con, "c1")["2024-01-01"] == "reactivation"  # last paid 2023-01, twelve months before
    assert _movement_of(con, "c2")["2024-02-01"] == "new"           # thirteen
    assert _months(con, "c3") == []


def test_monthly_movements_add_up_to_the_cent_and_match_the_hand_sums(histories):
    con = histories
    rows = con.execute(f"SELECT month, mrr_start, {', '.join(MOVEMENTS)}, mrr_end FROM subscription_mrr_monthly "
                       "WHERE month >= DATE '2024-01-01' ORDER BY month").fetchall()
    by_month = {str(r[0]): r[1:] for r in rows}
    for values in by_month.values():
        start, new, expansion, reactivation, contraction, churn, end = values
        assert all(isinstance(v, Decimal) for v in values)
        assert end == start + new + expansion + reactivation - contraction - churn
    # January 2024: c1 10 + c2 30 + c3 15 + c4 20 + c8 10 new = 85.
    assert by_month["2024-01-01"] == (Decimal("0.00"), Decimal("85.00"), 0, 0, 0, 0, Decimal("85.00"))
    # March: from 85 - 15 (c3) - 20 (c4) + 40 (c6) = 90; new c5 9; expansion c1 15 + c8 5; end 119.
    assert by_month["2024-03-01"] == (Decimal("90.00"), Decimal("9.00"), Decimal("20.00"), 0, 0, 0,
                                      Decimal("119.00"))
    # May: c4 back (20), c8 loses 10: 119 - 18 (c2 in April) + 50 (c7 in April) = 151 at the start.
    assert by_month["2024-05-01"] == (Decimal("151.00"), 0, 0, Decimal("20.00"), Decimal("10.00"), 0,
                                      Decimal("161.00"))


def test_period_figures_follow_the_customers_paying_at_its_start(histories):
    kpis = histories.execute("SELECT * FROM subscription_period_kpis WHERE period_role = 'current'").df().iloc[0]
    # Paying at the end of March: c1 25, c2 30, c5 9, c6 40, c8 15 = 119; at the end of June they pay
    # c1 25, c2 12, c5 9, c6 40, c8 5 = 91 (no churn among them; c4's return and c7 are not theirs).
    assert (kpis.customers_start, kpis.churned_logos) == (5, 0)
    assert (kpis.retained_base, kpis.retained_net, kpis.retained_gross) == (Decimal("119.00"), Decimal("91.00"),
                                                                              Decimal("91.00"))
    assert kpis.net_mrr_retention == pytest.approx(91 / 119)
    assert (kpis.mrr_start, kpis.mrr_end) == (Decimal("119.00"), Decimal("161.00"))
    assert kpis.mrr_end == (kpis.mrr_start + kpis.new_mrr + kpis.expansion_mrr + kpis.reactivation_mrr
                            - kpis.contraction_mrr - kpis.churned_mrr)
    assert kpis.arpa == pytest.approx(161 / 7)
    assert kpis.coverage == "full"
    # Residuals for the ratio's standard error, computed here from the five customers.
    pairs = [(25, 25), (30, 12), (9, 9), (40, 40), (15, 5)]
    ratio = 91 / 119
    assert kpis.net_residual_sum_of_squares == pytest.approx(sum((e - ratio * s) ** 2 for s, e in pairs))


def test_months_after_the_data_are_partial_and_a_period_before_the_first_payment_has_no_data(build_warehouse):
    con = build_warehouse("2024-Q2", customers=[customer("c1")], orders=[order("o1", "c1", "2024-05-10")],
                          subscriptions=[sub("a", "c1", "2024-01-05", "", mrr="20.00")])
    coverage = dict(con.execute("SELECT CAST(month AS VARCHAR), coverage FROM subscription_mrr_monthly").fetchall())
    assert coverage["2024-04-01"] == "full" and coverage["2024-05-01"] == "partial" and coverage["2024-06-01"] == "partial"
    kpis = dict(con.execute("SELECT period_role, coverage FROM subscription_period_kpis").fetchall())
    assert kpis == {"current": "partial", "previous": "no data", "year_ago": "no data"}


def test_prices_are_made_monthly_in_whole_cents_rounded_half_up(build_warehouse):
    rows = [sub("w", "c1", "2024-01-01", "", amount="10.00", interval="week"),       # 10 x 52 / 12 = 43.333..
            sub("d", "c2", "2024-01-01", "", amount="1.00", interval="day"),         # 365 / 12 = 30.41666..
            sub("q", "c3", "2024-01-01", "", amount="30.00", interval="month", interval_count="3"),  # 10.00
            sub("y", "c4", "2024-01-01", "", amount="100.06", interval="year"),      # 8.33833.. -> 8.34
            sub("h", "c5", "2024-01-01", "", amount="0.30", interval="year", quantity="5"),  # 0.125 -> 0.13
            sub("m", "c6", "2024-01-01", "", mrr="7.77", amount="999", interval="year")]     # mrr given wins
    con = build_warehouse("2024-Q2", customers=[customer(f"c{i}") for i in range(1, 7)],
                          orders=[order("o1", "c1", "2024-12-31")], subscriptions=rows)
    mrr = dict(con.execute("SELECT subscription_id, mrr FROM subscription_periods").fetchall())
    assert mrr == {"w": Decimal("43.33"), "d": Decimal("30.42"), "q": Decimal("10.00"), "y": Decimal("8.34"),
                   "h": Decimal("0.13"), "m": Decimal("7.77")}


def test_other_currencies_are_converted_and_one_without_a_rate_stops_the_build(build_warehouse, tmp_path):
    rows = [sub("e", "c1", "2024-01-01", "", mrr="10.00", currency="EUR"),
            sub("g", "c2", "2024-01-01", "", mrr="10.00", currency="GBP")]
    base = dict(customers=[customer("c1"), customer("c2")], orders=[order("o1", "c1", "2024-12-31")],
                subscriptions=rows)
    con = build_warehouse("2024-Q2", params_override={"reporting_currency": "EUR", "fx_rates": {"GBP": 1.17}}, **base)
    assert dict(con.execute("SELECT subscription_id, mrr FROM subscription_periods").fetchall()) == {
        "e": Decimal("10.00"), "g": Decimal("11.70")}
    with pytest.raises(warehouse.SqlModelError, match="subscriptions hold amounts in GBP"):
        build_warehouse("2024-Q2", params_override={"reporting_currency": "EUR"}, **base)


def test_rows_that_break_the_contract_are_set_aside_by_file_row_and_column(build_warehouse):
    rows = [sub("ok", "c1", "2024-01-01", "", mrr="10.00"),
            sub("ok", "c1", "2024-01-01", "", mrr="10.00"),                        # the same stretch twice
            sub("back", "c1", "2024-03-01", "2024-02-01", mrr="10.00"),            # ends before it starts
            sub("fort", "c1", "2024-01-01", "", amount="5", interval="fortnight"),
            sub("none", "c1", "2024-01-01", ""),                                   # no price at all
            sub("neg", "c1", "2024-01-01", "", amount="-5", interval="month"),
            sub("who", "nobody", "2024-01-01", "", mrr="10.00")]
    con = build_warehouse("2024-Q2", customers=[customer("c1")], orders=[order("o1", "c1", "2024-12-31")],
                          subscriptions=rows, keep_staging=True)
    aside = {(row, column, reason) for row, column, reason in con.execute(
        "SELECT row, \"column\", reason FROM set_aside WHERE export = 'subscriptions'").fetchall()}
    assert aside == {(2, "period_id", "duplicate period_id"), (3, "valid_to", "ends before it starts"),
                     (4, "interval", "not day, week, month or year"), (5, "amount", "neither mrr nor amount"),
                     (6, "amount", "negative amount"), (7, "customer_id", "unknown customer")}
    assert con.execute("SELECT period_id FROM stg_subscriptions").fetchall() == [("ok from 2024-01-01",)]


# --- The identity over random histories, against an independent computation -------------------------------

MONTH_STARTS = [date(2023 + (m // 12), m % 12 + 1, 1) for m in range(24)]  # 2023-01 .. 2024-12
WINDOW = 12


@dataclass
class Stretch:
    customer_id: str
    subscription_id: str
    valid_from: datetime
    valid_to: datetime | None
    cents: int            # the monthly price in cents
    trial_end: datetime | None = None

    @property
    def paid_from(self) -> datetime | None:
        """When it began to pay: at once, or when its trial ended (never, when the trial lasted it out)."""
        if self.trial_end is None or self.trial_end <= self.valid_from:
            return self.valid_from
        return self.trial_end if self.valid_to is None or self.trial_end < self.valid_to else None


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def expected_customer_months(stretches: list[Stretch], last_month: date) -> dict[tuple[str, date], tuple]:
    """Each customer's MRR read at every month's end (the first instant of the next month), directly from the
    stretches: paying when it paid before that instant and had not ended before it."""
    customers = sorted({s.customer_id for s in stretches})
    first = min(date(s.valid_from.year, s.valid_from.month, 1) for s in stretches)
    months, month = [], first
    while month <= last_month:
        months.append(month)
        month = _next_month(month)
    result = {}
    for customer_id in customers:
        mine = [s for s in stretches if s.customer_id == customer_id]
        before, last_paid = Decimal(0), None
        for month in months:
            instant = datetime.combine(_next_month(month), datetime.min.time())
            mrr = sum((Decimal(s.cents) / 100 for s in mine
                       if s.paid_from is not None and s.paid_from < instant
                       and (s.valid_to is None or s.valid_to >= instant)), Decimal(0))
            if mrr or before:
                if before == 0:
                    gap = None if last_paid is None else (month.year - last_paid.year) * 12 + month.month - last_paid.month
                    movement = "reactivation" if gap is not None and gap <= WINDOW else "new"
                elif mrr == 0:
                    movement = "churn"
                else:
                    movement = "expansion" if mrr > before else "contraction" if mrr < before else "flat"
                result[(customer_id, month)] = (mrr, before, movement)
            if mrr:
                last_paid = month
            before = mrr
    return result


def run_subscription_models(stretches: list[Stretch], period: str = "2024-Q4") -> duckdb.DuckDBPyConnection:
    """The real subscription models over a staged table made here (no files: a hundred histories in seconds)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE stg_subscriptions (period_id VARCHAR, subscription_id VARCHAR, customer_id VARCHAR, "
                "valid_from TIMESTAMP, valid_to TIMESTAMP, mrr DECIMAL(18, 2), amount DECIMAL(18, 2), "
                "interval VARCHAR, interval_count INTEGER, quantity INTEGER, plan VARCHAR, status VARCHAR, "
                "trial_end TIMESTAMP, cancelled_at TIMESTAMP, cancel_reason VARCHAR, currency VARCHAR)")
    for i, s in enumerate(stretches):
        con.execute("INSERT INTO stg_subscriptions VALUES (?, ?, ?, ?, ?, NULL, ?, 'month', 1, 1, 'p', 'active', ?, "
                    "NULL, NULL, NULL)", [f"r{i}", s.subscription_id, s.customer_id, s.valid_from, s.valid_to,
                                          Decimal(s.cents) / 100, s.trial_end])
    con.execute("CREATE TABLE stg_orders AS SELECT TIMESTAMP '2024-12-31 23:00:00' AS ordered_at")
    con.execute("CREATE TABLE reporting_currency AS SELECT NULL::VARCHAR AS currency, false AS converted")
    con.execute("CREATE TABLE param_fx_rates (currency VARCHAR, rate DECIMAL(18, 8))")
    values = warehouse.bind_parameters(parse_period(period), load_params())
    warehouse.run_sql(con, (MARTS / "_period_roles.sql").read_text(), values)
    for name in SUBSCRIPTION_MODELS:
        warehouse.run_sql(con, (MARTS / name).read_text(), values, source=name)
    return con


@st.composite
def random_histories(draw) -> list[Stretch]:
    stretches = []
    for c in range(draw(st.integers(1, 6))):
        for k in range(draw(st.integers(1, 2))):  # one or two subscriptions per customer
            moment = datetime(2023, 1, 1) + timedelta(days=draw(st.integers(0, 600)), hours=draw(st.integers(0, 23)))
            trial = draw(st.sampled_from([0, 0, 0, 14]))
            for _ in range(draw(st.integers(1, 4))):  # stretches: a price change, or a gap and a return
                # lengths at the trial's (14 days) and months' edges, and gaps about the reactivation window
                length = draw(st.one_of(st.none(), st.integers(1, 400), st.sampled_from([14, 28, 31, 365])))
                ends = None if length is None else moment + timedelta(days=length)
                stretches.append(Stretch(f"c{c}", f"c{c}s{k}", moment, ends, draw(st.integers(0, 50_000)),
                                         moment + timedelta(days=trial) if trial else None))
                trial = 0
                if ends is None:
                    break
                moment = ends + timedelta(days=draw(st.sampled_from([0, 0, 20, 90, 320, 335, 350, 365, 380, 400, 500])))
    return stretches


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_histories())
def test_the_identity_holds_on_random_histories_and_every_movement_matches_an_independent_reading(stretches):
    con = run_subscription_models(stretches)
    got = {(c, m): (mrr, before, movement) for c, m, mrr, before, movement in con.execute(
        "SELECT customer_id, month, mrr, mrr_before, movement FROM subscription_customer_months").fetchall()}
    expected = expected_customer_months(stretches, date(2024, 12, 1)) if any(s.cents for s in stretches) else {}
    # Customer-months where the customer pays nothing before or after are not rows (nothing to move).
    expected = {k: v for k, v in expected.items() if v[0] or v[1]}
    assert got == expected
    for month, start, *moves, end in con.execute(
            f"SELECT month, mrr_start, {', '.join(MOVEMENTS)}, mrr_end FROM subscription_mrr_monthly").fetchall():
        new, expansion, reactivation, contraction, churn = moves
        assert end == start + new + expansion + reactivation - contraction - churn, month
        assert end == sum((v[0] for (c, m), v in expected.items() if m == month), Decimal(0))


# --- The sample: every month's MRR and movements computed here from subscriptions.csv itself ---------------

MONTHS_PER = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}


def _moment(text: str) -> datetime | None:
    return datetime.fromisoformat(text.strip()) if text and text.strip() else None


def monthly_cents(row: dict) -> int:
    """A row's monthly price in cents, rounded half up, as the README states the rule."""
    if row.get("mrr", "").strip():
        return int((Decimal(row["mrr"]) * 100).to_integral_value(ROUND_HALF_UP))
    per, months = MONTHS_PER[row["interval"].strip().lower()]
    quantity = int(row.get("quantity") or 1)
    count = int(row.get("interval_count") or 1)
    cents = Decimal(row["amount"]) * 100 * quantity * per / (count * months)
    return int(cents.to_integral_value(ROUND_HALF_UP))


def test_the_sample_s_mrr_and_movements_equal_a_computation_from_the_file(sample_site, sample_data):
    import csv

    with duckdb.connect(str(sample_site.build_dir / "warehouse.duckdb"), read_only=True) as con:
        aside = {row for (row,) in con.execute("SELECT row FROM set_aside WHERE export = 'subscriptions'").fetchall()}
        monthly = con.execute(f"SELECT month, mrr_start, {', '.join(MOVEMENTS)}, mrr_end, coverage "
                              "FROM subscription_mrr_monthly ORDER BY month").fetchall()
        currency = con.execute("SELECT currency, converted FROM reporting_currency").fetchone()
    assert not currency[1], "the sample is in one currency: no conversion to reproduce"
    with (sample_data / "subscriptions.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for number, row in enumerate(csv.DictReader(handle), start=1) if number not in aside]
    stretches = [Stretch(r["customer_id"], r["subscription_id"], _moment(r["valid_from"]), _moment(r["valid_to"]),
                         monthly_cents(r), _moment(r.get("trial_end", ""))) for r in rows]
    assert len(stretches) > 1000 and aside, "the sample has subscriptions and a few rows set aside"
    last_month = date(2024, 6, 1)
    expected = expected_customer_months(stretches, last_month)
    assert monthly and monthly[-1][0] == last_month
    for month, start, new, expansion, reactivation, contraction, churn, end, coverage in monthly:
        assert end == start + new + expansion + reactivation - contraction - churn
        mine = [v for (c, m), v in expected.items() if m == month]
        assert end == sum((v[0] for v in mine), Decimal(0)), month
        assert start == sum((v[1] for v in mine), Decimal(0)), month
        for movement, amount in (("new", new), ("reactivation", reactivation), ("expansion", expansion),
                                 ("contraction", -contraction), ("churn", -churn)):
            assert amount == sum((v[0] - v[1] for v in mine if v[2] == movement), Decimal(0)), (month, movement)
        assert coverage == "full"
    assert sum(m[2] for m in monthly) > 0 and sum(m[6] for m in monthly) > 0  # new and churned MRR both occur
