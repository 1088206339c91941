"""The one SQL runner: raw exports -> sql/staging -> sql/marts, in a DuckDB file.

Values (period bounds, params) are bound as named parameters (`$period_start`), never formatted into
SQL text. Each statement receives only the parameters it names.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

import duckdb

from . import currency, staging
from .exports import (CONTRACT, Export, drop_raw_export, export_settings, fill_set_aside_lines, find_export_files,
                      load_raw_export)
from .params import PROJECT_ROOT
from .periods import Period
from .predictions import write_predictions
from .segments import write_segment_choice

SQL_DIR = PROJECT_ROOT / "sql"
LAYERS = ("staging", "marts")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?$", re.MULTILINE)


class SqlModelError(RuntimeError):
    """A SQL model that failed: names the file and the statement."""


@dataclass(frozen=True)
class Model:
    layer: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem


def models(sql_dir: Path = SQL_DIR, layers: tuple[str, ...] = LAYERS) -> list[Model]:
    """Staging models, then marts, each layer in file-name order."""
    return [Model(layer, path) for layer in layers for path in sorted((sql_dir / layer).glob("*.sql"))]


def split_statements(sql: str) -> list[str]:
    """Statements end with `;` at the end of a line; whole-line comments are dropped first."""
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    parts, start = [], 0
    for match in _STATEMENT_END.finditer(sql):
        parts.append(sql[start:match.start()])
        start = match.end()
    parts.append(sql[start:])
    return [p.strip() for p in parts if _strip_comments(p).strip()]


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def bind_parameters(period: Period, params: dict[str, Any]) -> dict[str, Any]:
    """Every value a model may name: period bounds and the scalar or list params."""
    bound: dict[str, Any] = {
        "period_start": period.start,
        "period_end": period.end,
        "period_end_exclusive": period.end_exclusive,
        "period_months": period.months,
        "previous_start": period.previous.start,
        "previous_end_exclusive": period.previous.end_exclusive,
        "year_ago_start": period.year_ago.start,
        "year_ago_end_exclusive": period.year_ago.end_exclusive,
    }
    for key, value in params.items():
        if isinstance(value, (str, int, float, bool, date)) or (
            isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)
        ):
            bound[key] = value
    onboarding = params.get("onboarding") or {}
    bound["onboarding_window_days"] = int(onboarding.get("window_days", 7))
    bound["activity"] = params.get("activity") or "orders"
    subscriptions = params.get("subscriptions") or {}
    bound["subscriptions_reactivation_window_months"] = int(subscriptions.get("reactivation_window_months", 12))
    # Bound even when empty (NULL): the reporting-currency model names it either way.
    bound["reporting_currency"] = currency.reporting_code(params)
    return bound


def write_param_tables(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Maps in params become small tables models can join: `param_touchpoint_categories(kind, category)`
    and `param_comment_themes(theme, keyword)`, and `param_fx_rates(currency, rate)`: units of the reporting
    currency per unit of each currency (refused with one line when malformed)."""
    con.execute("CREATE OR REPLACE TABLE param_touchpoint_categories (kind VARCHAR PRIMARY KEY, category VARCHAR)")
    for category, kinds in (params.get("touchpoint_categories") or {}).items():
        for kind in kinds:
            con.execute("INSERT INTO param_touchpoint_categories VALUES (lower($k), $c)", {"k": kind, "c": category})
    con.execute("CREATE OR REPLACE TABLE param_comment_themes (theme VARCHAR, keyword VARCHAR)")
    for theme, keywords in (params.get("comment_themes") or {}).items():
        for keyword in keywords:
            con.execute("INSERT INTO param_comment_themes VALUES ($t, lower($k))", {"t": theme, "k": keyword})
    # The first-week steps in funnel order, and the events that make a customer active (empty: any event).
    onboarding = params.get("onboarding") or {}
    con.execute("CREATE OR REPLACE TABLE param_key_events (event VARCHAR PRIMARY KEY, step INTEGER)")
    for step, event in enumerate(dict.fromkeys(onboarding.get("key_events") or []), start=1):
        con.execute("INSERT INTO param_key_events VALUES ($e, $s)", {"e": str(event), "s": step})
    con.execute("CREATE OR REPLACE TABLE param_active_events (event VARCHAR PRIMARY KEY)")
    for event in dict.fromkeys(params.get("active_events") or []):
        con.execute("INSERT INTO param_active_events VALUES ($e)", {"e": str(event)})
    currency.check_currency_params(params)
    con.execute("CREATE OR REPLACE TABLE param_fx_rates (currency VARCHAR PRIMARY KEY, rate DECIMAL(18, 8))")
    for code, rate in currency.fx_rates(params).items():
        con.execute("INSERT INTO param_fx_rates VALUES ($c, $r)", {"c": code, "r": rate})


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, values: dict[str, Any], source: str = "<sql>") -> None:
    for statement in split_statements(sql):
        names = set(_PARAMETER.findall(_strip_comments(statement)))
        missing = names - values.keys()
        if missing:
            raise SqlModelError(f"{source}: names unknown parameter(s) {', '.join(sorted(missing))}.")
        try:
            con.execute(statement, {name: values[name] for name in names})
        except duckdb.Error as exc:
            first_line = statement.splitlines()[0][:120]
            raise SqlModelError(f"{source}: statement starting '{first_line}' failed: {exc}") from exc


