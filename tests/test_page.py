"""What a notebook writes for its page: CSV downloads that a spreadsheet opens as data, never as formulas."""

import csv

import pandas as pd

from retention_report.page import Page, inert_in_a_spreadsheet


def test_text_a_spreadsheet_would_run_gets_an_apostrophe_and_numbers_stay(tmp_path):
    page = Page(tmp_path)
    frame = pd.DataFrame({
        "comment": ['=HYPERLINK("http://x.example","click")', "+1 555 0100 call me", "@SUM(A1:A9)", "-minus",
                    "\tTabbed", "fine, thanks", "-3.5", None],
        "score": [1, 2, 3, 4, 5, 6, 7, 8],
        "change": [-0.5, 0.25, -1.0, 2.0, 0.0, 1.5, -2.0, 3.0],
    })
    path = page.save_table(frame, "comments")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["comment"] for r in rows] == [
        '\'=HYPERLINK("http://x.example","click")', "'+1 555 0100 call me", "'@SUM(A1:A9)", "'-minus", "'\tTabbed",
        "fine, thanks", "-3.5", ""]
    assert [r["change"] for r in rows][:3] == ["-0.5", "0.25", "-1"]  # numeric columns untouched
    assert frame["comment"][0].startswith("=")  # the caller's frame is not changed


def test_only_text_starting_like_a_formula_changes():
    assert inert_in_a_spreadsheet("=1+1") == "'=1+1"
    assert inert_in_a_spreadsheet("a=1") == "a=1"
    assert inert_in_a_spreadsheet("+44") == "+44"  # a number, as a spreadsheet would read it anyway
    assert inert_in_a_spreadsheet(-4) == -4 and inert_in_a_spreadsheet(None) is None


# --- shown tables: plain words, units and formats (the CSV keeps the machine columns) -----------------------

import math  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

from retention_report import page as page_module  # noqa: E402
from retention_report.page import COLUMNS, FORMATS, format_value, markdown_table, shown_table  # noqa: E402


def _shown_markdown(tmp_path, capsys, frame, **kwargs):
    """What show_table displays, as the notebook's markdown output."""
    shown = []
    page_module.display = lambda obj: shown.append(obj._repr_mimebundle_()["text/markdown"])
    try:
        Page(tmp_path, currency=kwargs.pop("currency", None)).show_table(frame, "t", **kwargs)
    finally:
        from IPython.display import display
        page_module.display = display
    return re.sub(r"\\(.)", r"\1", shown[0])  # markdown escapes undone, to read it


def test_a_mart_shown_as_it_is_reads_in_plain_words_with_units_and_the_csv_keeps_machine_names(tmp_path, capsys):
    coverage = pd.DataFrame({
        "metric": ["welcomed_within_7_days"] * 3,
        "segment": ["all", "welcome_channel: email", "welcome_channel: sms"],
        "customers": [1707, 1707, 1707], "covered": [1425, 872, 300],
        "rate": [0.8348, 0.5108, 0.1757], "ci_low": [0.816, 0.487, 0.16], "ci_high": [0.852, 0.535, 0.19],
        "median_days_to_welcome": [3.0, 2.5, float("nan")],
    })
    text = _shown_markdown(tmp_path, capsys, coverage, caption="Welcome coverage")
    header = next(line for line in text.splitlines() if line.startswith("| "))
    assert "_" not in header and "median time to first welcome (days)" in header
    assert "95% interval, low" in header and "metric" not in header  # one value on every row: in the caption
    assert "**Welcome coverage — metric: welcomed within 7 days**" in text
    assert "| all | 1,707 | 1,425 | 83.5% | 81.6% | 85.2% | 3 |" in text  # days whole, rates as %
    assert "| 3 |" in text and "3.00" not in text and "2.50" not in text
    assert "welcome_channel: sms | 1,707 | 300 | 17.6% | 16.0% | 19.0% | – |" in text  # no nan
    csv_header = (tmp_path / "data" / "t.csv").read_text().splitlines()[0]
    assert csv_header == "metric,segment,customers,covered,rate,ci_low,ci_high,median_days_to_welcome"


