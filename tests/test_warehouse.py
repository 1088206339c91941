"""The SQL runner, staging's set-aside rows and the foundation marts, on tiny hand-computed fixtures."""

from datetime import date

import duckdb
import pytest

from conftest import customer, order
from retention_report import warehouse
from retention_report.exports import CONTRACT
from retention_report.periods import parse_period
from retention_report.warehouse import SqlModelError, bind_parameters, run_sql, split_statements


def test_statements_split_at_semicolons_ending_a_line():
    sql = "-- header;\nCREATE TABLE a AS SELECT 1 AS x;\n\nINSERT INTO a VALUES (2); -- two\nSELECT ';' AS s"
    assert split_statements(sql) == ["CREATE TABLE a AS SELECT 1 AS x", "INSERT INTO a VALUES (2)",
                                     "SELECT ';' AS s"]


def test_values_are_bound_as_parameters_not_formatted_into_sql():
    con = duckdb.connect()
    hostile = "x'); DROP TABLE t; --"
    run_sql(con, "CREATE TABLE t AS SELECT $label AS label, $period_start AS starts;",
            {"label": hostile, "period_start": date(2024, 4, 1), "unused": 1})
    assert con.execute("SELECT label, starts FROM t").fetchone() == (hostile, date(2024, 4, 1))


def test_an_unknown_parameter_or_a_failing_statement_names_the_model():
    con = duckdb.connect()
    with pytest.raises(SqlModelError, match="model.sql: names unknown parameter"):
        run_sql(con, "SELECT $nope;", {}, source="model.sql")
    with pytest.raises(SqlModelError, match="broken.sql: statement starting 'SELECT \\* FROM missing_table'"):
        run_sql(con, "SELECT * FROM missing_table;", {}, source="broken.sql")


def test_bound_parameters_hold_the_period_bounds_and_scalar_params():
    values = bind_parameters(parse_period("2024-Q2"), {"churn_after_days": 90, "welcome_kinds": ["welcome"],
                                                       "duckdb": {"threads": 2}})
    assert values["period_start"] == date(2024, 4, 1)
    assert values["period_end_exclusive"] == date(2024, 7, 1)
    assert values["previous_start"] == date(2024, 1, 1)
    assert values["year_ago_start"] == date(2023, 4, 1)
    assert values["churn_after_days"] == 90 and values["welcome_kinds"] == ["welcome"]
    assert "duckdb" not in values


def test_staging_sets_invalid_rows_aside_with_file_row_column_and_reason(build_warehouse):
    con = build_warehouse(
        keep_staging=True,
        customers=[customer("c1"), customer("c2"), customer("c2"), customer("", "2024-01-01"),
                   customer("c3", "31/02/2024x")],
        orders=[order("o1", "c1", "2024-01-05 10:00:00"), order("o2", "c1", "2024-01-06", amount="-3"),
                order("o3", "c1", "2024-01-07", amount="abc"), order("o4", "c9", "2024-01-08"),
                order("o1", "c1", "2024-01-09"), order("o5", "c1", "not a date")],
        nps_responses=[
            {"response_id": "r1", "customer_id": "c1", "responded_at": "2024-02-01", "score": "9"},
            {"response_id": "r2", "customer_id": "c1", "responded_at": "2024-02-01", "score": "11"},
            {"response_id": "r3", "customer_id": "", "responded_at": "2024-02-01", "score": "seven"},
            {"response_id": "r4", "customer_id": "", "responded_at": "2024-02-01", "score": "7.5"},
            {"response_id": "r5", "customer_id": "", "responded_at": "2024-02-01", "score": "3"},
        ],
    )
    aside = con.execute(
        'SELECT export, split_part(file, \'/\', -1), row, "column", reason, value FROM set_aside ORDER BY export, row'
    ).fetchall()
    assert aside == [
        ("customers", "customers.csv", 3, "customer_id", "duplicate customer_id", "c2"),
        ("customers", "customers.csv", 4, "customer_id", "missing customer_id", None),
        ("customers", "customers.csv", 5, "created_at", "unparseable date", "31/02/2024x"),
        ("nps_responses", "nps_responses.csv", 2, "score", "score outside 0-10", "11"),
        ("nps_responses", "nps_responses.csv", 3, "score", "score is not an integer", "seven"),
        ("nps_responses", "nps_responses.csv", 4, "score", "score is not an integer", "7.5"),
        ("orders", "orders.csv", 2, "amount", "negative amount", "-3"),
        ("orders", "orders.csv", 3, "amount", "amount is not a number", "abc"),
        ("orders", "orders.csv", 4, "customer_id", "unknown customer", "c9"),
        ("orders", "orders.csv", 5, "order_id", "duplicate order_id", "o1"),
        ("orders", "orders.csv", 6, "ordered_at", "unparseable date", "not a date"),
    ]
    # Nothing is lost: every row read is either staged or set aside.
    for export in ("customers", "orders", "nps_responses"):
        read = con.execute("SELECT rows_read FROM export_files WHERE export = $e", {"e": export}).fetchone()[0]
        staged = con.execute(f"SELECT count(*) FROM stg_{export}").fetchone()[0]
        aside_n = con.execute("SELECT count(*) FROM set_aside WHERE export = $e", {"e": export}).fetchone()[0]
        assert read == staged + aside_n
    # An anonymous answer (no customer_id) is kept.
    assert con.execute("SELECT count(*) FROM stg_nps_responses WHERE customer_id IS NULL").fetchone()[0] == 1


