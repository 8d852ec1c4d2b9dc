"""The product served as in production: ``policywindow serve`` (gunicorn) on a free local port.

Its settings are the product's with the benchmark additions of ``bench._server_settings``
(ceiling views, SQL count header).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
SERVER_ENV = {"DJANGO_SETTINGS_MODULE": "bench._server_settings", "PYTHONPATH": str(REPO)}
READY_TIMEOUT_S = 120  # a busy machine (CI beside other work) can take long to start four workers
STOP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _command(port: int, workers: int, threads: int) -> list[str]:
    script = Path(sys.executable).with_name("policywindow")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "policywindow.cli"]
    return [
        *launcher,
        "serve",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_ready(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{_tail(log_path)}")
        if _healthy(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT_S} s:\n{_tail(log_path)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn master (it stops its workers); the whole group if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group started below, and only it
        process.wait()


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # the gunicorn master; its children are the workers


@contextmanager
def serve(
    *, workers: int, threads: int, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start the server with this process's environment (plus ``env``), yield it, always stop it."""
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            _command(port, workers, threads),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **SERVER_ENV, **(env or {})},
        )
    try:
        _wait_ready(process, port, log_path)
        yield Server(port, process.pid)
    finally:
        _stop(process)