def test_interval_bounds_take_the_format_of_their_estimate():
    nps = shown_table(pd.DataFrame({"segment": ["a", "b"], "nps": [29.29, -3.4], "ci_low": [1.15, -20.5],
                                    "ci_high": [63.14, 12.0]}))
    assert nps.headers == ["segment", "NPS", "95% interval, low", "95% interval, high"]
    assert nps.rows == [["a", "+29", "+1", "+63"], ["b", "-3", "-21", "+12"]]
    change = shown_table(pd.DataFrame({"against": ["2024-Q1"], "change": [5.54], "ci_low": [-2.5], "ci_high": [13.56]}))
    assert change.rows == [["2024-Q1", "+5.5", "-2.5", "+13.6"]]
    rates = shown_table(pd.DataFrame({"group": ["x", "y"], "retention_rate": [0.5, 0.25], "ci_low": [0.4, 0.2],
                                      "ci_high": [0.6, 0.3]}))
    assert rates.rows[0] == ["x", "50.0%", "40.0%", "60.0%"]


def test_money_columns_carry_the_currency_in_header_and_cells():
    table = shown_table(pd.DataFrame({"period_role": ["current", "year_ago"], "refunded_amount": [12.5, 3.0]}),
                        {"refunded_amount": "money"}, "GBP")
    assert table.headers == ["period", "refunded amount (£)"]
    assert table.rows == [["this period", "£12.50"], ["a year earlier", "£3.00"]]


def test_numbers_equal_on_every_row_stay_columns_and_empty_columns_go():
    table = shown_table(pd.DataFrame({"currency": ["GBP", "USD"], "orders": [1, 1], "status": ["", ""],
                                      "retained": [float("nan")] * 2}))
    assert table.headers == ["currency", "orders"] and table.caption_parts == []
    one_row = shown_table(pd.DataFrame({"metric": ["x_y"], "customers": [3]}))
    assert one_row.headers == ["metric", "customers"]  # one row: nothing repeats


def test_no_forbidden_token_in_any_format():
    for kind in FORMATS:
        for value in [float("nan"), None, pd.NaT, pd.NA, math.inf, -math.inf, -0.0001, 0.0]:
            text = format_value(value, kind, "EUR")
            assert text not in ("nan", "NaN", "NaT", "None", "inf", "-inf", "<NA>") and not text.startswith("-0"), \
                (kind, value, text)
    assert format_value(2.5, "days") == "3" and format_value(1234.0, "count") == "1,234"
    assert format_value(pd.Timestamp("2024-06-30")) == "2024-06-30"
    assert format_value(pd.Timestamp("2024-06-30 13:05:09")) == "2024-06-30 13:05"


def test_every_mapped_column_has_a_known_format_and_no_machine_label():
    for name, col in COLUMNS.items():
        assert col.kind in FORMATS, name
        assert "_" not in col.label, name


def test_markdown_table_keeps_its_signature_and_reads_plain_words():
    text = markdown_table(pd.DataFrame({"rows_read": [3, 4], "export": ["orders", "orders"]}))
    assert text.splitlines()[0] == "| rows read | export |"  # lift_constant is off by default here



def test_a_signed_change_that_rounds_to_zero_has_no_sign():
    from retention_report.page import signed, signed_points

    assert [signed_points(v) for v in (0.151, -0.02, -0.0004, 0.0004, 0.0)] == ["+15.1", "-2.0", "0.0", "0.0", "0.0"]
    assert signed_points(-0.004, 0) == "0" and signed_points(0.006, 0) == "+1"
    assert [signed(v, 0) for v in (-0.4, -2004.2, 12.6)] == ["0", "-2,004", "+13"]
    assert signed(-0.004, 2) == "0.00" and signed(-0.006, 2) == "-0.01"
