import datetime as dt

import pytest

from policywindow.core import calendar
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


def test_dates_past_the_table_count_by_weekends_and_are_provisional():
    # 2027 is not loaded: Friday 2027-01-01 counts as a working day (a guess the deadline says).
    assert calendar.loaded_until() == dt.date(2026, 12, 31)
    assert calendar.is_working_day(dt.date(2027, 1, 1)) is True
    assert calendar.is_working_day(dt.date(2027, 1, 2)) is False
    start = dt.datetime(2026, 12, 28, 10, 0, tzinfo=calendar.SHANGHAI)
    due = calendar.deadline(start, 10)
    # 12/29, 12/30, 12/31 from the table, then 1/1, 1/4–1/8 and 1/11 by the weekend alone.
    assert (due.last_day, due.provisional) == (dt.date(2027, 1, 11), True)
    assert calendar.is_provisional(due.due_at, calendar.loaded_until())
    inside = calendar.deadline(start, 3)
    assert (inside.last_day, inside.provisional) == (dt.date(2026, 12, 31), False)
    assert not calendar.is_provisional(inside.due_at, calendar.loaded_until())


def test_working_days_between_counts_unloaded_dates_by_weekend():
    assert calendar.working_days_between(dt.date(2026, 12, 30), dt.date(2027, 1, 4)) == 3


def test_a_gap_in_the_table_is_counted_by_weekend_and_provisional():
    CalendarDay.objects.filter(date=dt.date(2026, 11, 24)).delete()
    day, provisional = calendar.nth_working_day(dt.date(2026, 11, 20), 5)
    assert (day, provisional) == (dt.date(2026, 11, 27), True)
    assert calendar.loaded_until() == dt.date(2026, 11, 23)
    assert calendar.nth_working_day(dt.date(2026, 11, 20), 1) == (dt.date(2026, 11, 23), False)


def test_an_empty_table_makes_every_deadline_provisional():
    CalendarDay.objects.all().delete()
    assert calendar.loaded_until() is None
    assert calendar.nth_working_day(dt.date(2026, 10, 1), 2) == (dt.date(2026, 10, 5), True)
    assert calendar.is_provisional(dt.date(2000, 1, 1), None)


def test_working_days_before_cross_into_an_unloaded_year():
    assert calendar.working_day_before(dt.date(2026, 10, 9), 2) == dt.date(2026, 9, 30)
    assert calendar.working_day_before(dt.date(2027, 1, 5), 3) == dt.date(2026, 12, 31)
    assert calendar.working_day_before(dt.date(2027, 1, 5), 0) == dt.date(2027, 1, 5)


def test_administrator_edit_is_used():
    # Declare a working Monday a holiday: the deadline moves by one working day.
    CalendarDay.objects.filter(date=dt.date(2026, 11, 23)).update(
        is_working_day=False, note="临时休假"
    )
    assert calendar.add_working_days(dt.date(2026, 11, 20), 5) == dt.date(2026, 11, 30)
