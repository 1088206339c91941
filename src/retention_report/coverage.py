"""How much of a stretch of time the data covers: the one rule every page uses to say "no data" or "partial"
instead of showing a count of 0 or a change against nothing.

The data's dates are those of its orders (the `cohort_bounds` mart: `data_first_day`, `data_last_day`). A stretch
[start, end_exclusive) is *complete* when the data holds every one of its days, *partial* when it holds only some,
and *no data* when it holds none. A figure needs more than its period: "active at the start" looks back
`churn_after_days`, net revenue retention one period. Callers pass the whole stretch a figure reads (`needs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

COMPLETE, PARTIAL, NO_DATA = "complete", "partial", "no data"


def _day(value) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


@dataclass(frozen=True)
class DataSpan:
    """The first and last day the data holds (None for both when it holds no order)."""

    first_day: date | None
    last_day: date | None

    @classmethod
    def from_bounds(cls, bounds) -> "DataSpan":
        """From the `cohort_bounds` mart's row (a Series or a one-row DataFrame)."""
        row = bounds.iloc[0] if isinstance(bounds, pd.DataFrame) else bounds
        return cls(_day(row["data_first_day"]), _day(row["data_last_day"]))

    def coverage(self, start: date, end_exclusive: date) -> str:
        """COMPLETE, PARTIAL or NO_DATA for the days [start, end_exclusive)."""
        if self.first_day is None or self.last_day is None or end_exclusive <= start:
            return NO_DATA
        if self.last_day < start or self.first_day >= end_exclusive:
            return NO_DATA
        if self.first_day > start or self.last_day < end_exclusive - timedelta(days=1):
            return PARTIAL
        return COMPLETE

    def needs(self, start: date, end_exclusive: date, look_back_days: int = 0) -> str:
        """The coverage of a figure over [start, end_exclusive) that also reads `look_back_days` before it
        (customers active at the start). Data missing only from the look-back makes the figure PARTIAL; data
        missing from the whole stretch makes it NO_DATA."""
        own = self.coverage(start, end_exclusive)
        if own == NO_DATA or not look_back_days:
            return own
        whole = self.coverage(start - timedelta(days=look_back_days), end_exclusive)
        return COMPLETE if whole == COMPLETE else PARTIAL

    def starts_after(self, day: date) -> bool:
        """The data's first day is later than `day` (or the data is empty)."""
        return self.first_day is None or self.first_day > day

    def words(self) -> str:
        """'the data runs from 2010-12-01 to 2011-12-09' (or 'the data holds no order')."""
        if self.first_day is None:
            return "the data holds no order"
        return f"the data runs from {self.first_day} to {self.last_day}"
