"""Reporting periods: the one parser for `PERIOD` strings.

Accepted forms: `2024-Q2` (quarter), `2024-06` (month), `2024-H1` (half year), `2024` (year), in ASCII
(upper or lower case, surrounding spaces ignored), for years 1900 to 9998 (so that every bound a report
uses, the period's own end included, is a date Python can hold: 9999-Q4 would end on 10000-01-01).
A period is a half-open range of dates [start, end_exclusive); `end` is its last day.

`parse_period` reads exactly these labels (the names of the site's period folders). What a user types goes
through `resolve_period`, which also takes `last-month`, `last-quarter`, `last-half` and `last-year`: the last
*complete* period of that kind before a given day (for schedulers: `--period last-quarter` on 2026-12-02 is
2026-Q3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

ACCEPTED_FORMS = "YYYY-Qn (e.g. 2024-Q2), YYYY-MM (e.g. 2024-06), YYYY-Hn (e.g. 2024-H1) or YYYY (e.g. 2024)"
RELATIVE_FORMS = "last-month, last-quarter, last-half or last-year (the last complete one before today)"

# ASCII digits only: `\d` alone would also match Arabic-Indic or full-width digits.
_PATTERNS = {
    "quarter": re.compile(r"(?P<year>[0-9]{4})-Q(?P<n>[1-4])"),
    "month": re.compile(r"(?P<year>[0-9]{4})-(?P<n>0[1-9]|1[0-2])"),
    "half": re.compile(r"(?P<year>[0-9]{4})-H(?P<n>[12])"),
    "year": re.compile(r"(?P<year>[0-9]{4})"),
}
FIRST_YEAR, LAST_YEAR = 1900, 9998
_SPACES = " \t\r\n"  # str.strip() alone would also drop control characters such as \x1f and \x85
_MONTHS = {"quarter": 3, "month": 1, "half": 6, "year": 12}
_RELATIVE = {"LAST-MONTH": "month", "LAST-QUARTER": "quarter", "LAST-HALF": "half", "LAST-YEAR": "year"}


class PeriodError(ValueError):
    """A period string that is not one of the accepted forms, or outside the data."""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    months: int
    kind: str

    @property
    def end_exclusive(self) -> date:
        return _add_months(self.start, self.months)

    @property
    def end(self) -> date:
        return self.end_exclusive - timedelta(days=1)

    @property
    def label(self) -> str:
        y, m = self.start.year, self.start.month
        return {
            "quarter": f"{y}-Q{(m - 1) // 3 + 1}",
            "month": f"{y}-{m:02d}",
            "half": f"{y}-H{(m - 1) // 6 + 1}",
            "year": f"{y}",
        }[self.kind]

    def shifted(self, periods: int) -> "Period":
        return Period(_add_months(self.start, periods * self.months), self.months, self.kind)

    @property
    def previous(self) -> "Period":
        return self.shifted(-1)

    @property
    def next(self) -> "Period":
        return self.shifted(1)

    @property
    def year_ago(self) -> "Period":
        return Period(_add_months(self.start, -12), self.months, self.kind)

    @property
    def days(self) -> int:
        return (self.end_exclusive - self.start).days

    def month_starts(self) -> list[date]:
        return [_add_months(self.start, i) for i in range(self.months)]

    def __str__(self) -> str:
        return self.label


def parse_period(text: str) -> Period:
    """Parse a PERIOD label; anything else fails with the accepted forms."""
    return _parse_label(text, ACCEPTED_FORMS)


def _parse_label(text: str, forms: str) -> Period:
    cleaned = str(text).strip(_SPACES).upper()
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(cleaned)
        if match:
            year = int(match["year"])
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise PeriodError(f"PERIOD {text!r} is not a period: years run from {FIRST_YEAR} to {LAST_YEAR}. "
                                  f"Accepted forms: {forms}.")
            n = int(match["n"]) if kind != "year" else 1
            start = date(year, (n - 1) * _MONTHS[kind] + 1, 1)
            return Period(start, _MONTHS[kind], kind)
    raise PeriodError(f"PERIOD {text!r} is not a period. Accepted forms: {forms}.")


def is_relative(text: str) -> bool:
    """Whether `text` is one of the relative forms (last-quarter, ...), which depend on the day."""
    return str(text).strip(_SPACES).upper() in _RELATIVE


def last_complete(kind: str, today: date) -> Period:
    """The last period of `kind` that ended before `today`: the one before the period holding today (so on
    the first day of a quarter, last-quarter is the quarter that ended yesterday)."""
    months = _MONTHS[kind]
    current = Period(date(today.year, (today.month - 1) // months * months + 1, 1), months, kind)
    return current.previous


def resolve_period(text: str, today: date | None = None) -> Period:
    """Parse a PERIOD as a user gives it: a label (`parse_period`) or a relative form resolved against `today`
    (default: the real date)."""
    cleaned = str(text).strip(_SPACES).upper()
    if cleaned not in _RELATIVE:
        return _parse_label(text, f"{ACCEPTED_FORMS}; or {RELATIVE_FORMS}")
    today = date.today() if today is None else today
    try:
        period = last_complete(_RELATIVE[cleaned], today)
    except ValueError:  # before year 1: no date Python can hold
        period = None
    if period is None or not FIRST_YEAR <= period.start.year <= LAST_YEAR:
        raise PeriodError(f"PERIOD {text!r} on {today.isoformat()} is {period or 'before year 1'}: years run "
                          f"from {FIRST_YEAR} to {LAST_YEAR}.")
    return period


def check_within_data(period: Period, first_day: date | None, last_day: date | None) -> None:
    """A period that starts after the last data (or ends before the first) has nothing to report."""
    if first_day is None or last_day is None:
        raise PeriodError(f"PERIOD {period} cannot be reported: the orders export holds no valid order.")
    if period.start > last_day or period.end < first_day:
        raise PeriodError(
            f"PERIOD {period} ({period.start} to {period.end}) lies outside the data, "
            f"which runs from {first_day} to {last_day}."
        )
