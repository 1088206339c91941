"""What a notebook shows on its page: narrative, tables (with their CSV download) and charts.

Every output is `text/markdown` (plus `text/plain`), never `text/html`: a `text/html` output makes
Quarto inject require.js and jQuery from a CDN. Text that came from the data is escaped before it
becomes markdown, so a customer's comment is shown as text, never run as HTML.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
from IPython.display import display

from . import charts

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~-])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_in_a_spreadsheet(value: object) -> object:
    """Text a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+1...`, `@SUM(...)`) gets a leading
    apostrophe, as OWASP advises for CSV downloads; numbers and other values stay as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def escape_text(value: object) -> str:
    """Any value as inert markdown text: HTML escaped, markdown punctuation backslash-escaped."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # newlines would break a table row
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


class Markdown:
    """A markdown output that carries no text/html representation."""

    def __init__(self, text: str):
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self.text, "text/plain": self.text}


def say(text: str) -> None:
    """Show narrative written by the notebook (not by customers) as markdown."""
    display(Markdown(text))


# The currencies shown by symbol; any other is shown by its code (`CHF 12.00`).
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


def currency_label(currency: str | None) -> str:
    """What marks an amount in `currency`: € £ $ for EUR GBP USD, else the code; "" when none is given.
    The code came from the data: only its letters and digits are kept, so the label is always inert text."""
    code = re.sub(r"[^A-Z0-9]", "", str(currency or "").upper())
    return CURRENCY_SYMBOLS.get(code, code)


def format_money(value: object, currency: str | None, decimals: int = 2, signed: bool = False) -> str:
    """The one money format of the site: `£1,234.50`, `-€3.00`, `CHF 1,234.50`, `+$12` (signed, decimals=0);
    the number alone when no currency is given; `–` when there is no value."""
    if _missing(value):
        return "–"
    # Rounded half up, as on an invoice (0.5 -> 1), from the decimal the value prints as, not its binary double.
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ("+" if signed else "")  # -0.001 rounds to 0.00: shown as 0.00, not -0.00
    digits = f"{abs(number):,.{decimals}f}"
    label = currency_label(currency)
    if not label:
        return sign + digits
    return sign + (label + digits if len(label) == 1 else f"{label} {digits}")


def money_title(title: str, currency: str | None) -> str:
    """An axis or column title for amounts: `Revenue (£)`; the title alone when no currency is given."""
    label = currency_label(currency)
    return f"{title} ({label})" if label else title


# ---------------------------------------------------------------- shown tables: plain words, units, formats

@dataclass(frozen=True)
class Column:
    """How a machine column name reads on a page: `label` in plain words (with its unit where the cells do not
    carry one), `kind` its format (FORMATS), `values` plain words for machine values (`current` -> `this period`)."""

    label: str
    kind: str = ""
    values: dict | None = None


# The formats a shown column can have. "" keeps the value's own type: whole numbers with thousands separators,
# other numbers with two decimals.
FORMATS = {
    "": "as it is (whole numbers 1,234, other numbers 1,234.50)",
    "percent": "a share: 12.5%",
    "money": "an amount in the page's currency: £1,234.50",
    "days": "whole days: 3",
    "count": "a whole number: 1,234",
    "score": "a signed whole score (NPS): +29",
    "signed": "a signed number with one decimal: +5.5",
    "ratio": "a number with two decimals: 0.10",
    "plain": "a whole number without separators (a row in a file): 17783",
    "label": "a machine value in words: welcomed_within_7_days -> welcomed within 7 days",
    "interval": "an interval bound in the format of the table's estimate (the first of ESTIMATES present)",
}
# The estimate an interval bound (`ci_low`, `ci_high`) is formatted like: the first of these the table holds.
ESTIMATES = ("change", "nps", "retention_rate", "rate", "share", "retention")

PERIOD_ROLES = {"current": "this period", "previous": "previous period", "year_ago": "a year earlier"}

# Every machine column name a page shows, in plain words. Headers a notebook already wrote in words ("month 1",
# "refund rate") are not listed and are shown as they are; any other name has its underscores read as spaces.
COLUMNS: dict[str, Column] = {
    # cohorts and periods
    "cohort": Column("cohort"),
    "months_since_first": Column("months since start", "count"),
    "quarters_since_first": Column("quarters since start", "count"),
    "cohorts": Column("cohorts", "count"),
    "cohort_customers": Column("cohort customers", "count"),
    "active_customers": Column("active customers", "count"),
    "retention_rate": Column("retention", "percent"),
    "is_complete": Column("complete"),
    "in_period": Column("in the period"),
    "period_role": Column("period", "label", PERIOD_ROLES),
    "customer_share": Column("share of buyers (smallest spenders first)", "percent"),
    "revenue_share": Column("share of revenue", "percent"),
    "customers": Column("customers", "count"),
    "segment_column": Column("breakdown"),
    "segment": Column("segment"),
    "median_days": Column("median lifetime (days)", "days"),
    # NPS
    "responses": Column("answers", "count"),
    "responses_then": Column("answers then", "count"),
    "promoters": Column("promoters", "count"),
    "passives": Column("passives", "count"),
    "detractors": Column("detractors", "count"),
    "nps": Column("NPS", "score"),
    "nps_then": Column("NPS then", "score"),
    "nps_now": Column("NPS now", "score"),
    "change": Column("change", "signed"),
    "ci_low": Column("95% interval, low", "interval"),
    "ci_high": Column("95% interval, high", "interval"),
    "beyond_interval": Column("beyond the 95% interval"),
    "against": Column("against"),
    "judgement": Column("judgement"),
    "answer": Column("answer"),
    "answers": Column("answers", "count"),
    "share": Column("share", "percent"),
    "score_group": Column("group"),
    "horizon_days": Column("within (days)", "days"),
    "respondents": Column("answers", "count"),
    "retained": Column("ordered again", "count"),
    "left_out_window_not_over": Column("left out (window not over)", "count"),
    "theme": Column("theme"),
    "unhappy_comments": Column("detractor and passive comments", "count"),
    "answered_on": Column("answered on"),
    "score": Column("score"),
    "comment": Column("comment"),
    # touchpoints
    "metric": Column("metric", "label"),
    "covered": Column("covered", "count"),
    "rate": Column("rate", "percent"),
    "median_days_to_welcome": Column("median time to first welcome (days)", "days"),
    "appreciated_share": Column("appreciated", "percent"),
    "only_promotional_or_obligation_share": Column("only promotions or notices", "percent"),
    "appreciation_per_promotion": Column("appreciation touchpoints per promotion", "ratio"),
    "personalised_share": Column("personalised touchpoints", "percent"),
    "kind": Column("touchpoint kind"),
    "touchpoints": Column("touchpoints", "count"),
    "first_seen": Column("first seen"),
    "last_seen": Column("last seen"),
    "stratum": Column("stratum"),
    "group": Column("group"),
    # data quality
    "export": Column("export"),
    "present": Column("provided"),
    "rows_read": Column("rows read", "count"),
    "records_formed": Column("records formed", "count"),
    "rows_staged": Column("rows kept", "count"),
    "rows_set_aside": Column("rows set aside", "count"),
    "first_day": Column("first day"),
    "last_day": Column("last day"),
    "check": Column("check"),
    "exports": Column("exports"),
    "column": Column("column"),
    "reason": Column("reason"),
    "file": Column("file"),
    "row": Column("row in the file", "plain"),
    "value": Column("value"),
    # methodology
    "parameter": Column("parameter"),
    "meaning": Column("meaning"),
    "category": Column("category"),
    "kinds": Column("touchpoint kinds"),
    "keywords": Column("keywords"),
    "currency": Column("currency"),
    "orders": Column("orders", "count"),
}


def column(name: object) -> Column:
    """How a column reads on a page: its COLUMNS entry, else its name with underscores read as spaces."""
    text = str(name)
    return COLUMNS.get(text) or Column(text.replace("_", " ") if "_" in text and " " not in text else text)


def _whole(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def unsigned_zero(text: str) -> str:
    """A value that rounds to zero is shown without a sign: `0.0%`, never `-0.0%` or `+0.0`."""
    return text.lstrip("+-") if text[:1] in "+-" and not re.search(r"[1-9]", text) else text


def signed(value: float, decimals: int = 1) -> str:
    """A change with its sign: `+15.1`, `-2,004.0`; `0.0` when it rounds to zero (never `-0.0` or `+0.0`)."""
    return unsigned_zero(f"{value:+,.{decimals}f}")


def signed_points(change: float, decimals: int = 1) -> str:
    """A difference of two shares (fractions) in signed percentage points: 0.151 is `+15.1`."""
    return signed(100 * change, decimals)


def format_value(value: object, kind: str = "", currency: str | None = None, values: dict | None = None) -> str:
    """One cell as text in the format `kind` (FORMATS); `–` when there is no value (nan, None, NaT, inf)."""
    if _missing(value) or (isinstance(value, float) and math.isinf(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (pd.Timestamp, datetime)):  # a day as a day: 2024-06-30, not 2024-06-30 00:00:00
        return value.strftime("%Y-%m-%d" if (value.hour, value.minute, value.second) == (0, 0, 0) else "%Y-%m-%d %H:%M")
    if kind == "label" and isinstance(value, str):
        text = value
        return (values or {}).get(text) or text.replace("_", " ")
    if values and str(value) in values:
        return values[str(value)]
    number = isinstance(value, (int, float, Decimal))
    if kind == "money":
        return format_money(value, currency)
    if kind == "percent" and number:
        return unsigned_zero(f"{100 * float(value):.1f}%")
    if kind in ("days", "count") and number:
        return f"{_whole(value):,}"
    if kind == "plain" and number:
        return str(_whole(value))
    if kind == "score" and number:
        whole = _whole(value)
        return f"{whole:+d}" if whole else "0"
    if kind == "signed" and number:
        return unsigned_zero(f"{float(value):+,.1f}")
    if kind == "ratio" and number:
        return unsigned_zero(f"{float(value):,.2f}")
    if isinstance(value, float):
        return unsigned_zero(f"{value:,.2f}")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class ShownTable:
    """A table as a page shows it: plain headers, one text per cell, the columns that held one value on every
    row moved into the caption (`label: value`), and the right-aligned (numeric) columns."""

    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    caption_parts: list[str]

    def caption(self, caption: str = "") -> str:
        lifted = "; ".join(self.caption_parts)
        if caption and lifted:
            return f"{caption} — {lifted}"
        return caption or lifted


def shown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None, currency: str | None = None,
                lift_constant: bool = True) -> ShownTable:
    """The one table formatter: every column reads in plain words (COLUMNS) and in its format (`formats` of the
    caller first, else its COLUMNS kind). A column of text that holds one value on every row (two rows or more)
    becomes part of the caption; a column with no value on any row is left out. Numbers equal on every row stay:
    they are figures, not a label repeated."""
    formats = formats or {}
    names = list(frame.columns)
    kinds = {c: formats.get(c) or column(c).kind for c in names}
    estimate = next((kinds[c] for c in ESTIMATES if c in names and kinds[c] not in ("", "interval")), "")
    kinds = {c: (estimate if k == "interval" else k) for c, k in kinds.items()}

    def text(c, v):
        return format_value(_plain(v), kinds[c], currency, column(c).values)

    cells = {c: [text(c, v) for v in frame[c]] for c in names}
    kept, caption_parts = [], []
    for c in names:
        values = set(cells[c])
        if len(frame) and values <= {"–", ""}:
            continue  # nothing to read on any row
        if (lift_constant and len(frame) >= 2 and len(values) == 1
                and not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])):
            caption_parts.append(f"{header(c, kinds[c], currency)}: {cells[c][0]}")
            continue
        kept.append(c)
    if not kept:  # every column was lifted or empty: show the table as it is
        kept, caption_parts = names, []
    return ShownTable(
        headers=[header(c, kinds[c], currency) for c in kept],
        rows=[[cells[c][i] for c in kept] for i in range(len(frame))],
        numeric=[pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in kept],
        caption_parts=caption_parts,
    )


def header(name: object, kind: str = "", currency: str | None = None) -> str:
    """A column's header in plain words; an amount's carries its currency (`refunded amount (£)`)."""
    label = column(name).label
    return money_title(label, currency) if kind == "money" and currency_label(currency) not in label else label


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None, currency: str | None = None,
                   lift_constant: bool = False) -> str:
    """A pipe table whose every cell is escaped; the first row is the header row. Headers and formats are
    those of `shown_table` (`formats` maps a column to a FORMATS kind, e.g. `percent` or `money` in `currency`).
    With `lift_constant` the text columns that hold one value on every row are left out (`shown_table` says
    what to add to the caption)."""
    table = shown_table(frame, formats, currency, lift_constant)
    return _markdown(table)


def _markdown(table: ShownTable) -> str:
    header_row = "| " + " | ".join(escape_text(h) for h in table.headers) + " |"
    rule = "| " + " | ".join("---:" if n else ":---" for n in table.numeric) + " |"
    rows = ["| " + " | ".join(escape_text(v) for v in row) + " |" for row in table.rows]
    return "\n".join([header_row, rule, *rows])


def scrolling(markdown: str, label: str) -> str:
    """A markdown table inside its own scrolling box: a wide table scrolls sideways, never the page. The box is
    a named section (a region) that the keyboard reaches, as axe's scrollable-region-focusable asks. Raw HTML
    blocks open and close it: Quarto (Pandoc) passes them through, the fallback makes them HTML
    (render.RawHtmlOutputs)."""
    name = html.escape(" ".join(str(label).split()), quote=True).replace("`", "&#96;")
    return (f'```{{=html}}\n<section class="rr-table-scroll" tabindex="0" aria-label="{name}">\n```\n\n'
            f"{markdown}\n\n```{{=html}}\n</section>\n```")


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    return value