def test_cohort_triangle_by_hand(build_warehouse):
    # Period 2024-Q1. c1: Jan (two orders: counts once), Mar. c2: Jan, Feb. c3: only a refunded order in Jan
    # (not active), then a completed order in Feb: cohort Feb. c4: Mar. c5: April (after the period: absent).
    con = build_warehouse(
        customers=[customer(c) for c in ("c1", "c2", "c3", "c4", "c5")],
        orders=[
            order("o1", "c1", "2024-01-03 09:00:00"), order("o2", "c1", "2024-01-20 09:00:00"),
            order("o3", "c1", "2024-03-02 09:00:00"),
            order("o4", "c2", "2024-01-31 23:59:59"), order("o5", "c2", "2024-02-01 00:00:00"),
            order("o6", "c3", "2024-01-10 09:00:00", status="refunded"), order("o7", "c3", "2024-02-10 09:00:00"),
            order("o8", "c4", "2024-03-31 12:00:00"),
            order("o9", "c5", "2024-04-01 00:00:00"), order("o10", "c1", "2024-04-02 00:00:00"),
        ],
    )
    rows = con.execute("SELECT * FROM cohort_retention ORDER BY cohort, months_since_first").fetchall()
    assert rows == [
        ("2024-01", 0, 2, 2, 1.0),
        ("2024-01", 1, 2, 1, 0.5),
        ("2024-01", 2, 2, 1, 0.5),
        ("2024-02", 0, 1, 1, 1.0),
        ("2024-02", 1, 1, 0, 0.0),  # a cohort with nobody active shows 0, not a missing row
        ("2024-03", 0, 1, 1, 1.0),
    ]


def test_nps_counts_per_comparison_period(build_warehouse):
    answers = [("r1", "2024-01-05", 10), ("r2", "2024-02-05", 9), ("r3", "2024-03-31 23:00:00", 6),
               ("r4", "2024-03-01", 7), ("r5", "2023-12-31", 0), ("r6", "2023-02-01", 8), ("r7", "2024-04-01", 10)]
    con = build_warehouse(
        customers=[customer("c1")], orders=[order("o1", "c1", "2024-01-05")],
        nps_responses=[{"response_id": r, "customer_id": "c1", "responded_at": d, "score": str(s)} for r, d, s in answers],
    )
    counts = {row[0]: row[1:] for row in con.execute("SELECT * FROM nps_period_counts").fetchall()}
    assert counts == {"current": (4, 2, 1, 1), "previous": (1, 0, 0, 1), "year_ago": (1, 0, 1, 0)}


def test_welcome_coverage_counts_days_zero_to_seven_after_the_first_order(build_warehouse):
    con = build_warehouse(
        customers=[customer(c) for c in ("c1", "c2", "c3", "c4", "c5")],
        orders=[order("o1", "c1", "2024-02-01 18:00:00"), order("o2", "c2", "2024-02-01 09:00:00"),
                order("o3", "c3", "2024-02-01"), order("o4", "c4", "2024-02-01"),
                order("o5", "c5", "2023-12-01")],  # c5's first order is before the period: not new
        touchpoints=[
            {"touchpoint_id": "t1", "customer_id": "c1", "occurred_at": "2024-02-08 23:00:00", "kind": "welcome"},  # day 7
            {"touchpoint_id": "t2", "customer_id": "c2", "occurred_at": "2024-02-09 08:00:00", "kind": "Welcome"},  # day 8
            {"touchpoint_id": "t3", "customer_id": "c3", "occurred_at": "2024-01-20", "kind": "welcome"},  # before
            {"touchpoint_id": "t4", "customer_id": "c4", "occurred_at": "2024-02-02", "kind": "promotion"},
            {"touchpoint_id": "t5", "customer_id": "c5", "occurred_at": "2023-12-02", "kind": "welcome"},
        ],
    )
    assert con.execute("SELECT segment, customers, covered, median_days_to_welcome FROM welcome_coverage "
                       "WHERE segment_column = 'all'").fetchall() == [
        ("all", 4, 1, 7.5)
    ]


