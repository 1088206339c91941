"""The raw export contract, and loading exports into the warehouse exactly as they are.

Each export is `<name>.csv`, `<name>.csv.gz`, `<name>.parquet`, or a folder `<name>/` of such files.
Raw tables keep every value as text (typing is staging's job) plus `_file` and `_row` (the 1-based data
row within its file) so that any problem can be traced to file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class Export:
    name: str
    required: bool
    columns: tuple[str, ...]  # required columns
    optional_columns: tuple[str, ...] = ()
    personal_columns: tuple[str, ...] = field(default=())

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.optional_columns


CONTRACT: dict[str, Export] = {
    "customers": Export("customers", True, ("customer_id", "created_at"), ("email", "name", "phone"),
                        personal_columns=("email", "name", "phone")),
    "orders": Export("orders", True, ("order_id", "customer_id", "ordered_at", "amount"), ("currency", "status")),
    "nps_responses": Export("nps_responses", False, ("response_id", "responded_at", "score"),
                            ("customer_id", "would_buy_again", "comment")),
    "touchpoints": Export("touchpoints", False, ("touchpoint_id", "customer_id", "occurred_at", "kind"),
                          ("channel", "personalized")),
}


class ExportError(ValueError):
    """An export that cannot be read as the contract says: names the file and the column."""


def _is_data_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(SUFFIXES)


def find_export_files(data_dir: Path, name: str) -> list[Path]:
    """The files that make up one export; empty when the export is absent."""
    data_dir = Path(data_dir)
    candidates = [data_dir / f"{name}{suffix}" for suffix in SUFFIXES]
    found = [path for path in candidates if path.is_file()]
    folder = data_dir / name
    if folder.is_dir():
        found.append(folder)
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found)
        raise ExportError(f"{data_dir}: export '{name}' is given more than once ({listed}); keep one.")
    if not found:
        return []
    if found[0].is_dir():
        files = sorted(p for p in found[0].iterdir() if _is_data_file(p))
        if not files:
            raise ExportError(f"{found[0]}: folder for export '{name}' holds no .csv, .csv.gz or .parquet file.")
        return files
    return found


def _reader(path: Path) -> str:
    if path.name.lower().endswith(".parquet"):
        return "read_parquet($path)"
    return "read_csv($path, all_varchar = true, header = true, auto_detect = true)"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _column_map(path: Path, found: list[str], export: Export, renames: dict[str, str]) -> dict[str, str]:
    """Our column name -> the file's column name, matched case-insensitively (and ignoring a BOM)."""
    by_lower = {}
    for column in found:
        by_lower.setdefault(column.strip().lstrip("\ufeff").lower(), column)
    mapping = {}
    for ours in export.all_columns:
        theirs = renames.get(ours, ours)
        actual = by_lower.get(theirs.strip().lower())
        if actual is None and ours in export.columns:
            raise ExportError(
                f"{path}: required column '{theirs}' is missing from export '{export.name}'. "
                f"Columns found: {', '.join(found) or '(none)'}."
            )
        if actual is not None:
            mapping[ours] = actual
    return mapping


def load_raw_export(con: duckdb.DuckDBPyConnection, data_dir: Path, export: Export,
                    renames: dict[str, str] | None = None) -> int:
    """Create `raw_<name>`: every contract column (missing optional ones as NULL), extra columns kept."""
    renames = renames or {}
    files = find_export_files(data_dir, export.name)
    table = f"raw_{export.name}"
    con.execute(f"DROP TABLE IF EXISTS {table}")
    if not files:
        if export.required:
            raise ExportError(
                f"{data_dir}: required export '{export.name}' is missing "
                f"(expected {export.name}.csv, .csv.gz, .parquet or a folder {export.name}/)."
            )
        columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in export.all_columns)
        con.execute(f"CREATE TABLE {table} AS SELECT {columns}, NULL::VARCHAR AS _file, NULL::BIGINT AS _row LIMIT 0")
        return 0

    for index, path in enumerate(files):
        try:
            found = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}", {"path": str(path)}).fetchall()]
        except duckdb.Error as exc:
            raise ExportError(f"{path}: cannot be read as export '{export.name}': {exc}") from exc
        mapping = _column_map(path, found, export, renames)
        mapped = set(mapping.values())
        selected = [
            f"CAST({_quote(mapping[c])} AS VARCHAR) AS {c}" if c in mapping else f"NULL::VARCHAR AS {c}"
            for c in export.all_columns
        ]
        # Extra columns are kept under a lower-case name (for customers they become segments).
        extras = [
            f"CAST({_quote(c)} AS VARCHAR) AS {_quote(c.strip().lstrip(chr(0xFEFF)).lower())}"
            for c in found if c not in mapped and c.strip().lower() not in export.all_columns
        ]
        select = ", ".join(selected + extras)
        statement = (
            f"SELECT {select}, $file AS _file, row_number() OVER () AS _row FROM {_reader(path)}"
        )
        try:
            if index == 0:
                con.execute(f"CREATE TABLE {table} AS {statement}", {"path": str(path), "file": str(path)})
            else:
                con.execute(f"INSERT INTO {table} BY NAME {statement}", {"path": str(path), "file": str(path)})
        except duckdb.Error as exc:
            raise ExportError(f"{path}: cannot be read as export '{export.name}': {exc}") from exc
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
