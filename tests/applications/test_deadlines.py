"""一周办结 marks: red when overdue, yellow with one working day left, from the holiday table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.calendar import SHANGHAI
from policywindow.core.models import CalendarDay
from policywindow.system.models import User

from .test_intake_factories import make_case, make_enterprise, make_member, make_version

pytestmark = pytest.mark.django_db


def _at(y: int, m: int, d: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, hour, tzinfo=SHANGHAI)


@pytest.fixture
def reviewing(make_user, department):
    applicant = make_user("dl_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    version = make_version(department)

    def case_due(due_day: dt.date):
        application = make_case(version, enterprise, applicant, status=S.IN_REVIEW)
        application.due_at = dt.datetime.combine(
            due_day + dt.timedelta(days=1), dt.time.min, SHANGHAI
        )
        application.save(update_fields=["due_at"])
        return application

    return case_due


def test_marks_follow_working_days(reviewing):
    now = _at(2026, 11, 26)  # Thursday
    overdue = reviewing(dt.date(2026, 11, 24))  # Tuesday: 25th and 26th have passed
    today = reviewing(dt.date(2026, 11, 26))
    tomorrow = reviewing(dt.date(2026, 11, 27))
    monday = reviewing(dt.date(2026, 11, 30))  # Friday 27th and Monday 30th are left
    marks = selectors.deadline_marks([overdue, today, tomorrow, monday], now)
    assert marks[overdue.pk] == selectors.DeadlineMark("overdue", "已超期 2 个工作日")
    assert marks[today.pk] == selectors.DeadlineMark("due_soon", "今日到期")
    assert marks[tomorrow.pk] == selectors.DeadlineMark("due_soon", "剩余 1 个工作日")
    assert marks[monday.pk] == selectors.DeadlineMark("on_time", "剩余 2 个工作日")


def test_holidays_do_not_count(reviewing):
    # On 2026-09-30 a case due 2026-10-08 has one working day left: 10-01..07 is National Day.
    case = reviewing(dt.date(2026, 10, 8))
    mark = selectors.deadline_marks([case], _at(2026, 9, 30))[case.pk]
    assert mark == selectors.DeadlineMark("due_soon", "剩余 1 个工作日")


def test_outside_the_holiday_table_the_mark_is_provisional(reviewing):
    # A date the table lacks counts by the weekend; the mark says it is a provisional count.
    case = reviewing(dt.date(2026, 11, 27))
    CalendarDay.objects.filter(date=dt.date(2026, 11, 27)).delete()
    mark = selectors.deadline_marks([case], _at(2026, 11, 26))[case.pk]
    assert mark == selectors.DeadlineMark("due_soon", "剩余 1 个工作日", provisional=True)
    inside = reviewing(dt.date(2026, 11, 26))
    assert selectors.deadline_marks([inside], _at(2026, 11, 26))[inside.pk].provisional is False


def test_only_cases_under_review_are_marked(reviewing):
    case = reviewing(dt.date(2026, 11, 24))
    case.status = S.SUPPLEMENT_REQUIRED  # the clock stops while the enterprise fixes its form
    assert selectors.deadline_marks([case], _at(2026, 11, 26)) == {}


def test_case_list_shows_the_marks_with_one_calendar_query(login, make_user, reviewing):
    clerk = login(make_user("mark_clerk", "window_clerk"))
    reviewing(dt.date(2026, 1, 5))
    url = reverse("applications:case_list")
    clerk.get(url)
    with CaptureQueriesContext(connection) as few:
        page = clerk.get(url).content.decode()
    assert 'data-state="overdue"' in page
    for day in (5, 6, 7):
        reviewing(dt.date(2026, 1, day))
    with CaptureQueriesContext(connection) as many:
        clerk.get(url)
    assert len(many) == len(few)
