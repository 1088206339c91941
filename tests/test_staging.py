"""Staging on messy real-world exports: every problem of the contract either read correctly or set aside with
file, row, line, column and reason; the counts always add up."""

from pathlib import Path

import duckdb
import pytest

from conftest import customer, order, write_exports
from retention_report import warehouse
from retention_report.exports import ExportError
from retention_report.params import load_params
from retention_report.periods import parse_period

HEADER = "order_id,customer_id,ordered_at,amount\n"
CUSTOMERS = "customer_id,created_at,email\nc1,2024-01-01,ann@example.com\nc2,2024-01-01,bo@example.com\n"


def stage(folder: Path, files: dict[str, str | bytes], exports: dict | None = None, **params) -> duckdb.DuckDBPyConnection:
    """Write raw files as given (text or bytes), run the staging layer only, return a connection."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"customers.csv": CUSTOMERS, **files}
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    settings = dict(load_params(), exports=exports or {}, **params)
    path = warehouse.build_warehouse(folder / "wh.duckdb", folder, parse_period("2024-Q1"), settings,
                                     layers=("staging",))
    return duckdb.connect(str(path), read_only=True)


def aside(con) -> list[tuple]:
    return con.execute('SELECT export, row, line, "column", reason, value FROM set_aside '
                       'WHERE export = \'orders\' ORDER BY row').fetchall()


def adds_up(con) -> None:
    for export in ("customers", "orders", "nps_responses", "touchpoints"):
        read = con.execute("SELECT rows_read FROM export_files WHERE export = $e", {"e": export}).fetchone()[0]
        staged = con.execute(f"SELECT count(*) FROM stg_{export}").fetchone()[0]
        n = con.execute("SELECT count(*) FROM set_aside WHERE export = $e", {"e": export}).fetchone()[0]
        assert read == staged + n, export


def test_semicolon_and_tab_delimiters_are_detected(tmp_path):
    for name, sep in (("semi", ";"), ("tab", "\t")):
        body = HEADER.replace(",", sep) + sep.join(["o1", "c1", "2024-01-05 10:00:00", "5.50"]) + "\n"
        con = stage(tmp_path / name, {"orders.csv": body})
        assert con.execute("SELECT order_id, amount FROM stg_orders").fetchall() == [("o1", 5.5)]


def test_utf8_with_bom_and_latin1_files_are_read(tmp_path):
    bom = ("\ufeff" + HEADER + "o1,c1,2024-01-05,5\n").encode("utf-8")
    customers = "customer_id,created_at,name,city\nc1,2024-01-01,Zoë Müller,Köln\n".encode("latin-1")
    con = stage(tmp_path, {"orders.csv": bom, "customers.csv": customers})
    assert con.execute("SELECT count(*) FROM stg_orders").fetchone()[0] == 1
    assert con.execute("SELECT name, city FROM stg_customers").fetchone() == ("Zoë Müller", "Köln")


def test_quoted_fields_with_newlines_keep_row_and_line_apart(tmp_path):
    body = HEADER.replace("amount", "amount,note") + ('o1,c1,2024-01-05,5,"two\nlines"\n'
                                                      'o2,c1,2024-01-06,-1,x\n')
    con = stage(tmp_path, {"orders.csv": body})
    assert aside(con) == [("orders", 2, 4, "amount", "negative amount", "-1")]


def test_dates_ambiguous_unparseable_formatted_and_in_the_future(tmp_path):
    body = HEADER + ("o1,c1,03/04/2024,1\n"          # day or month first?
                     "o2,c1,31/12/2024,1\n"          # not ISO
                     "o3,c1,yesterday,1\n"
                     "o4,c1,2099-01-01,1\n"          # after the export was written
                     "o5,c1,2024-01-05,1\n")
    con = stage(tmp_path / "a", {"orders.csv": body})
    assert [r[4] for r in aside(con)] == ["ambiguous date (day or month first? set date_format)",
                                          "date not in ISO form (set date_format)", "unparseable date",
                                          "date after the export was written"]
    adds_up(con)
    con = stage(tmp_path / "b", {"orders.csv": HEADER + "o1,c1,03/04/2024,1\no2,c1,2024-04-03,1\no3,c1,3 Apr,1\n"},
                exports={"orders": {"date_format": "%d/%m/%Y"}})
    assert [str(d) for (d,) in con.execute("SELECT ordered_at FROM stg_orders ORDER BY order_id").fetchall()] == [
        "2024-04-03 00:00:00", "2024-04-03 00:00:00"]
    assert [r[4] for r in aside(con)] == ["date does not match date_format"]


def test_timestamps_with_time_zones_are_converted_to_the_timezone_param(tmp_path):
    body = HEADER + ("o1,c1,2024-01-05T14:03:11Z,1\n"
                     "o2,c1,2024-01-05 14:03:11 -0500,1\n"
                     "o3,c1,2024-01-05T14:03:11+02:00,1\n"
                     "o4,c1,2024-01-05 14:03:11,1\n"       # no offset: already in the time zone
                     "o5,c1,1704463391,1\n")               # Unix seconds
    expected_utc = ["2024-01-05 14:03:11", "2024-01-05 19:03:11", "2024-01-05 12:03:11", "2024-01-05 14:03:11",
                    "2024-01-05 14:03:11"]
    con = stage(tmp_path / "utc", {"orders.csv": body})
    assert [str(t) for (t,) in con.execute("SELECT ordered_at FROM stg_orders ORDER BY order_id").fetchall()] == expected_utc
    con = stage(tmp_path / "ny", {"orders.csv": body}, timezone="America/New_York")
    got = [str(t) for (t,) in con.execute("SELECT ordered_at FROM stg_orders ORDER BY order_id").fetchall()]
    assert got == ["2024-01-05 09:03:11", "2024-01-05 14:03:11", "2024-01-05 07:03:11", "2024-01-05 14:03:11",
                   "2024-01-05 09:03:11"]


def test_amounts_scores_duplicates_and_unknown_customers(tmp_path):
    orders = HEADER + "o1,c1,2024-01-05,-2\no2,c1,2024-01-05,12 EUR\no3,c9,2024-01-05,1\no4,c1,2024-01-05,1\no4,c1,2024-01-06,2\n"
    nps = ("response_id,customer_id,responded_at,score\nr1,c1,2024-01-05,11\nr2,c1,2024-01-05,7.5\nr3,,2024-01-05,-1\n"
           "r4,c9,2024-01-05,5\nr5,BO@example.com,2024-01-05,9\n")
    con = stage(tmp_path, {"orders.csv": orders, "nps_responses.csv": nps})
    assert [(r[1], r[4]) for r in aside(con)] == [(1, "negative amount"), (2, "amount is not a number"),
                                                 (3, "unknown customer"), (5, "duplicate order_id")]
    assert con.execute("SELECT amount FROM stg_orders WHERE order_id = 'o4'").fetchone()[0] == 1  # first kept
    reasons = con.execute("SELECT row, reason FROM set_aside WHERE export = 'nps_responses' ORDER BY row").fetchall()
    assert reasons == [(1, "score outside 0-10"), (2, "score is not an integer"), (3, "score outside 0-10"),
                       (4, "unknown customer")]
    # An answer given with a known customer's e-mail address links to that customer.
    assert con.execute("SELECT customer_id FROM stg_nps_responses").fetchall() == [("c2",)]
    adds_up(con)


def test_extra_columns_header_only_and_empty_files(tmp_path):
    con = stage(tmp_path / "header", {"orders.csv": HEADER.replace("amount", "amount,Gift Wrap")})
    assert con.execute("SELECT rows_read FROM export_files WHERE export = 'orders'").fetchone() == (0,)
    with pytest.raises(ExportError, match=r"orders.csv: is empty \(not even a header row\)"):
        stage(tmp_path / "empty", {"orders.csv": ""})
    with pytest.raises(ExportError, match=r"required column 'amount' is missing.*Did you mean 'amuont'"):
        stage(tmp_path / "typo", {"orders.csv": "order_id,customer_id,ordered_at,amuont\n"})


def test_bad_export_settings_are_refused_with_what_is_accepted(tmp_path):
    for exports, message in [({"orders": {"source": "oracle"}}, "not a known preset; known presets: shopify"),
                             ({"orders": {"date_format": "dd/mm"}}, "must be a strptime format"),
                             ({"orders": {"colums": {}}}, "colums is not a setting"),
                             ({"orders": {"columns": {"total": "Total"}}}, "'total', which is not a column")]:
        with pytest.raises(ExportError, match=message):
            stage(tmp_path / "x", {"orders.csv": HEADER}, exports=exports)


def test_a_latin1_byte_far_past_the_sniffed_sample_is_read(tmp_path):
    # The reader sniffs the first rows only: a Latin-1 byte at the end fails the UTF-8 load, which is retried.
    rows = "".join(f"o{i},c1,2024-01-05,1,x\n" for i in range(30_000))
    body = (HEADER.replace("amount", "amount,note") + rows + "o_last,c1,2024-01-06,2,Caf\xe9 cr\xe8me\n").encode("latin-1")
    con = stage(tmp_path, {"orders.csv": body})
    assert con.execute("SELECT count(*) FROM stg_orders").fetchone()[0] == 30_001
    assert con.execute("SELECT amount FROM stg_orders WHERE order_id = 'o_last'").fetchone() == (2,)
    adds_up(con)


def test_dates_after_the_exported_at_param_are_set_aside(tmp_path):
    body = HEADER + "o1,c1,2024-01-05,1\no2,c1,2024-03-02 12:00:00,1\no3,c1,2024-03-15,1\n"
    # A date up to a day after the export was taken is allowed (time zones); later ones cannot be real.
    con = stage(tmp_path / "set", {"orders.csv": body}, exports={"orders": {"exported_at": "2024-03-01"}})
    assert [(r[1], r[3], r[4], r[5]) for r in aside(con)] == [
        (3, "ordered_at", "date after the export was written", "2024-03-15")]
    # Without the param, the file's modification time is when the export was written: all three are older.
    con = stage(tmp_path / "mtime", {"orders.csv": body})
    assert aside(con) == []


def test_extra_columns_named_like_stagings_own_are_kept_under_another_name(tmp_path):
    customers = "customer_id,created_at,Problem,created_at_raw,Plan,plan\nc1,2024-01-01,late,01/01/24,gold,x\n"
    con = stage(tmp_path, {"customers.csv": customers, "orders.csv": HEADER + "o1,c1,2024-01-05,1\n"})
    row = con.execute("SELECT customer_id, extra_problem, extra_created_at_raw, plan FROM stg_customers").fetchone()
    assert row == ("c1", "late", "01/01/24", "gold")
    columns = {c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE stg_customers)").fetchall()}
    assert "created_at_raw_1" not in columns and "problem" not in columns
    adds_up(con)
