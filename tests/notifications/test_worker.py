"""The `policywindow worker` command drains the outbox through Django Tasks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from policywindow.core.scheduler import REGISTRY
from policywindow.notifications.models import Delivery
from policywindow.notifications.services import notify

pytestmark = pytest.mark.django_db(transaction=True)

TASK = "policywindow.notifications.tasks.deliver_outbox"


def test_the_outbox_is_a_job_of_every_minute():
    assert REGISTRY[TASK].interval == dt.timedelta(minutes=1)


def test_the_worker_sends_the_queued_email(make_user):
    zhang = make_user("zhang", email="zhang@example.cn")
    notify([zhang], kind="case_decided", subject="您的申报已办结", dedupe_key="case:1:decided")

    call_command("worker", batch=True)

    assert [m.to for m in mail.outbox] == [["zhang@example.cn"]]
    assert Delivery.objects.get().status == Delivery.Status.SENT
    result = DBTaskResult.objects.get(task_path=TASK)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"sent": 1, "retried": 0, "failed": 0, "abandoned": 0}
