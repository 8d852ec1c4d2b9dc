"""The background worker's loop (``policywindow worker``).

Each round seals the operation log's new events, enqueues the periodic jobs that are due and
runs the next queued task (Django Tasks, database backend); after a round with no task it
sleeps ``interval``. An idle round costs two indexed look-ups — unsealed events, ready tasks —
because the periodic jobs' next due time is kept in memory (the database is asked again only
when it has come) and the heartbeat is written every ``heartbeat.BEAT_EVERY``.

A failing round — the database restarting or unreachable, SQLite's "database is locked" while
an import writes — is logged and tried again after a back-off (1 s doubling to 60 s): the
worker never exits on it. Whatever starts the worker restarts it should it die all the same
(the demo's supervisor, systemd's ``Restart=always``), and the workbench tells the
administrators when no worker has finished a round for a while (core/heartbeat.py).

SIGTERM or SIGINT stops the worker at once when it is idle, after the task in hand when it is
busy; a second signal during a task stops it at once (the task's own resume logic finishes it
on the next run, as after a crash).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from . import heartbeat
from .audit import seal_pending
from .models import AuditEvent
from .scheduler import enqueue_due_jobs, next_due_at
from .views import is_connection_error

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):
    """Raised by the signal handler to leave an idle round at once."""


@dataclass
class Backoff:
    """How long to wait after the n-th failing round in a row: 1, 2, 4 … 60 seconds."""

    first: float = FIRST_BACKOFF
    longest: float = LONGEST_BACKOFF
    current: float = 0.0

    def next(self) -> float:
        self.current = min(self.longest, self.current * 2 or self.first)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


@dataclass
class Loop:
    interval: float = 2.0
    report: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    backoff: Backoff = field(default_factory=Backoff)
    name: str = field(default_factory=heartbeat.worker_name)
    started_at: dt.datetime = field(default_factory=timezone.now)
    stopping: bool = False
    busy: bool = False
    jobs_due_at: dt.datetime | None = None  # None: ask the database
    beaten_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.tasks = Worker(
            queue_names=[DEFAULT_TASK_QUEUE_NAME],
            interval=0,
            batch=True,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )

    # ------------------------------------------------------------ running

    def run_forever(self) -> None:
        """Rounds until a stop signal; a failing round is logged and retried after a back-off."""
        self._install_signals()
        try:
            while not self.stopping:
                try:
                    ran = self.round()
                except Stopped:
                    raise
                except Exception as exc:  # the worker outlives any one round
                    self._failed(exc)
                    continue
                if self.backoff.current:
                    log.info("后台任务：恢复运行")
                self.backoff.reset()
                if not ran and not self.stopping:
                    self.sleep(self.interval)
        except Stopped:
            pass
        self.report("后台任务进程已停止")

    def run_batch(self) -> None:
        """Rounds until no task is left (tests, one-off runs); errors are raised, not retried."""
        while self.round():
            pass

    def round(self) -> bool:
        """One round; whether a task ran. The connection stays open between rounds (a failing
        round closes it): reconnecting every round would cost more than the round itself."""
        now = timezone.now()
        self._seal()
        if self.jobs_due_at is None or now >= self.jobs_due_at:
            if due := enqueue_due_jobs(now):
                self.report(f"定时任务入队：{', '.join(due)}")
            self.jobs_due_at = next_due_at()
        ran = self._run_next_task()
        if self.beaten_at is None or timezone.now() - self.beaten_at >= heartbeat.BEAT_EVERY:
            self.beaten_at = timezone.now()
            heartbeat.beat(self.name, self.started_at, self.beaten_at)
        return ran

    # ------------------------------------------------------------ the parts of a round

    def _seal(self) -> None:
        """Chain the operation log's new events; a checkpoint is written when one is due."""
        if AuditEvent.objects.filter(seq__isnull=True).exists() or self._checkpoint_due():
            seal_pending()

    def _checkpoint_due(self) -> bool:
        # seal_pending writes a due checkpoint; asked once per heartbeat, not every round.
        return self.beaten_at is None or timezone.now() - self.beaten_at >= heartbeat.BEAT_EVERY

    def _run_next_task(self) -> bool:
        ready = DBTaskResult.objects.ready().filter(
            backend_name=DEFAULT_TASK_BACKEND_ALIAS, queue_name=DEFAULT_TASK_QUEUE_NAME
        )
        if not ready.exists():  # idle: a plain read, no (on SQLite: exclusive) transaction
            return False
        self.busy = True  # from the claim on: a stop signal lets the claimed task finish
        try:
            with exclusive_transaction(ready.db):
                result = ready.get_locked()
                if result is not None:
                    result.claim(self.tasks.worker_id)
            if result is None:
                return False
            self.tasks.run_task(result)
            return True
        finally:
            self.busy = False

    def _failed(self, exc: Exception) -> None:
        delay = self.backoff.next()
        if is_connection_error(exc) or "locked" in str(exc).lower():
            log.warning("后台任务：数据库暂时不可用（%s），%.0f 秒后重试", exc, delay)
        else:
            log.exception("后台任务本轮出错，%.0f 秒后重试", delay)
        connections.close_all()  # the next round opens fresh ones
        self.beaten_at = None  # and records at once that the worker is back
        self.sleep(delay)

    # ------------------------------------------------------------ signals

    def _install_signals(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stopping and self.busy:
            signal.signal(signum, signal.SIG_DFL)  # a second signal during a task: stop now
            os.kill(os.getpid(), signum)
            return
        self.stopping = True
        if not self.busy:
            raise Stopped
