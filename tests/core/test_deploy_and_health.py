"""Production settings pass ``check --deploy``; the health check and every page fail fast
with a clear 503 when the database cannot be reached."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.waiting import HANG_GUARD_S

PROBE = """
import json
from django.test import Client
client = Client(raise_request_exception=False)
out = {}
r = client.get("/healthz")
out["healthz"] = [r.status_code, r.content.decode()]
r = client.post("/login/", {"username": "clerk", "password": "Whatever#2026"}, HTTP_ACCEPT="text/html")
out["login"] = [r.status_code, r.content.decode()]
r = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-real-token")
out["api"] = [r.status_code, r.content.decode()]
print("RESULT" + json.dumps(out))
"""


def _run(
    args: list[str], env: dict[str, str], timeout: int = HANG_GUARD_S
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policywindow.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "POLICYWINDOW_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "zcdx.example.gov.cn",
        "POLICYWINDOW_DATA_DIR": str(tmp_path),
    }
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {
        "POLICYWINDOW_ENV": "production",
        "SECRET_KEY": "",
        "POLICYWINDOW_DATA_DIR": str(tmp_path),
    }
    result = _run(["check"], env)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_healthz_answers_ok_with_the_database_checked():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_database_down_gives_503_everywhere(tmp_path):
    env = {
        # Nothing listens on port 1: a real, unreachable database server.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
        "DB_CONNECT_TIMEOUT": "1",
        "POLICYWINDOW_DATA_DIR": str(tmp_path),
    }
    result = _run(["shell", "-c", PROBE], env)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    out = json.loads(line.removeprefix("RESULT"))
    status, body = out["healthz"]
    assert status == 503 and json.loads(body)["database"] == "unreachable"
    status, body = out["login"]
    assert status == 503 and "数据库暂时不可用" in body and "Traceback" not in body
    status, body = out["api"]
    assert status == 503 and json.loads(body)["code"] == "service_unavailable"


def test_a_connection_error_is_found_behind_the_errors_it_caused():
    from django.db import OperationalError

    from policywindow.core.views import is_connection_error

    lost = OperationalError("consuming input failed: server closed the connection unexpectedly")
    caused = RuntimeError("rollback failed")
    caused.__context__ = lost
    unrelated = RuntimeError("a bug")
    unrelated.__context__ = ValueError("another bug")
    cyclic = RuntimeError("cycle")
    cyclic.__context__ = cyclic
    assert is_connection_error(lost) and is_connection_error(caused)
    assert not is_connection_error(unrelated)
    assert not is_connection_error(cyclic)
    assert not is_connection_error(OperationalError("division by zero"))
