"""A real worker outlives a database it cannot reach for a while, and resumes (issue 15).

The test database stops taking connections (``ALLOW_CONNECTIONS false``) and the worker's
session is ended: its next round fails, and so does every reconnection. The worker logs each
failure, waits (1 s, 2 s, 4 s …) and tries again; once connections are allowed again it runs
what was queued meanwhile and its heartbeat moves on. Runs on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import psycopg
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from policywindow.core.heartbeat import last_beat
from policywindow.system.tasks import purge_expired_sessions
from tests.faults.workers import end_other_sessions, worker
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a second process shares the database"
    ),
]

UNAVAILABLE = "数据库暂时不可用"


def _allow_connections(allowed: bool) -> None:
    """Said from the server's maintenance database: no session may say it of its own."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS {str(allowed).lower()}')


def _failures(log: Path) -> int:
    return log.read_text(encoding="utf-8").count(UNAVAILABLE) if log.exists() else 0


def _expired_session() -> str:
    session = SessionStore()
    session.create()
    yesterday = timezone.now() - dt.timedelta(days=1)
    Session.objects.filter(session_key=session.session_key).update(expire_date=yesterday)
    return session.session_key


def test_the_worker_outlives_an_outage_and_resumes(tmp_path):
    log = tmp_path / "w" / "worker.log"
    running = worker(data_dir=tmp_path / "w")
    try:
        wait_for(lambda: last_beat() is not None, "the worker's first round", alive=running)
        _allow_connections(False)
        try:
            end_other_sessions()
            expired = _expired_session()  # work queued during the outage, by this session
            queued = purge_expired_sessions.enqueue()
            wait_for(lambda: _failures(log) >= 2, "the worker to retry", alive=running)
            beat_during_outage = last_beat()
        finally:
            _allow_connections(True)

        wait_for(
            lambda: DBTaskResult.objects.get(pk=queued.id).status == "SUCCESSFUL",
            "the task queued during the outage to run",
            alive=running,
        )
        assert not Session.objects.filter(session_key=expired).exists()
        wait_for(lambda: last_beat() > beat_during_outage, "a new heartbeat", alive=running)
        assert "Traceback" not in log.read_text(encoding="utf-8"), "logged as a warning"
    finally:
        running.send_signal(signal.SIGTERM)
        wait_for(lambda: running.poll() is not None, "the worker to stop")
    assert running.returncode == 0