def test_absent_optional_exports_give_empty_tables(build_warehouse):
    con = build_warehouse(customers=[customer("c1")], orders=[order("o1", "c1", "2024-01-05")], keep_staging=True)
    present = dict(con.execute("SELECT export, present FROM export_files").fetchall())
    assert present == {"customers": True, "orders": True, "nps_responses": False, "touchpoints": False,
                       "support_tickets": False, "events": False, "subscriptions": False}
    assert con.execute("SELECT count(*) FROM stg_support_tickets").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM subscription_customer_months").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM subscription_mrr_monthly").fetchone() == (0,)
    for table in ("subscription_lives", "subscription_lives_segments", "subscription_trials",
                  "subscription_cancel_reasons", "subscription_reach_out"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    assert con.execute("SELECT DISTINCT coverage FROM subscription_period_kpis").fetchall() == [("no data",)]
    assert con.execute("SELECT count(*) FROM stg_events").fetchone() == (0,)
    assert con.execute("SELECT responses FROM nps_period_counts WHERE period_role = 'current'").fetchone() == (0,)


def test_staged_exports_stay_in_memory_unless_kept(build_warehouse):
    """The file keeps the marts and what the exports gave; the staged rows only with keep_staging."""
    exports = dict(customers=[customer("c1"), customer("c2")],
                   orders=[order("o1", "c1", "2024-01-05"), order("o2", "c2", "2024-02-05")])
    tables = lambda con: {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()").fetchall()}
    default, kept = tables(build_warehouse(**exports)), tables(build_warehouse(keep_staging=True, **exports))
    assert not {t for t in default if t.startswith(("stg_", "raw_"))}
    assert {"cohort_cells", "period_kpis", "set_aside", "export_ranges", "lifetime_by_customer"} <= default
    assert kept - default == {f"stg_{name}" for name in CONTRACT}
    # The same marts either way.
    assert {t for t in kept if not t.startswith("stg_")} == default
    # Nothing kept names a table that lived only in the build (a view over a staged export would).
    con = build_warehouse(**exports)
    for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary").fetchall():
        con.execute(f"SELECT * FROM {view} LIMIT 1").fetchall()


def test_keep_staging_must_be_true_or_false():
    with pytest.raises(ValueError, match="keep_staging must be true or false"):
        warehouse.keeps_staging({"keep_staging": "yes"})


def test_customer_facts_and_months_by_hand(build_warehouse):
    con = build_warehouse(
        "2024-Q1",
        customers=[customer("c1"), customer("c2"), customer("c3")],
        orders=[order("o1", "c1", "2024-01-05 10:00:00", "10.00"), order("o2", "c1", "2024-01-20", "5.50"),
                order("o3", "c1", "2024-03-02", "7.00"), order("o4", "c2", "2024-02-10", "20.00", "refunded"),
                order("o5", "c2", "2024-02-11", "3.00"), order("o6", "c1", "2024-04-02", "1.00")])
    facts = con.execute("SELECT customer_id, first_active_at::VARCHAR, last_active_at::VARCHAR, completed_orders, "
                        "revenue::VARCHAR FROM customer_facts ORDER BY customer_id").fetchall()
    # c3 never bought: not active, no row. The April order is after the period but is the customer's own.
    assert facts == [("c1", "2024-01-05 10:00:00", "2024-04-02 00:00:00", 4, "23.50"),
                     ("c2", "2024-02-11 00:00:00", "2024-02-11 00:00:00", 1, "3.00")]
    months = con.execute("SELECT customer_id, month::VARCHAR, active, completed_orders, revenue::VARCHAR "
                         "FROM customer_months ORDER BY ALL").fetchall()
    assert months == [("c1", "2024-01-01", True, 2, "15.50"), ("c1", "2024-03-01", True, 1, "7.00"),
                      ("c2", "2024-02-01", True, 1, "3.00")]  # up to the period's end; the refund is no purchase


def test_read_mart_reads_a_warehouse_moved_in_under_the_same_name_anew(tmp_path):
    """read_mart keeps one connection per file; a rebuild that moves a new file in at the same path (as
    build_warehouse does) is read from the new file, never from the connection to the old one."""
    path = tmp_path / "warehouse.duckdb"
    for generation in (1, 2, 3):
        partial = tmp_path / "warehouse.duckdb.partial"
        with duckdb.connect(str(partial)) as con:
            con.execute("CREATE TABLE cohort_cells AS SELECT range AS x FROM range($n)", {"n": generation})
        partial.replace(path)
        assert warehouse.read_mart(path, "cohort_cells").x.tolist() == list(range(generation))
        assert warehouse.read_mart(path, "cohort_cells").x.tolist() == list(range(generation))
    with pytest.raises(ValueError, match="not a mart name"):
        warehouse.read_mart(path, "cohort_cells; DROP TABLE x")
