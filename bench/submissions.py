"""Submissions per second on PostgreSQL with concurrent clients (issues 3 and 16).

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.submissions [--levels 1,4,8,16] [--per-level 96] [--quick]

Two ways an enterprise's client files, each request to the product served by gunicorn
(``policywindow serve``) with the enterprise's API token. The draft flow, four requests:

1. ``POST /api/v1/applications`` — create the draft (with an ``Idempotency-Key``);
2. ``PATCH /api/v1/applications/{id}`` — save the answers;
3. ``POST /api/v1/applications/{id}/materials`` — upload the PDF (multipart, with a key);
4. ``POST /api/v1/applications/{id}/submit`` — submit (with an ``Idempotency-Key``).

And the one-request submission for integrators: ``POST /api/v1/applications/submissions``
(multipart: the rule, the answers as JSON, the PDF; with an ``Idempotency-Key``).

Each concurrency level uses fresh enterprises (a rule may be filed once a year). The one-INSERT
ceiling (``bench._ceiling``) is measured on the same server at the same levels, and each rate is
given as its share. The four steps are then timed on the service layer alone (threads calling
``applications.services.filing`` with their own database connections) to show where the
time goes, and submissions through each path are run with their SQL statements counted and
the time the year's number row was held. Afterwards the database is checked: numbers gap-free
1..N, every submission there exactly once, the audit chain intact. Any error or failed check
exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ._client import ApiClient, InProcessClient, Response, multipart
from ._database import database_url, prepare_django, recreate
from ._levels import HOT_ROWS, STEPS, Laps, Run, Submitted, instrumented, run_level, timed
from ._probes import IN_TRANSACTION, LOCK_LABELS, tree_cpu
from ._report import database_facts, machine, ms, percentile, plural, table
from ._server import serve
from ._summary import Summary, add_report_arguments, rate_headline

API = "/api/v1/applications"
WHOLE = f"{API}/submissions"
KEY_HEADER = "Idempotency-Key"
DRAFT_FLOW, ONE_REQUEST = "HTTP", "one request"
ONE_REQUEST_PATH = "one request (in-process)"
PDF_NAME = "研发费用专项审计报告.pdf"
REPLAY_CHECKS = 8
INSTRUMENTED_RUNS = 5
STEP_LABELS = {
    "create": "create",
    "save": "save answers",
    "upload": "upload PDF",
    "submit": "submit",
}
NUMBER_ROW = HOT_ROWS['"applications_applicationsequence"']
QUICK = {"levels": [1, 4], "per_level": 24, "warm_up": 8}


class StepFailed(Exception):
    pass


# ---------------------------------------------------------------- the two sequences


def _expect(response: Response, status: int, step: str) -> dict:
    if response.status != status:
        body = response.body[:300].decode("utf-8", "replace")
        raise StepFailed(f"{step}: HTTP {response.status} {body}")
    return response.json()


class HttpSequence:
    """The four requests of one enterprise, each client with its own (keep-alive) connection."""

    def __init__(
        self, connect: Callable[[str], Any], pdf: bytes, fixtures: Any, lap: Callable = timed
    ) -> None:
        self.connect, self.pdf, self.fx, self.lap = connect, pdf, fixtures, lap

    def __call__(self, filer: Any) -> tuple[Submitted, Laps]:
        client, laps, lap = self.connect(filer.token), {}, self.lap
        try:
            create_key, submit_key = {KEY_HEADER: str(uuid.uuid4())}, str(uuid.uuid4())
            body = {"rule": self.fx.RULE_CODE}
            created = lap(laps, "create", client.send_json, "POST", API, body, create_key)
            pk = _expect(created, 201, "create")["id"]
            answers = {"answers": self.fx.ANSWERS}
            saved = lap(laps, "save", client.send_json, "PATCH", f"{API}/{pk}", answers)
            _expect(saved, 200, "save")
            files = [("files", PDF_NAME, self.pdf, "application/pdf")]
            fields = {"item": self.fx.FILE_ITEM}
            path = f"{API}/{pk}/materials"
            uploaded = lap(laps, "upload", _send_files, client, path, fields, files)
            _expect(uploaded, 201, "upload")
            path, headers = f"{API}/{pk}/submit", {KEY_HEADER: submit_key}
            submitted = lap(laps, "submit", client.request, "POST", path, b"", headers)
            result = _expect(submitted, 200, "submit")
            if result.get("status") != "submitted" or not result.get("number"):
                raise StepFailed(f"submit: unexpected body {str(result)[:200]}")
            return Submitted(filer, pk, submit_key, result["number"]), laps
        finally:
            client.close()


def _send_files(client: Any, path: str, fields: dict, files: list, key: str = "") -> Response:
    """A multipart POST with an ``Idempotency-Key`` (a new one unless given)."""
    boundary = uuid.uuid4().hex
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        KEY_HEADER: key or str(uuid.uuid4()),
    }
    return client.request("POST", path, multipart(boundary, fields, files), headers)


class OneRequestSequence:
    """The whole filing as one request: answers, the PDF and the submit."""

    def __init__(
        self, connect: Callable[[str], Any], pdf: bytes, fixtures: Any, lap: Callable = timed
    ) -> None:
        self.connect, self.pdf, self.fx, self.lap = connect, pdf, fixtures, lap

    def __call__(self, filer: Any) -> tuple[Submitted, Laps]:
        client, laps, key = self.connect(filer.token), {}, str(uuid.uuid4())
        try:
            response = self.lap(laps, "submit", _send_files, client, WHOLE, *self.body(filer), key)
            result = _expect(response, 201, "one-request submission")
            if result.get("status") != "submitted" or not result.get("number"):
                raise StepFailed(f"one request: unexpected body {str(result)[:200]}")
            return Submitted(filer, result["id"], key, result["number"]), laps
        finally:
            client.close()

    def body(self, filer: Any) -> tuple[dict, list]:
        """The pages pre-fill the employee count from the record; this request carries it."""
        answers = {**self.fx.ANSWERS, "employee_count": filer.enterprise.employees}
        fields = {"rule": self.fx.RULE_CODE, "answers": json.dumps(answers, ensure_ascii=False)}
        return fields, [(self.fx.FILE_ITEM, PDF_NAME, self.pdf, "application/pdf")]


class ServiceSequence:
    """The same four steps as direct calls of the filing services (no HTTP, no API layer)."""

    def __init__(self, rule: Any, pdf: bytes, fixtures: Any, lap: Callable = timed) -> None:
        self.rule, self.pdf, self.fx, self.lap = rule, pdf, fixtures, lap

    def __call__(self, filer: Any) -> tuple[Submitted, Laps]:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from policywindow.applications.services import filing

        user, laps, lap = filer.user, {}, self.lap
        app = lap(laps, "create", filing.start_application, user, filer.enterprise, self.rule)
        app = lap(laps, "save", filing.save_answers, user, app, self.fx.FORM_DATA, partial=True)
        upload = SimpleUploadedFile(PDF_NAME, self.pdf, "application/pdf")
        app = lap(laps, "upload", filing.add_materials, user, app, self.fx.FILE_ITEM, [upload])
        app = lap(laps, "submit", filing.submit, user, app)
        return Submitted(filer, app.pk, "", app.number), laps


def close_connection() -> None:
    """Each service-layer thread has its own database connection; close it when done."""
    from django.db import connection

    connection.close()


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


# ---------------------------------------------------------------- checks


def replay_submits(port: int, submitted: list[Submitted], resend: Callable) -> list[str]:
    """Retry submissions with their key: the first answer comes back, never a second number."""
    problems = []
    for done in submitted:
        client = ApiClient(port, done.filer.token)
        try:
            response = resend(client, done)
        finally:
            client.close()
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        number = response.json().get("number") if response.status in (200, 201) else None
        if not (replayed and number == done.number):
            problems.append(f"replay of {done.number}: HTTP {response.status}, number {number}")
    return problems


def resend_submit(client: Any, done: Submitted) -> Response:
    path = f"{API}/{done.application_id}/submit"
    return client.request("POST", path, b"", {KEY_HEADER: done.key})


def resender(sequence: OneRequestSequence) -> Callable[[Any, Submitted], Response]:
    """The same one-request submission again, with its key (a new multipart boundary)."""

    def resend(client: Any, done: Submitted) -> Response:
        return _send_files(client, WHOLE, *sequence.body(done.filer), done.key)

    return resend


def verify(submitted: list[Submitted], http_submits: int) -> list[tuple[str, bool]]:
    """What the database says after the run (every run starts from an empty database)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from policywindow.api.models import IdempotencyRecord
    from policywindow.applications.models import Application, ApplicationEvent, ApplicationSequence
    from policywindow.applications.services.numbering import PENDING, format_number
    from policywindow.core.audit import verify_chain
    from policywindow.notifications.models import Notification

    year = timezone.localdate().year
    stored = sorted(Application.objects.exclude(number=None).values_list("number", flat=True))
    acknowledged = sorted(done.number for done in submitted)
    n = len(stored)
    expected = [format_number(year, i) for i in range(1, n + 1)]
    last = ApplicationSequence.objects.filter(year=year).values_list("last", flat=True).first()
    per_enterprise = Application.objects.values("enterprise").annotate(n=Count("id"))
    submit_events = ApplicationEvent.objects.filter(action="submit").count()
    replayable = IdempotencyRecord.objects.filter(
        Q(path__endswith="/submit", response_status=200) | Q(path=WHOLE, response_status=201)
    )
    pending = Notification.objects.filter(subject__contains=PENDING).count()
    chain = verify_chain()
    span = f"{expected[0]}..{expected[-1]}" if n else "(none)"
    return [
        (f"numbers are gap-free {span}", stored == expected),
        (
            f"every acknowledged submission is stored exactly once ({len(acknowledged)})",
            acknowledged == stored,
        ),
        (f"the year's sequence row stands at {n}", (last or 0) == n),
        ("one application per enterprise", all(row["n"] == 1 for row in per_enterprise)),
        (
            "every application is 待受理 (submitted)",
            not Application.objects.exclude(status="submitted").exists(),
        ),
        ("one 'submit' timeline event per submission", submit_events == n),
        ("every message names its number (none left pending)", pending == 0),
        (
            f"one stored idempotent response per HTTP submission ({http_submits})",
            replayable.count() == http_submits,
        ),
        (f"audit hash chain intact ({chain.checked} events)", chain.ok),
    ]


