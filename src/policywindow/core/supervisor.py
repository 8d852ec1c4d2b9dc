"""The web server and the background worker run, watched and stopped together
(``policywindow demo``; production runs each under systemd, docs/deployment.md).

- Before anything starts, the address is checked: a busy port is named, nothing is left behind.
- "已启动" is printed once the server answers on its port, not before.
- A worker that dies is started again (after 1 s, doubling to 60 s while it keeps dying).
- The server stopping stops the worker; SIGTERM, SIGINT (Ctrl+C) or SIGHUP stops both. Each
  child runs in its own process group, so Ctrl+C reaches only this process, which stops each
  child once (SIGTERM, then SIGKILL after ``GRACE_SECONDS`` or at a second Ctrl+C); and each
  child gets SIGTERM from the kernel should this process die without doing so (Linux
  ``PR_SET_PDEATHSIG``).

Signals are blocked and taken with ``sigwaitinfo``, so the watch loop sleeps until a child
exits or a signal comes: no polling.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

GRACE_SECONDS = 30
FIRST_RESTART_DELAY = 1.0
LONGEST_RESTART_DELAY = 60.0
HEALTHY_AFTER = 60.0  # a worker that ran this long starts again after the first delay
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
WATCHED = {*STOP_SIGNALS, signal.SIGCHLD}
PR_SET_PDEATHSIG = 1


def split_bind(bind: str) -> tuple[str, int] | None:
    """``127.0.0.1:8000`` or ``[::1]:8000`` -> (host, port); None for a Unix socket."""
    if bind.startswith("unix:"):
        return None
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 — gunicorn's own default


def port_problem(bind: str) -> str | None:
    """Why the server could not listen on ``bind`` (in Chinese), or None when it can."""
    address = split_bind(bind)
    if address is None:
        return None
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"端口 {port} 已被占用（{bind}），服务未启动。可能是上一次启动的服务仍在运行："
                    f"请先停止占用该端口的程序（查看：ss -ltnp 'sport = :{port}'），"
                    f"或换一个端口，例如 make demo DEMO_ARGS='--bind {host}:{port + 1}'"
                )
            return f"无法在 {bind} 上监听（{exc.strerror}），服务未启动"
    return None


def _answers(bind: str) -> bool:
    address = split_bind(bind)
    if address is None:
        return os.path.exists(bind.removeprefix("unix:"))
    host, port = address
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


class Supervisor:
    def __init__(
        self,
        server: Sequence[str],
        worker: Sequence[str],
        *,
        bind: str,
        say: Callable[[str], None],
    ) -> None:
        self.server_argv, self.worker_argv, self.bind, self.say = server, worker, bind, say
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_started = 0.0
        self.restart_delay = 0.0
        self.restart_at: float | None = None
        self.prctl = _libc_prctl()
        self.parent = os.getpid()

    def run(self) -> int:
        """Start both and watch them: 0 when told to stop, the server's status when it exited."""
        signal.signal(signal.SIGCHLD, lambda *_: None)  # queued (not discarded) while blocked
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        try:
            self.server = self._spawn(self.server_argv)
            self._start_worker()
            if self._wait_until_serving():
                self.say(
                    f"政策兑现单一窗口已启动：http://{self.bind}/  （Ctrl+C 停止服务和后台任务）"
                )
                self._watch()
            return self._stop()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)

    # ------------------------------------------------------------ children

    def _spawn(self, argv: Sequence[str]) -> subprocess.Popen:
        return subprocess.Popen(argv, preexec_fn=self._in_child)  # noqa: S603

    def _in_child(self) -> None:
        """Runs in the child before exec: its own group, signals unblocked, dies with us."""
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.setpgid(0, 0)
        if self.prctl is not None:
            self.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != self.parent:  # we died before prctl took effect
                os._exit(1)

    def _start_worker(self) -> None:
        self.worker = self._spawn(self.worker_argv)
        self.worker_started = time.monotonic()
        self.restart_at = None

    def _wait_until_serving(self) -> bool:
        """Until the server answers (True), or it exits or we are told to stop (False)."""
        while not _answers(self.bind):
            if self._server_exited():
                return False
            received = signal.sigtimedwait(WATCHED, 0.2)
            if received is not None and received.si_signo in STOP_SIGNALS:
                return False
            self._check_worker()
        return True

    def _watch(self) -> None:
        """Until a stop signal or the server's exit; restarts the worker meanwhile."""
        while True:
            if self.restart_at is None:
                received = signal.sigwaitinfo(WATCHED)
            else:
                wait = max(0.0, self.restart_at - time.monotonic())
                received = signal.sigtimedwait(WATCHED, wait)
            if received is not None and received.si_signo in STOP_SIGNALS:
                return
            if self._server_exited():
                return
            self._check_worker()
            if self.restart_at is not None and time.monotonic() >= self.restart_at:
                self.say("重新启动后台任务进程")
                self._start_worker()

    def _server_exited(self) -> bool:
        if self.server.poll() is None:
            return False
        self.say(f"服务进程已退出（退出码 {self.server.returncode}），后台任务进程随之停止")
        return True

    def _check_worker(self) -> None:
        if self.worker is None or self.restart_at is not None or self.worker.poll() is None:
            return
        ran = time.monotonic() - self.worker_started
        self.restart_delay = (
            FIRST_RESTART_DELAY
            if ran >= HEALTHY_AFTER or not self.restart_delay
            else min(LONGEST_RESTART_DELAY, self.restart_delay * 2)
        )
        self.restart_at = time.monotonic() + self.restart_delay
        self.say(
            f"后台任务进程意外退出（退出码 {self.worker.returncode}），"
            f"{self.restart_delay:.0f} 秒后重新启动"
        )

    def _stop(self) -> int:
        """Stop both — SIGTERM, then SIGKILL after the grace period or at a second stop
        signal: 0, or the status of a server that had exited by itself."""
        exited = self.server.poll() if self.server is not None else None
        children = [p for p in (self.server, self.worker) if p is not None]
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + GRACE_SECONDS
        while any(child.poll() is None for child in children):
            left = deadline - time.monotonic()
            received = signal.sigtimedwait(WATCHED, left) if left > 0 else None
            if received is None or received.si_signo in STOP_SIGNALS:
                break  # the grace period is over, or asked again: stop now
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
        if exited is None:
            return 0
        return exited if exited >= 0 else 1  # killed by a signal: a failure all the same