class Page:
    """The page a notebook is building: its tables go to `<output_dir>/data/<name>.csv`; its amounts are in
    `currency` (the reporting currency, `currency.reporting_currency`; None when the data gives none)."""

    def __init__(self, output_dir: str | Path, currency: str | None = None):
        self.output_dir = Path(output_dir)
        self.currency = currency
        self.data_dir = self.output_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        charts.enable()
        pd.set_option("display.max_rows", 50)

    def save_table(self, frame: pd.DataFrame, name: str) -> Path:
        """Write a table the page shows as a CSV download (stable formatting, so rebuilds compare)."""
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"table name must be lower-case letters, digits and _: {name!r}")
        path = self.data_dir / f"{name}.csv"
        text_columns = [c for c in frame.columns if frame[c].dtype == object]
        if text_columns:  # comments and other text that came from customers are opened in Excel
            frame = frame.assign(**{c: frame[c].map(inert_in_a_spreadsheet) for c in text_columns})
        frame.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
        return path

    def show_table(self, frame: pd.DataFrame, name: str, caption: str = "", formats: dict[str, str] | None = None,
                   max_rows: int = 40, shown: pd.DataFrame | None = None) -> None:
        """Save the whole table as CSV and show it, or the `shown` part of it (at most `max_rows` rows)."""
        self.save_table(frame, name)
        shown = (frame if shown is None else shown).head(max_rows)
        table = shown_table(shown, formats, self.currency)
        lines = []
        caption = table.caption(caption)
        if caption:
            lines.append(f"**{escape_text(caption)}**\n")
        lines.append(scrolling(_markdown(table), caption or name))
        more = f" ({len(shown):,} of {len(frame):,} rows shown)" if len(shown) < len(frame) else ""
        lines.append(f"\n[Download {name}.csv](data/{name}.csv){more}")
        display(Markdown("\n".join(lines)))

    def money(self, value: object, decimals: int = 2, signed: bool = False) -> str:
        """An amount of this page in its currency (`format_money`)."""
        return format_money(value, self.currency, decimals, signed)

    def money_title(self, title: str) -> str:
        return money_title(title, self.currency)

    def show_html(self, fragment: str) -> None:
        """Show HTML the package generated (never text from the data unescaped) as a raw block, the same
        way charts travel: Quarto and the fallback both pass it through."""
        display(Markdown("```{=html}\n" + fragment + "\n```\n"))

    def show_chart(self, chart, description: str) -> None:
        """Show a chart; `description` says in words what it shows (for screen readers and print)."""
        display(chart.properties(description=description))
