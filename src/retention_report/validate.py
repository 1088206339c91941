"""Check exports against the contract without building a report: what `retention-report validate` prints.

Runs the same loading and staging as a build (so the answer is the build's), in a throw-away warehouse,
and summarises per export: rows read, staged and set aside by reason, the date range of the staged rows,
and the first examples of each problem (file, row, line, column, value) with personal data redacted.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from . import warehouse
from .engine import engine_of
from .exports import CONTRACT, ExportError, export_settings, redact
from .periods import parse_period

EXAMPLES_PER_REASON = 3


@dataclass
class Problem:
    column: str
    reason: str
    rows: int
    examples: list[tuple[str, int, int | None, str | None]] = field(default_factory=list)  # file, row, line, value


@dataclass
class ExportSummary:
    export: str
    present: bool
    required: bool
    rows_read: int
    rows_staged: int
    first_day: date | None
    last_day: date | None
    problems: list[Problem] = field(default_factory=list)
    grain: str = "row"
    records: int = 0  # orders formed from lines (line grain)
    ids_normalised: int = 0
    derived: bool = False

    @property
    def rows_set_aside(self) -> int:
        return sum(p.rows for p in self.problems)


ACTIVITY_EXPORTS = ("orders", "events", "subscriptions")


def activity_sources(params: dict[str, Any], present: set[str] | None = None) -> tuple[str, ...]:
    """The exports that make a customer active (param `activity`: orders, events, subscriptions, both, or a list
    of orders, events and subscriptions such as [orders, subscriptions]), in that order. `both` is the orders and
    every other activity export given: with `present` (present_exports) those of events and subscriptions it holds,
    without it both. Raises ExportError for a value it does not know (sql/marts/_activity.sql refuses the same and
    an export named that was not given)."""
    activity = params.get("activity", "orders") or "orders"
    words = [activity] if isinstance(activity, str) else activity
    if (not isinstance(words, list) or not all(isinstance(w, str) for w in words)
            or not set(words) <= set(ACTIVITY_EXPORTS) | {"both"} or ("both" in words and len(words) > 1)):
        raise ExportError(f"params: activity must be orders, events, subscriptions or both, or a list of orders, "
                          f"events and subscriptions such as [orders, subscriptions], not {activity!r}.")
    if words == ["both"]:
        return tuple(e for e in ACTIVITY_EXPORTS if e == "orders" or present is None or e in present)
    return tuple(e for e in ACTIVITY_EXPORTS if e in words)


def check_params(params: dict[str, Any]) -> None:
    """Refuse export settings or a time zone the build could not use (raises ExportError)."""
    for name in CONTRACT:
        export_settings(params, name)
    for key, value in (("notebook_workers", params.get("notebook_workers")),
                       ("duckdb.threads", (params.get("duckdb") or {}).get("threads"))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ExportError(f"params: {key} must be a whole number of 1 or more (or empty: one per core), "
                              f"not {value!r}.")
    memory = (params.get("duckdb") or {}).get("memory_limit")
    if memory is not None and not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", str(memory).strip(),
                                                 re.IGNORECASE):
        raise ExportError(f"params: duckdb.memory_limit must be a size such as 2GB or 512MB (or empty), not {memory!r}.")
    activity_sources(params)  # refuses an activity it does not know
    try:
        engine_of(params)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    if engine_of(params) == "spark":
        if not isinstance(params.get("spark") or {}, dict):
            raise ExportError("params: spark must be a mapping (master, driver_memory, shuffle_partitions, config).")
        from .spark import missing

        if missing():
            raise ExportError(f"params: engine spark cannot run here: {missing()}.")
    for key, value in (("active_events", params.get("active_events")),
                       ("onboarding.key_events", (params.get("onboarding") or {}).get("key_events"))):
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)):
            raise ExportError(f"params: {key} must be a list of event names, e.g. [app_installed], not {value!r}.")
    onboarding = params.get("onboarding") or {}
    if not isinstance(onboarding, dict):
        raise ExportError("params: onboarding must be a mapping (key_events, window_days).")
    for key, value in (("onboarding.window_days", onboarding.get("window_days", 7)),
                       ("response_target_hours", params.get("response_target_hours", 24))):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ExportError(f"params: {key} must be a positive number, not {value!r}.")
    check_clv_params(params)
    zone = params.get("timezone", "UTC")
    if not isinstance(zone, str) or not zone:
        raise ExportError(f"params: timezone must be a time zone name such as UTC or Europe/Berlin, not {zone!r}.")
    try:
        with duckdb.connect() as probe:
            probe.execute("SELECT timezone($tz, TIMESTAMPTZ '2024-01-01 00:00:00+00')", {"tz": zone}).fetchall()
    except duckdb.Error as exc:
        raise ExportError(f"params: timezone {zone!r} is not a time zone name (e.g. UTC, Europe/Berlin).") from exc


def check_clv_params(params: dict[str, Any]) -> None:
    """Refuse settings the predictions (predictions.py) could not use: a time unit, whole numbers of weeks and
    months, shares between 0 and 1, a rate of 0 or more."""
    unit = params.get("clv_time_unit", "weeks")
    if unit not in ("weeks", "days"):
        raise ExportError(f"params: clv_time_unit must be weeks or days, not {unit!r}.")
    for key, default in (("holdout_weeks", 26), ("clv_horizon_months", 12)):
        value = params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ExportError(f"params: {key} must be a whole number of 1 or more, not {value!r}.")
    for key, default, low, high in (("max_holdout_error", 0.15, 0, None), ("alive_threshold", 0.5, 0, 1),
                                    ("discount_rate", 0.10, None, None)):
        value = params.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or \
                (low is not None and value <= low) or (high is not None and value >= high):
            within = f"between {low} and {high}" if high is not None else "above 0" if low is not None else "0 or more"
            raise ExportError(f"params: {key} must be a number {within}, not {value!r}.")


def validate_exports(data_dir: Path, params: dict[str, Any]) -> list[ExportSummary]:
    """Load and stage the exports; raises ExportError when one cannot be used at all."""
    check_params(params)
    with tempfile.TemporaryDirectory(prefix="retention-validate-") as tmp:
        path = Path(tmp) / "validate.duckdb"
        warehouse.build_warehouse(path, Path(data_dir), parse_period("2000"), params, layers=("staging",))
        with duckdb.connect(str(path), read_only=True) as con:
            return _summaries(con)


def _summaries(con: duckdb.DuckDBPyConnection) -> list[ExportSummary]:
    files = {row[0]: row[1:] for row in con.execute(
        "SELECT export, present, rows_read, grain, records, ids_normalised, derived FROM export_files").fetchall()}
    summaries = []
    for name, export in CONTRACT.items():
        present, rows_read, grain, records, normalised, derived = files.get(name, (False, 0, "row", 0, 0, False))
        # From export_ranges: the staged tables themselves live only as long as the build's connection.
        staged, first, last = con.execute(
            "SELECT rows_staged, first_day, last_day FROM export_ranges WHERE export = $e", {"e": name}
        ).fetchone() or (0, None, None)
        summary = ExportSummary(name, bool(present), export.required, int(rows_read or 0), int(staged), first, last,
                                grain=grain or "row", records=int(records or 0), ids_normalised=int(normalised or 0),
                                derived=bool(derived))
        reasons = con.execute(
            'SELECT "column", reason, count(*) FROM set_aside WHERE export = $e GROUP BY ALL '
            'ORDER BY count(*) DESC, reason', {"e": name}).fetchall()
        for column, reason, count in reasons:
            examples = con.execute(
                'SELECT regexp_extract(file, \'[^/\\\\]+$\'), row, line, value FROM set_aside '
                'WHERE export = $e AND reason = $r AND "column" = $c ORDER BY file, row LIMIT $n',
                {"e": name, "r": reason, "c": column, "n": EXAMPLES_PER_REASON}).fetchall()
            summary.problems.append(Problem(column, reason, int(count),
                                            [(f, r, ln, redact(column, v)) for f, r, ln, v in examples]))
        summaries.append(summary)
    return summaries


def read_summaries(warehouse_path: Path) -> list[ExportSummary]:
    """The same summary as `validate_exports`, read from a built warehouse (what a build prints at its end)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return _summaries(con)


