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
    path = warehouse.build_warehouse(folder / "wh.duckdb", folder, parse_period("2024-Q1"),
                                     dict(settings, keep_staging=True),
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
    for exports, message in [({"orders": {"source": "oracle"}}, "not a known preset; presets for orders: shopify, stripe, woocommerce; known presets: amplitude"),
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


# --------------------------------------------------------------------------- staging from the declarations

DIGESTS = Path(__file__).parent / "fixtures" / "staging_digests.json"
FIXTURES = Path(__file__).parent / "fixtures" / "exports"


def _digest(con, table: str, columns: list[str]) -> tuple[int, str]:
    """Rows and an md5 of a staged table over `columns` (sorted), files by name only: what the hand-written
    models gave is recorded in fixtures/staging_digests.json."""
    shown = ", ".join(f"regexp_extract({c}, '[^/]+$') AS {c}" if c in ("_file", "file") else f'"{c}"'
                      for c in sorted(columns))
    return con.execute(f"SELECT count(*), md5(coalesce(string_agg(x, chr(10) ORDER BY x), '')) FROM "
                       f"(SELECT t::VARCHAR AS x FROM (SELECT {shown} FROM {table}) AS t)").fetchone()


@pytest.mark.parametrize("name", ["sample", "stripe_survey"])
def test_declared_staging_gives_the_tables_the_hand_written_models_gave(tmp_path, name):
    import json
    import yaml

    recorded = json.loads(DIGESTS.read_text(encoding="utf-8"))["tables"][name]
    params = load_params()
    if name == "sample":
        # The sample as it was when the digests were recorded: its seasons were stronger then (lifetime-value page).
        from retention_report.sample_data import Shape, write_sample_data

        data = tmp_path / "sample"
        write_sample_data(data, shape=Shape(december=1.7, late_november=1.3, january=0.85))
    else:
        data = FIXTURES / name
        params["exports"] = yaml.safe_load((data / "params.yaml").read_text(encoding="utf-8"))["exports"]
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", data, parse_period("2024-Q2"),
                                     dict(params, keep_staging=True),
                                     layers=("staging",))
    with duckdb.connect(str(path), read_only=True) as con:
        for table, before in recorded.items():
            schema = sorted((c, t) for c, t, *_ in con.execute(f"DESCRIBE {table}").fetchall())
            new = [c for c, _ in schema if [c, dict(schema)[c]] not in before["schema"]]
            # Orders now keep the file's extra columns (for customer_columns); nothing else may change.
            assert not new or table == "stg_orders", (table, new)
            # The exports declared since (support_tickets, events) were not there to record: their rows are
            # compared by the tests of their own.
            source = (f"(SELECT * FROM {table} WHERE export IN "
                      "('customers', 'orders', 'nps_responses', 'touchpoints'))" if table == "set_aside" else table)
            assert _digest(con, source, [c for c, _ in before["schema"]]) == (before["rows"], before["md5"]), table


def test_staging_has_one_pattern_for_every_export():
    """No export has a model of its own: each is rendered from its declaration."""
    from retention_report import staging
    from retention_report.exports import CONTRACT

    models = sorted(p.name for p in (Path(warehouse.SQL_DIR) / "staging").iterdir())
    assert models == ["_shared.sql", "customer_keys.sql", "derived_customers.sql.j2", "stg_export.sql.j2"]
    for export in CONTRACT.values():
        sql = staging.staging_sql(export, [], "row")
        assert f"CREATE OR REPLACE TEMP TABLE stg_{export.name} AS" in sql and f"'duplicate {export.key}'" in sql
        kept = staging.staging_sql(export, [], "row", temp=False)
        assert f"CREATE OR REPLACE TABLE stg_{export.name} AS" in kept


LINES = ("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n"
         "536365,17850.0,2024-01-05 10:00:00,6,2.55,United Kingdom\n"   # row 1: order 536365, two lines
         "536365,,2024-01-05 09:59:00,2,3.39,United Kingdom\n"          # row 2: no customer on this line
         "C536379,17850.0,2024-01-09 11:00:00,-1,27.50,United Kingdom\n"  # row 3: a cancellation
         "536400,12583.0,2024-02-01 08:00:00,24,0.42,France\n"          # row 4: another customer
         "536401,12583.0,2024-02-02 08:00:00,1,1.00,France\n"           # row 5
         "536402,12583.0,2024-02-03 08:00:00,1,1.00,Germany\n"          # row 6
         "536500,17850.0,2024-02-10 10:00:00,1,5.00,United Kingdom\n"    # row 7: two customers on one order
         "536500,12583.0,2024-02-10 10:00:00,1,5.00,United Kingdom\n"    # row 8
         ",17850.0,2024-02-11 10:00:00,1,5.00,United Kingdom\n"          # row 9: no invoice number
         "536600,17850.0,2024-02-12 10:00:00,-2,5.00,United Kingdom\n"   # row 10: negative, not a cancellation
         "536700,17850.0,2024-02-13 10:00:00,x,5.00,United Kingdom\n")   # row 11: a quantity that is no number
LINE_EXPORT = {"orders": {
    "path": "pos/*.csv", "grain": "line",
    "columns": {"order_id": "InvoiceNo", "customer_id": "CustomerID", "ordered_at": "InvoiceDate"},
    "compute": {"amount": "Quantity * UnitPrice",
                "status": "CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END"},
    "customer_columns": ["Country"]}}


def _stage_lines(tmp_path, exports=LINE_EXPORT, files=None) -> duckdb.DuckDBPyConnection:
    """Invoice lines in a folder named as downloaded (no customers export), staged with a params mapping."""
    (tmp_path / "pos").mkdir(parents=True)
    for name, text in (files or {"2024-01.csv": LINES}).items():
        (tmp_path / "pos" / name).write_text(text, encoding="utf-8")
    params = dict(load_params(), exports=exports)
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", tmp_path, parse_period("2024-Q1"),
                                     dict(params, keep_staging=True),
                                     layers=("staging",))
    return duckdb.connect(str(path), read_only=True)


