from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention_report.periods import (ACCEPTED_FORMS, RELATIVE_FORMS, PeriodError, check_within_data, is_relative,
                                      parse_period, resolve_period)


@pytest.mark.parametrize(
    "text, start, end, previous, year_ago",
    [
        ("2024-Q2", date(2024, 4, 1), date(2024, 6, 30), "2024-Q1", "2023-Q2"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "2023-Q4", "2023-Q1"),
        ("2024-06", date(2024, 6, 1), date(2024, 6, 30), "2024-05", "2023-06"),
        ("2024-01", date(2024, 1, 1), date(2024, 1, 31), "2023-12", "2023-01"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-01", "2023-02"),
        ("2024-H1", date(2024, 1, 1), date(2024, 6, 30), "2023-H2", "2023-H1"),
        ("2024-H2", date(2024, 7, 1), date(2024, 12, 31), "2024-H1", "2023-H2"),
        ("2024", date(2024, 1, 1), date(2024, 12, 31), "2023", "2023"),
    ],
)
def test_periods_resolve_to_bounds_previous_and_year_ago(text, start, end, previous, year_ago):
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, text)
    assert period.previous.label == previous
    assert period.year_ago.label == year_ago
    assert period.end_exclusive == date.fromordinal(end.toordinal() + 1)


def test_lower_case_and_spaces_are_accepted():
    assert parse_period(" 2024-q3 ").label == "2024-Q3"


@pytest.mark.parametrize(
    "bad", ["2024-Q5", "2024-13", "2024-00", "2024-H3", "24-Q1", "Q2-2024", "", "2024-Q2; rm -rf ~",
            "../../etc", "2024-6", "2024/06", "0000"],
)
def test_anything_else_fails_listing_the_accepted_forms(bad):
    with pytest.raises(PeriodError) as error:
        parse_period(bad)
    assert ACCEPTED_FORMS in str(error.value)


def test_a_period_after_the_data_names_the_data_range():
    with pytest.raises(PeriodError, match="2022-01-01 to 2024-12-31"):
        check_within_data(parse_period("2025-Q1"), date(2022, 1, 1), date(2024, 12, 31))
    check_within_data(parse_period("2024-Q4"), date(2022, 1, 1), date(2024, 12, 31))


def test_month_starts_of_a_quarter():
    assert parse_period("2024-Q4").month_starts() == [date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1)]


@pytest.mark.parametrize(
    "today, month, quarter, half, year",
    [
        (date(2026, 12, 2), "2026-11", "2026-Q3", "2026-H1", "2025"),
        # The first day of a year: every kind steps back into the year before, and the period that ended
        # yesterday is complete.
        (date(2027, 1, 1), "2026-12", "2026-Q4", "2026-H2", "2026"),
        (date(2026, 12, 31), "2026-11", "2026-Q3", "2026-H1", "2025"),
        # The first day of a quarter (and of a half): the quarter that ended yesterday, never the one begun today.
        (date(2026, 4, 1), "2026-03", "2026-Q1", "2025-H2", "2025"),
        (date(2026, 7, 1), "2026-06", "2026-Q2", "2026-H1", "2025"),
        (date(2026, 3, 31), "2026-02", "2025-Q4", "2025-H2", "2025"),
        (date(2024, 3, 1), "2024-02", "2023-Q4", "2023-H2", "2023"),  # after a 29-day February
    ],
)
def test_relative_periods_are_the_last_complete_one_before_today(today, month, quarter, half, year):
    resolved = {kind: resolve_period(f"last-{kind}", today).label for kind in ("month", "quarter", "half", "year")}
    assert resolved == {"month": month, "quarter": quarter, "half": half, "year": year}
    for kind in ("month", "quarter", "half", "year"):
        period = resolve_period(f"last-{kind}", today)
        assert period.end < today <= period.next.end  # complete, and the newest that is


def test_relative_periods_ignore_case_and_spaces_and_say_they_are_relative():
    assert resolve_period(" LAST-Quarter\n", date(2026, 12, 2)).label == "2026-Q3"
    assert is_relative(" Last-Year ") and not is_relative("2024-Q2") and not is_relative("last quarter")


def test_relative_periods_default_to_the_real_date():
    today = date.today()
    assert resolve_period("last-month") == resolve_period("last-month", today)


def test_labels_resolve_as_they_parse_whatever_the_day():
    for label in ("2024-Q2", "2024-06", "2024-h1", "2024"):
        assert resolve_period(label, date(1990, 1, 1)) == parse_period(label)


@pytest.mark.parametrize("bad", ["last quarter", "last_quarter", "previous-quarter", "last-week", "last-", "last",
                                 "last-quarter; rm -rf ~", "2024-Q5"])
def test_resolve_fails_listing_labels_and_relative_forms(bad):
    with pytest.raises(PeriodError) as error:
        resolve_period(bad, date(2026, 12, 2))
    assert ACCEPTED_FORMS in str(error.value) and RELATIVE_FORMS in str(error.value)


def test_relative_forms_are_not_folder_names():
    """parse_period reads the site's period folders: a folder named last-quarter is not a period."""
    with pytest.raises(PeriodError) as error:
        parse_period("last-quarter")
    assert RELATIVE_FORMS not in str(error.value)


def test_a_relative_period_outside_the_supported_years_fails():
    with pytest.raises(PeriodError, match="years run from 1900"):
        resolve_period("last-year", date(1900, 6, 1))
    with pytest.raises(PeriodError, match="years run from 1900"):
        resolve_period("last-month", date(1, 1, 5))  # would be a month of year 0
    assert resolve_period("last-year", date(9999, 12, 31)).label == "9998"
    with pytest.raises(PeriodError, match="to 9998"):
        resolve_period("last-month", date(9999, 12, 31))


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 12, 31)),
       st.sampled_from(["month", "quarter", "half", "year"]))
def test_any_day_resolves_to_the_complete_period_that_ended_last(today, kind):
    period = resolve_period(f"last-{kind}", today)
    assert period.kind == kind and parse_period(period.label) == period
    assert period.end < today  # complete before today...
    assert period.next.start <= today <= period.next.end  # ...and the next one holds today: none ended since
