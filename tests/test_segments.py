"""Segments that exist: which customer columns become segments (`segment_columns: auto` or a list), the
`other` grouping beyond `max_segment_values`, and what the pages say when a listed column gives nothing."""

from __future__ import annotations

import csv
import shutil
from collections import Counter

import duckdb
import nbformat
import pandas as pd
import pytest
import yaml

from conftest import customer, order, write_exports
from retention_report import execute, segments, warehouse
from retention_report.params import load_params
from retention_report.periods import parse_period


def choice(con) -> dict[str, tuple[bool, str | None]]:
    return {c: (used, reason) for c, used, reason in
            con.execute("SELECT segment_column, used, reason FROM segment_choice").fetchall()}


# --- Which columns: auto ------------------------------------------------------------------------------------

AUTO_CUSTOMERS = [
    dict(customer(f"a{i}", email=f"p{i}@example.com", name=f"Person {i}", phone=f"555-000{i}"),
         plan=plan, region=region, tier="x", notes="", account_id=f"ACC-{i}", signup_date=f"2023-0{i + 1}-15",
         first_name=f"P{i}", email_address=f"p{i}@work.example", ref=f"R{i}")
    for i, (plan, region) in enumerate([("basic", "north"), ("plus", "south"), ("basic", ""), ("plus", "north"),
                                        ("basic", "east")])
]


def test_auto_picks_columns_with_two_or_more_values_that_are_not_ids_dates_or_personal(build_warehouse):
    con = build_warehouse(period="2024-Q2", customers=AUTO_CUSTOMERS,
                          orders=[order(str(i), f"a{i}", "2024-04-05") for i in range(5)],
                          params_override={"segment_columns": "auto", "max_segment_values": 4})
    got = choice(con)
    assert [c for c, (used, _) in got.items() if used] == ["plan", "region"]
    assert got["customer_id"] == got["account_id"] == (False, segments.IDENTIFIER)
    assert got["created_at"] == got["signup_date"] == (False, segments.DATE)
    for personal in ("email", "name", "phone", "first_name", "email_address"):
        assert got[personal] == (False, segments.PERSONAL), personal
    assert got["tier"] == (False, segments.ONE_VALUE)
    assert got["notes"] == (False, segments.BLANK)
    assert got["ref"] == (False, segments.OWN_VALUE)  # five customers, five values, more than max_segment_values
    assert "_file" not in got and "_row" not in got  # the build's own columns are not even considered
    # The marts break down by exactly those columns; a customer with no region is "not given", never "(blank)".
    shown = dict(con.execute("SELECT segment_column, list(DISTINCT segment ORDER BY segment) FROM segment_retention "
                             "GROUP BY ALL").fetchall())
    assert shown == {"all": ["all"], "plan": ["basic", "plus"], "region": ["east", "north", "not given", "south"]}


def test_a_list_still_works_and_gives_reasons_for_the_columns_it_cannot_use(build_warehouse):
    con = build_warehouse(period="2024-Q2", customers=AUTO_CUSTOMERS,
                          orders=[order(str(i), f"a{i}", "2024-04-05") for i in range(5)],
                          params_override={"segment_columns": ["Tier", "region", "plan_b", "notes", "email"]})
    got = choice(con)
    # A listed column with one value still gives a breakdown (as before auto); the others say why not.
    assert got == {"tier": (True, None), "region": (True, None), "plan_b": (False, segments.ABSENT),
                   "notes": (False, segments.BLANK), "email": (False, segments.PERSONAL)}
    lines = segments.choice_lines(con.execute("SELECT * FROM segment_choice").df(), {"segment_columns": ["x"]})
    assert lines == ["Segment column `plan_b` is not in the customers export: no breakdown by it.",
                     "Segment column `notes` is blank for every customer: no breakdown by it.",
                     "Segment column `email` is personal data, never published: no breakdown by it."]
    columns = {c for (c,) in con.execute("SELECT DISTINCT segment_column FROM segment_retention").fetchall()}
    assert columns == {"all", "tier", "region"}


def test_resolve_says_when_customers_were_derived_from_the_orders():
    # The lead's staging derives customers from the orders when the export is absent (export_files.derived):
    # a listed column then is missing from the orders' customer_columns, not from a customers file.
    con = duckdb.connect()
    con.execute("CREATE TABLE stg_customers AS SELECT 'c1' AS customer_id, now() AS created_at, NULL AS email, "
                "NULL AS name, NULL AS phone, 'uk' AS country, 'f' AS _file, 1 AS _row "
                "UNION ALL SELECT 'c2', now(), NULL, NULL, NULL, 'fr', 'f', 2")
    con.execute("CREATE TABLE export_files AS SELECT 'customers' AS export, false AS present, true AS derived")
    got = segments.resolve(con, {"segment_columns": ["country", "plan"]})
    assert got.columns == ["country"] and got.dropped == {"plan": segments.ABSENT_DERIVED}
    assert segments.resolve(con, {}).columns == ["country"]  # auto, the default
    with pytest.raises(ValueError, match="max_segment_values"):
        segments.resolve(con, {"max_segment_values": 0})


# --- The `other` grouping -----------------------------------------------------------------------------------

# Twelve countries with these numbers of customers; at max_segment_values 3 the largest are kept: fr (6), then
# de and es tie at 5 (kept by name), and it (5) too is a tie with them but comes after es: into `other`.
COUNTRY_SIZES = {"fr": 6, "es": 5, "de": 5, "it": 5, "uk": 4, "nl": 3, "be": 2, "pt": 2, "pl": 1, "se": 1,
                 "dk": 1, "fi": 1}


