"""Every table the warehouse keeps for notebooks, the data quality page and analysts (the marts, set-aside rows,
the parameter and export tables) stays what it was: each table's rows, columns and an md5 of its sorted rows on
the sample were recorded from the implementation before the speed work (issue 20) in
fixtures/mart_outputs.json, and a build of the sample now must give the same.

Doubles enter the md5 at nine significant digits: a sum's last bits depend on the order DuckDB's threads add
in. The tables fitted in Python by maximum likelihood (predictions.py) and the call list that quotes them are
not SQL of the speed work, and their doubles move in the seventh digit with the numerical libraries installed
(scipy 1.13 and numpy 2.0 against scipy 1.17 and numpy 2.4: the BG/NBD's a and b by 2e-7 of themselves, and
one predicted value across a cent). For those (FITTED) the md5 covers every column but the doubles, with
digits in text masked, and each double column's sum must agree to 1e-5 of itself. To record again after a deliberate change of a mart, say why in the commit and run
`python tests/test_mart_outputs.py build/2024-Q2/warehouse.duckdb` on a fresh sample build."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

RECORD = Path(__file__).parent / "fixtures" / "mart_outputs.json"
FLOATS = ("DOUBLE", "FLOAT", "REAL")
FITTED = ("clv_conditional", "clv_fit", "clv_groups", "clv_predictions", "clv_tracking", "reach_out")
FITTED_TOLERANCE = 1e-5


def kept_tables(con) -> list[str]:
    """The warehouse's tables, staged exports aside (those are the speed issue's to move into memory)."""
    return [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database() "
        "AND NOT starts_with(table_name, 'stg_') AND NOT starts_with(table_name, 'raw_') ORDER BY table_name"
    ).fetchall()]


def table_digest(con, table: str) -> dict:
    schema = [(c, t) for c, t, *_ in con.execute(f'DESCRIBE "{table}"').fetchall()]
    fitted = table in FITTED
    if fitted:
        floats = [c for c, t in schema if t in FLOATS]
        schema_shown = [(c, t) for c, t in schema if c not in floats]
        totals = ", ".join(f'sum("{c}")' for c in floats) or "NULL"
        sums = con.execute(f'SELECT {totals} FROM "{table}"').fetchone()
    else:
        schema_shown = schema

    def shown(column: str, kind: str) -> str:
        if fitted and kind == "VARCHAR":  # (the fits' numbers quoted in text, such as the call list's reasons)
            return f"""regexp_replace("{column}", '[0-9]', '#', 'g')"""
        if kind in FLOATS:
            return f"""printf('%.8e', "{column}")"""
        if kind.endswith("[]") and any(f in kind for f in FLOATS):
            return f"""list_transform("{column}", v -> printf('%.8e', v))"""
        if column in ("_file", "file"):  # files by name: the folder differs between builds
            return f"""regexp_extract("{column}", '[^/]+$')"""
        return f'"{column}"'

    columns = ", ".join(f"{shown(c, t)} AS \"{c}\"" for c, t in schema_shown)
    rows, md5 = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(x, chr(10) ORDER BY x), '')) FROM "
        f"(SELECT t::VARCHAR AS x FROM (SELECT {columns} FROM \"{table}\") AS t)").fetchone()
    digest = {"rows": rows, "schema": [list(s) for s in schema], "md5": md5}
    if fitted:
        digest["sums"] = dict(zip(floats, sums)) if floats else {}
    return digest


def same(recorded: dict, now: dict) -> bool:
    """A table as recorded: equal digests; for a fitted table, its double columns' sums within the tolerance."""
    if set(recorded) != set(now) or any(recorded[k] != now[k] for k in recorded if k != "sums"):
        return False
    return all((a is None) == (b is None) and (a is None or abs(a - b) <= FITTED_TOLERANCE * max(abs(a), abs(b)))
               for a, b in ((recorded["sums"][c], now["sums"].get(c)) for c in recorded.get("sums", {})))


def warehouse_digests(path: Path) -> dict[str, dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: table_digest(con, table) for table in kept_tables(con)}


def test_every_kept_table_is_what_it_was_on_the_sample(sample_site):
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))["tables"]
    now = warehouse_digests(sample_site.build_dir / "warehouse.duckdb")
    missing = sorted(set(recorded) - set(now))
    assert not missing, f"tables the warehouse no longer keeps: {missing}"
    changed = [t for t in recorded if not same(recorded[t], now[t])]
    details = {t: {k: (recorded[t][k], now[t][k]) for k in ("rows", "schema") if recorded[t][k] != now[t][k]}
               for t in changed}
    assert not changed, f"tables that differ from the record: {changed}; rows or columns: {details}"


if __name__ == "__main__":
    import subprocess

    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    RECORD.write_text(json.dumps({"recorded_from": f"{revision}, the sample (make setup), 2024-Q2",
                                  "tables": warehouse_digests(Path(sys.argv[1]))}, indent=1) + "\n",
                      encoding="utf-8")
    print(f"recorded {RECORD}")
