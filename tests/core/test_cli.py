"""The ``policywindow`` console script: the operator's commands run end to end."""

import os
import subprocess
import sys

from tests.waiting import HANG_GUARD_S


def _cli(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYWINDOW_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # an embedded SQLite file of its own
    return subprocess.run(
        [sys.executable, "-m", "policywindow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


def test_help_lists_the_commands(tmp_path):
    out = _cli("help", data_dir=tmp_path).stdout
    for command in ("demo", "serve", "worker", "migrate", "verify-audit"):
        assert command in out


def test_migrate_worker_and_verify_audit_on_a_fresh_database(tmp_path):
    assert _cli("migrate", data_dir=tmp_path).returncode == 0
    worker = _cli("worker", "--batch", data_dir=tmp_path)
    assert worker.returncode == 0 and "定时任务入队" in worker.stdout
    verify = _cli("verify-audit", data_dir=tmp_path)
    assert verify.returncode == 0 and "操作日志哈希链完整" in verify.stdout
