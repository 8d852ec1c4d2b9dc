"""The demo loaded on a day past the holiday table (2027 not loaded yet): it loads, its dates
stay relative to that day, and its open deadlines are provisional (暂定) until the year is
loaded — then they are computed again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import deadlines, holidays
from policywindow.core.calendar import SHANGHAI
from policywindow.core.models import CalendarDay, ProvisionalDeadline
from policywindow.demo.loader import load_business_demo
from policywindow.reforms.models import ReformTask
from policywindow.system.demo import load_demo
from policywindow.system.models import User
from policywindow.system.services import config as services
from policywindow.workflow.models import WorkflowTask
from tests.conftest import empty_caches

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2027, 1, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The whole demo as loaded on 2027-01-20, rolled back at the end."""
    media = tmp_path_factory.mktemp("demo_uploads")
    fast_hashing = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        pytest.MonkeyPatch.context() as patch,
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=fast_hashing),
        transaction.atomic(),
    ):
        patch.setattr(timezone, "now", lambda: TODAY)
        empty_caches()
        assert not CalendarDay.objects.filter(date__year=2027).exists()
        load_demo()
        load_business_demo()
        yield
        transaction.set_rollback(True)


def test_open_work_is_dated_from_today_and_marked_provisional(demo):
    reviews = Application.objects.filter(status=S.IN_REVIEW, due_at__isnull=False)
    assert reviews.exists()
    assert all(deadlines.is_provisional(case.due_at) for case in reviews)
    # Filed and accepted a few working days before today, in 2027 or at the end of 2026.
    assert all(case.accepted_at.year >= 2026 for case in reviews)
    assert reviews.filter(due_at__lt=timezone.now()).exists()  # some overdue, as in the demo
    assert reviews.filter(due_at__gt=timezone.now()).exists()
    open_tasks = WorkflowTask.objects.filter(status="open")
    assert open_tasks.exists() and all(deadlines.is_provisional(t.due_at) for t in open_tasks)
    # The 全省 items fall due PROVINCE_LEAD_DAYS working days from today, not on load day.
    ahead = [t for t in ReformTask.objects.all() if t.due_at > timezone.now()]
    assert ahead and all(deadlines.is_provisional(t.due_at) for t in ahead)
    remembered = set(ProvisionalDeadline.objects.values_list("target", flat=True))
    assert {"applications.application.due_at", "reforms.reformtask.due_at"} <= remembered


def test_loading_2027_settles_every_demo_deadline(demo):
    # A plan with New Year's Day alone (test data, not an official notice): enough to compute
    # every remembered deadline again from a loaded year.
    plan = holidays.YearPlan(
        2027,
        {dt.date(2027, 1, 1): holidays.PlannedDay(dt.date(2027, 1, 1), False, "元旦")},
        "测试",
    )
    admin = User.objects.get(username="sysadmin")
    services.load_calendar_year(admin, services.preview_calendar_year(plan).token)
    reviews = Application.objects.filter(status=S.IN_REVIEW, due_at__isnull=False)
    assert not any(deadlines.is_provisional(case.due_at) for case in reviews)
    reform = ReformTask.objects.exclude(status="accepted")
    still = [t for t in reform if deadlines.is_provisional(t.due_at)]
    # Reform tasks run for months: those ending after 2027 stay provisional, and remembered.
    assert all(t.due_at.year >= 2028 for t in still)
    assert ProvisionalDeadline.objects.count() == len(still)