def duckdb_settings(params: dict[str, Any] | None) -> dict[str, Any]:
    """DuckDB's `threads` and `memory_limit` from params; empty means sized to the machine."""
    settings = (params or {}).get("duckdb") or {}
    threads = int(settings.get("threads") or os.cpu_count() or 1)
    memory = settings.get("memory_limit")
    if not memory:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory = f"{min(3 * 2**30, ram // 2) // 2**20}MB"
    return {"threads": threads, "memory_limit": str(memory)}


def connect(path: Path, params: dict[str, Any], read_only: bool = False) -> duckdb.DuckDBPyConnection:
    config = duckdb_settings(params)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    if not read_only:
        spill = Path(path).parent / "duckdb_tmp"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = $dir", {"dir": str(spill)})
    return con


def keeps_staging(params: dict[str, Any]) -> bool:
    """`keep_staging: true` writes the staged exports (`stg_*`) into the warehouse file too, for an analyst (or a
    test) reading them row by row. By default they are temporary tables of the build's connection: written into
    the file they cost more than reading and typing every export (issue 8's bench), and no notebook reads them."""
    value = params.get("keep_staging", False)
    if not isinstance(value, bool):
        raise ValueError(f"params: keep_staging must be true or false, not {value!r}.")
    return value


def build_warehouse(path: Path, data_dir: Path, period: Period, params: dict[str, Any],
                    sql_dir: Path = SQL_DIR, on_step: Callable[[str], None] | None = None,
                    layers: tuple[str, ...] = LAYERS) -> Path:
    """Load raw exports, run staging then marts; the file is written beside `path` and moved in at the end."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    con = connect(partial, params)
    on_spark = None
    try:
        # One row per export: rows read from its files; `grain` row or line (lines grouped into records: orders);
        # `records` the records formed (= rows_read at row grain); ids written as `17850.0` read as `17850`;
        # `derived` when the export is absent and was derived (customers from their orders).
        con.execute("CREATE TABLE export_files (export VARCHAR, present BOOLEAN, rows_read BIGINT, grain VARCHAR, "
                    "records BIGINT, ids_normalised BIGINT, derived BOOLEAN)")
        con.execute(
            "CREATE TABLE set_aside (export VARCHAR, file VARCHAR, row BIGINT, \"column\" VARCHAR, "
            "reason VARCHAR, value VARCHAR)"
        )
        write_param_tables(con, params)
        values = bind_parameters(period, params)

        def run(model: Model) -> None:
            if on_step:
                on_step(f"{model.layer} {model.name}")
            run_sql(con, model.path.read_text(encoding="utf-8"), values, source=str(model.path))

        chosen = models(sql_dir, layers)
        staging = {m.name: m for m in chosen if m.layer == "staging"}
        for model in [m for m in staging.values() if m.name.startswith("_")]:
            run(model)
        if any(m.layer == "staging" for m in chosen):
            stage_exports(con, data_dir, params, values, staging.pop("customer_keys"), run, on_step)
        for model in [m for m in staging.values() if not m.name.startswith("_")]:
            run(model)
        fill_set_aside_lines(con)
        if any(m.layer == "staging" for m in chosen):
            record_staged_ranges(con)
        if any(m.layer != "staging" for m in chosen):
            # The segment columns and their values shown, decided once from the staged customers (segments.py).
            if on_step:
                on_step("segments")
            write_segment_choice(con, params)
        predicted = False
        marts = [m for m in chosen if m.layer != "staging"]
        last_readers = {} if keeps_staging(params) else last_reader_of_staging(marts)
        on_spark = _marts_on_spark(con, params, partial, marts) if marts else None
        for model in marts:
            if model.name.startswith("zz_") and not predicted:
                # The models fitted in Python (predictions.py), after every mart they read and before the
                # call list that reads them.
                write_predictions(con, params, period.end, **({"on_step": on_step} if on_step else {}))
                predicted = True
            if on_spark is None:
                run(model)
            else:
                if on_step:
                    on_step(f"marts {model.name} (on Spark)")
                on_spark.hand_over()  # (what staging and Python wrote since the last model)
                on_spark.run(model, values)
            for table in last_readers.get(model.name, ()):
                con.execute(f"DROP TABLE IF EXISTS temp.{table}")  # memory back as soon as no model needs it
        for export in CONTRACT.values():
            drop_raw_export(con, export.name)
        con.execute("CHECKPOINT")
    finally:
        if on_spark is not None:
            on_spark.close()
        con.close()
    partial.replace(path)
    return path


def _marts_on_spark(con: duckdb.DuckDBPyConnection, params: dict[str, Any], partial: Path,
                    marts: list[Model]) -> Any:
    """The marts' Spark runner (engine.py) when params say `engine: spark`; None on DuckDB, which records itself."""
    from . import engine  # (engine.py runs models with this module's runner)

    if engine.engine_of(params) == "duckdb":
        engine.record_engine(con, "duckdb", duckdb.__version__, None)
        return None
    return engine.SparkMarts(con, params, partial.with_name(partial.name + ".spark"), marts)


