"""Running one concurrency level: C client threads sharing a queue of enterprises.

Each level records per-step latencies, whole-sequence latencies, every error (a failed
sequence is counted, never retried or hidden), the CPU time spent by whoever does the
work, how busy the whole machine was, and where database sessions queued.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._probes import LockSampler, busy_percent, machine_busy
from ._report import ms, percentile

STEPS = ("create", "save", "upload", "submit")
Laps = dict[str, float]


def timed(laps: Laps, step: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call, recording the wall time of the step."""
    started = time.perf_counter()
    try:
        return call(*args, **kwargs)
    finally:
        laps[step] = time.perf_counter() - started


HOT_ROWS = {
    '"core_auditchainhead"': "audit chain head",
    '"applications_applicationsequence"': "number sequence",
}


class _HotRowClock:
    """Times each hot row from its ``SELECT ... FOR UPDATE`` to the commit that releases it.

    Installed with Django's public ``connection.execute_wrapper`` hook; the commit is seen
    through ``on_commit``, which runs right after it.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.held: dict[str, float] = {}
        self._since: dict[str, float] = {}

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql:
            for table, label in HOT_ROWS.items():
                if table in sql and label not in self._since:
                    self._since[label] = time.perf_counter()
                    self.connection.on_commit(lambda label=label: self._released(label))
        return result

    def _released(self, label: str) -> None:
        self.held[label] = self.held.get(label, 0.0) + time.perf_counter() - self._since.pop(label)


def instrumented(laps: Laps, step: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call, recording the SQL statements the step ran and how long it held each hot row.

    ``laps[step]`` is the statement count; ``laps[f"{step} {row}"]`` the seconds ``row`` was
    locked. Only for one sequence at a time in this thread (no concurrency).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clock = _HotRowClock(connection)
    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(clock):
        result = call(*args, **kwargs)
    laps[step] = len(queries)
    laps.update({f"{step} {label}": seconds for label, seconds in clock.held.items()})
    return result


@dataclass(frozen=True)
class Submitted:
    filer: Any
    application_id: int
    key: str  # the submit's Idempotency-Key ("" on the service layer)
    number: str


@dataclass
class Run:
    """The results of one concurrency level of one layer."""

    layer: str
    clients: int
    wall: float = 0.0
    laps: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})
    sequences: list[float] = field(default_factory=list)
    submitted: list[Submitted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of the process(es) doing the work
    busy: float = 0.0  # % of all CPUs busy (anything on the machine)
    waits: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.submitted) / self.wall if self.wall else 0.0

    @property
    def cpu_per_submission(self) -> float:
        return self.cpu / len(self.submitted) if self.submitted else float("nan")

    def progress(self) -> str:
        return (
            f"  {self.layer:7} C={self.clients:<2} {len(self.submitted):4} submissions in "
            f"{self.wall:5.1f} s = {self.rate:5.1f}/s, submit p50 "
            f"{ms(percentile(self.laps['submit'], 50))} ms, errors {len(self.errors)}"
        )


Sequence = Callable[[Any], tuple[Submitted, Laps]]


def _client(run: Run, work: queue.SimpleQueue, sequence: Sequence, lock: threading.Lock) -> None:
    while True:
        try:
            filer = work.get_nowait()
        except queue.Empty:
            return
        began = time.perf_counter()
        try:
            done, laps = sequence(filer)
        except Exception as exc:  # every failure is counted and reported
            with lock:
                run.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        with lock:
            run.submitted.append(done)
            run.sequences.append(time.perf_counter() - began)
            for step, seconds in laps.items():
                run.laps[step].append(seconds)


def run_level(
    layer: str,
    filers: list,
    clients: int,
    sequence: Sequence,
    *,
    cpu: Callable[[], float],
    database_url: str,
    thread_exit: Callable[[], None] | None = None,
) -> Run:
    """``clients`` threads take ``filers`` from one queue until it is empty."""
    run = Run(layer, clients)
    work: queue.SimpleQueue = queue.SimpleQueue()
    for filer in filers:
        work.put(filer)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        start.wait()
        try:
            _client(run, work, sequence, lock)
        finally:
            if thread_exit:
                thread_exit()

    threads = [threading.Thread(target=client, name=f"{layer}-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    with LockSampler(database_url) as sampler:
        cpu_before, busy_before = cpu(), machine_busy()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        run.wall = time.perf_counter() - began
        run.cpu, run.busy = cpu() - cpu_before, busy_percent(busy_before, machine_busy())
    run.waits = sampler.means()
    return run
