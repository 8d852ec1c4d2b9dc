"""Loading a holiday year while others work, on PostgreSQL with real connections and commits:
two confirmations of one preview land once, and a deadline written while a year was being
loaded is computed again by the worker's catch-up."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.services import intake
from policywindow.core import deadlines, holidays, provisional
from policywindow.core.errors import Conflict
from policywindow.core.models import AuditEvent, CalendarDay, ProvisionalDeadline
from policywindow.system.services import config as services
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_version,
    shanghai,
)

from .holiday_notices import NOTICE_2026

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL sessions"),
]
WAIT_S = 30


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_two_confirmations_of_one_preview_load_the_year_once(make_user):
    CalendarDay.objects.filter(date__year=2026).delete()
    admins = [make_user("admin_a", "sys_admin"), make_user("admin_b", "sys_admin")]
    token = services.preview_calendar_year(holidays.parse_notice(NOTICE_2026)).token
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm(admin) -> None:
        start.wait(WAIT_S)
        try:
            services.load_calendar_year(admin, token)
            outcomes.append("loaded")
        except Conflict as exc:
            outcomes.append(exc.message)

    threads = [_in_thread(confirm, admin) for admin in admins]
    for thread in threads:
        thread.join(WAIT_S)
    assert sorted(outcomes) == [
        "2026 年的节假日在预览后已被修改，请重新预览后再确认导入",
        "loaded",
    ]
    assert CalendarDay.objects.filter(date__year=2026).count() == 365
    assert AuditEvent.objects.filter(action="calendarday.load_year").count() == 1


def test_a_deadline_written_during_a_load_is_settled_by_the_catch_up(
    monkeypatch, make_user, department, sysadmin
):
    CalendarDay.objects.filter(date__year=2026).delete()
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 9, 29, 10, 0))
    clerk = make_user("clerk1", "window_clerk")
    case = make_case(make_version(department), make_enterprise(), make_user("qiye1", "enterprise"))
    token = services.preview_calendar_year(holidays.parse_notice(NOTICE_2026)).token
    accepted, release = threading.Event(), threading.Event()

    def accept_slowly() -> None:
        with transaction.atomic():  # counted on the old table, committed after the load
            intake.accept(clerk, case, all_complete(case), expected_revision=0)
            accepted.set()
            release.wait(WAIT_S)

    thread = _in_thread(accept_slowly)
    assert accepted.wait(WAIT_S)
    assert services.load_calendar_year(sysadmin, token).moved == 0  # it saw nothing to move
    release.set()
    thread.join(WAIT_S)

    case = Application.objects.get(pk=case.pk)
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 6)  # by the weekend alone
    assert ProvisionalDeadline.objects.filter(object_id=case.pk).exists()
    with transaction.atomic():
        moved = provisional.settle(everything=False)
    assert [m.object_id for m in moved["applications.application.due_at"]] == [case.pk]
    case.refresh_from_db()
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 12)
    assert not ProvisionalDeadline.objects.exists()
