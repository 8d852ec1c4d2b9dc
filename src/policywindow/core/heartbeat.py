"""Is background work running? Each worker records when it last finished a round; the
workbench warns the administrators when no worker has done so for ``STALE_AFTER``.

Without a worker, deadline sweeps, notifications, signed fund forms and archives stop, and
nothing else on a page shows it. One row per worker process, written at most every
``BEAT_EVERY`` (one UPDATE), so the warning costs the worker next to nothing and the
workbench one indexed look-up.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from django.db.models import Max
from django.utils import timezone

from .models import WorkerHeartbeat

BEAT_EVERY = dt.timedelta(seconds=30)
STALE_AFTER = dt.timedelta(minutes=10)
# Rows of workers gone for this long are dropped (a restarted worker has a new pid).
FORGET_AFTER = dt.timedelta(days=7)
# Who sees the warning: the administrators of the system's parameters (系统管理员, 安全管理员).
PERMISSION = "system:param:list"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def beat(worker: str, started_at: dt.datetime, now: dt.datetime | None = None) -> None:
    """Record that ``worker`` finished a round now."""
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker=worker).update(beat_at=now)
    if not updated:
        WorkerHeartbeat.objects.create(worker=worker, started_at=started_at, beat_at=now)
        WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()


def last_beat() -> dt.datetime | None:
    return WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]


def stale_warning(now: dt.datetime | None = None) -> str:
    """The workbench's warning when background work has not run for ``STALE_AFTER``, else ""."""
    now = now or timezone.now()
    last = last_beat()
    if last is not None and now - last < STALE_AFTER:
        return ""
    effect = "期限提醒与超期标记、消息通知、经费审批表和归档文件的生成都已暂停"
    action = "请检查后台任务进程（policywindow worker）是否在运行，详见运维手册"
    if last is None:
        return f"后台任务从未运行：{effect}。{action}。"
    minutes = int((now - last).total_seconds() // 60)
    when = timezone.localtime(last).strftime("%Y-%m-%d %H:%M")
    return f"后台任务已 {minutes} 分钟未运行（最近一次：{when}）：{effect}。{action}。"
