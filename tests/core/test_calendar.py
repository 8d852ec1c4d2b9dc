import datetime as dt

import pytest

from policywindow.core import calendar
from policywindow.core.errors import CalendarNotCovered
from policywindow.core.models import CalendarDay

pytestmark = pytest.mark.django_db


def test_seeded_from_chinese_calendar_with_make_up_saturdays():
    # 2026-10-10 (Saturday) is a 国庆节调休 working day; 2026-10-01..07 are holidays.
    assert calendar.is_working_day(dt.date(2026, 10, 10)) is True
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 10)).note.endswith("调休上班")
    assert all(not calendar.is_working_day(dt.date(2026, 10, d)) for d in range(1, 8))
    assert calendar.is_working_day(dt.date(2026, 10, 8)) is True


def test_start_date_does_not_count():
    # Accepted on Friday 2026-11-20 with 5 working days: due the following Friday.
    assert calendar.add_working_days(dt.date(2026, 11, 20), 5) == dt.date(2026, 11, 27)
    assert calendar.add_working_days(dt.date(2026, 11, 20), 0) == dt.date(2026, 11, 20)


def test_national_day_pushes_the_deadline():
    # Friday 2026-09-25 + 5: 9/28, 9/29, 9/30, then the holiday, then 10/8, 10/9.
    assert calendar.add_working_days(dt.date(2026, 9, 25), 5) == dt.date(2026, 10, 9)


def test_working_days_between_counts_after_start_through_end():
    assert calendar.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 10)) == 3
    assert calendar.working_days_between(dt.date(2026, 10, 10), dt.date(2026, 9, 30)) == -3
    assert calendar.working_days_between(dt.date(2026, 11, 20), dt.date(2026, 11, 20)) == 0


def test_deadline_is_end_of_day_in_shanghai():
    start = dt.datetime(2026, 11, 20, 16, 30, tzinfo=calendar.SHANGHAI)
    due = calendar.working_day_deadline(start, 5)
    assert due == dt.datetime(2026, 11, 28, 0, 0, tzinfo=calendar.SHANGHAI)


def test_dates_outside_the_table_are_a_clear_error():
    with pytest.raises(CalendarNotCovered, match="节假日表未覆盖日期 2027-01-01"):
        calendar.is_working_day(dt.date(2027, 1, 1))
    with pytest.raises(CalendarNotCovered):
        calendar.add_working_days(dt.date(2026, 12, 28), 10)


def test_a_gap_in_the_table_is_refused_not_guessed():
    CalendarDay.objects.filter(date=dt.date(2026, 11, 24)).delete()
    with pytest.raises(CalendarNotCovered, match="2026-11-24"):
        calendar.add_working_days(dt.date(2026, 11, 20), 5)


def test_administrator_edit_is_used():
    # Declare a working Monday a holiday: the deadline moves by one working day.
    CalendarDay.objects.filter(date=dt.date(2026, 11, 23)).update(
        is_working_day=False, note="临时休假"
    )
    assert calendar.add_working_days(dt.date(2026, 11, 20), 5) == dt.date(2026, 11, 30)
