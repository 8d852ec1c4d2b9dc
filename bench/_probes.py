"""What the machine and the database were doing during a level: CPU time and lock waits.

``LockSampler`` looks at ``pg_stat_activity`` of the bench database every few
milliseconds from its own connection and counts the sessions that wait for a lock
(by the table of the statement that waits) and the sessions that sit *idle in
transaction* (the application holds a transaction, and its locks, while Python
works). The means over the samples say how many sessions were queued where.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from pathlib import Path

import psycopg

SAMPLE_EVERY_S = 0.02
TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', re.IGNORECASE)
LOCK_LABELS = {
    "core_auditchainhead": "audit chain head",
    "applications_applicationsequence": "number sequence",
    "applications_application": "application row",
    "enterprises_enterprise": "enterprise row",
    "api_idempotencyrecord": "idempotency key",
}
IN_TRANSACTION = "idle in transaction"
ACTIVITY = """
    SELECT state, wait_event_type, query FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND (wait_event_type = 'Lock' OR state = 'idle in transaction')
"""


def _classify(state: str, wait_type: str | None, query: str) -> str:
    if wait_type == "Lock":
        match = TABLE.search(query or "")
        table = match.group(1) if match else "?"
        return LOCK_LABELS.get(table, table)
    return IN_TRANSACTION


class Sampler:
    """Runs ``sample(conn)`` every ``SAMPLE_EVERY_S`` from its own autocommit connection to the
    bench database, in a thread, for as long as the ``with`` block lasts."""

    name = "sampler"

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            while not self._stop.wait(SAMPLE_EVERY_S):
                self.sample(conn)

    def sample(self, conn: psycopg.Connection) -> None:
        raise NotImplementedError


class LockSampler(Sampler):
    name = "lock-sampler"

    def __init__(self, url: str) -> None:
        self._counts: Counter[str] = Counter()
        self._samples = 0
        super().__init__(url)

    def sample(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(ACTIVITY).fetchall()
        self._samples += 1
        self._counts.update(_classify(*row) for row in rows)

    def means(self) -> dict[str, float]:
        """Mean number of sessions in each state over the samples."""
        return (
            {label: n / self._samples for label, n in self._counts.items()} if self._samples else {}
        )


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _ticks()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the gunicorn master and its workers)."""
    return _process_cpu(pid) + sum(_process_cpu(child) for child in _children(pid))


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; the delta of two readings gives busy %."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    return 100 * busy / total if total else 0.0
