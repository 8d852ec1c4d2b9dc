"""Clerks accepting the same case at the same instant on PostgreSQL: exactly one succeeds."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.core.errors import Conflict
from policywindow.core.models import AuditEvent
from tests.waiting import join_all

from .test_intake_factories import all_complete, make_case, make_enterprise, make_version

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]
CLERKS = 4


def test_concurrent_accepts_serialise_on_the_case_row(monkeypatch, department, make_user):
    applicant = make_user("qiye", "enterprise", kind="enterprise")
    case = make_case(make_version(department), make_enterprise(), applicant)
    clerks = [make_user(f"clerk{i}", "window_clerk") for i in range(CLERKS)]
    checklist = all_complete(case)

    # Widen the race: each accept lingers inside its transaction (the clock starts there).
    start_clock = intake.clock.start

    def slow_start(*args, **kwargs):
        time.sleep(0.3)
        return start_clock(*args, **kwargs)

    monkeypatch.setattr(intake.clock, "start", slow_start)
    barrier = threading.Barrier(CLERKS)
    outcomes: list[str] = []

    def attempt(clerk):
        try:
            page = Application.objects.get(pk=case.pk)  # each clerk's page shows revision 0
            barrier.wait()
            intake.accept(clerk, page, checklist, expected_revision=page.revision)
            outcomes.append("accepted")
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(clerk,)) for clerk in clerks]
    for thread in threads:
        thread.start()
    join_all(threads)

    assert sorted(outcomes) == ["accepted"] + ["该申报已被他人处理，请刷新页面后查看最新状态"] * (
        CLERKS - 1
    )
    case.refresh_from_db()
    assert (case.status, case.revision) == (S.IN_REVIEW, 1)
    assert ApplicationEvent.objects.filter(application=case, action="accept").count() == 1
    assert AuditEvent.objects.filter(action="application.accept").count() == 1
