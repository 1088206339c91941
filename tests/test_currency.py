"""Money in its currency: the one formatter, the params that convert several currencies into one, the build
that stops naming the currencies it cannot convert, and the pages that show amounts with their symbol."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from conftest import customer, order
from retention_report import currency, warehouse
from retention_report.page import currency_label, format_money, format_value, markdown_table, money_title
from retention_report.params import load_params


def priced(order_id, customer_id, ordered_at, amount, code, status="completed"):
    return dict(order(order_id, customer_id, ordered_at, amount, status), currency=code)


# --- the formatter ---------------------------------------------------------------------------------------


def test_amounts_carry_the_symbol_of_euro_pound_and_dollar_and_the_code_of_any_other():
    assert format_money(1234.5, "EUR") == "€1,234.50"
    assert format_money(1234.5, "GBP") == "£1,234.50"
    assert format_money(1234.5, "USD") == "$1,234.50"
    assert format_money(1234.5, "CHF") == "CHF 1,234.50"
    assert format_money(1234.5, "gbp") == "£1,234.50"  # codes as staging upper-cases them, or not
    assert format_money(-3, "EUR") == "-€3.00" and format_money(-3, "JPY", decimals=0) == "-JPY 3"
    assert format_money(85771.4, "GBP", decimals=0, signed=True) == "+£85,771"
    assert format_money(-0.001, "EUR") == "€0.00"  # never -€0.00
    assert format_money(Decimal("55997.88"), "EUR") == "€55,997.88"
    # Half up, from the decimal the value is written as: 940.5 -> 941, and 2.675 (a binary 2.67499...) -> 2.68.
    assert format_money(940.5, "EUR", decimals=0) == "€941" and format_money(2.675, "GBP") == "£2.68"
    assert format_money(-940.5, "EUR", decimals=0) == "-€941"


def test_without_a_currency_an_amount_is_a_plain_number_and_a_missing_one_a_dash():
    assert format_money(1234.5, None) == "1,234.50" and format_money(1234.5, "") == "1,234.50"
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        assert format_money(missing, "EUR") == "–"
    assert money_title("Revenue", "GBP") == "Revenue (£)" and money_title("Revenue", None) == "Revenue"
    assert money_title("Revenue", "SEK") == "Revenue (SEK)"


def test_a_currency_written_in_the_data_never_brings_markup_into_the_page():
    assert currency_label("<script>") == "SCRIPT"
    assert format_money(1, "<b>x") == "BX 1.00"
    assert currency_label("*_[]") == "" and format_money(2, "*_[]") == "2.00"


def test_tables_format_money_columns_in_the_page_currency():
    frame = pd.DataFrame({"period": ["2024-Q2", "2024-Q1"], "revenue": [1234.5, float("nan")], "share": [0.25, 1.0]})
    table = markdown_table(frame, {"revenue": "money", "share": "percent"}, currency="GBP")
    assert "| 2024\\-Q2 | £1,234.50 | 25.0% |" in table and "| 2024\\-Q1 | – | 100.0% |" in table
    assert format_value(12.5, "money") == "12.50"  # no currency given: the number alone
    assert "nan" not in table.lower()


# --- the params --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, refused", [
    ({"reporting_currency": "euro"}, "reporting_currency must be a three-letter currency code"),
    ({"reporting_currency": 12}, "reporting_currency must be a three-letter currency code"),
    ({"fx_rates": {"GBP": 1.17}}, "fx_rates needs reporting_currency"),
    ({"reporting_currency": "EUR", "fx_rates": [1.17]}, "fx_rates must map currency codes to rates"),
    ({"reporting_currency": "EUR", "fx_rates": {"GBP": 0}}, "the rate of GBP must be a number above 0"),
    ({"reporting_currency": "EUR", "fx_rates": {"GBP": "1.17"}}, "the rate of GBP must be a number above 0"),
    ({"reporting_currency": "EUR", "fx_rates": {"GBP": float("nan")}}, "the rate of GBP must be a number above 0"),
    ({"reporting_currency": "EUR", "fx_rates": {"pound": 1.17}}, "'pound' is not a three-letter currency code"),
])
def test_currency_params_that_cannot_convert_are_refused_in_one_line(params, refused):
    with pytest.raises(currency.CurrencyError, match=refused):
        currency.check_currency_params(params)


def test_well_formed_currency_params_pass_and_read_upper_case():
    params = {"reporting_currency": "eur", "fx_rates": {"gbp": 1.17, "USD": 1}}
    currency.check_currency_params(params)
    currency.check_currency_params(load_params())  # the defaults: none set
    assert currency.reporting_code(params) == "EUR" and currency.fx_rates(params) == {"GBP": 1.17, "USD": 1.0}


# --- the warehouse -------------------------------------------------------------------------------------------

CUSTOMERS = [customer(f"c{i}") for i in range(4)]


def test_orders_in_several_currencies_stop_the_build_naming_them(build_warehouse):
    orders = [priced("o1", "c0", "2024-01-05", "10.00", "GBP"), priced("o2", "c1", "2024-01-06", "10.00", "USD"),
              priced("o3", "c2", "2024-01-07", "10.00", "EUR"), priced("o4", "c3", "2024-01-08", "10.00", "")]
    with pytest.raises(warehouse.SqlModelError) as stopped:
        build_warehouse(customers=CUSTOMERS, orders=orders)
    assert currency.stopped_by_model(stopped.value) == (
        "orders hold amounts in 3 currencies (EUR, GBP, USD): set reporting_currency and fx_rates in params to "
        "convert them")


def test_a_currency_without_a_rate_stops_the_build_naming_it(build_warehouse):
    orders = [priced("o1", "c0", "2024-01-05", "10.00", "GBP"), priced("o2", "c1", "2024-01-06", "10.00", "USD"),
              priced("o3", "c2", "2024-01-07", "10.00", "EUR"), priced("o4", "c3", "2024-01-07", "10.00", "SEK")]
    with pytest.raises(warehouse.SqlModelError) as stopped:
        build_warehouse(customers=CUSTOMERS, orders=orders,
                        params_override={"reporting_currency": "EUR", "fx_rates": {"GBP": 1.17}})
    assert currency.stopped_by_model(stopped.value) == (
        "orders hold amounts in SEK, USD, which fx_rates in params gives no rate for: add SEK: <EUR per SEK>, "
        "USD: <EUR per USD> (reporting_currency is EUR)")
    # One currency that is not the reporting one needs its rate too.
    with pytest.raises(warehouse.SqlModelError) as stopped:
        build_warehouse(customers=CUSTOMERS, orders=orders[:1], params_override={"reporting_currency": "EUR"})
    assert "orders hold amounts in GBP, which fx_rates in params gives no rate for" in \
        currency.stopped_by_model(stopped.value)


def independent_revenue(orders, rates, start="2024-01-01", end="2024-04-01"):
    """Completed orders in [start, end), each converted and rounded to the cent as a bank would (half up)."""
    total = Decimal("0")
    for o in orders:
        if o["status"] == "completed" and start <= o["ordered_at"] < end:
            rate = Decimal(str(rates.get(o["currency"], 1)))
            total += (Decimal(o["amount"]) * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return total


def test_fx_rates_convert_every_amount_before_the_marts(build_warehouse):
    rates = {"GBP": 1.17, "USD": 0.92}
    orders = [priced("o1", "c0", "2024-01-05", "10.50", "GBP"),  # 12.285: half a cent, rounded up
              priced("o2", "c1", "2024-02-06", "99.99", "USD"), priced("o3", "c2", "2024-02-07", "20.00", "EUR"),
              priced("o4", "c3", "2024-03-08", "7.25", ""),  # no currency given: taken to be EUR
              priced("o5", "c0", "2024-03-09", "40.00", "GBP", status="refunded"),
              priced("o6", "c1", "2024-03-10", "1234.56", "GBP"), priced("o7", "c2", "2023-12-30", "5.00", "USD")]
    con = build_warehouse(customers=CUSTOMERS, orders=orders, keep_staging=True,
                          params_override={"reporting_currency": "EUR", "fx_rates": rates})
    revenue = con.execute("SELECT value FROM period_kpis WHERE metric = 'revenue'").fetchone()[0]
    expected = independent_revenue(orders, rates)
    assert expected == Decimal("12.29") + Decimal("91.99") + Decimal("20.00") + Decimal("7.25") + Decimal("1444.44")
    assert Decimal(str(revenue)).quantize(Decimal("0.01")) == expected
    assert con.execute("SELECT DISTINCT currency FROM stg_orders WHERE currency IS NOT NULL").fetchall() == [("EUR",)]
    assert con.execute("SELECT * FROM reporting_currency").fetchone() == ("EUR", True)
    used = {c: (n, float(r)) for c, n, r in con.execute("SELECT currency, orders, rate FROM order_currencies").fetchall()}
    assert used == {"EUR": (1, 1.0), "GBP": (3, 1.17), "USD": (2, 0.92), None: (1, 1.0)}
    refunded = con.execute("SELECT refunded_orders, refunded_amount FROM order_refunds WHERE period_role = 'current'")
    assert refunded.fetchone() == (1, Decimal("46.80"))  # 40.00 GBP at 1.17


def test_one_currency_needs_no_params_and_none_at_all_is_reported_as_not_given(build_warehouse):
    con = build_warehouse(customers=CUSTOMERS, orders=[priced("o1", "c0", "2024-01-05", "10.00", "gbp"),
                                                       priced("o2", "c1", "2024-01-06", "5.00", "")])
    assert con.execute("SELECT * FROM reporting_currency").fetchone() == ("GBP", False)
    con = build_warehouse(customers=CUSTOMERS, orders=[order("o1", "c0", "2024-01-05")])  # no currency column
    assert con.execute("SELECT * FROM reporting_currency").fetchone() == (None, False)
    con = build_warehouse(customers=CUSTOMERS, orders=[order("o1", "c0", "2024-01-05")],
                          params_override={"reporting_currency": "USD", "fx_rates": {"GBP": 1.27}})
    assert con.execute("SELECT * FROM reporting_currency").fetchone() == ("USD", False)


# --- the pages ---------------------------------------------------------------------------------------------------


def test_the_methodology_page_lists_the_rates_used(run_page):
    orders = [priced("o1", "c0", "2024-01-05", "10.00", "GBP"), priced("o2", "c1", "2024-01-06", "10.00", "USD"),
              priced("o3", "c2", "2024-02-07", "10.00", "EUR")]
    markdown = run_page("90_methodology.ipynb", customers=CUSTOMERS, orders=orders,
                        params_override={"reporting_currency": "EUR", "fx_rates": {"GBP": 1.17, "USD": 0.92}})
    assert "**Money:** every amount is in EUR; orders in GBP, USD were converted into it" in markdown
    assert "| GBP | 1 | 1.17 |" in markdown and "| USD | 1 | 0.92 |" in markdown
    assert "| reporting\\_currency | EUR |" in markdown and "| fx\\_rates | GBP: 1.17, USD: 0.92 |" in markdown
    assert "None" not in markdown and "nan" not in markdown.lower()


def test_the_methodology_page_says_when_the_orders_give_no_currency(run_page):
    markdown = run_page("90_methodology.ipynb", customers=CUSTOMERS, orders=[order("o1", "c0", "2024-01-05")])
    assert "the orders give no currency, so amounts are shown as plain numbers" in markdown
    assert "| reporting\\_currency | not set |" in markdown and "| fx\\_rates | none |" in markdown
    assert "Rates used" not in markdown and "None" not in markdown


def test_the_cohort_page_counts_refunds_in_the_currency_and_says_plainly_when_there_are_none(run_page, tmp_path):
    orders = [priced("o1", "c0", "2024-01-05", "12.00", "GBP"), priced("o2", "c1", "2024-02-06", "30.00", "GBP"),
              priced("o3", "c2", "2024-02-07", "8.50", "GBP", status="refunded"),
              priced("o4", "c3", "2024-03-08", "4.25", "GBP", status="cancelled"),
              priced("o5", "c0", "2023-11-08", "9.00", "GBP", status="cancelled")]
    markdown = run_page("10_cohort_retention.ipynb", customers=CUSTOMERS, orders=orders)
    # Independently: 2 of the 4 orders of 2024-Q1 failed, 8.50 + 4.25 = 12.75; 2023-Q4 had 1 of 1, 9.00.
    assert ("Of the 4 orders placed in 2024-Q1, **2** were refunded or cancelled (1 refunded, 1 cancelled): a refund "
            "rate of **50.0%**, £12.75 in all") in markdown
    assert "2023-Q4: 1 of 1 orders (100.0%), £9.00" in markdown and "2023-Q1: no data" in markdown  # before the data: not "no orders"
    assert re.search(r"\| Revenue \| £42 [^|]*\|", markdown), re.findall(r"\| Revenue \|[^\n]*", markdown)  # carries the symbol
    section = markdown[markdown.index("### Refunds and cancellations"):markdown.index("order_refunds.csv")]
    assert "nan" not in section.lower() and "None" not in section and "| 2024\\-Q1 | 4 | 1 | 1 | 50.0% | £12.75 |" in section
    refunds = pd.read_csv(tmp_path / "page" / "data" / "order_refunds.csv").set_index("period_role")
    assert refunds.loc["current", "refunded_amount"] == 12.75 and refunds.loc["current", "refund_rate"] == 0.5


def test_the_cohort_page_without_refunds_says_so(run_page):
    orders = [order("o1", "c0", "2024-01-05"), order("o2", "c1", "2024-02-06")]
    markdown = run_page("10_cohort_retention.ipynb", customers=CUSTOMERS, orders=orders)
    assert "None of the 2 orders placed in 2024-Q1 was refunded or cancelled (2023-Q4: no data; " \
           "2023-Q1: no data)."  # both before the data's first day (2024-01-05): not "no orders" in markdown
    section = markdown[markdown.index("### Refunds and cancellations"):].split("\n\n")[1].split("\n")[0]
    assert section.startswith("None of the 2 orders") and "nan" not in section.lower()
    assert "order_refunds.csv" not in markdown  # no table of zeros
    assert re.search(r"\| Revenue \| 20 [^|]*\|", markdown), re.findall(r"\| Revenue \|[^\n]*", markdown)  # no currency: the number alone


def test_only_the_currency_models_stop_is_shortened_other_models_keep_their_file(build_warehouse):
    with pytest.raises(warehouse.SqlModelError) as failed:
        build_warehouse(customers=CUSTOMERS, orders=[order("o1", "c0", "2024-01-05")],
                        params_override={"cohort_by": "zodiac"})
    assert "cohort_assignments.sql" in str(failed.value) and currency.stopped_by_model(failed.value) is None
