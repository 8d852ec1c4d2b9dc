"""Real ``policywindow worker`` processes on the test database, for the fault tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.waiting import wait_for


def worker(*args: str, data_dir: Path) -> subprocess.Popen:
    """Start a worker in its own session (so the test can kill it and only it) that sees this
    test's committed data, uploads and signing key."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "POLICYWINDOW_DATA_DIR": str(data_dir),
        "POLICYWINDOW_MEDIA_DIR": str(settings.MEDIA_ROOT),
        "POLICYWINDOW_SIGNING_DIR": str(settings.POLICYWINDOW_SIGNING_DIR),
        # The audit and data keys: the worker reads what this test wrote and seals its events.
        "POLICYWINDOW_KEY_DIR": str(settings.POLICYWINDOW_KEY_DIR),
        "SECRET_KEY": "fault-test",
    }
    script = Path(sys.executable).with_name("policywindow")
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("ab") as log:  # read it when a test fails
        return subprocess.Popen(
            [str(script), "worker", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def end_other_sessions() -> None:
    """End every other session on the test database and wait until they are gone: a killed
    worker's session may still wait on a lock this test holds, and must not go on and commit
    once the test lets the lock go."""
    others = (
        "datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}")  # noqa: S608

    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one view per transaction
            cursor.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {others}")  # noqa: S608
            return cursor.fetchone()[0] == 0

    wait_for(gone, "the killed worker's database session to end")