# ---------------------------------------------------------------- the report

LEVEL_HEADERS = [
    "C",
    "submissions",
    "errors",
    "wall s",
    "submissions/s",
    "share of INSERT/s",
    "submit p50 ms",
    "submit p95 ms",
    "sequence p50 ms",
    "CPU ms / submission",
    "machine CPU busy",
]
WAIT_COLUMNS = [*LOCK_LABELS.values(), IN_TRANSACTION]


def _share(run: Run, ceilings: dict[int, float]) -> str:
    ceiling = ceilings.get(run.clients)
    return f"{run.rate / ceiling:.1%}" if ceiling else "–"


def _level_rows(runs: list[Run], ceilings: dict[int, float]) -> list[list[object]]:
    return [
        [
            run.clients,
            len(run.submitted),
            len(run.errors),
            f"{run.wall:.1f}",
            f"**{run.rate:.1f}**",
            _share(run, ceilings),
            ms(percentile(run.laps["submit"], 50)),
            ms(percentile(run.laps["submit"], 95)),
            ms(percentile(run.sequences, 50)),
            ms(run.cpu_per_submission),
            f"{run.busy:.0f} %",
        ]
        for run in runs
    ]


def ms_or_dash(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f}"


def _step_rows(runs: list[Run]) -> list[list[object]]:
    return [
        [run.layer, run.clients]
        + [
            f"{ms(percentile(run.laps[s], 50))} / {ms(percentile(run.laps[s], 95))}"
            if run.laps[s]
            else "–"
            for s in STEPS
        ]
        for run in runs
    ]


