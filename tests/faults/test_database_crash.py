"""The database crashes in the middle of a load (issue 8), end to end.

Runs ``bench/deadline_day.py`` small: gunicorn on a throw-away PostgreSQL cluster, Locust
enterprises, approvers and clerks, the cluster killed (``pg_ctl stop -m immediate``) after
20 s and started again. The driver reconciles what every client saw acknowledged with the
database and exits non-zero on any failed check: an acknowledged submission, upload, decision
or acceptance missing or stored twice, a 500 or a traceback, a refusal that is not the 503
error body, or a product that did not recover by itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench._cluster import server_binaries

from tests.waiting import HANG_GUARD_S

pytestmark = pytest.mark.skipif(
    server_binaries() is None, reason="needs the PostgreSQL server binaries (initdb, pg_ctl)"
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_crash_under_load_loses_nothing_and_the_product_recovers(tmp_path):
    report = tmp_path / "report.md"
    command = [
        sys.executable, "-m", "bench.deadline_day",
        "--enterprises", "16", "--approvers", "4", "--clerks", "2",
        "--run-time", "45", "--think", "1,3", "--workers", "2",
        "--crash-at", "20", "--outage", "3", "--output", str(report),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    text = report.read_text(encoding="utf-8")
    assert "Database crashed at 20 s" in text
    assert "FAILED" not in text and "| ok |" in text