def warning_share(params: dict[str, Any]) -> float:
    """`set_aside_warning_share`: a share from 0 to 1 (0.05 when not given); refused otherwise."""
    share = params.get("set_aside_warning_share")
    share = 0.05 if share is None else share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ValueError(f"params: set_aside_warning_share must be a share from 0 to 1 such as 0.05, not {share!r}.")
    return float(share)


def heavily_set_aside(summaries: list[ExportSummary], share: float) -> list[ExportSummary]:
    """The exports more than `share` of whose rows read were set aside (`set_aside_warning_share`)."""
    return [s for s in summaries if s.present and s.rows_read and s.rows_set_aside / s.rows_read > share]


def heavy_set_aside_line(s: ExportSummary, share: float) -> str:
    """One export's warning, the same words on the command line and on the summary page."""
    return (f"{s.rows_set_aside / s.rows_read:.1%} of the {s.export} rows ({s.rows_set_aside:,} of {s.rows_read:,}) "
            f"were set aside, more than set_aside_warning_share ({share:.0%})")


def report_lines(summaries: list[ExportSummary], data_dir: Path, examples: bool = True,
                 warning_share: float | None = None, built: bool = False,
                 params_file: Path | None = None) -> list[str]:
    """The summary as plain text lines (values already redacted and made printable). A build (`built`) prints
    it without examples and ends with a warning per export over `warning_share`."""
    lines = [f"Exports in {data_dir}:"]
    for s in summaries:
        if s.derived:
            lines.append(f"{s.export}: absent; {s.rows_staged:,} derived from the orders (each created at their "
                         f"first order)")
            continue
        if not s.present:
            lines.append(f"{s.export}: absent ({'required' if s.required else 'optional: its pages say so'})")
            continue
        span = f"{s.first_day} to {s.last_day}" if s.first_day else "no valid dates"
        if s.grain == "line":
            lines.append(f"{s.export}: {s.rows_read:,} lines read, grouped into {s.records:,} orders; "
                         f"{s.rows_staged:,} orders staged, {s.rows_set_aside:,} line(s) set aside; dates {span}")
        else:
            lines.append(f"{s.export}: {s.rows_read:,} rows read, {s.rows_staged:,} staged, "
                         f"{s.rows_set_aside:,} set aside; dates {span}")
        if s.ids_normalised:
            lines.append(f"  {s.ids_normalised:,} ids written as decimals (such as 17850.0) read as whole numbers")
        for p in s.problems:
            lines.append(f"  {p.column}: {p.reason}: {p.rows:,} row(s)")
            for file, row, line, value in (p.examples if examples else []):
                where = f"{file} row {row}" + (f" (line {line})" if line is not None else "")
                shown = "(empty)" if value is None else repr(value)
                lines.append(f"    {where}, {p.column} = {shown}")
    usable = all(s.present or not s.required for s in summaries)
    aside = sum(s.rows_set_aside for s in summaries)
    if built:
        again = f"--data {data_dir}" + (f" --params {params_file}" if params_file else "")
        lines.append(f"{aside:,} row(s) set aside in all (`retention-report validate {again}` shows examples)."
                     if aside else "No row was set aside.")
    else:
        lines.append(("Usable" if usable else "Not usable") +
                     (f": {aside:,} row(s) would be set aside (a build with --strict would fail)." if aside
                      else ": no row would be set aside."))
    if warning_share is not None:
        for s in heavily_set_aside(summaries, warning_share):
            lines.append(f"warning: {heavy_set_aside_line(s, warning_share)}: the figures leave them out; "
                         f"the data quality page lists why.")
    return lines