def _wait_rows(runs: list[Run]) -> list[list[object]]:
    rows = []
    for run in runs:
        known = [run.waits.get(label, 0.0) for label in WAIT_COLUMNS]
        other = sum(v for k, v in run.waits.items() if k not in WAIT_COLUMNS)
        rows.append([run.layer, run.clients, *(f"{v:.2f}" for v in [*known, other])])
    return rows


@dataclass
class Results:
    """Everything one run produced, for the checks and the report."""

    http: list[Run] = field(default_factory=list)
    whole: list[Run] = field(default_factory=list)  # the one-request submission over HTTP
    service: list[Run] = field(default_factory=list)
    ceilings: dict[int, float] = field(default_factory=dict)  # INSERT/s per level
    untimed: list[Submitted] = field(default_factory=list)  # warm-ups and the counted ones
    untimed_errors: list[str] = field(default_factory=list)
    http_submits: int = 0  # submissions through the API (each stores an idempotent response)
    replay_problems: list[str] = field(default_factory=list)
    replays_tried: int = 0
    queries: dict[str, Laps] = field(default_factory=dict)
    client_cpu: float = 0.0  # CPU of this process while it drove the HTTP levels

    @property
    def measured(self) -> list[Run]:
        return self.http + self.whole + self.service

    @property
    def submitted(self) -> list[Submitted]:
        return self.untimed + [done for run in self.measured for done in run.submitted]

    @property
    def errors(self) -> list[str]:
        return self.untimed_errors + [e for run in self.measured for e in run.errors]


