"""The background worker: periodic jobs are enqueued once per interval and run by a real worker."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policywindow.core.scheduler import REGISTRY, enqueue_due_jobs
from policywindow.system.models import UserSession

pytestmark = pytest.mark.django_db(transaction=True)


def test_due_jobs_are_enqueued_once_per_interval():
    now = timezone.now()
    first = enqueue_due_jobs(now)
    assert sorted(first) == sorted(REGISTRY)
    soon = dt.timedelta(minutes=5)
    frequent = sorted(name for name, job in REGISTRY.items() if job.interval <= soon)
    assert sorted(enqueue_due_jobs(now + soon)) == frequent  # e.g. the outbox, every minute
    later = enqueue_due_jobs(now + dt.timedelta(hours=1, seconds=1))
    assert "policywindow.core.tasks.purge_expired_sessions" in later
    assert "policywindow.api.tasks.purge_old_idempotency_records" not in later  # every 6 hours
    assert DBTaskResult.objects.count() == len(first) + len(frequent) + len(later)


def test_worker_runs_the_session_purge(make_user):
    user = make_user("sessions")
    expired = SessionStore()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - dt.timedelta(days=1)
    )
    live = SessionStore()
    live.create()
    UserSession.objects.create(session_key=expired.session_key, user=user)
    UserSession.objects.create(session_key=live.session_key, user=user)

    call_command("worker", batch=True)

    assert not Session.objects.filter(session_key=expired.session_key).exists()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [live.session_key]
    results = DBTaskResult.objects.filter(
        task_path="policywindow.core.tasks.purge_expired_sessions"
    )
    assert results.get().status == "SUCCESSFUL"
