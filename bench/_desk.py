"""Approvers at work: each client is one approver clearing their own to-do list.

A client reads its to-do list (up to 100 tasks), decides every task on it (通过, with an
opinion naming the task), and reads the list again — the first level's approvals open the
second level's tasks, which then appear — until the list is empty. Over HTTP that is
``GET /api/v1/tasks`` and ``POST /api/v1/tasks/{id}/decision`` (with an
``Idempotency-Key``) with the approver's API token; on the service layer
``selectors.todo_tasks`` and ``runtime.decide`` in the client's thread (its own database
connection). Every failure is counted, never retried or hidden.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._client import ApiClient, Response
from ._probes import LockSampler, busy_percent, machine_busy
from ._report import ms, percentile

TODO = "/api/v1/tasks?page_size=100"
KEY_HEADER = "Idempotency-Key"


class DecisionFailed(Exception):
    pass


def decision_path(task_id: int) -> str:
    return f"/api/v1/tasks/{task_id}/decision"


def opinion_for(task_id: int) -> str:
    """Each decision's opinion names its task: the check finds every one stored as sent."""
    return f"同意。（基准测试，任务 {task_id}）"


@dataclass(frozen=True)
class Decided:
    """A decision the client saw acknowledged."""

    task_id: int
    node: str
    key: str = ""  # the Idempotency-Key ("" on the service layer)
    body: bytes = b""  # the HTTP answer, compared with a replay


@dataclass
class Level:
    """One concurrency level of one layer: C approvers, each clearing their list."""

    layer: str
    clients: int
    wall: float = 0.0
    decided: list[Decided] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # per decision
    todo_latencies: list[float] = field(default_factory=list)  # per to-do read
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0
    client_cpu: float = 0.0  # CPU of this process (the load generator over HTTP)
    busy: float = 0.0
    waits: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def done(self, decided: Decided, seconds: float) -> None:
        with self._lock:
            self.decided.append(decided)
            self.latencies.append(seconds)

    def listed(self, seconds: float) -> None:
        with self._lock:
            self.todo_latencies.append(seconds)

    def failed(self, message: str) -> None:
        with self._lock:
            self.errors.append(message[:300])

    @property
    def rate(self) -> float:
        return len(self.decided) / self.wall if self.wall else 0.0

    @property
    def cpu_per_decision(self) -> float:
        return self.cpu / len(self.decided) if self.decided else float("nan")

    def progress(self) -> str:
        return (
            f"  {self.layer:7} C={self.clients:<2} {len(self.decided):4} decisions in "
            f"{self.wall:5.1f} s = {self.rate:5.1f}/s, p50 {ms(percentile(self.latencies, 50))} ms,"
            f" p95 {ms(percentile(self.latencies, 95))} ms, errors {len(self.errors)}"
        )


Desk = Callable[[Any, Level], None]


def _expect(response: Response, status: int, what: str) -> Any:
    if response.status != status:
        body = response.body[:300].decode("utf-8", "replace")
        raise DecisionFailed(f"{what}: HTTP {response.status} {body}")
    return response.json()


