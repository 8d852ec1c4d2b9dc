"""``policywindow demo`` serves with its worker and never leaves either behind.

Each run is the real command in a session of its own, so the test can tell every process it
started (server, its workers, the background worker) by the session id. All waits are for a
condition (tests/faults/workers.py's ``wait_for``), never for a fixed time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_for

WORKER = "policywindow.cli worker"


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "POLICYWINDOW_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)  # the demo's own SQLite file
    return env


def _session(sid: int) -> dict[int, str]:
    """pid -> command line of every live process in session ``sid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def _workers(sid: int) -> list[int]:
    return [pid for pid, command in _session(sid).items() if WORKER in command]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """A data directory with the demo loaded once (``demo --no-serve``) for this module."""
    data_dir = tmp_path_factory.mktemp("demo")
    command = [sys.executable, "-m", "policywindow.cli", "demo", "--no-serve"]
    done = subprocess.run(command, env=_env(data_dir), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return data_dir


class Demo:
    def __init__(self, data_dir: Path, bind: str) -> None:
        self.log = data_dir / f"demo-{bind.rsplit(':', 1)[1]}.log"
        command = [sys.executable, "-m", "policywindow.cli", "demo", "--bind", bind]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=_env(data_dir), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_serving(self) -> None:
        wait_for(lambda: "已启动" in self.output, "the demo to serve", alive=self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in _session(self.process.pid):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def demo(loaded) -> Iterator[Demo]:
    started = Demo(loaded, f"127.0.0.1:{_free_port()}")
    yield started
    started.stop()  # whatever a failing test left


def test_a_busy_port_is_named_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.Popen(
            [sys.executable, "-m", "policywindow.cli", "demo", "--bind", f"127.0.0.1:{port}"],
            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        out, err = run.communicate()
    assert run.returncode != 0
    assert f"端口 {port} 已被占用" in err and "已启动" not in out + err
    assert _session(run.pid) == {}, "nothing of the demo is left running"
    assert not (tmp_path / "db.sqlite3").exists(), "checked before the database was touched"


def test_sigterm_stops_the_server_and_the_worker(demo):
    demo.wait_serving()
    wait_for(lambda: len(_workers(demo.process.pid)) == 1, "the background worker")
    assert len(_session(demo.process.pid)) >= 3  # supervisor, server, worker

    demo.process.send_signal(signal.SIGTERM)
    wait_for(lambda: demo.process.poll() is not None, "the demo to stop")
    assert demo.process.returncode == 0
    wait_for(lambda: _session(demo.process.pid) == {}, "every process of the demo to end")


def test_a_worker_that_dies_is_started_again(demo):
    demo.wait_serving()
    wait_for(lambda: len(_workers(demo.process.pid)) == 1, "the background worker")
    (first,) = _workers(demo.process.pid)
    os.kill(first, signal.SIGKILL)

    wait_for(lambda: _workers(demo.process.pid) not in ([], [first]), "a new worker")
    assert "后台任务进程意外退出（退出码 -9）" in demo.output
    assert demo.process.poll() is None, "the server goes on"


def test_the_worker_stops_when_the_server_stops(demo):
    demo.wait_serving()
    wait_for(lambda: len(_workers(demo.process.pid)) == 1, "the background worker")
    server = next(p for p, c in _session(demo.process.pid).items() if "gunicorn" in c)
    os.killpg(os.getpgid(server), signal.SIGKILL)  # the server and its web workers

    wait_for(lambda: demo.process.poll() is not None, "the demo to stop")
    assert demo.process.returncode != 0
    assert "服务进程已退出" in demo.output
    wait_for(lambda: _session(demo.process.pid) == {}, "the worker to stop with the server")
