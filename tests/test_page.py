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