class HttpDesk:
    """An approver's client over HTTP: its token, one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __call__(self, approver: Any, level: Level) -> None:
        client = ApiClient(self.port, approver.token)
        tried: set[int] = set()
        try:
            while True:
                started = time.perf_counter()
                listed = _expect(client.request("GET", TODO), 200, "to-do")
                level.listed(time.perf_counter() - started)
                fresh = [task for task in listed["items"] if task["id"] not in tried]
                if not fresh:
                    return
                for task in fresh:
                    tried.add(task["id"])
                    self._decide(client, task, level)
        finally:
            client.close()

    @staticmethod
    def _decide(client: ApiClient, task: dict, level: Level) -> None:
        key = str(uuid.uuid4())
        payload = {"action": "approve", "opinion": opinion_for(task["id"])}
        started = time.perf_counter()
        try:
            answer = client.send_json("POST", decision_path(task["id"]), payload, {KEY_HEADER: key})
            seconds = time.perf_counter() - started
            body = _expect(answer, 200, f"decision on task {task['id']}")
            if body.get("id") != task["id"] or body.get("status") != "approved":
                raise DecisionFailed(f"decision on task {task['id']}: body {str(body)[:200]}")
        except Exception as exc:  # counted, and the client goes on with its list
            level.failed(f"{type(exc).__name__}: {exc}")
            return
        level.done(Decided(task["id"], task["node"], key, answer.body), seconds)


class ServiceDesk:
    """The same work as direct calls of the selector and the service (no HTTP, no API layer)."""

    def __call__(self, approver: Any, level: Level) -> None:
        from policywindow.workflow import selectors
        from policywindow.workflow.services import runtime

        tried: set[int] = set()
        while True:
            started = time.perf_counter()
            tasks = list(selectors.todo_tasks(approver.user)[:100])
            level.listed(time.perf_counter() - started)
            fresh = [task for task in tasks if task.pk not in tried]
            if not fresh:
                return
            for task in fresh:
                tried.add(task.pk)
                decision = runtime.Decision("approve", opinion_for(task.pk))
                started = time.perf_counter()
                try:
                    done = runtime.decide(approver.user, task.pk, decision)
                    if done.status != "approved":
                        raise DecisionFailed(f"task {task.pk} is {done.status}")
                except Exception as exc:  # counted, and the client goes on with its list
                    level.failed(f"{type(exc).__name__}: {exc}")
                    continue
                level.done(Decided(task.pk, task.node_name), time.perf_counter() - started)


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def close_connection() -> None:
    """Each service-layer thread has its own database connection; close it when done."""
    from django.db import connection

    connection.close()


def run_level(
    layer: str,
    approvers: list,
    desk: Desk,
    *,
    cpu: Callable[[], float],
    database_url: str,
    thread_exit: Callable[[], None] | None = None,
) -> Level:
    """One thread per approver, all started at once; the level ends when every list is empty."""
    level = Level(layer, len(approvers))
    start = threading.Barrier(len(approvers) + 1)

    def client(approver: Any) -> None:
        start.wait()
        try:
            desk(approver, level)
        except Exception as exc:  # a client that died is an error too
            level.failed(f"{type(exc).__name__}: {exc}")
        finally:
            if thread_exit:
                thread_exit()

    threads = [
        threading.Thread(target=client, args=(approver,), name=f"{layer}-{i}")
        for i, approver in enumerate(approvers)
    ]
    for thread in threads:
        thread.start()
    with LockSampler(database_url) as sampler:
        cpu_before, own_before, busy_before = cpu(), own_cpu(), machine_busy()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        level.wall = time.perf_counter() - began
        level.cpu, level.busy = cpu() - cpu_before, busy_percent(busy_before, machine_busy())
        level.client_cpu = own_cpu() - own_before
    level.waits = sampler.means()
    return level


def race(port: int, approver: Any, level: Level) -> list[str]:
    """Every task on the approver's list decided by two of their clients at the same instant.

    Each pair must give one 200 and one 409 (the task is locked, then found decided); the
    winner is recorded as a decision. Returns the problems.
    """
    problems: list[str] = []
    reader = ApiClient(port, approver.token)
    try:
        while items := _expect(reader.request("GET", TODO), 200, "to-do")["items"]:
            for task in items:
                answers = _twice(port, approver.token, task["id"])
                statuses = sorted(answer.status for answer in answers)
                if statuses != [200, 409]:
                    problems.append(f"task {task['id']} decided twice at once: {statuses}")
                    return problems
                won = next(answer for answer in answers if answer.status == 200)
                level.done(Decided(task["id"], task["node"], "", won.body), 0.0)
    finally:
        reader.close()
    return problems


def _twice(port: int, token: str, task_id: int) -> list[Response]:
    clients = [ApiClient(port, token), ApiClient(port, token)]
    together = threading.Barrier(2)
    answers: list[Response] = []
    payload = {"action": "approve", "opinion": opinion_for(task_id)}

    def send(client: ApiClient) -> None:
        together.wait()
        answers.append(client.send_json("POST", decision_path(task_id), payload))

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients:
            client.close()
    return answers