def checks_of(results: Results) -> list[tuple[str, bool]]:
    submitted, errors = results.submitted, results.errors
    return [
        *verify(submitted, results.http_submits),
        (f"errors: {len(errors)} in {len(submitted) + len(errors)} submissions", not errors),
        (
            f"a retried submission (same Idempotency-Key) returns the first number "
            f"({results.replays_tried} tried)",
            results.replays_tried > 0 and not results.replay_problems,
        ),
    ]


def _query_rows(results: Results) -> list[list[object]]:
    return [
        [
            path,
            "whole filing" if path == ONE_REQUEST_PATH else STEP_LABELS[step],
            f"{laps[step]:.0f}",
        ]
        + [ms_or_dash(laps.get(f"{step} {label}")) for label in HOT_ROWS.values()]
        for path, laps in results.queries.items()
        for step in STEPS
        if step in laps
    ]


def report(
    facts: list[tuple[str, str]], setup: str, results: Results, checks: list[tuple[str, bool]]
) -> str:
    http_count = sum(len(run.submitted) for run in results.http + results.whole)
    client = results.client_cpu / http_count * 1000 if http_count else 0.0
    ceilings = ", ".join(f"C={c}: {rate:,.0f}/s" for c, rate in sorted(results.ceilings.items()))
    return "\n".join(
        [
            "### Machine",
            table(["", ""], facts),
            "",
            setup,
            "",
            f"The one-INSERT ceiling on the same server: {ceilings or '–'}.",
            "",
            "### Draft flow over HTTP (4 requests per submission; CPU = gunicorn master + workers)",
            table(LEVEL_HEADERS, _level_rows(results.http, results.ceilings)),
            "",
            "### One-request submission over HTTP (`POST /api/v1/applications/submissions`)",
            table(LEVEL_HEADERS, _level_rows(results.whole, results.ceilings)),
            "",
            f"The load generator (this process, same machine) used {client:.0f} ms CPU per "
            "submission on top.",
            "",
            "### Service layer alone (draft flow; threads in one process, no HTTP; CPU = that process)",
            table(LEVEL_HEADERS, _level_rows(results.service, {})),
            "",
            "### Latency of each step (p50 / p95 ms)",
            table(["layer", "C", *(STEP_LABELS[s] for s in STEPS)], _step_rows(results.measured)),
            "",
            f"### One submission at a time, instrumented (median of {INSTRUMENTED_RUNS}, untimed)",
            "SQL statements per request (BEGIN and COMMIT included), and how long the request held"
            " each global row: from its `SELECT … FOR UPDATE`, or for the number row from the"
            " statement that takes the number, to the commit.",
            "",
            table(
                ["path", "step", "SQL statements", *(f"{h} held ms" for h in HOT_ROWS.values())],
                _query_rows(results),
            ),
            "",
            "### Where database sessions queued (mean sessions, sampled every 20 ms)",
            "Waiting for a row lock, by the table of the waiting statement; *idle in transaction*"
            " = a transaction is open (holding its locks) while the application works.",
            "",
            table(["layer", "C", *WAIT_COLUMNS, "other"], _wait_rows(results.measured)),
            "",
            "### Checks",
            *[f"- [{'x' if ok else ' '}] {name}" for name, ok in checks],
        ]
    )


# ---------------------------------------------------------------- main


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.submissions", description=__doc__)
    parser.add_argument("--levels", default="1,4,8,16", help="concurrent clients, comma-separated")
    parser.add_argument(
        "--per-level", type=int, default=96, help="submissions per level (at least 6 per client)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--warm-up", type=int, default=16, help="untimed submissions per layer")
    parser.add_argument("--pdf-kb", type=int, default=64, help="size of the uploaded PDF (KiB)")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: levels 1,4, 24 per level, 8 warm-up"
    )
    add_report_arguments(parser)
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",")]
    if args.quick:
        vars(args).update(QUICK)
    return args


def _count(args: argparse.Namespace, clients: int) -> int:
    return max(args.per_level, 6 * clients)


def _taker(filers: list) -> Callable[[int], list]:
    source: Iterator = iter(filers)
    return lambda n: [next(source) for _ in range(n)]