class OptionError(ValueError):
    """A command-line value that is refused before anything runs."""


def _plain(text: str) -> None:
    if "\x00" in text or any(ord(ch) < 32 for ch in text):
        raise OptionError(f"{text!r} holds control characters; give a plain path.")


def check_data_dir(data: Path) -> Path:
    """DATA: an existing folder (never a file, never a pattern passed on to a shell). Returns it absolute:
    the path checked is the path used, whatever the working folder is later."""
    _plain(str(data))
    resolved = Path(data).expanduser().resolve()
    if not resolved.is_dir():
        raise OptionError(f"--data {data}: no such folder (it should hold customers.csv, orders.csv, ...).")
    return resolved


def _own_folder(option: str, folder: Path, what: str, example: str) -> Path:
    """A folder of its own for `option`, resolved: never the file-system root or a folder right under it, the
    home folder or the project."""
    _plain(str(folder))
    resolved = Path(folder).expanduser().resolve()
    from .params import PROJECT_ROOT

    forbidden = {Path("/"), Path.home().resolve(), PROJECT_ROOT.resolve()}
    if resolved in forbidden or len(resolved.parts) < 3:
        raise OptionError(f"{option} {folder}: refusing to {what} {resolved}; give a folder of its own "
                          f"(e.g. {example}).")
    return resolved


