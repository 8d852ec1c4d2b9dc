"""Decisions per second, and the approvers' lists with 1,000,000 applications loaded (issue 4).

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.approvals [--levels 1,4,8,16] [--apps 1000000]
    # a quick sanity run (under two minutes): ... -m bench.approvals --apps 20000

1. **Decisions.** Each client is an approver with their own API token and their own rule,
   whose two-level workflow (初审, then 复审, one 或签 node each) names only them. Before each
   level their cases are filed by enterprises and accepted at the window through the
   services (untimed); then every client clears its to-do list (``_desk``): the first
   level's approvals open the second level's tasks, which are decided too. The same work
   runs on the service layer alone (threads calling ``runtime.decide``).
2. **The big data set** (``_bulk``, unless ``--skip-bulk``): N applications and N × T tasks
   over 2,000 approvers, bulk-loaded with SQL, then the to-do list (page 1 and the last
   page) of a typical approver (about 50 open tasks) and of one with a backlog of 2,000, the
   done list and the case page, each through the API and the pages (``_reads``), and the
   API's last pages once more as a client following ``next`` reaches them (keyset paging),
   with their SQL statements counted and the task queries run under ``EXPLAIN (ANALYZE,
   BUFFERS)``.
3. **Ceilings** (issue 8): the same server set-up answering a fixed JSON body and doing one
   INSERT in a transaction (``_ceiling``); decisions and reads are given as ratios to them.
4. **An authenticated trivial GET** (issue 16): ``GET /api/v1/me`` with an approver's token,
   the server's CPU per request against the fixed-JSON ceiling's, measured in alternating
   rounds on the same server (what knowing who asks costs: the token rule, the identity).

Afterwards the database is checked: every acknowledged decision stored exactly once with its
opinion, every case through both levels with each level entered once, one timeline line,
audit event and notification per step (the final approval's event carrying the case's move),
the audit chain intact; replays with the same
``Idempotency-Key`` answer the first result, a repeated decision is a 409, and two
simultaneous decisions of one task give one 200 and one 409. Any error or failed check
exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _bulk, _desk, _reads
from ._client import ApiClient, InProcessClient
from ._database import database_url, prepare_django, recreate
from ._levels import instrumented
from ._probes import IN_TRANSACTION, tree_cpu
from ._report import database_facts, machine, ms, percentile, plural, table
from ._server import serve
from ._summary import LATENCY, CeilingFigure, Headline, Summary, add_report_arguments, rate_headline

REPLAY_CHECKS = 8
CONFLICT_CHECKS = 4
RACE_CASES = 4
INSTRUMENTED_RUNS = 5
CEILING_REQUESTS = {"json": 600, "insert": 300}
TRIVIAL_GET = "/api/v1/me"
TRIVIAL_REQUESTS = 1000  # per round: CPU is read in clock ticks (10 ms)
TRIVIAL_ROUNDS = 3
READER_PASSWORD = "Bench-审批-2026!"  # noqa: S105 - a throw-away account of the bench database
WAIT_COLUMNS = ["audit chain head", "application row", "enterprise row", IN_TRANSACTION]


# ---------------------------------------------------------------- cases on demand


class CaseSupply:
    """Files and accepts cases for approvers, each case by an enterprise of its own (as in
    life: two approvers deciding at once lock different enterprises' rows)."""

    def __init__(self, setting: Any, pdf: bytes) -> None:
        self.setting, self.pdf = setting, pdf
        self.pool: list[Any] = []
        self.cases = 0

    def fresh_filer(self) -> Any:
        from . import _fixtures as fx

        if not self.pool:
            self.pool = fx.create_filers(self.setting, 64)
        return self.pool.pop()

    def open(self, approvers: list, per_approver: int) -> None:
        """``per_approver`` accepted cases for each approver: their first-level tasks open."""
        from . import _cases

        for approver in approvers:
            for _ in range(per_approver):
                application = _cases.file_case(self.fresh_filer(), approver.rule, self.pdf)
                _cases.accept(self.setting.clerk, application)
                self.cases += 1


def cases_per_client(args: argparse.Namespace, clients: int) -> int:
    """Cases per approver: the level's decisions (two per case) shared, at least three."""
    return max(3, math.ceil(args.per_level / 2 / clients))


# ---------------------------------------------------------------- ceilings


@dataclass
class Ceiling:
    name: str
    clients: int
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of the server (gunicorn master + workers) during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU per answered request, ms."""
        return self.cpu / len(self.latencies) * 1000 if self.latencies else float("nan")


def hammer(
    port: int,
    method: str,
    path: str,
    clients: int,
    total: int,
    name: str,
    *,
    token: str | None = None,
    cpu: Callable[[], float] | None = None,
) -> Ceiling:
    """``clients`` keep-alive clients send ``total`` requests between them, as fast as answered
    (with ``token``, as its owner); with ``cpu`` (the server's CPU seconds so far), also the
    server's CPU they took."""
    result = Ceiling(name, clients)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    per_client = max(10, total // clients)
    expected = 201 if method == "POST" else 200

    def client() -> None:
        conn = ApiClient(port, token or "none")
        start.wait()
        try:
            for _ in range(per_client):
                began = time.perf_counter()
                answer = conn.request(method, path)
                seconds = time.perf_counter() - began
                with lock:
                    if answer.status == expected:
                        result.latencies.append(seconds)
                    else:
                        result.errors.append(f"{name}: HTTP {answer.status}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu() if cpu else 0.0
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - began
    result.cpu = cpu() - cpu_before if cpu else 0.0
    return result


@dataclass
class TrivialGet:
    """One level of the authenticated trivial GET: its rounds and the fixed-JSON rounds
    measured between them."""

    clients: int
    gets: list[Ceiling] = field(default_factory=list)
    ceilings: list[Ceiling] = field(default_factory=list)
    sql: str = "–"

    @property
    def cpu_ms(self) -> float:
        return statistics.median(c.cpu_ms for c in self.gets)

    @property
    def ceiling_cpu_ms(self) -> float:
        return statistics.median(c.cpu_ms for c in self.ceilings)

    @property
    def cpu_ratio(self) -> float:
        """The median of the rounds' ratios: each round against the ceiling run just before."""
        return statistics.median(
            g.cpu_ms / c.cpu_ms for g, c in zip(self.gets, self.ceilings, strict=True)
        )

    @property
    def latencies(self) -> list[float]:
        return [seconds for run in self.gets for seconds in run.latencies]


# ---------------------------------------------------------------- what one run produced


@dataclass
class Results:
    http: list[_desk.Level] = field(default_factory=list)
    service: list[_desk.Level] = field(default_factory=list)
    untimed: list[_desk.Level] = field(default_factory=list)  # warm-ups, race, instrumented
    expected: dict[int, int] = field(default_factory=dict)  # id(level) -> decisions due
    ceilings: list[Ceiling] = field(default_factory=list)
    trivial: list[TrivialGet] = field(default_factory=list)
    replay_problems: list[str] = field(default_factory=list)
    race_problems: list[str] = field(default_factory=list)
    instrumented_errors: list[str] = field(default_factory=list)
    queries: dict[str, dict[str, float]] = field(default_factory=dict)
    reads: list[_reads.Measured] = field(default_factory=list)
    plans: list[_reads.Plan] = field(default_factory=list)
    loaded: _bulk.Loaded | None = None
    bulk_checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def levels(self) -> list[_desk.Level]:
        return self.http + self.service + self.untimed

    @property
    def decided(self) -> list[_desk.Decided]:
        return [decided for level in self.levels for decided in level.decided]

    @property
    def errors(self) -> list[str]:
        return [e for level in self.levels for e in level.errors] + self.instrumented_errors

    def ceiling(self, name: str, clients: int) -> Ceiling | None:
        return next((c for c in self.ceilings if c.name == name and c.clients == clients), None)


# ---------------------------------------------------------------- the steps


def _levels(args, results: Results, supply: CaseSupply, desk: list, layer: str, **level) -> None:
    """Warm-up, then each concurrency level on fresh cases."""
    port = level.pop("port", None)
    make = _desk.HttpDesk(port) if layer == "HTTP" else _desk.ServiceDesk()
    warm_clients = desk[: min(len(desk), args.warm_up)]
    supply.open(warm_clients, max(1, args.warm_up // len(warm_clients)))
    results.untimed.append(_desk.run_level("warm-up", warm_clients, make, **level))
    for clients in args.levels:
        approvers, per = desk[:clients], cases_per_client(args, clients)
        supply.open(approvers, per)
        run = _desk.run_level(layer, approvers, make, **level)
        results.expected[id(run)] = 2 * clients * per
        (results.http if layer == "HTTP" else results.service).append(run)
        print(run.progress(), flush=True)


def _replays(port: int, results: Results, desk: list) -> None:
    """Decisions sent again: with their key the first answer comes back; without, a 409."""
    by_token = {approver.user.pk: approver.token for approver in desk}
    wanted = REPLAY_CHECKS + CONFLICT_CHECKS
    keyed = [d for level in results.http for d in level.decided if d.key][-wanted:]
    owners = _task_owners([d.task_id for d in keyed])
    for n, decided in enumerate(keyed):
        client = ApiClient(port, by_token[owners[decided.task_id]])
        payload = {"action": "approve", "opinion": _desk.opinion_for(decided.task_id)}
        headers = {_desk.KEY_HEADER: decided.key} if n < REPLAY_CHECKS else {}
        try:
            answer = client.send_json(
                "POST", _desk.decision_path(decided.task_id), payload, headers
            )
        finally:
            client.close()
        if n < REPLAY_CHECKS:
            same = answer.status == 200 and json.loads(answer.body) == json.loads(decided.body)
            if not (same and answer.headers.get("Idempotent-Replayed") == "true"):
                results.replay_problems.append(f"replay of task {decided.task_id}: {answer.status}")
        elif answer.status != 409:
            results.replay_problems.append(
                f"repeated decision on task {decided.task_id}: HTTP {answer.status}, not 409"
            )
    if len(keyed) < wanted:
        results.replay_problems.append("too few decisions to replay")


def _task_owners(task_ids: list[int]) -> dict[int, int]:
    from policywindow.workflow.models import WorkflowTask

    return dict(WorkflowTask.objects.filter(pk__in=task_ids).values_list("id", "assignee_id"))


def _race(port: int, results: Results, supply: CaseSupply, approver: Any) -> None:
    supply.open([approver], RACE_CASES)
    level = _desk.Level("race", 2)
    results.race_problems = _desk.race(port, approver, level)
    results.untimed.append(level)
    if len(level.decided) != 2 * RACE_CASES:
        results.race_problems.append(f"race: {len(level.decided)} of {2 * RACE_CASES} decided")


def _ceilings(args, results: Results, port: int) -> None:
    """The two ceiling views (``bench._ceiling``) on the server the decisions were measured on."""
    from django.db import connection

    from . import _ceiling

    with connection.cursor() as cursor:
        cursor.execute(_ceiling.CREATE_TABLE)
    for name, method, path in (
        ("json", "GET", _ceiling.JSON_PATH),
        ("insert", "POST", _ceiling.INSERT_PATH),
    ):
        hammer(port, method, path, 8, 80, f"{name} warm-up")
        for clients in args.levels:
            run = hammer(port, method, path, clients, CEILING_REQUESTS[name], name)
            results.ceilings.append(run)
            print(
                f"  ceiling {name:6} C={clients:<2} {run.rate:6.0f} requests/s, "
                f"p50 {run.latencies and ms(percentile(run.latencies, 50))} ms, "
                f"errors {len(run.errors)}",
                flush=True,
            )


def _trivial_gets(args, results: Results, port: int, cpu: Callable[[], float], token: str) -> None:
    """``GET /api/v1/me`` with a token against the fixed-JSON ceiling, CPU per request: rounds
    of each in turn, so a busy moment of the machine weighs on both alike."""
    from . import _ceiling
    from ._sql import HEADER

    probe = ApiClient(port, token)
    try:
        # The fewest over many requests: a request on a connection that has not prepared the
        # identity statement yet (one per worker thread) runs one statement more.
        counts = [probe.request("GET", TRIVIAL_GET).headers.get(HEADER) for _ in range(50)]
    finally:
        probe.close()
    sql = str(min(int(n) for n in counts if n)) if any(counts) else "–"
    for clients in args.levels:
        level = TrivialGet(clients, sql=sql)
        for _ in range(TRIVIAL_ROUNDS):
            level.ceilings.append(
                hammer(port, "GET", _ceiling.JSON_PATH, clients, TRIVIAL_REQUESTS, "json", cpu=cpu)
            )
            level.gets.append(
                hammer(
                    port,
                    "GET",
                    TRIVIAL_GET,
                    clients,
                    TRIVIAL_REQUESTS,
                    "trivial GET",
                    token=token,
                    cpu=cpu,
                )
            )
        results.trivial.append(level)
        print(
            f"  authenticated GET C={clients:<2} {level.cpu_ms:.2f} ms CPU per request, "
            f"{level.cpu_ratio:.2f}× the fixed-JSON ceiling's ({level.ceiling_cpu_ms:.2f} ms), "
            f"{sql} SQL",
            flush=True,
        )


def _instrumented(results: Results, supply: CaseSupply, approver: Any) -> None:
    """Cases decided one at a time through each path with every SQL statement counted, and
    the time the audit chain head was held; the median of ``INSTRUMENTED_RUNS`` per step."""
    from policywindow.workflow import selectors

    api = InProcessClient(approver.token)
    level = _desk.Level("instrumented", 1)
    results.untimed.append(level)
    for path in ("service call", "API request (in-process)"):
        figures: dict[str, list[float]] = defaultdict(list)
        supply.open([approver], INSTRUMENTED_RUNS)
        tried: set[int] = set()
        while tasks := [t for t in selectors.todo_tasks(approver.user)[:100] if t.pk not in tried]:
            tried.update(task.pk for task in tasks)
            laps: dict[str, float] = {}
            if path == "service call":
                instrumented(
                    laps, "to-do list", lambda: list(selectors.todo_tasks(approver.user)[:100])
                )
            else:
                instrumented(laps, "to-do list", api.request, "GET", _desk.TODO)
            for task in tasks:
                step = "decision, first level" if task.level == 0 else "decision, second level"
                try:
                    _decide_counted(path, approver, task, step, api, laps, level)
                except Exception as exc:  # counted like any other failed decision
                    results.instrumented_errors.append(f"{path}: {type(exc).__name__}: {exc}"[:300])
                for key, value in laps.items():
                    figures[key].append(value)
                laps = {}
        results.queries[path] = {key: statistics.median(v) for key, v in figures.items()}


def _decide_counted(
    path: str,
    approver: Any,
    task: Any,
    step: str,
    api: InProcessClient,
    laps: dict[str, float],
    level: _desk.Level,
) -> None:
    from policywindow.workflow.services import runtime

    if path == "service call":
        decision = runtime.Decision("approve", _desk.opinion_for(task.pk))
        instrumented(laps, step, runtime.decide, approver.user, task.pk, decision)
        level.done(_desk.Decided(task.pk, task.node_name), 0.0)
        return
    key = str(uuid.uuid4())
    payload = {"action": "approve", "opinion": _desk.opinion_for(task.pk)}
    answer = instrumented(
        laps,
        step,
        api.send_json,
        "POST",
        _desk.decision_path(task.pk),
        payload,
        {_desk.KEY_HEADER: key},
    )
    if answer.status != 200:
        raise _desk.DecisionFailed(f"HTTP {answer.status} {answer.body[:200]!r}")
    level.done(_desk.Decided(task.pk, task.node_name, key, answer.body), 0.0)


# ---------------------------------------------------------------- the big data set


def _readers(loaded: _bulk.Loaded, supply: CaseSupply, setting: Any) -> tuple[list, Any]:
    """The backlog approver and a typical one (open tasks nearest 50), with a password and a
    token; and one real case (filed, accepted, first level approved) awaiting the typical one."""
    import datetime as dt

    from django.db.models import Count

    from policywindow.api.services import issue_token
    from policywindow.system.models import User
    from policywindow.workflow.models import WorkflowTask
    from policywindow.workflow.services import runtime

    from . import _cases

    open_counts = dict(
        WorkflowTask.objects.filter(assignee_id__in=loaded.approver_ids[1:], status="open")
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    typical_id = min(loaded.approver_ids[1:], key=lambda pk: (abs(open_counts.get(pk, 0) - 50), pk))
    admin = _cases.policy_admin()
    rule = _cases.create_rule(
        admin, _cases.create_policy(admin, setting.department), setting.department, "BENCH-PAGE-001"
    )
    typical = User.objects.get(pk=typical_id)
    reviewers = [
        _cases.create_staff(setting.department, "bench_page", "会商审核人") for _ in range(2)
    ]
    levels = [
        {
            "name": "部门会商",
            "parallel": True,
            "nodes": [
                _cases.node("tech", "科技部门审核", [reviewers[0].pk]),
                _cases.node("finance", "财政部门审核", [reviewers[1].pk]),
            ],
        },
        {
            "name": "领导审批",
            "parallel": True,
            "nodes": [_cases.node("leader", "分管领导审批", [typical.pk])],
        },
    ]
    _cases.publish_workflow(admin, rule, levels)
    case = _cases.accept(setting.clerk, _cases.file_case(supply.fresh_filer(), rule, supply.pdf))
    for reviewer in reviewers:
        task = WorkflowTask.objects.get(application=case, assignee=reviewer, status="open")
        runtime.decide(reviewer, task.pk, runtime.Decision("approve", "材料齐全，同意。"))
    readers = []
    for label, user in (("typical", typical), ("backlog", User.objects.get(pk=loaded.heavy_id))):
        user.set_password(READER_PASSWORD)
        user.save(update_fields=["password"])
        token = issue_token(user, name="基准测试", lifetime=dt.timedelta(days=1)).plaintext
        readers.append(_reads.Reader(label, user, token, READER_PASSWORD))
    case.refresh_from_db()
    return readers, case


# ---------------------------------------------------------------- checks


def verify(results: Results, desk: list) -> list[tuple[str, bool]]:
    """What the database says about the decision benchmark's cases (the desk's rules)."""
    from django.db.models import Count

    from policywindow.api.models import IdempotencyRecord
    from policywindow.applications.models import Application, ApplicationEvent
    from policywindow.core.audit import verify_chain
    from policywindow.core.models import AuditEvent
    from policywindow.notifications.models import Notification
    from policywindow.workflow.models import WorkflowInstance, WorkflowTask

    rules = [approver.rule for approver in desk]
    tasks = WorkflowTask.objects.filter(application__rule__in=rules)
    acked = [decided.task_id for decided in results.decided]
    stored = dict(tasks.filter(status="approved").values_list("id", "opinion"))
    instances = WorkflowInstance.objects.filter(application__rule__in=rules)
    cases = Application.objects.filter(rule__in=rules)
    n_cases, n_tasks = cases.count(), tasks.count()
    twice = tasks.values("instance", "level").annotate(n=Count("id")).filter(n__gt=1).count()
    rounds = [state["level_rounds"] for state in instances.values_list("state", flat=True)]
    events = dict(
        ApplicationEvent.objects.filter(application__rule__in=rules)
        .values_list("action")
        .annotate(n=Count("id"))
        .values_list("action", "n")
    )
    assigned = Notification.objects.filter(
        kind="task_assigned", dedupe_key__in=[f"task:{pk}:assigned" for pk in stored]
    ).count()
    decided_notes = Notification.objects.filter(
        kind="case_decided", recipient__in=cases.values("applicant")
    ).count()
    decisions = AuditEvent.objects.filter(
        action="application.review_approve",
        object_id__in=[str(pk) for pk in cases.values_list("id", flat=True)],
    )
    audited = decisions.count()
    finishing = decisions.filter(after__case__to="approved").count()
    keyed = sum(1 for decided in results.decided if decided.key)
    stored_answers = IdempotencyRecord.objects.filter(
        path__endswith="/decision", response_status=200
    ).count()
    chain = verify_chain()
    short = [
        f"{level.layer} C={level.clients}: {len(level.decided)} of {results.expected[id(level)]}"
        for level in results.http + results.service
        if len(level.decided) != results.expected[id(level)]
    ]
    return [
        (
            f"every acknowledged decision is stored exactly once ({len(acked)} decisions, "
            f"{n_cases} cases)",
            len(acked) == len(set(acked)) and set(acked) == set(stored),
        ),
        (
            "each with the opinion its client sent",
            all(stored[pk] == _desk.opinion_for(pk) for pk in acked if pk in stored),
        ),
        ("every level decided every task it opened (none lost)", not short),
        (
            f"every case went through both levels: {n_tasks} tasks = 2 × {n_cases}, none open",
            n_tasks == 2 * n_cases and not tasks.exclude(status="approved").exists(),
        ),
        (
            "no level was entered twice (one task per level, level rounds [1, 1])",
            not twice and len(rounds) == n_cases and all(r == [1, 1] for r in rounds),
        ),
        (
            "every case and its workflow instance are 审核通过",
            not cases.exclude(status="approved").exists()
            and not instances.exclude(status="approved").exists(),
        ),
        (
            "one timeline line per step (start, each approval, the outcome)",
            events.get("review_start") == n_cases
            and events.get("review_approve") == n_tasks
            and events.get("review_approved") == n_cases,
        ),
        (
            f"one notification per opened task ({assigned}) and per decided case ({decided_notes})",
            assigned == n_tasks and decided_notes == n_cases,
        ),
        (f"one audit event per decision ({audited})", audited == n_tasks),
        (
            f"the final approval's event records the case's move to 审核通过 ({finishing})",
            finishing == n_cases,
        ),
        (
            f"one stored answer per decision sent with an Idempotency-Key ({keyed})",
            stored_answers == keyed,
        ),
        (f"audit hash chain intact ({chain.checked} events)", chain.ok),
    ]


def checks_of(results: Results, desk: list) -> list[tuple[str, bool]]:
    errors = results.errors
    read_problems = [p for item in results.reads for p in item.problems]
    runs = [*results.ceilings, *(c for t in results.trivial for c in t.gets + t.ceilings)]
    ceiling_errors = [e for c in runs for e in c.errors]
    found = [
        *verify(results, desk),
        (f"errors: {len(errors)} in {len(results.decided) + len(errors)} decisions", not errors),
        (
            f"a decision retried with its Idempotency-Key answers the first result "
            f"({REPLAY_CHECKS} tried), without it a 409 ({CONFLICT_CHECKS} tried)",
            not results.replay_problems,
        ),
        (
            f"the same task decided by two clients at once: one 200, one 409 "
            f"({2 * RACE_CASES} tasks)",
            not results.race_problems,
        ),
        (
            f"ceilings and the authenticated GET answered every request "
            f"({len(ceiling_errors)} errors)",
            not ceiling_errors,
        ),
    ]
    if results.loaded is not None:
        found += results.bulk_checks
        found.append(
            (
                f"every read answered 200 with the expected first row ({len(results.reads)} "
                f"requests)",
                bool(results.reads) and not read_problems,
            )
        )
    return found


# ---------------------------------------------------------------- the report

LEVEL_HEADERS = [
    "C",
    "decisions",
    "errors",
    "wall s",
    "decisions/s",
    "decision p50 ms",
    "decision p95 ms",
    "to-do read p50 ms",
    "CPU ms / decision",
    "machine CPU busy",
]


def _level_rows(results: Results, levels: list[_desk.Level], ratio: bool) -> list[list[object]]:
    rows = []
    for level in levels:
        row: list[object] = [
            level.clients,
            len(level.decided),
            len(level.errors),
            f"{level.wall:.1f}",
            f"**{level.rate:.1f}**",
            ms(percentile(level.latencies, 50)),
            ms(percentile(level.latencies, 95)),
            ms(percentile(level.todo_latencies, 50)),
            ms(level.cpu_per_decision),
            f"{level.busy:.0f} %",
        ]
        if ratio:
            ceiling = results.ceiling("insert", level.clients)
            row.append(f"{level.rate / ceiling.rate:.1%}" if ceiling and ceiling.rate else "–")
        rows.append(row)
    return rows


def _wait_rows(levels: list[_desk.Level]) -> list[list[object]]:
    rows = []
    for level in levels:
        known = [level.waits.get(label, 0.0) for label in WAIT_COLUMNS]
        other = sum(v for k, v in level.waits.items() if k not in WAIT_COLUMNS)
        rows.append([level.layer, level.clients, *(f"{v:.2f}" for v in [*known, other])])
    return rows


def _ceiling_rows(results: Results, levels: list[int]) -> list[list[object]]:
    rows = []
    for clients in levels:
        row: list[object] = [clients]
        for name in ("json", "insert"):
            c = results.ceiling(name, clients)
            row += (
                [f"{c.rate:.0f}", ms(percentile(c.latencies, 50)), ms(percentile(c.latencies, 95))]
                if c
                else ["–"] * 3
            )
        decisions = next((level for level in results.http if level.clients == clients), None)
        insert = results.ceiling("insert", clients)
        row.append(
            f"{decisions.rate / insert.rate:.1%}" if decisions and insert and insert.rate else "–"
        )
        rows.append(row)
    return rows


def _trivial_rows(results: Results) -> list[list[object]]:
    return [
        [
            level.clients,
            f"{statistics.median(run.rate for run in level.gets):.0f}",
            ms(percentile(level.latencies, 50)),
            ms(percentile(level.latencies, 95)),
            f"{level.cpu_ms:.2f}",
            f"{level.ceiling_cpu_ms:.2f}",
            f"**{level.cpu_ratio:.2f}×**",
            level.sql,
        ]
        for level in results.trivial
    ]


def _read_rows(results: Results) -> list[list[object]]:
    floor = results.ceiling("json", 1)
    base = percentile(floor.latencies, 50) if floor else float("nan")
    return [
        [
            item.target.name,
            item.target.who,
            item.target.kind,
            f"{item.target.rows:,}" if item.target.rows else "–",
            len(item.queries),
            f"{item.p50 * 1000:.1f}",
            f"{item.p95 * 1000:.1f}",
            f"{item.p50 / base:.0f}×" if base == base and base else "–",
            f"{item.size / 1024:.0f}",
        ]
        for item in results.reads
    ]


def _plan_rows(plans: list[_reads.Plan]) -> list[list[object]]:
    return [
        [
            plan.request,
            "count" if "COUNT(*)" in plan.sql else "rows",
            plan.scans or plan.first_line,
            plan.buffers,
            f"{plan.execution_ms:.2f}",
        ]
        for plan in plans
    ]


def featured_plans(plans: list[_reads.Plan]) -> list[tuple[str, _reads.Plan]]:
    """The to-do list query of the typical approver's first page and of the backlog's last
    page, and the slowest task query if it is another one."""

    def rows_of(who: str, first: bool) -> _reads.Plan | None:
        found = [
            plan
            for plan in plans
            if plan.request.startswith("API to-do")
            and f"({who})" in plan.request
            and "COUNT(*)" not in plan.sql
        ]
        return (found[0] if first else found[-1]) if found else None

    chosen = [
        ("The to-do list query, first page", rows_of("typical", True)),
        ("The to-do list query, last page of the backlog", rows_of("backlog", False)),
    ]
    slowest = max(plans, key=lambda plan: plan.execution_ms, default=None)
    if slowest is not None and all(slowest is not plan for _, plan in chosen):
        chosen.append(("The slowest task query", slowest))
    return [(title, plan) for title, plan in chosen if plan is not None]


def _bulk_section(results: Results) -> list[str]:
    loaded = results.loaded
    if loaded is None:
        return []
    shape = loaded.shape
    counts = loaded.counts
    read_headers = [
        "request",
        "approver",
        "via",
        "rows in list",
        "SQL statements",
        "p50 ms",
        "p95 ms",
        "p50 / fixed-JSON p50",
        "KiB",
    ]
    featured = featured_plans(results.plans)
    return [
        "### The big data set",
        f"{counts.get('apps', 0):,} applications and {counts.get('tasks', 0):,} tasks "
        f"({counts.get('open', 0):,} open) over {shape.approvers:,} approvers in "
        f"{shape.departments} departments and {shape.rules} rules, "
        f"{shape.enterprises:,} enterprises; loaded in {loaded.seconds:.0f} s:",
        "",
        table(["step", "seconds"], [[name, f"{s:.1f}"] for name, s in loaded.steps.items()]),
        "",
        "### Reads, one client at a time (HTTP; SQL counted in-process)",
        table(read_headers, _read_rows(results)),
        "",
        "### Query plans of the task queries (`EXPLAIN (ANALYZE, BUFFERS)`, run after the reads)",
        table(["request", "query", "scans", "buffers", "execution ms"], _plan_rows(results.plans)),
        "",
        *[
            line
            for title, plan in featured
            for line in (
                f"{title} ({plan.request}):",
                "",
                "```",
                _reads.short_sql(plan.sql),
                "",
                plan.text,
                "```",
                "",
            )
        ],
    ]


def report(facts: list, setup: str, results: Results, checks: list, levels: list[int]) -> str:
    http_count = sum(len(level.decided) for level in results.http)
    client_cpu = sum(level.client_cpu for level in results.http)
    client = client_cpu / http_count * 1000 if http_count else 0.0
    query_rows = [
        [path, step, f"{laps[step]:.0f}", f"{laps.get(f'{step} audit chain head', 0) * 1000:.1f}"]
        for path, laps in results.queries.items()
        for step in sorted(k for k in laps if " " in k and not k.endswith("chain head"))
    ]
    return "\n".join(
        [
            "### Machine",
            table(["", ""], facts),
            "",
            setup,
            "",
            "### Decisions over HTTP (CPU = gunicorn master + workers)",
            table(
                [*LEVEL_HEADERS, "of the INSERT ceiling"], _level_rows(results, results.http, True)
            ),
            "",
            f"The load generator (this process, same machine) used {client:.1f} ms CPU per "
            "decision on top.",
            "",
            "### Decisions on the service layer alone (threads in one process; CPU = that process)",
            table(LEVEL_HEADERS, _level_rows(results, results.service, False)),
            "",
            f"### One decision at a time, instrumented (median of {INSTRUMENTED_RUNS})",
            "SQL statements per request, and how long it held the audit chain head (from its "
            "`SELECT … FOR UPDATE` to the commit).",
            "",
            table(["path", "request", "SQL statements", "audit chain head held ms"], query_rows),
            "",
            "### Where database sessions queued (mean sessions, sampled every 20 ms)",
            table(
                ["layer", "C", *WAIT_COLUMNS, "other"],
                _wait_rows(results.http + results.service),
            ),
            "",
            "### Ceilings on the same server set-up (requests/s, p50 / p95 ms)",
            table(
                [
                    "C",
                    "fixed JSON /s",
                    "p50",
                    "p95",
                    "one INSERT /s",
                    "p50",
                    "p95",
                    "decisions/s ÷ INSERT/s",
                ],
                _ceiling_rows(results, levels),
            ),
            "",
            f"### An authenticated trivial GET against the fixed-JSON ceiling (server CPU per "
            f"request; median of {TRIVIAL_ROUNDS} alternating rounds of {TRIVIAL_REQUESTS:,})",
            f"`GET {TRIVIAL_GET}` with an approver's access token: the token rule, the cached "
            "identity and the answer. SQL counted by the server (`X-Bench-SQL`) on a warm request.",
            "",
            table(
                [
                    "C",
                    "GET /s",
                    "p50",
                    "p95",
                    "CPU ms / GET",
                    "CPU ms / fixed JSON",
                    "GET ÷ fixed JSON",
                    "SQL statements",
                ],
                _trivial_rows(results),
            ),
            "",
            *_bulk_section(results),
            "### Checks",
            *[f"- [{'x' if ok else ' '}] {name}" for name, ok in checks],
        ]
    )


# ---------------------------------------------------------------- main


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.approvals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--levels", default="1,4,8,16", help="concurrent approvers, comma-separated"
    )
    parser.add_argument(
        "--per-level", type=int, default=96, help="decisions per level (at least 6 per client)"
    )
    parser.add_argument("--apps", type=int, default=1_000_000, help="bulk-loaded applications")
    parser.add_argument("--tasks-per-app", type=int, default=3, help="workflow tasks of each")
    parser.add_argument("--approvers", type=int, default=2000, help="approvers sharing the tasks")
    parser.add_argument("--skip-bulk", action="store_true", help="decisions and ceilings only")
    parser.add_argument("--samples", type=int, default=30, help="timed requests per read")
    parser.add_argument(
        "--warm-up", type=int, default=16, help="untimed cases (two decisions each) per layer"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--pdf-kb", type=int, default=64, help="size of each case's PDF (KiB)")
    add_report_arguments(parser)
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",")]
    if min(args.levels) < 1 or min(args.apps, args.tasks_per_app, args.warm_up) < 1:
        parser.error("levels, --apps, --tasks-per-app and --warm-up must be positive")
    if args.approvers < 2:
        parser.error("--approvers: at least 2 (the backlog approver and a typical one)")
    return args


def _http(
    args, results: Results, supply: CaseSupply, desk: list, url: str, log: Path, readers
) -> None:
    with serve(workers=args.workers, threads=args.threads, log_path=log) as server:

        def cpu() -> float:
            return tree_cpu(server.pid)

        level = {"port": server.port, "cpu": cpu, "database_url": url}
        _levels(args, results, supply, desk, "HTTP", **level)
        _replays(server.port, results, desk)
        _race(server.port, results, supply, desk[0])
        if readers:
            reader_list, case = readers
            for reader in reader_list:
                chosen = _reads.targets(reader, case if reader.label == "typical" else None)
                results.reads += _reads.over_http(server.port, reader, chosen, args.samples, 3)
            print(f"  {len(results.reads)} reads measured", flush=True)
        _ceilings(args, results, server.port)
        _trivial_gets(args, results, server.port, cpu, desk[0].token)


def _benchmark(args: argparse.Namespace, data_dir: Path, url: str) -> int:
    from . import _cases
    from . import _fixtures as fx

    started = time.perf_counter()
    pdf = fx.small_pdf(args.pdf_kb)
    setting = fx.create_setting()
    admin = _cases.policy_admin()
    desk = _cases.create_approvers(
        setting, _cases.create_policy(admin, setting.department), max(args.levels)
    )
    supply = CaseSupply(setting, pdf)
    print(
        f"Setup: {len(desk)} approvers with their rules in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    results, readers = Results(), None
    if not args.skip_bulk:
        shape = _bulk.Shape(args.apps, args.tasks_per_app, approvers=args.approvers)
        print(f"Bulk load: {shape.apps:,} applications × {shape.tasks_per_app} tasks", flush=True)
        results.loaded = _bulk.load(url, shape, setting.clerk.pk, supply.fresh_filer(), pdf)
        results.bulk_checks = _bulk.verify(url, results.loaded)
        readers = _readers(results.loaded, supply, setting)
    load_before = os.getloadavg()
    _http(args, results, supply, desk, url, data_dir / "server.log", readers)
    level = {"cpu": _desk.own_cpu, "database_url": url, "thread_exit": _desk.close_connection}
    _levels(args, results, supply, desk, "service", **level)
    _instrumented(results, supply, desk[0])
    if readers:
        for reader in readers[0]:
            _reads.count_queries(reader, [m for m in results.reads if m.target.who == reader.label])
        results.plans = _reads.explain(
            url, [m for m in results.reads if m.target.kind == "API" or "case" in m.target.name]
        )

    checks = checks_of(results, desk)
    server = (
        f"`policywindow serve` (gunicorn) --workers {args.workers} --threads {args.threads}, "
        "POLICYWINDOW_ENV=development; clients on the same machine over 127.0.0.1"
    )
    facts = machine(database_facts(), server)
    facts.append(
        ("Load average (1 min) before / after", f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    )
    setup = (
        f"Setup: {len(desk)} approvers, each with an API token and a rule of eight required "
        f"items whose workflow is 初审 → 复审 (one 或签 node each, both the approver's); "
        f"{supply.cases} cases filed by enterprises (answers and a {args.pdf_kb} KiB PDF) and "
        f"accepted at the window through the services, fresh ones before every level; "
        f"{cases_per_client(args, max(args.levels))}–{cases_per_client(args, min(args.levels))} "
        f"cases per approver and level, two decisions each. Took {time.perf_counter() - started:.0f} s "
        "in all."
    )
    text = report(facts, setup, results, checks, args.levels)
    print("\n" + text)
    problems = results.errors + results.replay_problems + results.race_problems
    problems += [p for item in results.reads for p in item.problems]
    for problem in problems[:10]:
        print(f"  ! {problem}")
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    ok = all(ok for _, ok in checks)
    summary(results, ok, facts).write(args.summary)
    return 0 if ok else 1


def summary(results: Results, ok: bool, facts: list[tuple[str, str]]) -> Summary:
    """Decisions/s per level, every read, and the ceilings, for ``python -m bench``."""
    laps = results.queries.get("API request (in-process)", {})
    decision_sql = " · ".join(
        f"{step.removeprefix('decision, ')} {laps[step]:.0f}"
        for step in sorted(laps)
        if step.startswith("decision") and "chain head" not in step
    )
    headlines = [
        rate_headline(
            f"Decisions over the API, {plural(level.clients, 'approver')} at once",
            level.clients,
            level.rate,
            "decisions",
            level.latencies,
            f"{decision_sql} per decision",
        )
        for level in results.http
    ]
    headlines += [
        Headline(
            f"An authenticated trivial API GET (GET {TRIVIAL_GET}, token), "
            f"{plural(level.clients, 'client')}: {level.cpu_ms:.2f} ms server CPU per request, "
            f"{level.cpu_ratio:.2f}× the fixed-JSON ceiling's",
            LATENCY,
            level.clients,
            p50_ms=percentile(level.latencies, 50) * 1000,
            p95_ms=percentile(level.latencies, 95) * 1000,
            sql=level.sql,
        )
        for level in results.trivial
    ]
    headlines += [
        Headline(
            f"{item.target.name} ({item.target.who} approver, {item.target.kind}"
            + (f", {item.target.rows:,} rows" if item.target.rows else "")
            + ")",
            LATENCY,
            p50_ms=item.p50 * 1000,
            p95_ms=item.p95 * 1000,
            sql=str(len(item.queries)),
        )
        for item in results.reads
    ]
    ceilings = [
        CeilingFigure(
            c.name,
            c.clients,
            c.rate,
            percentile(c.latencies, 50) * 1000,
            percentile(c.latencies, 95) * 1000,
        )
        for c in results.ceilings
    ]
    return Summary("approvals", ok, machine=facts, headlines=headlines, ceilings=ceilings)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    url = database_url()
    print(f"Benchmark database: {url} (dropped, recreated, migrated)", flush=True)
    recreate(url)
    data_dir = prepare_django(url)
    try:
        return _benchmark(args, data_dir, url)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