def last_reader_of_staging(marts: list[Model]) -> dict[str, list[str]]:
    """For each mart, the staged tables (`stg_<export>`) no mart after it names: dropped once it has run."""
    last: dict[str, str] = {}
    for model in marts:
        text = _strip_comments(model.path.read_text(encoding="utf-8"))
        for export in CONTRACT:
            if re.search(rf"\bstg_{export}\b", text):
                last[f"stg_{export}"] = model.name
    readers: dict[str, list[str]] = {}
    for table, model in last.items():
        readers.setdefault(model, []).append(table)
    return readers


def stage_exports(con: duckdb.DuckDBPyConnection, data_dir: Path, params: dict[str, Any], values: dict[str, Any],
                  customer_keys: Model, run: Callable[[Model], None],
                  on_step: Callable[[str], None] | None = None) -> None:
    """Every export loaded and staged from its declaration (staging.py). Each is read once, staged at once, and
    its raw text dropped before the next one is read: only one raw table is ever held (in memory, spilling to
    the build's temp folder). Without a customers export the orders come first and the customers are derived
    from them."""
    settings = {name: export_settings(params, name) for name in CONTRACT}
    derived = not find_export_files(data_dir, "customers", settings["customers"]["path"])
    order = ["orders", "customers"] + [n for n in CONTRACT if n not in ("orders", "customers")] if derived \
        else list(CONTRACT)
    for name in order:
        export = CONTRACT[name]
        if name == "customers" and derived:
            if on_step:
                on_step("staging derived customers")
            extras = [row[0] for row in con.execute("DESCRIBE stg_orders").fetchall()
                      if row[0] not in CONTRACT["orders"].all_columns and row[0] not in ("_part", "_row")]
            run_sql(con, staging.derived_customers_sql(settings["orders"]["customer_columns"], extras,
                                                       temp=not keeps_staging(params)), values,
                    source=str(staging.DERIVED_CUSTOMERS))
            con.execute("INSERT INTO export_files VALUES ('customers', false, 0, 'row', "
                        "(SELECT count(*) FROM stg_customers), 0, true)")
        else:
            if on_step:
                on_step(f"load {name}")
            raw_settings = (params.get("exports") or {}).get(name) or {}
            rows = load_raw_export(con, data_dir, export, raw_settings.get("columns", {}), settings=raw_settings)
            present = bool(find_export_files(data_dir, name, settings[name]["path"]))
            if on_step:
                on_step(f"staging stg_{name}")
            grain = settings[name]["grain"]
            normalised = _ids_normalised(con, export) if present else 0
            extras = staging.extra_columns(con, export)
            sql = staging.staging_sql(export, extras, grain, derived_customers=derived and name == "orders",
                                      normalise_ids=normalised > 0, temp=not keeps_staging(params))
            run_sql(con, sql, values, source=f"{staging.TEMPLATE} ({name})")
            records = (con.execute(f"SELECT count(DISTINCT {export.key}) FROM _stg_{name}_lines").fetchone()[0]
                       if grain == "line" else rows)
            con.execute("INSERT INTO export_files VALUES ($e, $p, $r, $g, $n, $i, false)",
                        {"e": name, "p": present, "r": rows, "g": grain, "n": records, "i": normalised})
            drop_raw_export(con, name)
            con.execute(f"DROP TABLE IF EXISTS _stg_{name}_lines")
        if name == "customers":
            run(customer_keys)
    if keeps_staging(params):
        name_staged_files(con, derived)


