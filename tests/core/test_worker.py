"""The background worker: periodic jobs are enqueued once per interval and run by a real worker;
an idle round is cheap, a failing one is retried, and the workbench says when none ran."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policywindow.core import heartbeat
from policywindow.core.models import WorkerHeartbeat
from policywindow.core.scheduler import REGISTRY, enqueue_due_jobs
from policywindow.core.worker import Backoff, Loop
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
    assert "policywindow.system.tasks.purge_expired_sessions" in later
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
        task_path="policywindow.system.tasks.purge_expired_sessions"
    )
    assert results.get().status == "SUCCESSFUL"


# ---------------------------------------------------------------- the loop (core/worker.py)


def _idle(loop: Loop) -> None:
    """Rounds until nothing is left to run (the first one enqueues every periodic job)."""
    while loop.round():
        pass


def test_an_idle_round_costs_two_look_ups():
    loop = Loop(report=lambda message: None)
    _idle(loop)
    with CaptureQueriesContext(connection) as queries:
        assert loop.round() is False
    assert len(queries) == 2, [q["sql"] for q in queries]  # unsealed events, ready tasks


def test_a_failing_round_is_retried_after_a_growing_back_off_and_the_loop_goes_on(
    monkeypatch, caplog
):
    """The database locked three rounds in a row (SQLite's error while an import writes): the
    worker waits 1, 2, 4 s, logs each, and carries on; a good round resets the back-off."""
    slept: list[float] = []
    loop = Loop(report=lambda message: None, sleep=slept.append)
    outcomes = iter([*[OperationalError("database is locked")] * 3, True, RuntimeError("bug")])

    def round_() -> bool:
        outcome = next(outcomes, None)
        if outcome is None:
            loop.stopping = True
            return False
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(loop, "round", round_)
    monkeypatch.setattr(loop, "_install_signals", lambda: None)
    loop.run_forever()

    assert slept == [1.0, 2.0, 4.0, 1.0]  # the bug after a good round starts again at 1 s
    unavailable = [r for r in caplog.records if "数据库暂时不可用" in r.getMessage()]
    assert len(unavailable) == 3 and all(r.levelname == "WARNING" for r in unavailable)
    assert any(r.levelname == "ERROR" and "本轮出错" in r.getMessage() for r in caplog.records)


def test_the_back_off_stops_growing_at_a_minute():
    backoff = Backoff()
    assert [backoff.next() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_round_records_the_heartbeat():
    before = timezone.now()
    Loop(report=lambda message: None).round()
    beat = WorkerHeartbeat.objects.get()
    assert beat.beat_at >= before and heartbeat.stale_warning() == ""


# ---------------------------------------------------------------- the workbench's warning


def test_the_workbench_warns_the_administrators_when_background_work_stopped(make_user, login):
    admin = login(make_user("admin1", "sys_admin"))
    reviewer = login(make_user("reviewer1", "reviewer"))
    assert "后台任务从未运行" in admin.get("/").content.decode()

    last = timezone.now() - heartbeat.STALE_AFTER - dt.timedelta(minutes=2)
    heartbeat.beat("host:1", started_at=last, now=last)
    page = admin.get("/").content.decode()
    when = timezone.localtime(last).strftime("%Y-%m-%d %H:%M")
    assert 'data-testid="worker-warning"' in page
    assert f"后台任务已 12 分钟未运行（最近一次：{when}）" in page
    assert b"worker-warning" not in reviewer.get("/").content  # not theirs to act on

    heartbeat.beat("host:1", started_at=last)
    assert b"worker-warning" not in admin.get("/").content