def test_a_column_with_many_values_keeps_the_largest_and_groups_the_rest_as_other(build_warehouse):
    people, orders = [], []
    for country, size in COUNTRY_SIZES.items():
        for i in range(size):
            people.append(customer(f"{country}{i}", country=country))
    people += [customer("x1", country=""), customer("x2", country="  ")]  # no value: "not given", not "other"
    # Everyone's first order a year before the data ends, so everyone is in lifetime_counts.
    orders = [order(f"o-{p['customer_id']}", p["customer_id"], "2023-03-01") for p in people]
    orders.append(order("last", "fr0", "2024-06-30"))
    con = build_warehouse(period="2024-Q2", customers=people, orders=orders,
                          params_override={"segment_columns": "auto", "max_segment_values": 3})
    kept = con.execute("SELECT segment, customers FROM segment_values WHERE segment_column = 'country' "
                       "ORDER BY rank").fetchall()
    assert kept == [("fr", 6), ("de", 5), ("es", 5)]
    # Independently: every customer's group, counted from the rows written above.
    largest = sorted(COUNTRY_SIZES, key=lambda c: (-COUNTRY_SIZES[c], c))[:3]
    expected = Counter(p["country"] if p["country"] in largest else ("not given" if not p["country"].strip() else "other")
                       for p in people)
    counts = con.execute("SELECT segment, sum(churned + censored)::INTEGER FROM lifetime_counts "
                         "WHERE segment_column = 'country' GROUP BY ALL").fetchall()
    assert dict(counts) == dict(expected) == {"fr": 6, "de": 5, "es": 5, "other": 20, "not given": 2}
    everyone = con.execute("SELECT sum(churned + censored) FROM lifetime_counts WHERE segment_column = 'all'").fetchone()[0]
    assert sum(expected.values()) == everyone == len(people)
    lines = segments.grouping_lines(con.execute("SELECT * FROM segment_choice").df(), 3)
    assert lines == ["`country` has 12 values: the 3 with the most customers are shown and the other 9 grouped as `other`."]


# --- What the pages say -------------------------------------------------------------------------------------


def run_cohort_page(tmp_path, people, params_override):
    from test_cohorts import TRIANGLE_ORDERS

    data = write_exports(tmp_path / "data", customers=people, orders=TRIANGLE_ORDERS)
    params = dict(load_params(), **params_override)
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", data, parse_period("2024-Q1"), params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    out = tmp_path / "page"
    execute.run_notebook(execute.NOTEBOOKS_DIR / "10_cohort_retention.ipynb", tmp_path / "cohorts.ipynb",
                         {"period": "2024-Q1", "warehouse": str(path), "params_file": str(tmp_path / "params.yaml"),
                          "output_dir": str(out), "private_dir": str(tmp_path / "private")})
    return [o["data"]["text/markdown"] for cell in nbformat.read(tmp_path / "cohorts.ipynb", as_version=4).cells
            if cell.cell_type == "code" for o in cell.get("outputs", []) if "text/markdown" in o.get("data", {})]


def test_an_absent_listed_column_gives_one_line_and_no_section(tmp_path):
    people = [customer(c, plan="basic" if c in ("c1", "c3") else "plus") for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")]
    shown = run_cohort_page(tmp_path, people, {"segment_columns": ["plan", "region"]})
    text = "\n".join(shown)
    assert text.count("Segment column `region` is not in the customers export: no breakdown by it.") == 1
    table = next(t for t in shown if "Retention by segment in 2024" in t)
    assert "| plan: basic" in table and "region" not in table
    assert "(blank)" not in text


def test_no_segment_column_gives_no_segment_section_and_no_segment_sentence(tmp_path):
    people = [customer(c) for c in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")]
    shown = run_cohort_page(tmp_path / "listed", people, {"segment_columns": ["plan"]})
    text = "\n".join(shown)
    assert "Segment column `plan` is not in the customers export: no breakdown by it." in text
    assert "Retention by segment in" not in text and "The segment that moved most" not in text
    assert "No segment had" not in text  # not "too few customers": there are no segments at all
    shown = run_cohort_page(tmp_path / "auto", people, {"segment_columns": "auto"})
    assert "No customer column has two or more values given, so there is no breakdown by segment." in "\n".join(shown)


def test_no_page_shows_blank_when_a_segment_column_is_blank_for_some_customers(tmp_path, sample_data):
    # The sample with `plan` emptied for every fifth customer, built and rendered whole: the segment is
    # "not given", and "(blank)" is nowhere in the site (pages, chart data, downloads).
    from retention_report.pipeline import Build

    data = tmp_path / "data"
    shutil.copytree(sample_data, data)
    with (sample_data / "customers.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        if i % 5 == 0:
            row["plan"] = ""
    with (data / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = Build(parse_period("2024-Q2"), data, tmp_path / "site" / "_site", build_root=tmp_path / "build",
                   use_quarto=False).run()
    files = [f for f in result.site.rglob("*") if f.is_file() and f.suffix in (".html", ".csv", ".json", ".md")]
    assert any(f.name == "cohorts.html" for f in files)
    assert [f.name for f in files if "(blank)" in f.read_text(encoding="utf-8")] == []
    retention = pd.read_csv(result.site / "2024-Q2" / "data" / "segment_retention.csv", keep_default_na=False)
    assert "not given" in set(retention[retention.segment_column == "plan"].segment)
    assert "plan: not given" in (result.site / "2024-Q2" / "cohorts.html").read_text(encoding="utf-8")
