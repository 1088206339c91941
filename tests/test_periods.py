from datetime import date

import pytest

from retention_report.periods import ACCEPTED_FORMS, PeriodError, check_within_data, parse_period


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
