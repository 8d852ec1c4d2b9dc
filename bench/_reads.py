"""Reads with the big data set loaded: to-do and done lists (API and pages) and the case page.

Each request is timed over HTTP against the served product, one client at a time (warm-up
requests first), and run once more in-process to count its SQL statements and keep them:
the list and count queries are then run again under ``EXPLAIN (ANALYZE, BUFFERS)``.
"""

from __future__ import annotations

import http.client
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ._client import ApiClient, InProcessClient, SessionClient
from ._report import percentile

PAGE_SIZE = 20  # the API's default page size and the pages' PAGE_SIZE
INDEX = re.compile(
    r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)?"
    r"(?: using| on) (\w+)"
)


@dataclass(frozen=True)
class Target:
    """One measured request: what, as whom, and a text the answer must contain."""

    name: str
    who: str  # a label of the approver
    kind: str  # "API" or "page"
    path: str
    expect: str
    rows: int = 0  # rows of the list it pages through


@dataclass
class Measured:
    target: Target
    latencies: list[float] = field(default_factory=list)
    size: int = 0
    queries: list[str] = field(default_factory=list)  # SQL of the in-process run
    problems: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)


@dataclass(frozen=True)
class Reader:
    """An approver as the reads see them: the user, an API token and a password."""

    label: str
    user: Any
    token: str
    password: str


def last_page(rows: int) -> int:
    return max(1, math.ceil(rows / PAGE_SIZE))


def targets(reader: Reader, case: Any) -> list[Target]:
    """Page 1 and the last page of the to-do and done lists, through the API and the pages, and
    the API's last page once more as a client paging with ``next`` reaches it (keyset paging);
    the case page when ``case`` (an application) is given."""
    from policywindow.workflow import selectors

    user, found = reader.user, []
    lists = (
        ("to-do", selectors.todo_tasks(user), "/api/v1/tasks", "/approvals/todo/"),
        ("done", selectors.done_tasks(user), "/api/v1/tasks/done", "/approvals/done/"),
    )
    for name, tasks, api, page in lists:
        rows = tasks.count()
        for number in sorted({1, last_page(rows)}):
            first = tasks[(number - 1) * PAGE_SIZE] if rows else None
            expect = first.application.number if first else ""
            label = f"{name}, page {number}"
            found += [
                Target(label, reader.label, "API", f"{api}?page={number}", expect, rows),
                Target(label, reader.label, "page", f"{page}?page={number}", expect, rows),
            ]
        if last_page(rows) > 1:
            path = f"{api}?page={number}&cursor={_cursor_to(reader, api, number)}"
            found.append(Target(f"{label} by cursor", reader.label, "API", path, expect, rows))
    if case is not None:
        found.append(
            Target("case page", reader.label, "page", f"/approvals/cases/{case.pk}/", case.number)
        )
    return found


def _cursor_to(reader: Reader, api: str, number: int) -> str:
    """The ``next`` a client paging through the list from page 1 holds on reaching page
    ``number`` (walked untimed, in this process)."""
    import json

    client, cursor = InProcessClient(reader.token), ""
    for page in range(1, number):
        path = f"{api}?page={page}" + (f"&cursor={cursor}" if cursor else "")
        cursor = json.loads(client.request("GET", path).body)["next"]
    return cursor


def _check(measured: Measured, status: int, body: bytes) -> None:
    target = measured.target
    if status != 200:
        measured.problems.append(f"{target.kind} {target.path}: HTTP {status}")
    elif target.expect.encode() not in body:
        measured.problems.append(f"{target.kind} {target.path}: {target.expect} not in the answer")


def over_http(
    port: int, reader: Reader, target_list: list[Target], samples: int, warm: int
) -> list[Measured]:
    """Each target ``warm`` times untimed, then ``samples`` times timed, one request at a time."""
    api = ApiClient(port, reader.token)
    browser = SessionClient(port)
    try:
        browser.login(reader.user.username, reader.password)
        found = []
        for target in target_list:
            client = api if target.kind == "API" else browser
            measured = Measured(target)
            for n in range(warm + samples):
                started = time.perf_counter()
                try:
                    answer = client.request("GET", target.path)
                except (OSError, http.client.HTTPException) as exc:  # counted; next target
                    measured.problems.append(f"{target.kind} {target.path}: {exc!r}")
                    break
                seconds = time.perf_counter() - started
                _check(measured, answer.status, answer.body)
                measured.size = len(answer.body)
                if n >= warm:
                    measured.latencies.append(seconds)
            found.append(measured)
        return found
    finally:
        api.close()
        browser.close()


def count_queries(reader: Reader, measured: list[Measured]) -> None:
    """Each request once more in this process (the second of two runs: nothing cold), with
    every SQL statement kept."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    api = InProcessClient(reader.token)
    browser = Client()
    browser.force_login(reader.user)
    for item in measured:
        target = item.target
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                if target.kind == "API":
                    answer = api.request("GET", target.path)
                    status, body = answer.status, answer.body
                else:
                    response = browser.get(target.path)
                    status, body = response.status_code, response.content
        _check(item, status, body)
        item.queries = [query["sql"] for query in queries.captured_queries]


SELECT_LIST = re.compile(r"^SELECT (.+?) FROM ", re.DOTALL)


def short_sql(sql: str) -> str:
    """The statement with its column list counted rather than spelled out."""
    found = SELECT_LIST.match(sql)
    if found is None or "COUNT(" in found[1]:
        return sql
    columns = found[1].count(",") + 1
    return f"SELECT <{columns} columns> FROM {sql[found.end() :]}"  # noqa: S608 - for reading


@dataclass(frozen=True)
class Plan:
    request: str
    sql: str
    text: str

    @property
    def execution_ms(self) -> float:
        found = re.search(r"Execution Time: ([\d.]+) ms", self.text)
        return float(found[1]) if found else float("nan")

    @property
    def scans(self) -> str:
        seen: list[str] = []
        for kind, name in INDEX.findall(self.text):
            label = f"{kind} {name}"
            if label not in seen:
                seen.append(label)
        return ", ".join(seen)

    @property
    def buffers(self) -> str:
        found = re.search(r"Buffers: ([^\n]+)", self.text)
        return found[1].strip() if found else ""

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0].strip()


def explain(url: str, measured: list[Measured], table: str = "workflow_workflowtask") -> list[Plan]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of every statement on ``table`` the list requests ran."""
    plans = []
    with psycopg.connect(url, autocommit=True) as conn:
        for item in measured:
            for sql in item.queries:
                if f'FROM "{table}"' not in sql or sql.lstrip().upper().startswith(
                    ("UPDATE", "INSERT")
                ):
                    continue
                rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
                label = f"{item.target.kind} {item.target.name} ({item.target.who})"
                plans.append(Plan(label, sql, "\n".join(row[0] for row in rows)))
    return plans
