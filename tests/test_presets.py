"""Presets: each maps a real tool's export onto the contract. The mappings are checked against the fixture
exports written in each tool's layout; the fixtures are then staged with nothing but their params.yaml and
the staged orders compared with figures computed here, with plain csv, from the fixture files themselves."""

import csv
import json
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from retention_report import warehouse
from retention_report.exports import CONTRACT
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.presets import PRESETS, PresetError, preset_for

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
OUR_STATUSES = {"completed", "refunded", "cancelled", "pending"}
# Which fixture file is written in the layout each preset reads.
LAYOUTS = {("shopify", "orders"): "shopify/orders.csv",
           ("woocommerce", "orders"): "woocommerce/orders.csv",
           ("stripe", "orders"): "stripe_survey/orders.csv",
           ("stripe", "customers"): "stripe_survey/customers.csv",
           ("survey", "nps_responses"): "stripe_survey/nps_responses.csv"}


def read_csv(relative: str) -> list[dict[str, str]]:
    with (FIXTURES / relative).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(relative: str) -> list[str]:
    with (FIXTURES / relative).open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def column_refs(expression: str) -> set[str]:
    """The column names an SQL expression reads, from DuckDB's own parse tree (fails on a syntax error)."""
    with duckdb.connect() as con:
        tree = json.loads(con.execute("SELECT json_serialize_sql($q)", {"q": f"SELECT {expression}"}).fetchall()[0][0])
    assert not tree["error"], (expression, tree.get("error_message"))

    def walk(node):
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                yield node["column_names"][-1]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
    return set(walk(tree))


# --- the mappings ---------------------------------------------------------------------------------------------

def test_every_preset_export_has_a_fixture_in_its_layout():
    assert {(source, export) for source, exports in PRESETS.items() for export in exports} == set(LAYOUTS)


@pytest.mark.parametrize("source, export", sorted(LAYOUTS))
def test_preset_keys_are_settings_staging_knows_and_group_by_is_gone(source, export):
    preset = PRESETS[source][export]
    assert "group_by" not in preset  # replaced by `grain: line`, which sums the lines instead of keeping one
    assert set(preset) <= {"columns", "compute", "values", "grain"}
    assert preset.get("grain", "row") in ("row", "line")


@pytest.mark.parametrize("source, export", sorted(LAYOUTS))
def test_preset_maps_ours_onto_columns_the_export_really_has(source, export):
    preset = PRESETS[source][export]
    ours = set(CONTRACT[export].all_columns)
    columns, compute = preset.get("columns", {}), preset.get("compute", {})
    assert set(columns) <= ours and set(compute) <= ours
    assert not set(columns) & set(compute)  # one source per column of ours
    assert set(CONTRACT[export].columns) <= set(columns) | set(compute)  # every required column is provided
    theirs = {c.lower() for c in header(LAYOUTS[(source, export)])}  # names match case-insensitively
    for column in columns.values():
        assert column.lower() in theirs, (source, export, column)
    for column, expression in compute.items():
        for ref in column_refs(expression):
            assert ref.lower() in theirs, (source, export, column, ref)


def test_preset_columns_are_the_tools_documented_names():
    assert PRESETS["shopify"]["orders"]["columns"] == {
        "order_id": "Name", "customer_id": "Email", "ordered_at": "Created at", "currency": "Currency",
        "status": "Financial Status"}
    assert column_refs(PRESETS["shopify"]["orders"]["compute"]["amount"]) == {
        "Financial Status", "Total", "Refunded Amount"}
    assert PRESETS["woocommerce"]["orders"]["columns"] == {
        "order_id": "order_id", "customer_id": "billing_email", "ordered_at": "order_date",
        "currency": "order_currency", "status": "status"}
    assert column_refs(PRESETS["woocommerce"]["orders"]["compute"]["amount"]) == {
        "status", "order_total", "refunded_total"}
    assert PRESETS["stripe"]["orders"]["columns"] == {
        "order_id": "id", "customer_id": "Customer", "ordered_at": "Date (UTC)", "amount": "Amount Paid",
        "currency": "Currency", "status": "Status"}
    assert PRESETS["stripe"]["customers"]["columns"] == {
        "customer_id": "id", "created_at": "Created (UTC)", "email": "Email", "name": "Name", "phone": "Phone"}


def test_only_shopify_reads_one_row_per_line_item():
    grains = {(s, e): p.get("grain", "row") for s, exports in PRESETS.items() for e, p in exports.items()}
    assert grains == {k: ("line" if k == ("shopify", "orders") else "row") for k in LAYOUTS}


