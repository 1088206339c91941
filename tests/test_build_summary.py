"""What a build says about its exports: the per-export summary every build ends with, the warning and the summary
page's notice when much of an export was set aside, and how the data quality and methodology pages describe
exports read as lines, ids normalised and customers derived. Money in the converted build is checked against an
independent computation."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from conftest import SAMPLE_PERIOD, customer, order, write_exports
from retention_report import pipeline, warehouse
from retention_report.cli import app
from retention_report.validate import ExportSummary, Problem, heavily_set_aside, report_lines, warning_share

RATES = {"GBP": 1.17, "USD": 0.92}


def _orders():
    good = [dict(order(f"o{i}", f"c{i % 10}", f"2024-0{1 + i % 6}-{10 + i % 15} 10:00:00", f"{10 + 3.55 * i:.2f}",
                       "refunded" if i % 7 == 3 else "completed"), currency="GBP" if i % 2 else "USD")
            for i in range(30)]
    # 20 of 50 rows break the contract (a negative amount on a completed order): 40% set aside.
    bad = [dict(order(f"x{i}", f"c{i % 10}", f"2024-05-0{1 + i % 9} 10:00:00", "-5.00"), currency="GBP")
           for i in range(20)]
    return good + bad


@pytest.fixture(scope="module")
def heavy_build(tmp_path_factory):
    """A CLI build of exports whose orders are 40% broken, in GBP and USD reported in EUR."""
    tmp = tmp_path_factory.mktemp("heavy")
    orders = _orders()
    write_exports(tmp / "exports", customers=[customer(f"c{i}") for i in range(10)], orders=orders)
    params = tmp / "params.yaml"
    params.write_text(yaml.safe_dump({"reporting_currency": "EUR", "fx_rates": RATES}), encoding="utf-8")

    class IsolatedBuild(pipeline.Build):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("build_root", tmp / "build")
            super().__init__(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "Build", IsolatedBuild)
        result = CliRunner().invoke(app, ["build", "--period", "2024-Q2", "--data", str(tmp / "exports"),
                                          "--site", str(tmp / "site" / "_site"), "--params", str(params),
                                          "--renderer", "nbconvert"])
    return result, tmp, orders


def test_a_build_ends_with_each_exports_rows_and_warns_when_much_was_set_aside(heavy_build):
    result, tmp, _ = heavy_build
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "orders: 50 rows read, 30 staged, 20 set aside; dates 2024-01-10 to 2024-06-24" in lines
    assert "amount: negative amount: 20 row(s)" in lines
    assert lines[-1] == ("warning: 40.0% of the orders rows (20 of 50) were set aside, more than "
                         "set_aside_warning_share (5%): the figures leave them out; the data quality page lists why.")
    assert "customers: 10 rows read, 10 staged, 0 set aside; dates 2024-01-01 to 2024-01-01" in lines
    assert not any(line.startswith("warning:") for line in lines[:-1])  # customers: nothing set aside
    assert (tmp / "site" / "_site" / "2024-Q2" / "index.html").is_file()  # published all the same


def test_the_summary_page_opens_with_a_notice_linking_the_data_quality_page(heavy_build):
    _, tmp, _ = heavy_build
    page = (tmp / "site" / "_site" / "2024-Q2" / "index.html").read_text(encoding="utf-8")
    notice = page.index('class="rr-notice"')
    assert notice < page.index('class="rr-kpis"')  # before the figures it qualifies
    block = page[notice:page.index("</div>", notice)]
    assert "40.0% of the orders rows (20 of 50) were set aside" in block
    assert 'href="data-quality.html"' in block
    assert (tmp / "site" / "_site" / "2024-Q2" / "data-quality.html").is_file()


def test_converted_revenue_equals_an_independent_computation_and_pages_show_euros(heavy_build):
    _, tmp, orders = heavy_build
    expected = sum((Decimal(o["amount"]) * Decimal(str(RATES[o["currency"]]))).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for o in orders if o["status"] == "completed" and not o["amount"].startswith("-")
                   and "2024-04-01" <= o["ordered_at"] < "2024-07-01")
    kpis = pd.read_csv(tmp / "build" / "2024-Q2" / "data" / "period_kpis.csv").set_index("metric")
    assert Decimal(str(kpis.loc["revenue", "value"])).quantize(Decimal("0.01")) == expected
    site = tmp / "site" / "_site" / "2024-Q2"
    cohorts = re.sub(r"\s+", " ", (site / "cohorts.html").read_text(encoding="utf-8"))
    shown = expected.quantize(Decimal("1"), ROUND_HALF_UP)  # the period figures show whole euros
    # The orders end on 2024-06-24, before the quarter does: the period table marks its revenue partial.
    assert f'<td style="text-align:left">€{shown:,} (partial)</td>' in cohorts
    methodology = (site / "methodology.html").read_text(encoding="utf-8")
    assert "Rates used to convert the orders into EUR" in methodology and "1.17" in methodology


def test_orders_in_two_currencies_without_rates_stop_the_build_with_one_line(tmp_path, monkeypatch):
    write_exports(tmp_path / "exports", customers=[customer("c0")],
                  orders=[dict(order("o1", "c0", "2024-04-02"), currency="GBP"),
                          dict(order("o2", "c0", "2024-05-02"), currency="USD")])

    class IsolatedBuild(pipeline.Build):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("build_root", tmp_path / "build")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "Build", IsolatedBuild)
    result = CliRunner().invoke(app, ["build", "--period", "2024-Q2", "--data", str(tmp_path / "exports"),
                                      "--site", str(tmp_path / "site" / "_site"), "--renderer", "nbconvert"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert ("error: stage 'warehouse' failed: orders hold amounts in 2 currencies (GBP, USD): set reporting_currency "
            "and fx_rates in params to convert them (full log:") in text
    assert "SqlModelError" not in text and "Invalid Input Error" not in text
    assert not (tmp_path / "site").exists()


def test_the_warning_is_for_more_than_the_share_not_the_share_itself():
    def summary(read, aside):
        return ExportSummary("orders", True, True, read, read - aside, None, None,
                             [Problem("amount", "negative amount", aside)] if aside else [])

    at, over = summary(100, 5), summary(100, 6)
    assert heavily_set_aside([at, over, summary(0, 0)], 0.05) == [over]
    assert not any(line.startswith("warning:") for line in report_lines([at], Path("d"), warning_share=0.05))
    assert report_lines([over], Path("d"), warning_share=0.05)[-1].startswith(
        "warning: 6.0% of the orders rows (6 of 100) were set aside")
    # validate's own last line is unchanged.
    assert report_lines([at], Path("d"))[-1] == "Usable: 5 row(s) would be set aside (a build with --strict would fail)."


def test_the_warning_share_is_a_share_from_0_to_1():
    assert warning_share({}) == 0.05 and warning_share({"set_aside_warning_share": None}) == 0.05
    assert warning_share({"set_aside_warning_share": 0}) == 0.0
    for bad in (1.5, -0.1, "5%", True):
        with pytest.raises(ValueError, match="set_aside_warning_share must be a share from 0 to 1"):
            warning_share({"set_aside_warning_share": bad})


def test_the_sample_has_no_warning_and_no_notice(sample_site, sample_data):
    lines = report_lines(sample_site.exports, sample_data, examples=False, warning_share=0.05, built=True)
    assert [s.export for s in sample_site.exports] == ["customers", "orders", "nps_responses", "touchpoints",
                                                      "support_tickets", "events", "subscriptions"]
    assert not any(line.startswith("warning:") for line in lines)
    assert lines[-1].startswith("19 row(s) set aside in all")
    page = (sample_site.site / SAMPLE_PERIOD / "index.html").read_text(encoding="utf-8")
    assert "rr-notice" not in page and "Data quality notice" not in page


def test_the_sample_cohort_page_counts_refunds_as_pandas_does(sample_site, sample_data):
    orders = pd.read_csv(sample_data / "orders.csv", dtype=str, keep_default_na=False)
    known = set(pd.read_csv(sample_data / "customers.csv", dtype=str, keep_default_na=False).customer_id) - {""}
    orders["ts"] = pd.to_datetime(orders.ordered_at, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    orders["amount_n"] = pd.to_numeric(orders.amount, errors="coerce")
    valid = orders[orders.ts.notna() & (orders.amount_n >= 0) & orders.customer_id.isin(known)
                   & (orders.order_id != "")].drop_duplicates("order_id", keep="first")
    in_period = valid[(valid.ts >= "2024-04-01") & (valid.ts < "2024-07-01")]
    failed = in_period[in_period.status.isin(["refunded", "cancelled"])]
    ours = pd.read_csv(sample_site.build_dir / "data" / "order_refunds.csv").set_index("period_role").loc["current"]
    assert ours.orders == len(in_period)
    assert (ours.refunded_orders, ours.cancelled_orders) == ((failed.status == "refunded").sum(),
                                                             (failed.status == "cancelled").sum())
    assert ours.refunded_amount == pytest.approx(failed.amount_n.abs().sum(), abs=0.005)
    page = " ".join((sample_site.site / SAMPLE_PERIOD / "cohorts.html").read_text(encoding="utf-8").split())
    assert f"€{failed.amount_n.abs().sum():,.2f} in all" in page
    assert f"a refund rate of <strong>{100 * len(failed) / len(in_period):.1f}%</strong>" in page


def _as_staging_will_fill_it(path: Path, params: dict) -> None:
    """export_files as the line-item staging writes it: orders read as lines, ids normalised, customers derived."""
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE export_files SET grain = 'line', rows_read = 541909, records = 25900, "
                    "ids_normalised = 406829 WHERE export = 'orders'")
        con.execute("UPDATE export_files SET present = false, derived = true WHERE export = 'customers'")
        mart = warehouse.SQL_DIR / "marts" / "data_quality_summary.sql"
        warehouse.run_sql(con, mart.read_text(encoding="utf-8"), {}, str(mart))


EXPORTS = dict(customers=[customer(f"c{i}") for i in range(3)],
               orders=[order(f"o{i}", f"c{i % 3}", f"2024-0{1 + i % 3}-05") for i in range(6)])


def test_the_data_quality_page_counts_lines_orders_normalised_ids_and_derived_customers(run_page):
    markdown = run_page("40_data_quality.ipynb", prepare=_as_staging_will_fill_it, **EXPORTS)
    assert ("**orders**: given as lines, 541,909 lines grouped into 25,900 orders (one per id; the amount is the sum "
            "of its lines).") in markdown
    assert "**orders**: 406,829 ids were written as whole numbers with a trailing .0" in markdown
    assert "**customers**: not provided, so derived from the orders: 3 customers, each created at their first order." \
        in markdown
    assert "Not provided: customers" not in markdown  # derived, not missing
    assert "records formed" in markdown  # the table's column, shown only when some export came as lines
    assert "nan" not in markdown.lower() and "None" not in markdown


def test_the_data_quality_page_of_plain_row_exports_says_nothing_of_lines(run_page):
    markdown = run_page("40_data_quality.ipynb", **EXPORTS)
    assert "given as lines" not in markdown and "trailing .0" not in markdown and "derived" not in markdown
    assert "records formed" not in markdown


def test_the_methodology_page_says_the_customers_were_derived(run_page):
    markdown = run_page("90_methodology.ipynb", prepare=_as_staging_will_fill_it, **EXPORTS)
    assert ("**Customers:** there was no customers export, so the customers were derived from the orders, each "
            "created at their first order") in markdown
    plain = run_page("90_methodology.ipynb", **EXPORTS)
    assert "**Customers:**" not in plain


# --- the real export: invoice lines, no customer file, cancellations as invoices, ids as 17850.0 ---------------

from test_online_retail import END, LINES, PERIOD as RETAIL_PERIOD, START, oracle, retail_site  # noqa: E402,F401


@pytest.mark.skipif(not LINES.is_dir(), reason="../shared/data/online-retail is not beside the project")
def test_the_real_exports_pages_say_how_it_was_read_and_count_its_cancellations(retail_site, oracle):
    site = retail_site.site / RETAIL_PERIOD
    text = lambda page: " ".join(re.sub(r"<[^>]+>", " ", (site / f"{page}.html").read_text(encoding="utf-8")).split())
    lines, = oracle.execute("SELECT count(*) FROM read_csv($f, all_varchar = true)",
                            {"f": sorted(str(p) for p in LINES.glob("*.csv"))}).fetchone()
    invoices, = oracle.execute("SELECT count(DISTINCT InvoiceNo) FROM read_csv($f, all_varchar = true)",
                               {"f": sorted(str(p) for p in LINES.glob("*.csv"))}).fetchone()
    quality = text("data-quality")
    assert f"given as lines, {lines:,} lines grouped into {invoices:,} orders" in quality
    assert "ids were written as whole numbers with a trailing .0" in quality
    assert "not provided, so derived from the orders" in quality
    assert "customers were derived from the orders, each created at their first order" in text("methodology")
    # Cancellations of the quarter, as the raw lines give them: invoices C... with a customer, absolute sum.
    count, amount = oracle.execute("SELECT count(*), sum(abs(amount)) FROM invoices WHERE cancelled "
                                   "AND ordered >= $s AND ordered < $e", {"s": START, "e": END}).fetchone()
    cohorts = text("cohorts")
    assert f"0 refunded, {count:,} cancelled" in cohorts and f"£{amount:,.2f} in all" in cohorts
    assert "Revenue £2,198,273 " in cohorts  # issue 14: £2,198,273.29
    # A quarter of the lines name no customer: the summary opens with the notice.
    summary = (site / "index.html").read_text(encoding="utf-8")
    assert summary.index('class="rr-notice"') < summary.index('class="rr-kpis"')