def name_staged_files(con: duckdb.DuckDBPyConnection, derived: bool) -> None:
    """Staged rows carry their file's number (`_part`, of `_raw_parts`): a path on every row weighed 0.65 GB per
    20,000,000 rows in memory. Staging kept in the file (for an analyst) names each row's file instead (`_file`);
    derived customers name the file of their first order."""
    for name in CONTRACT:
        source = "orders" if name == "customers" and derived else name
        con.execute(f"ALTER TABLE stg_{name} ADD COLUMN _file VARCHAR")
        con.execute(f"UPDATE stg_{name} AS s SET _file = p.file FROM _raw_parts AS p "
                    f"WHERE p.export = $e AND p.part = s._part", {"e": source})
        con.execute(f"ALTER TABLE stg_{name} DROP COLUMN _part")


def record_staged_ranges(con: duckdb.DuckDBPyConnection) -> None:
    """`export_ranges`: per export of the contract, the rows staged and the first and last day of its date
    column, so the marts that describe every export (data quality) read them from one table, whatever exports
    the contract declares."""
    con.execute("CREATE OR REPLACE TABLE export_ranges (export VARCHAR, rows_staged BIGINT, first_day DATE, "
                "last_day DATE)")
    for export in CONTRACT.values():
        con.execute(f"INSERT INTO export_ranges SELECT $e, count(*), min({export.date_column})::DATE, "
                    f"max({export.date_column})::DATE FROM stg_{export.name}", {"e": export.name})


def _ids_normalised(con: duckdb.DuckDBPyConnection, export: Export) -> int:
    """How many id values of a raw export lose a trailing `.0` in staging (rr_id), for the data quality page."""
    ids = [c for c in export.all_columns if export.type_of(c) == "id"]
    # CASE, not AND: DuckDB evaluates both sides of an AND over the whole vector, so the pattern would run on
    # every id (4.5 times the cost at 7 million touchpoints); CASE runs it only on ids holding a '.'.
    counts = " + ".join(f"count_if(CASE WHEN contains({c}, '.') THEN regexp_full_match(trim({c}), '[0-9]+\\.0+') "
                        f"ELSE false END)" for c in ids)
    return int(con.execute(f"SELECT coalesce({counts}, 0) FROM raw_{export.name}").fetchone()[0])


# A notebook reads its marts one by one (74 reads in a build), and opening the file anew for each cost 28 ms (its
# catalogue read again) against 1 ms on a connection kept open. So one read-only connection per file is kept, and
# reopened when the file is no longer the one it opened: a rebuild moves a new file in under the same name.
_READERS: dict[str, tuple[tuple, duckdb.DuckDBPyConnection]] = {}
_READERS_LOCK = threading.Lock()


def read_mart(warehouse: Path, name: str) -> "Any":
    """A mart as a pandas DataFrame (marts are small by design)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a mart name: {name!r}")
    return read_query(warehouse, f"SELECT * FROM {name}").df()


def read_query(warehouse: Path, sql: str, values: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """The result of a read on the built warehouse (`.df()`, `.fetchall()`), on the connection kept for its file.
    For notebooks: a process that writes a warehouse itself opens it as the build does (connect)."""
    path = os.path.abspath(warehouse)
    stat = os.stat(path)
    version = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _READERS_LOCK:
        kept = _READERS.get(path)
        if kept is None or kept[0] != version:
            if kept is not None:
                kept[1].close()
            _READERS[path] = kept = (version, duckdb.connect(path, read_only=True))
        cursor = kept[1].cursor()  # (a cursor per read: reads may come from several threads)
    return cursor.execute(sql, values or {})
