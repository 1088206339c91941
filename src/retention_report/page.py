"""What a notebook shows on its page: narrative, tables (with their CSV download) and charts.

Every output is `text/markdown` (plus `text/plain`), never `text/html`: a `text/html` output makes
Quarto inject require.js and jQuery from a CDN. Text that came from the data is escaped before it
becomes markdown, so a customer's comment is shown as text, never run as HTML.
"""

from __future__ import annotations

import html
import math
import re
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


def format_value(value: object, kind: str = "", currency: str | None = None) -> str:
    if _missing(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "money":
        return format_money(value, currency)
    if kind == "percent":
        return f"{100 * float(value):.1f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None, currency: str | None = None) -> str:
    """A pipe table whose every cell is escaped; the first row is the header row. `formats` maps a column to
    `percent` or `money` (in `currency`)."""
    formats = formats or {}
    header = "| " + " | ".join(escape_text(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else ":---" for c in frame.columns) + " |"
    rows = [
        "| " + " | ".join(escape_text(format_value(_plain(v), formats.get(c, ""), currency)) for c, v in zip(frame.columns, row)) + " |"
        for row in frame.itertuples(index=False, name=None)
    ]
    return "\n".join([header, rule, *rows])


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
        lines = []
        if caption:
            lines.append(f"**{escape_text(caption)}**\n")
        lines.append(markdown_table(shown, formats, self.currency))
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
