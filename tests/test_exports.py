"""The raw export contract: file forms, case-insensitive columns, clear errors naming file and column."""

import gzip
import shutil

import duckdb
import pytest

from conftest import write_exports
from retention_report.exports import CONTRACT, ExportError, find_export_files, load_raw_export


def _load(folder, name="orders", renames=None):
    con = duckdb.connect()
    load_raw_export(con, folder, CONTRACT[name], renames)
    return con


def test_column_names_match_case_insensitively_and_ignore_a_bom(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "\ufeffOrder_ID,CUSTOMER_ID,Ordered_At,Amount,Gift_Wrap\no1,c1,2024-01-01,5.00,yes\n", encoding="utf-8")
    con = _load(tmp_path)
    columns = [r[0] for r in con.execute("DESCRIBE raw_orders").fetchall()]
    assert columns[:6] == ["order_id", "customer_id", "ordered_at", "amount", "currency", "status"]
    assert "gift_wrap" in columns  # extra columns are kept
    assert con.execute("SELECT order_id, amount, status, _row FROM raw_orders").fetchone() == ("o1", "5.00", None, 1)


def test_a_missing_required_column_names_file_column_and_columns_found(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_on,amount\no1,c1,2024-01-01,5\n")
    with pytest.raises(ExportError) as error:
        _load(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "orders.csv") in message
    assert "required column 'ordered_at'" in message
    assert "Columns found: order_id, customer_id, ordered_on, amount" in message


def test_a_free_column_mapping_renames_their_column_to_ours(tmp_path):
    (tmp_path / "orders.csv").write_text("Name,Email,Created at,Total\n#1001,c1,2024-01-01,5\n")
    con = _load(tmp_path, renames={"order_id": "Name", "customer_id": "Email", "ordered_at": "Created at",
                                   "amount": "Total"})
    assert con.execute("SELECT order_id, customer_id, amount FROM raw_orders").fetchone() == ("#1001", "c1", "5")


def test_csv_gz_parquet_and_folders_are_exports(tmp_path):
    write_exports(tmp_path / "csv", orders=[{"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-01-01",
                                              "amount": "1"}])
    source = tmp_path / "csv" / "orders.csv"
    gz = tmp_path / "gz"
    gz.mkdir()
    with source.open("rb") as raw, gzip.open(gz / "orders.csv.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    pq = tmp_path / "pq"
    pq.mkdir()
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{source}')) TO '{pq / 'orders.parquet'}' (FORMAT parquet)")
    folder = tmp_path / "folder" / "orders"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "part-1.csv")
    (folder / "part-2.csv").write_text("order_id,customer_id,ordered_at,amount\no2,c1,2024-01-02,2\n")
    for where, expected in [(gz, 1), (pq, 1), (tmp_path / "folder", 2)]:
        con = _load(where)
        assert con.execute("SELECT count(*) FROM raw_orders").fetchone()[0] == expected
    rows = _load(tmp_path / "folder").execute(
        "SELECT order_id, split_part(_file, '/', -1), _row FROM raw_orders ORDER BY order_id").fetchall()
    assert rows == [("o1", "part-1.csv", 1), ("o2", "part-2.csv", 1)]


def test_an_export_given_twice_or_missing_is_an_error(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id\n")
    (tmp_path / "orders.parquet").write_text("")
    with pytest.raises(ExportError, match="given more than once"):
        find_export_files(tmp_path, "orders")
    (tmp_path / "none").mkdir()
    with pytest.raises(ExportError, match="required export 'orders' is missing"):
        _load(tmp_path / "none", "orders")


def test_rows_are_numbered_in_file_order_when_read_in_parallel(tmp_path):
    # Large enough for DuckDB to read each file with several threads: `_row` must still be each row's place in
    # its own file (the second file's numbering starts again at 1).
    folder = tmp_path / "orders"
    folder.mkdir()
    for part, rows in (("a", 300_000), ("b", 200_000)):
        lines = ["order_id,customer_id,ordered_at,amount"]
        lines += [f"{part}{i},c{i % 97},2024-01-01,{i % 50}.00" for i in range(1, rows + 1)]
        (folder / f"{part}.csv").write_text("\n".join(lines) + "\n")
    con = duckdb.connect(config={"threads": 2})
    assert load_raw_export(con, tmp_path, CONTRACT["orders"]) == 500_000
    misplaced = con.execute(
        "SELECT count(*) FROM raw_orders WHERE _row <> CAST(substr(order_id, 2) AS BIGINT) "
        "OR split_part(_file, '/', -1) <> order_id[1] || '.csv'").fetchone()[0]
    assert misplaced == 0
    assert con.execute("SELECT max(_row) FROM raw_orders WHERE _file LIKE '%b.csv'").fetchone()[0] == 200_000


def _write_parquet(path, sql):
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(sql).write_parquet(str(path))


def test_parquet_exports_are_read_in_place_with_their_rows_numbered(tmp_path):
    # Parquet needs no copy: raw_<name> is a view over the files, each row numbered within its own file and
    # each file's extra columns kept (NULL where another file lacks them).
    _write_parquet(tmp_path / "orders" / "a.parquet", "SELECT 'a' || i AS order_id, 'c1' AS customer_id, "
                   "'2024-01-01' AS ordered_at, i * 1.5 AS amount, 'x' AS gift_wrap FROM range(1, 4) r(i)")
    _write_parquet(tmp_path / "orders" / "b.parquet", "SELECT 'b' || i AS Order_ID, 'c1' AS customer_id, "
                   "DATE '2024-02-01' AS ordered_at, '2' AS amount, 'web' AS channel FROM range(1, 3) r(i)")
    con = duckdb.connect()
    assert load_raw_export(con, tmp_path, CONTRACT["orders"]) == 5
    tables = con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
    assert tables == [("_raw_parts", "LOCAL TEMPORARY"), ("raw_orders", "VIEW")]  # and no copy of the rows
    assert [f.rsplit("/", 1)[-1] for f, in con.execute("SELECT file FROM _raw_parts ORDER BY part").fetchall()] == [
        "a.parquet", "b.parquet"]  # each file numbered, so a staged row holds its file's number, not its path
    rows = con.execute("SELECT order_id, split_part(_file, '/', -1), _row, _line, amount, ordered_at, gift_wrap, "
                       "channel FROM raw_orders ORDER BY order_id").fetchall()
    assert rows == [("a1", "a.parquet", 1, None, "1.5", "2024-01-01", "x", None),
                    ("a2", "a.parquet", 2, None, "3.0", "2024-01-01", "x", None),
                    ("a3", "a.parquet", 3, None, "4.5", "2024-01-01", "x", None),
                    ("b1", "b.parquet", 1, None, "2", "2024-02-01", None, "web"),
                    ("b2", "b.parquet", 2, None, "2", "2024-02-01", None, "web")]


def test_a_parquet_export_with_a_date_format_is_copied_and_read_the_same_way(tmp_path):
    _write_parquet(tmp_path / "orders.parquet", "SELECT 'o' || i AS order_id, 'c1' AS customer_id, "
                   "'0' || i || '/02/2024' AS ordered_at, '5' AS amount FROM range(1, 3) r(i)")
    con = duckdb.connect()
    assert load_raw_export(con, tmp_path, CONTRACT["orders"], settings={"date_format": "%d/%m/%Y"}) == 2
    assert con.execute("SELECT order_id, _row, _ordered_at_parsed FROM raw_orders ORDER BY _row").fetchall() == [
        ("o1", 1, "2024-02-01 00:00:00.000000"), ("o2", 2, "2024-02-02 00:00:00.000000")]


def test_a_bad_row_of_a_parquet_export_is_set_aside_with_its_file_and_row(tmp_path):
    from conftest import customer
    from retention_report.params import load_params
    from retention_report.periods import parse_period
    from retention_report.warehouse import build_warehouse

    write_exports(tmp_path / "data", customers=[customer("c1")])
    _write_parquet(tmp_path / "data" / "orders.parquet",
                   "SELECT * FROM (VALUES ('o1', 'c1', '2024-04-01 10:00:00', '5'), ('o2', 'c1', '2024-04-02', '-1'), "
                   "('o3', 'nobody', '2024-04-03', '7')) t(order_id, customer_id, ordered_at, amount)")
    path = build_warehouse(tmp_path / "wh.duckdb", tmp_path / "data", parse_period("2024-Q2"),
                           dict(load_params(), keep_staging=True))
    with duckdb.connect(str(path), read_only=True) as con:
        aside = con.execute("SELECT split_part(file, '/', -1), row, line, \"column\", reason FROM set_aside "
                            "ORDER BY row").fetchall()
        staged = con.execute("SELECT order_id, _row FROM stg_orders").fetchall()
    assert aside == [("orders.parquet", 2, None, "amount", "negative amount"),
                     ("orders.parquet", 3, None, "customer_id", "unknown customer")]
    assert staged == [("o1", 1)]
