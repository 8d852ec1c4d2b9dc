"""Submissions per second on PostgreSQL with concurrent clients (issue 3).

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.submissions [--levels 1,4,8,16] [--per-level 96]

One submission is what an enterprise's client really does, each step a request to the
product served by gunicorn (``policywindow serve``) with the enterprise's API token:

1. ``POST /api/v1/applications`` — create the draft (with an ``Idempotency-Key``);
2. ``PATCH /api/v1/applications/{id}`` — save the answers;
3. ``POST /api/v1/applications/{id}/materials`` — upload the PDF (multipart);
4. ``POST /api/v1/applications/{id}/submit`` — submit (with an ``Idempotency-Key``).

Each concurrency level uses fresh enterprises (a rule may be filed once a year). The same
four steps are then timed on the service layer alone (threads calling
``applications.services.filing`` with their own database connections) to show where the
time goes, and one submission through each path is run with its SQL statements counted.
Afterwards the database is checked: numbers gap-free 1..N, every submission there exactly
once, the audit chain intact. Any error or failed check exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._client import ApiClient, InProcessClient, Response
from ._database import database_url, prepare_django, recreate
from ._levels import HOT_ROWS, STEPS, Laps, Run, Submitted, instrumented, run_level, timed
from ._probes import IN_TRANSACTION, LOCK_LABELS, tree_cpu
from ._report import database_facts, machine, ms, percentile, plural, table
from ._server import serve
from ._summary import Summary, add_report_arguments, rate_headline

API = "/api/v1/applications"
KEY_HEADER = "Idempotency-Key"
PDF_NAME = "研发费用专项审计报告.pdf"
REPLAY_CHECKS = 8
INSTRUMENTED_RUNS = 5
STEP_LABELS = {
    "create": "create",
    "save": "save answers",
    "upload": "upload PDF",
    "submit": "submit",
}


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
            uploaded = lap(
                laps, "upload", client.send_files, f"{API}/{pk}/materials", fields, files
            )
            _expect(uploaded, 201, "upload")
            path, headers = f"{API}/{pk}/submit", {KEY_HEADER: submit_key}
            submitted = lap(laps, "submit", client.request, "POST", path, b"", headers)
            result = _expect(submitted, 200, "submit")
            if result.get("status") != "submitted" or not result.get("number"):
                raise StepFailed(f"submit: unexpected body {str(result)[:200]}")
            return Submitted(filer, pk, submit_key, result["number"]), laps
        finally:
            client.close()


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


def replay_submits(port: int, submitted: list[Submitted]) -> list[str]:
    """Retry submits with their key: the first answer comes back, never a second number."""
    problems = []
    for done in submitted:
        client = ApiClient(port, done.filer.token)
        try:
            path = f"{API}/{done.application_id}/submit"
            response = client.request("POST", path, b"", {KEY_HEADER: done.key})
        finally:
            client.close()
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        number = response.json().get("number") if response.status == 200 else None
        if not (replayed and number == done.number):
            problems.append(f"replay of {done.number}: HTTP {response.status}, number {number}")
    return problems


def verify(submitted: list[Submitted], http_submits: int) -> list[tuple[str, bool]]:
    """What the database says after the run (every run starts from an empty database)."""
    from django.db.models import Count
    from django.utils import timezone

    from policywindow.api.models import IdempotencyRecord
    from policywindow.applications.models import Application, ApplicationEvent, ApplicationSequence
    from policywindow.applications.services.numbering import format_number
    from policywindow.core.audit import verify_chain

    year = timezone.localdate().year
    stored = sorted(Application.objects.exclude(number=None).values_list("number", flat=True))
    acknowledged = sorted(done.number for done in submitted)
    n = len(stored)
    expected = [format_number(year, i) for i in range(1, n + 1)]
    last = ApplicationSequence.objects.filter(year=year).values_list("last", flat=True).first()
    per_enterprise = Application.objects.values("enterprise").annotate(n=Count("id"))
    submit_events = ApplicationEvent.objects.filter(action="submit").count()
    replayable = IdempotencyRecord.objects.filter(path__endswith="/submit", response_status=200)
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
        (
            f"one stored idempotent response per HTTP submit ({http_submits})",
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
    "submit p50 ms",
    "submit p95 ms",
    "sequence p50 ms",
    "CPU ms / submission",
    "machine CPU busy",
]
WAIT_COLUMNS = [*LOCK_LABELS.values(), IN_TRANSACTION]


def _level_rows(runs: list[Run]) -> list[list[object]]:
    return [
        [
            run.clients,
            len(run.submitted),
            len(run.errors),
            f"{run.wall:.1f}",
            f"**{run.rate:.1f}**",
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
        + [f"{ms(percentile(run.laps[s], 50))} / {ms(percentile(run.laps[s], 95))}" for s in STEPS]
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
    service: list[Run] = field(default_factory=list)
    untimed: list[Submitted] = field(default_factory=list)  # warm-ups and the counted ones
    untimed_errors: list[str] = field(default_factory=list)
    http_submits: int = 0  # submits through the API (each stores an idempotent response)
    replay_problems: list[str] = field(default_factory=list)
    replays_tried: int = 0
    queries: dict[str, Laps] = field(default_factory=dict)
    client_cpu: float = 0.0  # CPU of this process while it drove the HTTP levels

    @property
    def submitted(self) -> list[Submitted]:
        return self.untimed + [done for run in self.http + self.service for done in run.submitted]

    @property
    def errors(self) -> list[str]:
        return self.untimed_errors + [e for run in self.http + self.service for e in run.errors]


def checks_of(results: Results) -> list[tuple[str, bool]]:
    submitted, errors = results.submitted, results.errors
    return [
        *verify(submitted, results.http_submits),
        (f"errors: {len(errors)} in {len(submitted) + len(errors)} submissions", not errors),
        (
            f"a retried submit (same Idempotency-Key) returns the first number "
            f"({results.replays_tried} tried)",
            results.replays_tried > 0 and not results.replay_problems,
        ),
    ]


def report(
    facts: list[tuple[str, str]], setup: str, results: Results, checks: list[tuple[str, bool]]
) -> str:
    everything = results.http + results.service
    http_count = sum(len(run.submitted) for run in results.http)
    client = results.client_cpu / http_count * 1000 if http_count else 0.0
    rows = [
        [path, STEP_LABELS[step], f"{laps.get(step, 0):.0f}"]
        + [ms_or_dash(laps.get(f"{step} {label}")) for label in HOT_ROWS.values()]
        for path, laps in results.queries.items()
        for step in STEPS
    ]
    return "\n".join(
        [
            "### Machine",
            table(["", ""], facts),
            "",
            setup,
            "",
            "### End to end over HTTP (4 requests per submission; CPU = gunicorn master + workers)",
            table(LEVEL_HEADERS, _level_rows(results.http)),
            "",
            f"The load generator (this process, same machine) used {client:.0f} ms CPU per "
            "submission on top.",
            "",
            "### Service layer alone (threads in one process, no HTTP; CPU = that process)",
            table(LEVEL_HEADERS, _level_rows(results.service)),
            "",
            "### Latency of each step (p50 / p95 ms)",
            table(["layer", "C", *(STEP_LABELS[s] for s in STEPS)], _step_rows(everything)),
            "",
            f"### One submission at a time, instrumented (median of {INSTRUMENTED_RUNS}, untimed)",
            "SQL statements per step, and how long the step held each global row lock"
            " (from its `SELECT … FOR UPDATE` to the commit).",
            "",
            table(
                ["path", "step", "SQL statements", *(f"{h} held ms" for h in HOT_ROWS.values())],
                rows,
            ),
            "",
            "### Where database sessions queued (mean sessions, sampled every 20 ms)",
            "Waiting for a row lock, by the table of the waiting statement; *idle in transaction*"
            " = a transaction is open (holding its locks) while the application works.",
            "",
            table(["layer", "C", *WAIT_COLUMNS, "other"], _wait_rows(everything)),
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
    add_report_arguments(parser)
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",")]
    return args


def _count(args: argparse.Namespace, clients: int) -> int:
    return max(args.per_level, 6 * clients)


def _taker(filers: list) -> Callable[[int], list]:
    source: Iterator = iter(filers)
    return lambda n: [next(source) for _ in range(n)]


def _http_levels(args, results: Results, take, pdf: bytes, fx, url: str, log: Path) -> None:
    with serve(workers=args.workers, threads=args.threads, log_path=log) as server:
        sequence = HttpSequence(lambda token: ApiClient(server.port, token), pdf, fx)
        level = {"cpu": lambda: tree_cpu(server.pid), "database_url": url}
        warm = run_level("warm-up", take(args.warm_up), min(args.warm_up, 16), sequence, **level)
        results.untimed += warm.submitted
        results.untimed_errors += warm.errors
        cpu_before = own_cpu()
        for clients in args.levels:
            run = run_level("HTTP", take(_count(args, clients)), clients, sequence, **level)
            results.http.append(run)
            print(run.progress(), flush=True)
        results.client_cpu = own_cpu() - cpu_before
        retried = results.http[-1].submitted[:REPLAY_CHECKS] if results.http else []
        results.replay_problems = replay_submits(server.port, retried)
        results.replays_tried = len(retried)
    results.http_submits += len(warm.submitted) + sum(len(r.submitted) for r in results.http)


def _instrumented(results: Results, take, pdf: bytes, fx, rule) -> None:
    """Submissions one at a time through each path, SQL counted and hot-row holds timed.

    Each path runs ``INSTRUMENTED_RUNS`` times and the median of each figure is kept, so a
    cold first call does not count.
    """
    api = HttpSequence(InProcessClient, pdf, fx, lap=instrumented)
    service = ServiceSequence(rule, pdf, fx, lap=instrumented)
    for path, sequence in (("service call", service), ("API request (in-process)", api)):
        figures: dict[str, list[float]] = {}
        for _ in range(INSTRUMENTED_RUNS):
            try:
                done, laps = sequence(take(1)[0])
            except Exception as exc:  # counted like any other failed submission
                results.untimed_errors.append(f"{path}: {type(exc).__name__}: {exc}"[:300])
                continue
            results.untimed.append(done)
            results.http_submits += bool(done.key)  # API submits carry an Idempotency-Key
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
    filers = fx.create_filers(setting, 2 * (per_layer + INSTRUMENTED_RUNS))
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
        f"and API token each; {args.warm_up} untimed warm-up submissions per layer; every level "
        "uses fresh enterprises."
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
    """Submissions/s per level (latency: the whole four-request sequence), for ``python -m bench``."""
    laps = results.queries.get("API request (in-process)", {})
    sql = " + ".join(f"{step} {laps[step]:.0f}" for step in STEPS if step in laps)
    headlines = [
        rate_headline(
            f"Submissions over the API (4 requests each), {plural(run.clients, 'enterprise')} "
            "at once",
            run.clients,
            run.rate,
            "submissions",
            run.sequences,
            f"{sql} per submission",
        )
        for run in results.http
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