def test_status_maps_cover_each_tools_documented_statuses_and_land_on_ours():
    shopify = PRESETS["shopify"]["orders"]["values"]["status"]
    woocommerce = PRESETS["woocommerce"]["orders"]["values"]["status"]
    stripe = PRESETS["stripe"]["orders"]["values"]["status"]
    # Shopify's OrderDisplayFinancialStatus, WooCommerce's OrderStatus (public ones), Stripe's invoice statuses.
    assert set(shopify) == {"authorized", "expired", "paid", "partially_paid", "partially_refunded", "pending",
                            "refunded", "voided"}
    assert set(woocommerce) == {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                                "checkout-draft"}
    assert set(stripe) == {"draft", "open", "paid", "uncollectible", "void"}
    for mapping in (shopify, woocommerce, stripe):
        assert set(mapping.values()) <= OUR_STATUSES
        assert all(key == key.strip().lower() for key in mapping)  # matched against lower(trim(value))
    assert [k for k, v in shopify.items() if v == "completed"] == ["paid", "partially_paid", "partially_refunded"]
    assert sorted(k for k, v in woocommerce.items() if v == "completed") == ["completed", "processing"]
    assert (woocommerce["failed"], woocommerce["on-hold"], shopify["expired"]) == ("cancelled", "pending", "cancelled")


def test_every_status_in_the_fixtures_is_mapped():
    shopify = {r["Financial Status"] for r in read_csv("shopify/orders.csv") if r["Financial Status"]}
    woocommerce = {r["status"] for r in read_csv("woocommerce/orders.csv")}
    assert shopify <= set(PRESETS["shopify"]["orders"]["values"]["status"])
    assert woocommerce <= set(PRESETS["woocommerce"]["orders"]["values"]["status"])
    # The fixtures exercise a refund and a cancellation each, and Shopify's a partial refund.
    assert {"refunded", "voided", "partially_refunded"} <= shopify and {"refunded", "cancelled"} <= woocommerce


def test_preset_for_names_the_known_presets_and_what_each_maps():
    assert preset_for(None, "orders") == {} and preset_for("", "orders") == {}
    assert preset_for("WooCommerce", "orders") is PRESETS["woocommerce"]["orders"]
    with pytest.raises(PresetError, match="known presets: shopify, stripe, survey, woocommerce"):
        preset_for("magento", "orders")
    with pytest.raises(PresetError, match="'woocommerce' has no mapping for customers; it maps: orders"):
        preset_for("woocommerce", "customers")


# --- the fixtures staged with their params.yaml alone ---------------------------------------------------------

def stage(fixture: str, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    folder = FIXTURES / fixture
    params = load_params(None, folder / "params.yaml")
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", folder, parse_period("2024-Q1"), params,
                                     layers=("staging",))
    return duckdb.connect(str(path), read_only=True)


def staged_orders(con) -> dict[str, tuple]:
    rows = con.execute("SELECT order_id, customer_id, ordered_at, amount, currency, status FROM stg_orders").fetchall()
    return {r[0]: r[1:] for r in rows}


def customers_by_email(relative: str) -> dict[str, str]:
    return {r["email"].lower(): r["customer_id"] for r in read_csv(relative)}


def expected_shopify_orders() -> tuple[dict[str, tuple], set[str], int]:
    """Shopify's lines grouped by Name: (staged orders, orders of unknown buyers, lines read)."""
    lines = read_csv("shopify/orders.csv")
    by_name: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_name[line["Name"]].append(line)
    ours = {"paid": "completed", "partially_paid": "completed", "partially_refunded": "completed",
            "refunded": "refunded", "voided": "cancelled", "expired": "cancelled", "pending": "pending",
            "authorized": "pending"}
    known = customers_by_email("shopify/customers.csv")
    staged, unknown = {}, set()
    for name, rows in by_name.items():
        def first(column):
            return next(r[column] for r in rows if r[column])
        status = first("Financial Status")
        # Total and Refunded Amount are on the order's first line only; a full refund keeps the whole Total.
        amount = sum(Decimal(r["Total"]) - (Decimal(0) if status == "refunded" else Decimal(r["Refunded Amount"]))
                     for r in rows if r["Total"])
        ordered_at = min(datetime.strptime(r["Created at"], "%Y-%m-%d %H:%M:%S %z") for r in rows)
        email = first("Email").lower()
        if email not in known:
            unknown.add(name)
            continue
        staged[name] = (known[email], ordered_at.astimezone(timezone.utc).replace(tzinfo=None), amount,
                        first("Currency"), ours[status])
    return staged, unknown, len(lines)