def test_invoice_lines_are_grouped_into_orders(tmp_path):
    con = _stage_lines(tmp_path)
    orders = con.execute("SELECT order_id, customer_id, ordered_at::VARCHAR, amount::VARCHAR, status, _row "
                         "FROM stg_orders ORDER BY order_id").fetchall()
    assert orders == [
        ("536365", "17850", "2024-01-05 09:59:00", "22.08", "completed", 1),  # 6 x 2.55 + 2 x 3.39, earliest line
        ("536400", "12583", "2024-02-01 08:00:00", "10.08", "completed", 4),
        ("536401", "12583", "2024-02-02 08:00:00", "1.00", "completed", 5),
        ("536402", "12583", "2024-02-03 08:00:00", "1.00", "completed", 6),
        ("C536379", "17850", "2024-01-09 11:00:00", "-27.50", "cancelled", 3),  # negative: valid when cancelled
    ]
    reasons = con.execute('SELECT row, "column", reason FROM set_aside ORDER BY row').fetchall()
    assert reasons == [(7, "customer_id", "lines of one order name different customers"),
                       (8, "customer_id", "lines of one order name different customers"),
                       (9, "order_id", "missing order_id"),
                       (10, "amount", "negative amount"),
                       (11, "amount", "amount is not a number")]
    files = con.execute("SELECT rows_read, grain, records, ids_normalised FROM export_files "
                        "WHERE export = 'orders'").fetchone()
    assert files == (11, "line", 8, 10)  # 8 invoice numbers; every CustomerID but one blank had a .0
    staged_lines = 2 + 1 + 1 + 1 + 1
    assert staged_lines + len(reasons) == 11


