"""Real ``policywindow worker`` processes on the test database, for the fault tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

WAIT_S = 180


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
    return subprocess.Popen(
        [str(script), "worker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