def _http_levels(args, results: Results, take, pdf: bytes, fx, url: str, log: Path) -> None:
    with serve(workers=args.workers, threads=args.threads, log_path=log) as server:
        connect = partial(ApiClient, server.port)
        flows = (
            (DRAFT_FLOW, HttpSequence(connect, pdf, fx), results.http),
            (ONE_REQUEST, OneRequestSequence(connect, pdf, fx), results.whole),
        )
        level = {"cpu": lambda: tree_cpu(server.pid), "database_url": url}
        for _, sequence, _ in flows:
            warm = run_level(
                "warm-up", take(args.warm_up), min(args.warm_up, 16), sequence, **level
            )
            results.untimed += warm.submitted
            results.untimed_errors += warm.errors
            results.http_submits += len(warm.submitted)
        cpu_before = own_cpu()
        for clients in args.levels:
            for layer, sequence, runs in flows:
                run = run_level(layer, take(_count(args, clients)), clients, sequence, **level)
                runs.append(run)
                results.http_submits += len(run.submitted)
                print(run.progress(), flush=True)
        results.client_cpu = own_cpu() - cpu_before
        _replays(server.port, results, flows[1][1])
        results.ceilings = _insert_ceilings(server.port, args.levels)


def _replays(port: int, results: Results, whole: OneRequestSequence) -> None:
    """Half the replay checks on each flow's last level."""
    half = REPLAY_CHECKS // 2
    for runs, resend in ((results.http, resend_submit), (results.whole, resender(whole))):
        retried = runs[-1].submitted[:half] if runs else []
        results.replay_problems += replay_submits(port, retried, resend)
        results.replays_tried += len(retried)


def _insert_ceilings(port: int, levels: list[int]) -> dict[int, float]:
    """The one-INSERT view's requests/s on the same server, at the same levels (as
    ``bench.approvals`` measures it for ``make bench``'s summary)."""
    from django.db import connection

    from . import _ceiling
    from .approvals import CEILING_REQUESTS, hammer

    with connection.cursor() as cursor:
        cursor.execute(_ceiling.CREATE_TABLE)
    hammer(port, "POST", _ceiling.INSERT_PATH, 8, 80, "insert warm-up")
    rates = {}
    for clients in levels:
        run = hammer(
            port, "POST", _ceiling.INSERT_PATH, clients, CEILING_REQUESTS["insert"], "insert"
        )
        rates[clients] = run.rate
        print(f"  ceiling insert C={clients:<2} {run.rate:6.0f} requests/s", flush=True)
    return rates


class NumberClock:
    """How long the number row is held: from the statement that takes the number to the commit.

    That statement is prepared once per connection (``identity.fetch_one``) and run by name, so
    the clock learns the names from the PREPAREs it sees. Installed with Django's public
    ``connection.execute_wrapper`` hook; the commit is seen through ``on_commit``."""

    numbering: set[str] = set()  # names of prepared numbering statements (class-wide)

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.held: float | None = None
        self._since: float | None = None

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        takes = self._takes_number(sql)
        started = time.perf_counter()
        result = execute(sql, params, many, context)
        if takes and self._since is None:
            self._since = started
            self.connection.on_commit(self._released)
        return result

    def _takes_number(self, sql: str) -> bool:
        words = sql.split(None, 2)
        if words[:1] == ["PREPARE"] and "applicationsequence" in sql:
            NumberClock.numbering.add(words[1])
            return False
        if words[:1] == ["EXECUTE"]:
            return words[1] in NumberClock.numbering
        return sql.startswith("UPDATE") and "applicationsequence" in sql  # SQLite's ORM path

    def _released(self) -> None:
        self.held = time.perf_counter() - self._since