def test_customers_are_derived_from_the_orders_when_there_is_no_customers_export(tmp_path):
    con = _stage_lines(tmp_path)
    customers = con.execute("SELECT customer_id, created_at::VARCHAR, country, email, _row FROM stg_customers "
                            "ORDER BY customer_id").fetchall()
    # 12583: two French orders, one German: France. 17850: created at its first order (the cancelled one counts
    # as an order placed, not as activity).
    assert customers == [("12583", "2024-02-01 08:00:00", "France", None, 4),
                         ("17850", "2024-01-05 09:59:00", "United Kingdom", None, 1)]
    assert con.execute("SELECT present, derived, records FROM export_files WHERE export = 'customers'").fetchone() \
        == (False, True, 2)


def test_a_customer_column_the_orders_lack_is_refused_by_name(tmp_path):
    exports = {"orders": {**LINE_EXPORT["orders"], "customer_columns": ["Region"]}}
    with pytest.raises(ExportError, match=r"customer_columns names 'Region'.*country"):
        _stage_lines(tmp_path, exports)


def test_ids_written_as_decimals_are_the_same_ids_in_every_export(tmp_path):
    con = stage(tmp_path, {
        "customers.csv": "customer_id,created_at\n17850.0,2024-01-01\n17851,2024-01-01\n",
        "orders.csv": HEADER + "1.0,17850,2024-01-02,10\n2,17851.00,2024-01-03,5\n1,17850,2024-01-04,7\n",
        "nps_responses.csv": "response_id,customer_id,responded_at,score\nr1,17850.0,2024-01-05,9\n",
    })
    assert con.execute("SELECT customer_id FROM stg_customers ORDER BY 1").fetchall() == [("17850",), ("17851",)]
    assert con.execute("SELECT order_id, customer_id FROM stg_orders ORDER BY 1").fetchall() == \
        [("1", "17850"), ("2", "17851")]
    # `1.0` and `1` are one order id: the second is a duplicate
    assert aside(con) == [("orders", 3, 4, "order_id", "duplicate order_id", "1")]
    assert con.execute("SELECT customer_id FROM stg_nps_responses").fetchall() == [("17850",)]
    normalised = dict(con.execute("SELECT export, ids_normalised FROM export_files").fetchall())
    assert normalised == {"customers": 1, "orders": 2, "nps_responses": 1, "touchpoints": 0, "support_tickets": 0,
                          "events": 0, "subscriptions": 0}
    # not whole numbers: kept as written
    con = stage(tmp_path / "b", {"orders.csv": HEADER + "1.5,c1,2024-01-02,10\n1.05,c2,2024-01-02,10\n"})
    assert sorted(r[0] for r in con.execute("SELECT order_id FROM stg_orders").fetchall()) == ["1.05", "1.5"]


def test_a_negative_amount_is_valid_only_on_refunded_or_cancelled_orders(tmp_path):
    con = stage(tmp_path, {"orders.csv": "order_id,customer_id,ordered_at,amount,status\n"
                                         "o1,c1,2024-01-02,-10,refunded\no2,c1,2024-01-02,-10,cancelled\n"
                                         "o3,c1,2024-01-02,-10,completed\no4,c1,2024-01-02,-10,\n"})
    assert [r[0] for r in con.execute("SELECT order_id FROM stg_orders ORDER BY 1").fetchall()] == ["o1", "o2"]
    assert [(r[1], r[4]) for r in aside(con)] == [(3, "negative amount"), (4, "negative amount")]