def check_out_dir(out: Path) -> Path:
    """`sample-data --out`: a folder of its own (the sample exports are written into it)."""
    resolved = _own_folder("--out", out, "write the sample exports into", "data/sample")
    if resolved.exists() and not resolved.is_dir():
        raise OptionError(f"--out {out}: is a file, not a folder.")
    return resolved


def check_file_option(option: str, path: Path) -> Path:
    """An output file option (`bench --json`, `--markdown`): a plain path that is not a folder."""
    _plain(str(path))
    resolved = Path(path).expanduser().resolve()
    if resolved.is_dir():
        raise OptionError(f"{option} {path}: is a folder; give a file name.")
    return resolved


def check_work_dir(option: str, folder: Path) -> Path:
    """`bench --tmp`: a folder of its own."""
    return _own_folder(option, folder, "work in", "/tmp/bench")


def check_site_dir(site: Path, data: Path | None = None) -> Path:
    """SITE: a folder the build may replace as a whole: absent, empty, or a site it published before; never
    the file-system root, the home folder, the project, the data folder or a folder holding it. Returns it
    resolved: the folder checked is the folder published into."""
    resolved = _own_folder("--site", site, "publish into", "reports/_site")
    if data is not None:
        data_resolved = Path(data).resolve()
        if resolved == data_resolved or data_resolved.is_relative_to(resolved) or resolved.is_relative_to(data_resolved):
            raise OptionError(f"--site {site}: must not be, hold or lie inside the data folder {data}.")
    if resolved.exists():
        if not resolved.is_dir():
            raise OptionError(f"--site {site}: is a file, not a folder.")
        entries = list(resolved.iterdir())
        if entries and not ((resolved / "index.html").is_file() and (resolved / "site.json").is_file()):
            raise OptionError(f"--site {site}: is a folder that is not a published report site (no index.html and "
                              f"site.json); a build replaces the whole folder, so give an empty or new one.")
    return resolved


def present_exports(warehouse_path: Path) -> set[str]:
    """The exports the build found in the data folder (the `export_files` table's `present`)."""
    rows = warehouse.read_query(warehouse_path, "SELECT export, present FROM export_files").fetchall()
    return {name for name, present in rows if present}


# What each optional export is called in a sentence ("No touchpoints export ...").
EXPORT_WORDS = {"nps_responses": "survey", "touchpoints": "touchpoint", "customers": "customer",
                "support_tickets": "support ticket", "events": "product event",
                "subscriptions": "subscription"}


def absent_export_line(name: str, consequence: str) -> str:
    """The one sentence every card, sentence and section says in place of a figure whose optional export is
    absent: 'No touchpoints export (`touchpoints`) was provided, so <consequence>.'"""
    return f"No {EXPORT_WORDS.get(name, name)} export (`{name}`) was provided, so {consequence}."


def check_served_site(site: Path) -> Path:
    """`serve --site`: a built site (a folder holding index.html), never the file-system root, the home folder
    or the project (the port would hand out whatever they hold). Returned absolute but not resolved, so a site
    reached through a symbolic link follows the link when it is repointed."""
    _own_folder("--site", site, "serve", "reports/_site")
    folder = Path(site).expanduser().absolute()
    build_first = f"build it first (make report, or retention-report build --period ... --site {site})"
    if not folder.exists():
        raise OptionError(f"--site {site}: no such folder; {build_first}.")
    if not folder.is_dir():
        raise OptionError(f"--site {site}: is a file, not a folder.")
    if not (folder / "index.html").is_file():
        raise OptionError(f"--site {site}: holds no index.html, so it is not a built site; {build_first}.")
    return folder