def instrumented_with_number(
    laps: Laps, step: str, call: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """``instrumented``, and how long the step held the year's number row."""
    from django.db import connection

    clock = NumberClock(connection)
    with connection.execute_wrapper(clock):
        result = instrumented(laps, step, call, *args, **kwargs)
    if clock.held is not None:
        laps[f"{step} {NUMBER_ROW}"] = clock.held
    return result


def _instrumented(results: Results, take, pdf: bytes, fx, rule) -> None:
    """Submissions one at a time through each path, SQL counted and hot-row holds timed.

    Each path runs ``INSTRUMENTED_RUNS`` times and the median of each figure is kept, so a
    cold first call does not count.
    """
    lap = instrumented_with_number
    paths = (
        ("service call", ServiceSequence(rule, pdf, fx, lap=lap)),
        ("API request (in-process)", HttpSequence(InProcessClient, pdf, fx, lap=lap)),
        (ONE_REQUEST_PATH, OneRequestSequence(InProcessClient, pdf, fx, lap=lap)),
    )
    for path, sequence in paths:
        figures: dict[str, list[float]] = {}
        for _ in range(INSTRUMENTED_RUNS):
            try:
                done, laps = sequence(take(1)[0])
            except Exception as exc:  # counted like any other failed submission
                results.untimed_errors.append(f"{path}: {type(exc).__name__}: {exc}"[:300])
                continue
            results.untimed.append(done)
            results.http_submits += bool(done.key)  # API submissions carry an Idempotency-Key
            for key, value in laps.items():
                figures.setdefault(key, []).append(value)
        results.queries[path] = {key: statistics.median(v) for key, v in figures.items()}


def _service_levels(args, results: Results, take, pdf: bytes, fx, rule, url: str) -> None:
    sequence = ServiceSequence(rule, pdf, fx)
    level = {"cpu": own_cpu, "database_url": url, "thread_exit": close_connection}
    warm = run_level("warm-up", take(args.warm_up), 4, sequence, **level)
    results.untimed += warm.submitted
    results.untimed_errors += warm.errors
    for clients in args.levels:
        run = run_level("service", take(_count(args, clients)), clients, sequence, **level)
        results.service.append(run)
        print(run.progress(), flush=True)


def _benchmark(args: argparse.Namespace, data_dir: Path, url: str) -> int:
    from . import _fixtures as fx

    started = time.perf_counter()
    setting = fx.create_setting()
    per_layer = args.warm_up + sum(_count(args, c) for c in args.levels)
    filers = fx.create_filers(setting, 3 * (per_layer + INSTRUMENTED_RUNS))
    print(
        f"Setup: 1 rule with {len(fx.ITEMS)} items, {len(filers)} enterprises with a user and "
        f"token each, in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    take, pdf, results = _taker(filers), fx.small_pdf(args.pdf_kb), Results()
    load_before = os.getloadavg()
    _http_levels(args, results, take, pdf, fx, url, data_dir / "server.log")
    _service_levels(args, results, take, pdf, fx, setting.rule, url)
    _instrumented(results, take, pdf, fx, setting.rule)

    checks = checks_of(results)
    server = (
        f"`policywindow serve` (gunicorn) --workers {args.workers} --threads {args.threads}, "
        "POLICYWINDOW_ENV=development; clients on the same machine over 127.0.0.1"
    )
    facts = machine(database_facts(), server)
    loads = f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f}"
    facts.append(("Load average (1 min) before / after", loads))
    setup = (
        f"Setup: one published rule with {len(fx.ITEMS)} required items (text, money, date, "
        f"single choice, integer, yes/no, an integer pre-filled from the enterprise record, one "
        f"PDF of {args.pdf_kb} KiB); {len(filers)} enterprises with valid credit codes, one user "
        f"and API token each; {args.warm_up} untimed warm-up submissions per flow and layer; "
        "every level uses fresh enterprises."
    )
    text = report(facts, setup, results, checks)
    print("\n" + text)
    for problem in (results.errors + results.replay_problems)[:10]:
        print(f"  ! {problem}")
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    ok = all(ok for _, ok in checks)
    summary(results, ok, facts).write(args.summary)
    return 0 if ok else 1


def summary(results: Results, ok: bool, facts: list[tuple[str, str]]) -> Summary:
    """Submissions/s per level and flow (latency: the whole sequence), for ``python -m bench``."""
    draft = results.queries.get("API request (in-process)", {})
    whole = results.queries.get(ONE_REQUEST_PATH, {})
    flows = (
        (
            "Submissions over the API (4 requests each)",
            results.http,
            " + ".join(f"{step} {draft[step]:.0f}" for step in STEPS if step in draft),
        ),
        (
            "One-request submissions over the API",
            results.whole,
            f"{whole['submit']:.0f}" if "submit" in whole else "–",
        ),
    )
    headlines = [
        rate_headline(
            f"{measure}, {plural(run.clients, 'enterprise')} at once",
            run.clients,
            run.rate,
            "submissions",
            run.sequences,
            f"{sql} per submission",
        )
        for measure, runs, sql in flows
        for run in runs
    ]
    return Summary("submissions", ok, machine=facts, headlines=headlines)


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
