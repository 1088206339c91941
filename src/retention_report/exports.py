"""The raw export contract, and loading exports into the warehouse exactly as they are.

Each export is `<name>.csv`, `<name>.csv.gz`, `<name>.parquet`, or a folder `<name>/` of such files.
Raw tables keep every value as text (typing is staging's job) plus `_file`, `_row` (the 1-based data
row within its file) and `_line` (the line of the file the row starts on; NULL for Parquet) so that any
problem can be traced to file, row, line and column. `_exported_at` is when the file was written (its
modification time, or the export's `exported_at` param): a date after it cannot be real. CSV exports are
copied into a temporary table once; Parquet exports are read where they lie, through a view, unless a preset
or a date_format has to rewrite their values first.

Per export, params may set (`exports: {<name>: {...}}`):
- `source`: a preset for a tool's export (see presets.py: shopify, woocommerce, stripe, stripe_invoice_lines, survey,
  zendesk, intercom, posthog, amplitude);
- `path`: a file, a folder or a glob, relative to the data folder or absolute (default: `<name>.csv`, ...);
- `columns`: a free mapping `{our_name: their_name}` (wins over the preset's);
- `compute`: `{column: expression}`, a scalar SQL expression over the file's own columns, checked by
  expressions.py before it runs (e.g. `amount: "Quantity * UnitPrice"`);
- `grain`: `row` (default) or, for orders, `line`: one row per line of an order, grouped in staging;
- `customer_columns`: for orders without a customers export, order columns that describe the customer;
- `date_format`: a strptime format, or a list of them, for the export's date column (e.g. `%d/%m/%Y`);
  dates are otherwise read as ISO 8601, and a date that could be day-first or month-first is set aside
  as ambiguous;
- `encoding`: `utf-8` or `latin-1` (default: UTF-8, with or without a BOM, else Latin-1);
- `delimiter`: `,`, `;`, `\\t` or `|` (default: detected);
- `exported_at`: when the export was taken (default: the file's modification time).

CSV quoting is always RFC 4180's, never detected: a field may be in double quotes, a double quote inside
it doubled.
"""

from __future__ import annotations

import difflib
import glob
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from .presets import PresetError, preset_for