def test_export_paths_name_a_file_a_folder_or_a_glob(tmp_path):
    (tmp_path / "downloads" / "2024").mkdir(parents=True)
    (tmp_path / "downloads" / "2024" / "jan.csv").write_text(HEADER + "o1,c1,2024-01-02,10\n", encoding="utf-8")
    (tmp_path / "downloads" / "2024" / "feb.csv").write_text(HEADER + "o2,c2,2024-02-02,10\n", encoding="utf-8")
    (tmp_path / "downloads" / "notes.txt").write_text("not data", encoding="utf-8")
    from retention_report.exports import find_export_files

    folder = tmp_path / "downloads" / "2024"
    assert [p.name for p in find_export_files(tmp_path, "orders", "downloads/2024")] == ["feb.csv", "jan.csv"]
    assert [p.name for p in find_export_files(tmp_path, "orders", "downloads/**/j*.csv")] == ["jan.csv"]
    assert find_export_files(tmp_path / "elsewhere", "orders", str(folder / "jan.csv")) == [folder / "jan.csv"]
    for path, message in (("downloads/2025", "no such file or folder"), ("downloads/*.parquet", "matches no"),
                          ("downloads/notes.txt", "is not a .csv")):
        with pytest.raises(ExportError, match=f"exports.orders.path.*{message}"):
            find_export_files(tmp_path, "orders", path)
    con = stage(tmp_path / "data", {}, exports={"orders": {"path": str(folder)}})
    assert con.execute("SELECT count(*) FROM stg_orders").fetchone() == (2,)


@pytest.mark.parametrize("expression", ["(SELECT 1)", "read_csv('/etc/passwd')", "1; DROP TABLE stg_orders",
                                        "sum(amount)", "getenv('HOME')"])
def test_hostile_computed_columns_fail_validate_and_the_build_in_one_line(tmp_path, expression):
    from typer.testing import CliRunner

    from retention_report.cli import app

    data = write_exports(tmp_path / "data", customers=[customer("c1")], orders=[order("o1", "c1", "2024-01-02")])
    params = tmp_path / "params.yaml"
    import yaml

    params.write_text(yaml.safe_dump({"exports": {"orders": {"compute": {"amount": expression}}}}), encoding="utf-8")
    for command in (["validate"], ["build", "--period", "2024-Q1", "--site", str(tmp_path / "site"),
                                   "--renderer", "nbconvert"]):
        result = CliRunner().invoke(app, command + ["--data", str(data), "--params", str(params)])
        assert result.exit_code != 0
        errors = [line for line in result.output.splitlines() if "exports.orders.compute.amount" in line]
        assert errors and ("not allowed" in errors[0] or "refused" in errors[0]), result.output
    assert not (tmp_path / "site").exists()


def test_a_repeated_key_is_set_aside_and_keys_made_from_the_place_never_repeat(tmp_path):
    """Events may come without ids: each is keyed by its file and row, which no other row repeats; a given id
    repeated is set aside after its first row, whichever of them has another problem."""
    events = ("event_id,customer_id,occurred_at,event\n"
              "e1,c1,2024-01-05 10:00:00,login\n"       # row 1: kept
              ",c1,2024-01-05 10:01:00,login\n"         # row 2: keyed by its place
              "e1,c2,2024-01-05 10:02:00,login\n"       # row 3: e1 again
              ",c2,2024-01-05 10:03:00,login\n"         # row 4: keyed by its place
              " e2,c1,not a date,login\n"               # row 5: unreadable date (its own problem first)
              "e2 ,c1,2024-01-05 10:05:00,login\n")     # row 6: e2 again, written with other spaces
    con = stage(tmp_path, {"orders.csv": HEADER, "events.csv": events})
    aside_rows = con.execute("SELECT row, reason, value FROM set_aside WHERE export = 'events' ORDER BY row").fetchall()
    assert aside_rows == [(3, "duplicate event_id", "e1"), (5, "unparseable date", "not a date"),
                          (6, "duplicate event_id", "e2")]
    staged = con.execute("SELECT _row, event_id FROM stg_events ORDER BY _row").fetchall()
    assert [row for row, _ in staged] == [1, 2, 4]
    assert staged[0][1] == "e1" and staged[1][1].endswith("events.csv:2") and staged[2][1].endswith("events.csv:4")