def test_shopify_line_items_stage_as_one_order_each(tmp_path):
    """Needs the line-grain staging (issue 14 items 2 and 3: `grain: line` and `compute`)."""
    expected, unknown, lines = expected_shopify_orders()
    assert (len(expected), len(unknown), lines) == (6, 1, 11)  # the fixture is what the figures below assume
    con = stage("shopify", tmp_path)
    assert staged_orders(con) == expected
    assert con.execute("SELECT rows_read, grain, records FROM export_files WHERE export = 'orders'").fetchone() == (
        lines, "line", len(expected) + len(unknown))
    aside = con.execute("SELECT DISTINCT \"column\", reason FROM set_aside WHERE export = 'orders'").fetchall()
    assert aside == [("customer_id", "unknown customer")]


def test_shopify_revenue_is_the_completed_orders_totals_less_their_refunds(tmp_path):
    """Needs the line-grain staging. #1001 (45.00) and #1006 (62.00) paid, #1003 40.00 less 12.50 refunded;
    #1002 refunded in full, #1005 voided, #1007 pending: none of those counts."""
    expected, _, _ = expected_shopify_orders()
    revenue = sum(amount for _, _, amount, _, status in expected.values() if status == "completed")
    assert revenue == Decimal("134.50")
    con = stage("shopify", tmp_path)
    assert con.execute("SELECT sum(amount) FROM stg_orders WHERE status = 'completed'").fetchone()[0] == revenue
    assert con.execute("SELECT amount, status FROM stg_orders WHERE order_id = '#1002'").fetchone() == (
        Decimal("10.00"), "refunded")


def expected_woocommerce_orders() -> dict[str, tuple]:
    ours = {"completed": "completed", "processing": "completed", "pending": "pending", "on-hold": "pending",
            "checkout-draft": "pending", "failed": "cancelled", "cancelled": "cancelled", "refunded": "refunded"}
    known = customers_by_email("woocommerce/customers.csv")
    staged = {}
    for r in read_csv("woocommerce/orders.csv"):
        refund = Decimal(0) if r["status"] == "refunded" else Decimal(r["refunded_total"])
        staged[r["order_id"]] = (known[r["billing_email"].lower()],
                                 datetime.strptime(r["order_date"], "%Y-%m-%d %H:%M:%S"),  # the shop's time: UTC here
                                 Decimal(r["order_total"]) - refund, r["order_currency"], ours[r["status"]])
    return staged


def test_woocommerce_orders_stage_with_customers_by_billing_email(tmp_path):
    """Needs `compute` (issue 14 item 3) for the amount; one row per order, so no grain."""
    expected = expected_woocommerce_orders()
    assert len(expected) == 8
    con = stage("woocommerce", tmp_path)
    assert staged_orders(con) == expected
    assert con.execute("SELECT count(*) FROM set_aside WHERE export = 'orders'").fetchone()[0] == 0
    assert con.execute("SELECT rows_read, grain, records FROM export_files WHERE export = 'orders'").fetchone() == (
        8, "row", 8)


def test_woocommerce_revenue_counts_processing_and_nets_partial_refunds(tmp_path):
    """Needs `compute`. Completed 1001 (54.00) and 1008 (35.00), processing 1002 (23.50), and 1005 40.00 less
    10.00 refunded; 1003 refunded, 1004 cancelled, 1006 failed and 1007 on hold do not count."""
    expected = expected_woocommerce_orders()
    revenue = sum(amount for _, _, amount, _, status in expected.values() if status == "completed")
    assert revenue == Decimal("142.50")
    con = stage("woocommerce", tmp_path)
    assert con.execute("SELECT sum(amount) FROM stg_orders WHERE status = 'completed'").fetchone()[0] == revenue
    statuses = dict(con.execute("SELECT status, count(*) FROM stg_orders GROUP BY status").fetchall())
    assert statuses == {"completed": 4, "refunded": 1, "cancelled": 2, "pending": 1}


def test_stripe_invoices_stage_with_paid_amounts(tmp_path):
    """Runs on today's staging too: row grain, columns and values only."""
    invoices = read_csv("stripe_survey/orders.csv")
    con = stage("stripe_survey", tmp_path)
    staged = staged_orders(con)
    assert set(staged) == {r["id"] for r in invoices}
    paid = [r for r in invoices if r["Status"] == "paid"]
    assert con.execute("SELECT count(*), sum(amount) FROM stg_orders WHERE status = 'completed'").fetchone() == (
        len(paid), sum(Decimal(r["Amount Paid"]) for r in paid))
    assert {staged[r["id"]][0] for r in invoices} == {r["Customer"] for r in invoices}
    assert {s[3] for s in staged.values()} == {"EUR"}  # Stripe writes currencies in lower case