SUFFIXES = (".csv", ".csv.gz", ".parquet")
ENCODINGS = ("utf-8", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
SETTING_KEYS = ("source", "path", "columns", "compute", "grain", "customer_columns", "date_format", "encoding",
                "delimiter", "exported_at")
GRAINS = ("row", "line")


@dataclass(frozen=True)
class Check:
    """A rule a staged value must keep, else its row is set aside: `condition` (SQL over the typed columns)
    true means the row breaks it; `value` the SQL shown as the offending value."""
    column: str
    reason: str
    condition: str
    value: str = ""  # default: the column's text as exported


@dataclass(frozen=True)
class Export:
    """One export, declared once: staging (sql/staging/stg_export.sql.j2) is rendered from this.

    `types` gives each column's type: `id` (text, a trailing `.0` dropped), `text`, `lower`, `upper`,
    `timestamp` (the export's date column), `moment` (another date and time of the row, e.g. when a ticket
    was answered: read as the date column is, but without its date_format), `money`, `integer`, `number`
    (a duration, any decimal), `boolean`; `defaults` a value for a blank one.
    `key` is unique per row (per record at line grain); `customer_link` says whether `customer_id` must name a
    known customer (`required`), may be empty (`optional`, anonymous answers) or there is none."""
    name: str
    required: bool
    columns: tuple[str, ...]  # required columns
    optional_columns: tuple[str, ...] = ()
    personal_columns: tuple[str, ...] = field(default=())
    date_column: str = ""
    key: str = ""
    types: tuple[tuple[str, str], ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()
    customer_link: str = ""  # required | optional | "" (the export is the customers)
    checks: tuple[Check, ...] = ()
    keeps_extras: bool = False  # its columns beyond the contract are staged (customers: segments; orders: lines)
    # The key may be left out (an event export rarely numbers its rows): a row without one is keyed by where
    # it lies, `<file>:<row>`, so it is never "missing" and never a duplicate.
    key_from_place: bool = False
    # The key may be left out and is then made of these columns' values (a subscription's stretch at one price
    # is "<subscription_id> from <valid_from>"): two rows alike in them are duplicates.
    key_from: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.optional_columns

    def type_of(self, column: str) -> str:
        return dict(self.types).get(column, "text")


# The order in which a row's problems are named: the key, the date, then each column's type and checks in
# column order, then the customer link, then a repeated key (the first problem found is the one recorded).
CONTRACT: dict[str, Export] = {
    "customers": Export(
        "customers", False, ("customer_id", "created_at"), ("email", "name", "phone"),
        personal_columns=("email", "name", "phone"), date_column="created_at", key="customer_id",
        types=(("customer_id", "id"), ("created_at", "timestamp")), keeps_extras=True),
    "orders": Export(
        "orders", True, ("order_id", "customer_id", "ordered_at", "amount"), ("currency", "status"),
        date_column="ordered_at", key="order_id", customer_link="required",
        types=(("order_id", "id"), ("customer_id", "id"), ("ordered_at", "timestamp"), ("amount", "money"),
               ("currency", "upper"), ("status", "lower")),
        defaults=(("status", "completed"),), keeps_extras=True,
        # A refund or cancellation may be written as a negative amount (an invoice numbered C... with negative
        # quantities); on a completed order a negative amount cannot be real.
        checks=(Check("amount", "negative amount", "amount < 0 AND status NOT IN ('refunded', 'cancelled')"),)),
    "nps_responses": Export(
        "nps_responses", False, ("response_id", "responded_at", "score"), ("customer_id", "would_buy_again", "comment"),
        personal_columns=("comment",), date_column="responded_at", key="response_id", customer_link="optional",
        types=(("response_id", "id"), ("customer_id", "id"), ("responded_at", "timestamp"), ("score", "integer"),
               ("would_buy_again", "lower")),
        checks=(Check("score", "score outside 0-10", "score NOT BETWEEN 0 AND 10"),
                Check("would_buy_again", "not yes, no or unsure",
                      "would_buy_again IS NOT NULL AND would_buy_again NOT IN ('yes', 'no', 'unsure')",
                      value="would_buy_again"))),
    "touchpoints": Export(
        "touchpoints", False, ("touchpoint_id", "customer_id", "occurred_at", "kind"), ("channel", "personalized"),
        date_column="occurred_at", key="touchpoint_id", customer_link="required",
        types=(("touchpoint_id", "id"), ("customer_id", "id"), ("occurred_at", "timestamp"), ("kind", "lower"),
               ("channel", "lower"), ("personalized", "boolean")),
        checks=(Check("kind", "missing kind", "kind IS NULL", value="NULL"),)),
    # Help-desk tickets (or conversations): when the customer asked, when they were first answered and when it
    # was resolved, as times (`first_response_at`, `resolved_at`) or as minutes after `created_at` (what
    # Zendesk's export gives); `satisfaction` as good/bad (Zendesk) or a 1-5 rating (Intercom). Resolved
    # without either: still open.
    "support_tickets": Export(
        "support_tickets", False, ("ticket_id", "customer_id", "created_at"),
        ("first_response_at", "first_response_minutes", "resolved_at", "resolution_minutes", "status", "channel",
         "category", "satisfaction", "reopens", "comment"),
        personal_columns=("comment",), date_column="created_at", key="ticket_id", customer_link="required",
        types=(("ticket_id", "id"), ("customer_id", "id"), ("created_at", "timestamp"),
               ("first_response_at", "moment"), ("first_response_minutes", "number"), ("resolved_at", "moment"),
               ("resolution_minutes", "number"), ("status", "lower"), ("channel", "lower"), ("category", "lower"),
               ("satisfaction", "lower"), ("reopens", "integer")),
        checks=(Check("first_response_at", "answered before it was asked", "first_response_at < created_at"),
                Check("first_response_minutes", "negative minutes", "first_response_minutes < 0"),
                Check("resolved_at", "resolved before it was asked", "resolved_at < created_at"),
                Check("resolution_minutes", "negative minutes", "resolution_minutes < 0"),
                Check("satisfaction", "not good, bad or a rating 1-5",
                      "satisfaction IS NOT NULL AND satisfaction NOT IN "
                      "('good', 'bad', 'offered', 'unoffered', '1', '2', '3', '4', '5')", value="satisfaction"),
                Check("reopens", "negative reopens", "reopens < 0", value="reopens_raw"))),
    # Product usage: one row per thing a customer did (`event`), with how long it lasted where the tool says.
    "events": Export(
        "events", False, ("customer_id", "occurred_at", "event"), ("event_id", "duration_seconds"),
        date_column="occurred_at", key="event_id", customer_link="required", key_from_place=True,
        types=(("event_id", "id"), ("customer_id", "id"), ("occurred_at", "timestamp"), ("event", "text"),
               ("duration_seconds", "number")),
        checks=(Check("event", "missing event", "event IS NULL", value="NULL"),
                Check("duration_seconds", "negative duration", "duration_seconds < 0"))),
    # Subscriptions: one row per stretch of a subscription at one price, from `valid_from` until `valid_to`
    # (empty while it runs); a plan change closes one row and opens the next. The monthly recurring revenue is
    # `mrr`, else `amount` x `quantity` per `interval_count` `interval`s (day, week, month or year), made
    # monthly in the marts. Before `trial_end` a subscription is on trial and brings no revenue; `cancelled_at`
    # is when the customer asked to cancel (a subscription may run to the end of its paid period after it).
    "subscriptions": Export(
        "subscriptions", False, ("subscription_id", "customer_id", "valid_from"),
        ("period_id", "valid_to", "mrr", "amount", "interval", "interval_count", "quantity", "plan", "status",
         "trial_end", "cancelled_at", "cancel_reason", "currency"),
        personal_columns=("cancel_reason",), date_column="valid_from", key="period_id", customer_link="required",
        key_from=("subscription_id", "valid_from"),
        types=(("subscription_id", "id"), ("customer_id", "id"), ("valid_from", "timestamp"), ("period_id", "id"),
               ("valid_to", "moment"), ("mrr", "money"), ("amount", "money"), ("interval", "lower"),
               ("interval_count", "integer"), ("quantity", "integer"), ("plan", "text"), ("status", "lower"),
               ("trial_end", "moment"), ("cancelled_at", "moment"), ("currency", "upper")),
        checks=(Check("valid_to", "ends before it starts", "valid_to < valid_from"),
                Check("mrr", "negative mrr", "mrr < 0"),
                Check("amount", "neither mrr nor amount", "mrr IS NULL AND amount IS NULL", value="NULL"),
                Check("amount", "negative amount", "amount < 0"),
                Check("interval", "not day, week, month or year",
                      "mrr IS NULL AND (interval IS NULL OR interval NOT IN ('day', 'week', 'month', 'year'))",
                      value="interval"),
                Check("interval_count", "interval_count below 1", "interval_count < 1", value="interval_count_raw"),
                Check("quantity", "negative quantity", "quantity < 0", value="quantity_raw"))),
}
# Columns whose values are personal data wherever they appear (examples shown to people redact them).
PERSONAL_COLUMNS = frozenset({"email", "name", "phone", "comment", "first_name", "last_name", "address"})
# Names staging gives its own helper columns beside an export's (the row's `problem`, each raw `<column>_raw`):
# an extra column of the file named so would collide with them (a customers column `Problem` failed the build,
# one named `created_at_raw` was silently lost), so it is kept as `extra_<name>`.
RESERVED_NAMES = frozenset({"problem", "customer_known", "score_is_integer"}
                           | {f"{c}_raw" for export in CONTRACT.values() for c in export.all_columns})


class ExportError(ValueError):
    """An export that cannot be read as the contract says: names the file and the column."""


def _is_data_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(SUFFIXES)


def find_export_files(data_dir: Path, name: str, path: str | None = None) -> list[Path]:
    """The files that make up one export; empty when the export is absent.

    `path` (the export's `path` setting): a file, a folder or a glob, relative to the data folder or absolute,
    so the files can be named as they were downloaded. Without it: `<name>.csv`, `.csv.gz`, `.parquet` or a
    folder `<name>/` in the data folder."""
    data_dir = Path(data_dir)
    if path:
        return _files_at(data_dir, name, str(path))
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


def _files_at(data_dir: Path, name: str, path: str) -> list[Path]:
    """The data files an explicit `exports.<name>.path` names. Unlike a default name, a path that finds
    nothing is an error: the user pointed at files that are not there."""
    target = Path(path).expanduser()
    target = target if target.is_absolute() else data_dir / target
    if any(ch in path for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(str(target), recursive=True))
        files = [p for p in matches if _is_data_file(p)]
        what = f"the pattern {path!r} matches"
    elif target.is_dir():
        files = sorted(p for p in target.iterdir() if _is_data_file(p))
        what = f"the folder {target}"
    elif target.is_file():
        if not _is_data_file(target):
            raise ExportError(f"params: exports.{name}.path {path!r}: {target} is not a .csv, .csv.gz or .parquet "
                              f"file.")
        files = [target]
        what = ""
    else:
        raise ExportError(f"params: exports.{name}.path {path!r}: no such file or folder ({target}).")
    if not files:
        raise ExportError(f"params: exports.{name}.path {path!r}: {what} no .csv, .csv.gz or .parquet file.")
    return files


def export_path(params: dict[str, Any] | None, name: str) -> str | None:
    """The `path` setting of one export (None: its default file name)."""
    settings = ((params or {}).get("exports") or {}).get(name) or {}
    return settings.get("path") if isinstance(settings, dict) else None


def export_settings(params: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The checked settings of one export from params (`exports.<name>`), the preset merged in."""
    exports = (params or {}).get("exports") or {}
    if not isinstance(exports, dict):
        raise ExportError("params: `exports` must be a mapping of export names to settings.")
    unknown = sorted(set(exports) - set(CONTRACT))
    if unknown:
        raise ExportError(f"params: exports.{unknown[0]} is not an export; exports are: {', '.join(CONTRACT)}.")
    return resolve_settings(name, exports.get(name) or {})


def resolve_settings(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Check one export's settings and merge its preset in (the free `columns` mapping wins)."""
    if not isinstance(settings, dict):
        raise ExportError(f"params: exports.{name} must be a mapping (source, columns, date_format, ...).")
    unknown = sorted(set(settings) - set(SETTING_KEYS))
    if unknown:
        raise ExportError(f"params: exports.{name}.{unknown[0]} is not a setting; settings are: "
                          f"{', '.join(SETTING_KEYS)}.")
    try:
        preset = preset_for(settings.get("source"), name)
    except PresetError as exc:
        raise ExportError(f"params: {exc}") from exc
    columns = settings.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise ExportError(f"params: exports.{name}.columns must map our column names to theirs (text to text).")
    ours = set(CONTRACT[name].all_columns) if name in CONTRACT else set(columns)
    strange = sorted(set(columns) - ours)
    if strange:
        raise ExportError(f"params: exports.{name}.columns maps '{strange[0]}', which is not a column of {name}; "
                          f"its columns are: {', '.join(CONTRACT[name].all_columns)}.")
    formats = settings.get("date_format")
    if formats is not None:
        formats = [formats] if isinstance(formats, str) else formats
        if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and "%" in f for f in formats):
            raise ExportError(f"params: exports.{name}.date_format must be a strptime format such as '%d/%m/%Y' "
                              f"(or a list of them), not {settings.get('date_format')!r}.")
        for fmt in formats:
            try:
                with duckdb.connect() as probe:
                    probe.execute("SELECT try_strptime('2024-01-01', $f)", {"f": fmt}).fetchall()
            except duckdb.Error as exc:
                raise ExportError(f"params: exports.{name}.date_format {fmt!r} is not a strptime format: {exc}") from exc
    encoding = settings.get("encoding")
    if encoding is not None and str(encoding).lower().replace("_", "-") not in ENCODINGS + ("utf8", "latin1"):
        raise ExportError(f"params: exports.{name}.encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}.")
    delimiter = settings.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ExportError(f"params: exports.{name}.delimiter must be one of ',', ';', '\\t' or '|', not {delimiter!r}.")
    exported_at = settings.get("exported_at")
    if exported_at is not None and not isinstance(exported_at, (date, datetime)):
        text = str(exported_at).strip()
        try:  # a date alone means that whole day, as an unquoted YAML date does
            exported_at = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ExportError(f"params: exports.{name}.exported_at must be an ISO date or timestamp, "
                              f"not {exported_at!r}.") from exc
    path = settings.get("path")
    if path is not None and (not isinstance(path, str) or not path.strip() or "\x00" in path):
        raise ExportError(f"params: exports.{name}.path must be a file, folder or glob (text), not {path!r}.")
    grain = settings.get("grain", preset.get("grain", "row"))
    if grain not in GRAINS:
        raise ExportError(f"params: exports.{name}.grain must be row or line, not {grain!r}.")
    if grain == "line" and name != "orders":
        raise ExportError(f"params: exports.{name}.grain: line is for orders only (invoice or order lines).")
    compute = {**preset.get("compute", {}), **(settings.get("compute") or {})}
    if not all(isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in compute.items()):
        raise ExportError(f"params: exports.{name}.compute must map column names to SQL expressions (text to "
                          f"text), e.g. {{amount: \"Quantity * UnitPrice\"}}.")
    customer_columns = settings.get("customer_columns") or []
    if isinstance(customer_columns, str):
        customer_columns = [customer_columns]
    if not isinstance(customer_columns, list) or not all(isinstance(c, str) and c.strip() for c in customer_columns):
        raise ExportError(f"params: exports.{name}.customer_columns must be a list of column names.")
    if customer_columns and name != "orders":
        raise ExportError(f"params: exports.{name}.customer_columns is for orders only (columns of the orders that "
                          f"describe the customer, e.g. [Country]).")
    return {
        "source": settings.get("source"),
        "path": path,
        "grain": grain,
        "compute": {k.strip().lower(): v for k, v in compute.items()},
        "customer_columns": [c.strip() for c in customer_columns],
        "columns": {**preset.get("columns", {}), **columns},
        "values": preset.get("values", {}),
        "date_format": formats,
        "encoding": None if encoding is None else ("latin-1" if "1" in str(encoding) else "utf-8"),
        "delimiter": delimiter,
        "exported_at": exported_at,
    }


def _is_csv(path: Path) -> bool:
    return not path.name.lower().endswith(".parquet")


def _reader(path: Path, encoding: str | None = None, delimiter: str | None = None) -> str:
    if not _is_csv(path):
        return "read_parquet($path)"
    # Quoting is RFC 4180's (a field in double quotes, a double quote inside it doubled), never sniffed: the
    # sniffer would take an apostrophe for the quote when a value starts with one and a later one ends with
    # one (`'fine` ... `ok'`), silently merging the rows between into one field.
    # No comment character either: the sniffer takes a line starting with `#` for a comment and drops the row
    # (a value `#` in the first column; hypothesis found it).
    options = "all_varchar = true, header = true, auto_detect = true, quote = '\"', escape = '\"', comment = ''"
    if encoding:
        options += ", encoding = $encoding"
    if delimiter:
        options += ", delim = $delimiter"
    return f"read_csv($path, {options})"


def _reader_values(path: Path, encoding: str | None, delimiter: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"path": str(path)}
    if _is_csv(path) and encoding:
        values["encoding"] = encoding
    if _is_csv(path) and delimiter:
        values["delimiter"] = delimiter
    return values


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _clean(column: str) -> str:
    return column.strip().lstrip("\ufeff").strip().strip('"').strip()


def _extra_name(column: str) -> str:
    name = _clean(column).lower()
    return f"extra_{name}" if name in RESERVED_NAMES else name


def _column_map(path: Path, found: list[str], export: Export, renames: dict[str, str],
                computed: dict[str, str] | None = None) -> dict[str, str]:
    """Our column name -> the file's column name, matched case-insensitively (and ignoring a BOM). A computed
    column (`compute`) is not looked for in the file."""
    by_lower = {}
    for column in found:
        by_lower.setdefault(_clean(column).lower(), column)
    mapping = {}
    for ours in export.all_columns:
        if computed and ours in computed:
            continue
        theirs = renames.get(ours, ours)
        actual = by_lower.get(theirs.strip().lower())
        if actual is None and theirs != ours:
            actual = by_lower.get(ours)  # a mapping (or preset) for a column the file names as we do
        if actual is None and ours in export.columns:
            close = difflib.get_close_matches(theirs.lower(), list(by_lower), n=1, cutoff=0.75)
            hint = (f" Did you mean '{by_lower[close[0]]}'? Rename it in the file or map it in params: "
                    f"exports: {{{export.name}: {{columns: {{{ours}: \"{by_lower[close[0]]}\"}}}}}}."
                    if close else "")
            raise ExportError(
                f"{path}: required column '{theirs}' is missing from export '{export.name}'. "
                f"Columns found: {', '.join(_clean(c) for c in found) or '(none)'}.{hint}"
            )
        if actual is not None:
            mapping[ours] = actual
    return mapping


def _refuse_empty(path: Path, export: Export) -> None:
    if _is_empty(path):
        raise ExportError(f"{path}: is empty (not even a header row); export '{export.name}' needs the columns "
                          f"{', '.join(export.columns)}.")


def _is_empty(path: Path) -> bool:
    if not _is_csv(path):
        return path.stat().st_size == 0
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read: {exc}") from exc
    return not head.lstrip(b"\xef\xbb\xbf").strip()


def _describe(con: duckdb.DuckDBPyConnection, path: Path, export: Export, encoding: str | None,
              delimiter: str | None) -> tuple[list[str], str | None]:
    """The file's column names, and the encoding that reads its first rows (UTF-8 first, then Latin-1).
    The sniffer reads a sample only: a Latin-1 byte further down fails the load, which then retries."""
    tries = [encoding] if encoding or not _is_csv(path) else [None, "latin-1"]
    last: Exception | None = None
    for attempt in tries:
        try:
            query = f"DESCRIBE SELECT * FROM {_reader(path, attempt, delimiter)}"
            found = [row[0] for row in con.execute(query, _reader_values(path, attempt, delimiter)).fetchall()]
            return found, attempt
        except duckdb.Error as exc:
            last = exc
            if not _is_encoding_error(exc):
                break
    first_line = " ".join(str(last).strip().splitlines()[:3]) if last else ""
    raise ExportError(f"{path}: cannot be read as export '{export.name}': {first_line}") from last


def _is_encoding_error(exc: Exception) -> bool:
    return "unicode" in str(exc).lower() or "encod" in str(exc).lower()


def load_raw_export(con: duckdb.DuckDBPyConnection, data_dir: Path, export: Export,
                    renames: dict[str, str] | None = None, settings: dict[str, Any] | None = None) -> int:
    """Create `raw_<name>`: every contract column (missing optional ones as NULL), extra columns kept.

    `settings` are the export's params (`exports.<name>`: source, columns, date_format, encoding, ...);
    `renames` (our name -> theirs) is the free mapping alone, and wins over both."""
    resolved = resolve_settings(export.name, dict(settings or {}))
    renames = {**resolved["columns"], **(renames or {})}
    files = find_export_files(data_dir, export.name, resolved["path"])
    table = _rows_table(export.name)
    con.execute(f"DROP VIEW IF EXISTS raw_{export.name}")
    con.execute(f"DROP TABLE IF EXISTS {table}")
    if not files:
        if export.required:
            raise ExportError(
                f"{data_dir}: required export '{export.name}' is missing "
                f"(expected {export.name}.csv, .csv.gz, .parquet or a folder {export.name}/, or the files named by "
                f"exports.{export.name}.path in params)."
            )
        _new_parts(con, export.name)
        columns = ", ".join(f"NULL::VARCHAR AS {c}" for c in export.all_columns)
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {columns}, 0::USMALLINT AS _part LIMIT 0")
        _number_rows(con, export)
        return 0

    rows = _read_in_place(con, files, export, renames, resolved)
    if rows is not None:
        return rows
    _new_parts(con, export.name)
    for index, group in enumerate(_same_header_groups(files)):
        for path in group:
            _refuse_empty(path, export)
        path = group[0]
        found, encoding = _describe(con, path, export, resolved["encoding"], resolved["delimiter"])
        try:
            _load_files(con, table, index == 0, group, found, encoding, export, renames, resolved)
        except duckdb.Error as exc:
            if not (encoding is None and resolved["encoding"] is None and _is_csv(path) and _is_encoding_error(exc)):
                first_line = " ".join(str(exc).strip().splitlines()[:3])
                raise ExportError(f"{_where(group, exc)}: cannot be read as export '{export.name}': "
                                  f"{first_line}") from exc
            found, encoding = _describe(con, path, export, "latin-1", resolved["delimiter"])
            try:
                _load_files(con, table, index == 0, group, found, encoding, export, renames, resolved)
            except duckdb.Error as again:
                first_line = " ".join(str(again).strip().splitlines()[:3])
                raise ExportError(f"{_where(group, again)}: cannot be read as export '{export.name}': "
                                  f"{first_line}") from again
    _translate_values(con, table, resolved["values"])
    _add_parsed_dates(con, export, resolved)
    _number_rows(con, export)
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _new_parts(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """`_raw_parts`: for each file copied into a raw table, its number there, path, first rowid and time of
    writing (see _number_rows); the export's earlier parts forgotten."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _raw_parts (export VARCHAR, part USMALLINT, file VARCHAR, "
                "row_base BIGINT, exported_at TIMESTAMPTZ)")
    con.execute("DELETE FROM _raw_parts WHERE export = $e", {"e": name})


def _rows_table(name: str) -> str:
    return f"raw_{name}_rows"


def drop_raw_export(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Free a raw export once staged (its rows are held in memory, spilling to the build's temp folder)."""
    con.execute(f"DROP VIEW IF EXISTS raw_{name}")
    con.execute(f"DROP TABLE IF EXISTS {_rows_table(name)}")


# Rows are numbered by where they sit in the table: DuckDB keeps a file's rows in file order when it reads
# them in parallel (insertion order is preserved), so a row's `rowid` less its file's first `rowid` is its
# place in the file. Numbering them with `row_number() OVER ()` instead held the whole read to one thread
# (twice the time of reading the file). What is the same for every row of a file (its path, first rowid and
# time of writing) is kept once, in `_raw_parts`, and each row holds only its file's number (`_part`): held
# per row, those columns weighed more than the export's own values (20,000,000 events: 3.0 GB against 1.9 GB,
# so the raw rows and the staged ones no longer fitted DuckDB's memory together and spilled to disk).
def _number_rows(con: duckdb.DuckDBPyConnection, export: Export) -> None:
    """`raw_<name>`: the loaded rows, each with its file (`_part`, its number in `_raw_parts`; `_file`,
    `_exported_at`) and `_row`, its 1-based data row within its file; `_date_format` and `_<date>_parsed` NULL
    unless a date_format filled them."""
    table = _rows_table(export.name)
    columns = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    parsed = f"_{export.date_column}_parsed"
    dates = "" if parsed in columns else f", NULL::VARCHAR AS _date_format, NULL::VARCHAR AS {parsed}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw_{export.name} AS "
                f"SELECT r.*, p.file AS _file, r.rowid - p.row_base + 1 AS _row, "
                f"NULL::BIGINT AS _line, p.exported_at AS _exported_at{dates} "
                f"FROM {table} AS r JOIN _raw_parts AS p ON p.export = {_sql_text(export.name)} AND p.part = r._part")


def _same_header_groups(files: list[Path]) -> list[list[Path]]:
    """Consecutive CSV files whose first line (the header) is the same byte for byte, read together in one
    pass: an export of 305 daily files is one read, not 305 (each read costs a sniff and a statement)."""
    groups: list[list[Path]] = []
    last = None
    for path in files:
        header = _header_line(path) if _is_csv(path) and not path.name.lower().endswith(".gz") else None
        if header is not None and header == last:
            groups[-1].append(path)
        else:
            groups.append([path])
        last = header
    return groups


def _header_line(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            line = handle.readline(65536)
    except OSError:
        return None
    line = line.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    # a header naming `filename` would clash with the reader's own column of that name
    return line if line and b"filename" not in line.lower() and b'"' not in line else None


def _where(group: list[Path], exc: Exception) -> str:
    """The file a read error names, else the group's first file."""
    return next((str(p) for p in group if str(p) in str(exc)), str(group[0]))


def _load_files(con: duckdb.DuckDBPyConnection, table: str, first: bool, group: list[Path], found: list[str],
                encoding: str | None, export: Export, renames: dict[str, str], resolved: dict[str, Any]) -> None:
    """Files of one header into the raw table: a single read. Raw tables are temporary (in memory, spilling to
    the build's temp folder): staging reads each once, and only typed tables are written to the warehouse."""
    path = group[0]
    computed = _computed_columns(path, found, export, resolved)
    mapping = _column_map(path, found, export, renames, computed)
    selected = _contract_columns(mapping, export, computed)
    extras = [f"CAST({_quote(theirs)} AS VARCHAR) AS {_quote(ours)}"
              for ours, theirs in _extra_columns(found, mapping, export, computed).items()]
    extras += [f"CAST(({sql}) AS VARCHAR) AS {_quote(_extra_name(ours))}" for ours, sql in computed.items()
               if ours not in export.all_columns]
    # `_breaks`: the line breaks inside the row's quoted fields, counted over every column of the file (the
    # ones not kept, such as `_internal`, move the lines below them too); not shown by the raw_<name> view.
    # Counting them costs a copy of every value, so it is done only for the rare rows that hold one.
    breaks = "0"
    if _is_csv(path) and found:
        any_break = " OR ".join(f"contains({_quote(c)}, chr(10))" for c in found)
        count = " + ".join(f"coalesce(length({_quote(c)}) - length(replace({_quote(c)}, chr(10), '')), 0)"
                           for c in found)
        breaks = f"CASE WHEN {any_break} THEN {count} ELSE 0 END"
    # The rows are copied into a table before staging reads them, so DuckDB cannot push staging's casts into
    # the CSV reader, where a bad value would fail the read instead of being set aside. Each file is a part
    # (`_raw_parts`) with its first `rowid` in the table (see _number_rows); for several files read in one pass
    # the parts are told apart by file name once read.
    row_base = 0 if first else con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    part = con.execute("SELECT coalesce(max(part) + 1, 0) FROM _raw_parts WHERE export = $e",
                       {"e": export.name}).fetchone()[0]
    several = len(group) > 1
    reader = _reader(path, encoding, resolved["delimiter"])
    values = _reader_values(path, encoding, resolved["delimiter"])
    if several:
        # The files share the first file's header, so its sniffed dialect and columns are given to the reader:
        # sniffing each small file again made the read 15 times slower (305 daily files: 14 s against 0.9 s).
        delimiter = resolved["delimiter"] or con.execute("SELECT Delimiter FROM sniff_csv($p)", {"p": str(path)}).fetchone()[0]
        reader = ("read_csv($path, auto_detect = false, header = true, delim = $delimiter, quote = '\"', escape = '\"', "
                  "comment = '', "
                  f"columns = $columns, filename = true{', encoding = $encoding' if encoding else ''})")
        values.update(path=[str(p) for p in group], delimiter=delimiter, columns={c: "VARCHAR" for c in found})
    # `_breaks` is kept only until the rows holding one are noted (_note_line_breaks); `_filename` (several
    # files) only until each row's part is known.
    statement = (
        f"SELECT {', '.join(selected + extras)}, $part::USMALLINT AS _part, ({breaks})::BIGINT AS _breaks"
        f"{', filename AS _filename' if several else ''} "
        f"FROM {reader}"
    )
    values["part"] = part
    if first:
        con.execute(f"CREATE TEMP TABLE {table} AS {statement}", values)
    else:
        con.execute(f"ALTER TABLE {table} ADD COLUMN _breaks BIGINT")
        if several:
            con.execute(f"ALTER TABLE {table} ADD COLUMN _filename VARCHAR")
        con.execute(f"INSERT INTO {table} BY NAME {statement}", values)
    if several:  # each file a part: its first rowid, and its own modification time
        files = [str(p) for p in group]
        bases = dict(con.execute(f"SELECT _filename, min(rowid) FROM {table} WHERE rowid >= $start GROUP BY ALL",
                                 {"start": row_base}).fetchall())
        con.executemany("INSERT INTO _raw_parts VALUES (?, ?, ?, ?, ?)",
                        [(export.name, part + i, f, bases.get(f, row_base), _exported_at(Path(f), resolved))
                         for i, f in enumerate(files)])
        con.execute(f"UPDATE {table} AS t SET _part = p.part FROM _raw_parts AS p "
                    f"WHERE p.export = $name AND p.file = t._filename AND t.rowid >= $start",
                    {"start": row_base, "name": export.name})
        con.execute(f"ALTER TABLE {table} DROP COLUMN _filename")
    else:
        con.execute("INSERT INTO _raw_parts VALUES (?, ?, ?, ?, ?)",
                    [export.name, part, str(path), row_base, _exported_at(path, resolved)])
    if _is_csv(path):
        _note_line_breaks(con, table, export.name, row_base)
    con.execute(f"ALTER TABLE {table} DROP COLUMN _breaks")


def _contract_columns(mapping: dict[str, str], export: Export, computed: dict[str, str] | None = None) -> list[str]:
    """Every contract column as text under our name: computed, read from the file, or NULL where the file
    lacks an optional one."""
    computed = computed or {}
    return [f"CAST(({computed[c]}) AS VARCHAR) AS {c}" if c in computed
            else f"CAST({_quote(mapping[c])} AS VARCHAR) AS {c}" if c in mapping else f"NULL::VARCHAR AS {c}"
            for c in export.all_columns]


def _extra_columns(found: list[str], mapping: dict[str, str], export: Export,
                   computed: dict[str, str] | None = None) -> dict[str, str]:
    """Columns beyond the contract, kept under a lower-case name (for customers they become segments): our
    name -> the file's. Columns starting with `_` are the exporter's own and are dropped; a computed column
    of the same name replaces the file's."""
    mapped = set(mapping.values())
    return {_extra_name(c): c for c in found if c not in mapped and _clean(c).lower() not in export.all_columns
            and not _clean(c).startswith("_") and _clean(c).lower() not in (computed or {})}


def _computed_columns(path: Path, found: list[str], export: Export, resolved: dict[str, Any]) -> dict[str, str]:
    """`compute`: our column -> its checked SQL over this file's own columns (expressions.py refuses anything
    but a scalar expression of column names, literals, operators and a few functions)."""
    from .expressions import ExpressionError, compile_expression

    computed = {}
    for ours, text in resolved["compute"].items():
        try:
            computed[ours] = compile_expression(f"exports.{export.name}.compute.{ours}", text, list(found))
        except ExpressionError as exc:
            raise ExportError(f"params: {exc}" if not str(exc).startswith("params:") else str(exc)) from exc
    return computed


def _exported_at(path: Path, resolved: dict[str, Any]) -> datetime:
    """When the export was written: the `exported_at` param (a date alone meaning its last second), else the
    file's modification time."""
    exported_at = resolved["exported_at"] or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    if isinstance(exported_at, date) and not isinstance(exported_at, datetime):
        exported_at = datetime(exported_at.year, exported_at.month, exported_at.day, 23, 59, 59)
    return exported_at


def _sql_text(value: str) -> str:
    """A SQL string literal (a view takes no bound parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _read_in_place(con: duckdb.DuckDBPyConnection, files: list[Path], export: Export, renames: dict[str, str],
                   resolved: dict[str, Any]) -> int | None:
    """`raw_<name>` as a view over Parquet files themselves, for exports that need no rewriting (no preset
    value map or row folding, no date_format): a Parquet file is already a table on disk with its rows
    numbered (`file_row_number`), so staging reads it where it lies instead of a copy (about a quarter of
    staging's cost at 10 million orders). None when the export must be copied after all."""
    if (resolved["values"] or resolved["date_format"] or resolved["compute"]
            or any(_is_csv(p) for p in files)):
        return None
    described = []
    for path in files:
        _refuse_empty(path, export)
        found, _ = _describe(con, path, export, None, None)
        if any(_clean(c).lower() == "file_row_number" for c in found):
            return None  # the reader's own row number would clash with the file's column
        mapping = _column_map(path, found, export, renames)
        described.append((path, mapping, _extra_columns(found, mapping, export)))
    all_extras = list(dict.fromkeys(ours for _, _, extras in described for ours in extras))
    parts = []
    _new_parts(con, export.name)
    for part, (path, mapping, extras) in enumerate(described):
        con.execute("INSERT INTO _raw_parts VALUES (?, ?, ?, ?, ?)",
                    [export.name, part, str(path), 0, _exported_at(path, resolved)])
        columns = _contract_columns(mapping, export)
        columns += [f"CAST({_quote(extras[e])} AS VARCHAR) AS {_quote(e)}" if e in extras
                    else f"NULL::VARCHAR AS {_quote(e)}" for e in all_extras]
        parts.append(
            f"SELECT {', '.join(columns)}, {part}::USMALLINT AS _part, {_sql_text(str(path))} AS _file, "
            f"NULL::BIGINT AS _line, "
            f"{_sql_text(_exported_at(path, resolved).isoformat())}::TIMESTAMPTZ AS _exported_at, "
            f"NULL::VARCHAR AS _date_format, "
            f"NULL::VARCHAR AS _{export.date_column}_parsed, file_row_number + 1 AS _row "
            f"FROM read_parquet({_sql_text(str(path))}, file_row_number = true)")
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw_{export.name} AS " + " UNION ALL ".join(parts))
    try:
        return con.execute(f"SELECT count(*) FROM raw_{export.name}").fetchone()[0]
    except duckdb.Error as exc:
        first_line = " ".join(str(exc).strip().splitlines()[:3])
        raise ExportError(f"{files[0].parent}: export '{export.name}' cannot be read: {first_line}") from exc


def _note_line_breaks(con: duckdb.DuckDBPyConnection, table: str, name: str, row_base: int) -> None:
    """Rows whose quoted fields span lines, and by how many: enough to give any set-aside row its line
    (`fill_set_aside_lines`) without numbering every row of a large file. Reads only the rows just loaded."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _line_breaks (file VARCHAR, _row BIGINT, breaks BIGINT)")
    con.execute(f"INSERT INTO _line_breaks SELECT p.file, r.rowid - p.row_base + 1, r._breaks FROM {table} AS r "
                f"JOIN _raw_parts AS p ON p.export = $name AND p.part = r._part "
                f"WHERE r.rowid >= $start AND r._breaks > 0", {"start": row_base, "name": name})


def fill_set_aside_lines(con: duckdb.DuckDBPyConnection) -> None:
    """`set_aside.line`: the line of its file a set-aside row starts on (the header is line 1; quoted
    fields may span lines). NULL for Parquet."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _line_breaks (file VARCHAR, _row BIGINT, breaks BIGINT)")
    con.execute(
        """UPDATE set_aside AS s SET line = n.line FROM (
               SELECT a.file, a.row, 1 + a.row + coalesce(sum(b.breaks), 0) AS line
               FROM (SELECT DISTINCT file, row FROM set_aside WHERE row IS NOT NULL) AS a
               LEFT JOIN _line_breaks AS b ON b.file = a.file AND b._row < a.row
               GROUP BY a.file, a.row
           ) AS n
           WHERE s.file = n.file AND s.row = n.row AND s.line IS NULL
             AND NOT lower(s.file) LIKE '%.parquet'"""
    )


def _translate_values(con: duckdb.DuckDBPyConnection, table: str, value_maps: dict[str, dict[str, str]]) -> None:
    """A preset's value map (their value -> ours, case-insensitive); values it does not name stay."""
    for column, mapping in value_maps.items():
        for theirs, ours in mapping.items():
            con.execute(f"UPDATE {table} SET {_quote(column)} = $ours WHERE lower(trim({_quote(column)})) = $theirs",
                        {"ours": ours, "theirs": theirs.lower()})


def _add_parsed_dates(con: duckdb.DuckDBPyConnection, export: Export, resolved: dict[str, Any]) -> None:
    """`_date_format` and `_<date>_parsed`: the date column read with the export's date_format, as ISO text
    (UTC with an offset when the format has a time zone); NULL where no format is set or it does not match."""
    table, column = _rows_table(export.name), export.date_column
    formats = resolved["date_format"]
    if not formats:
        return
    con.execute(f"ALTER TABLE {table} ADD COLUMN _date_format VARCHAR")
    con.execute(f"ALTER TABLE {table} ADD COLUMN _{column}_parsed VARCHAR")
    con.execute(f"UPDATE {table} SET _date_format = $label", {"label": " or ".join(formats)})
    for fmt in formats:
        if "%z" in fmt or "%Z" in fmt:
            expression = ("strftime(timezone('UTC', try_strptime(trim({c}), $f)), '%Y-%m-%d %H:%M:%S.%f') "
                          "|| '+00:00'")
        else:
            expression = "strftime(try_strptime(trim({c}), $f), '%Y-%m-%d %H:%M:%S.%f')"
        con.execute(f"UPDATE {table} SET _{column}_parsed = {expression.format(c=column)} "
                    f"WHERE _{column}_parsed IS NULL", {"f": fmt})


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+\d[\d ()-]{6,}\d|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")


def redact(column: str | None, value: str | None) -> str | None:
    """A value fit to show people: personal columns, e-mail addresses and phone numbers are redacted,
    control characters are made visible, and long values are cut."""
    if value is None:
        return None
    if column and column.lower() in PERSONAL_COLUMNS:
        return "[redacted]"
    text = _EMAIL.sub("[email redacted]", str(value))
    text = _PHONE.sub("[phone redacted]", text)
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= 60 else text[:57] + "..."
