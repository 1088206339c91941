"""coverage.DataSpan: data that starts after, inside and before a stretch, and ends inside or after it."""

from datetime import date

import pandas as pd

from retention_report.coverage import COMPLETE, NO_DATA, PARTIAL, DataSpan

Q3 = (date(2010, 7, 1), date(2010, 10, 1))


def test_data_starting_after_the_period_gives_no_data():
    assert DataSpan(date(2010, 12, 1), date(2011, 12, 9)).coverage(*Q3) == NO_DATA


def test_data_starting_inside_or_ending_inside_gives_partial():
    assert DataSpan(date(2010, 8, 15), date(2011, 12, 9)).coverage(*Q3) == PARTIAL
    assert DataSpan(date(2010, 1, 1), date(2010, 9, 29)).coverage(*Q3) == PARTIAL


def test_data_holding_every_day_gives_complete():
    assert DataSpan(date(2010, 7, 1), date(2010, 9, 30)).coverage(*Q3) == COMPLETE
    assert DataSpan(date(2009, 1, 1), date(2012, 1, 1)).coverage(*Q3) == COMPLETE


def test_data_ending_before_the_period_and_empty_data_give_no_data():
    assert DataSpan(date(2009, 1, 1), date(2010, 6, 30)).coverage(*Q3) == NO_DATA
    assert DataSpan(None, None).coverage(*Q3) == NO_DATA


def test_a_look_back_outside_the_data_makes_the_figure_partial():
    span = DataSpan(date(2010, 6, 1), date(2011, 1, 1))  # 30 days before Q3: 90 days of look-back not covered
    assert span.needs(*Q3, look_back_days=90) == PARTIAL
    assert span.needs(*Q3, look_back_days=30) == COMPLETE
    assert DataSpan(date(2010, 12, 1), date(2011, 1, 1)).needs(*Q3, look_back_days=90) == NO_DATA


def test_read_from_the_cohort_bounds_row():
    bounds = pd.DataFrame({"data_first_day": [pd.Timestamp("2010-12-01")], "data_last_day": [pd.Timestamp("2011-12-09")]})
    span = DataSpan.from_bounds(bounds)
    assert span == DataSpan(date(2010, 12, 1), date(2011, 12, 9))
    assert span.words() == "the data runs from 2010-12-01 to 2011-12-09"
