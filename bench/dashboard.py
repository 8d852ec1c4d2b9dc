"""The 数据看板 with 1,000,000 applications loaded (issue 6): page p50/p95 and the Excel export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench_dashboard \
        .venv/bin/python -m bench.dashboard [--apps 1000000] [--samples 20] [--reuse] \
        [--proposed-indexes]

1. **Load** (unless ``--reuse`` finds the data already there): the approvals benchmark's bulk
   loader (``_bulk``: N applications over three years, 8 rules led by 8 departments, one
   task each), then one set-based ``UPDATE`` spreads the cases over every filed status the
   way they age (old approved cases paid or archived, recent ones in publicity or at finance,
   a share not accepted or withdrawn, a share of the newest waiting for intake or 补正) and
   makes one decided case in eleven late; then a budget per rule and year, 20 % above what
   was approved (``INSERT … SELECT``). ``VACUUM (FULL, ANALYZE)`` after (the UPDATE left a
   dead copy of every row). The loader and the UPDATE bypass the data board's rollup triggers
   (``session_replication_role = replica``), so the rollups are rebuilt last
   (``dashboard.rollups.rebuild``, what a first install does).
2. **Measure**, in-process (Django test client, the server's work without HTTP): the board for
   the 营商局领导 (data scope 全部) and for one department's 分管领导 (its own cases, an
   eighth), each over this year so far (the default) and over all three years, ``--samples``
   times after a warm-up; the SQL statements of one request counted; the Excel export
   timed; every query of the bureau's three-year board over the applications or the rollups
   run under ``EXPLAIN (ANALYZE, BUFFERS)``.
3. With ``--proposed-indexes``: the three indexes the plans ask for on the applications table
   (``PROPOSED_INDEXES``; that table belongs to the applications app, so the product does not
   create them — they are proposed in docs/benchmarks.md) are built in the bench database
   and everything is measured again.

The numbers go to stdout as Markdown (``--output`` also writes them to a file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ._database import database_url, prepare_django, recreate
from ._report import database_facts, machine, percentile, table
from ._summary import LATENCY, Headline, Summary, add_report_arguments

SPREAD = """
    UPDATE applications_application a SET
        status = CASE
            WHEN a.status = 'in_review' AND a.id %% 10 = 0 THEN 'submitted'
            WHEN a.status = 'in_review' AND a.id %% 10 = 1 THEN 'supplement_required'
            WHEN a.status <> 'approved' THEN a.status
            WHEN a.submitted_at >= %(recent)s THEN
                (ARRAY['approved', 'in_publicity', 'publicity_passed', 'in_finance'])[1 + a.id %% 4]
            WHEN a.id %% 100 < 3 THEN 'not_accepted'
            WHEN a.id %% 100 < 5 THEN 'withdrawn'
            WHEN a.id %% 100 < 60 THEN 'archived'
            ELSE 'disbursed'
        END,
        decided_at = CASE
            WHEN a.decided_at IS NOT NULL AND a.id %% 11 = 0 THEN a.accepted_at + interval '9 days'
            ELSE a.decided_at
        END,
        approved_amount = CASE
            WHEN a.status = 'approved' AND a.submitted_at < %(recent)s AND a.id %% 100 < 5
            THEN NULL ELSE a.approved_amount
        END
    WHERE a.rule_id = ANY(%(rules)s)
"""

BUDGETS = """
    INSERT INTO finance_budget (rule_id, year, total, committed, disbursed, note, created_at,
        updated_at, created_by_id)
    SELECT a.rule_id, a.year,
        round(coalesce(sum(a.approved_amount), 0) * 1.2, 2) + 1000000,
        coalesce(sum(a.approved_amount), 0),
        coalesce(sum(a.approved_amount) FILTER (WHERE a.status IN ('disbursed', 'archived')), 0),
        '基准测试', now(), now(), NULL
    FROM applications_application a
    WHERE a.rule_id = ANY(%(rules)s)
    GROUP BY a.rule_id, a.year
"""


@dataclass
class Measured:
    who: str
    period: str
    kind: str
    times: list[float] = field(default_factory=list)
    queries: int = 0
    size: int = 0

    def row(self) -> list[object]:
        return [
            self.who,
            self.period,
            self.kind,
            len(self.times),
            self.queries,
            f"{percentile(self.times, 50) * 1000:.0f}",
            f"{percentile(self.times, 95) * 1000:.0f}",
            f"{self.size / 1024:.0f}",
        ]


# ---------------------------------------------------------------- the data


def _bulk_rules() -> list[int]:
    from policywindow.policies.models import Rule

    return list(Rule.objects.filter(code__startswith="BULK-RD-").values_list("pk", flat=True))


def _loaded(apps: int) -> bool:
    from policywindow.applications.models import Application

    rules = _bulk_rules()
    return bool(rules) and Application.objects.filter(rule_id__in=rules).count() >= apps


def load(url: str, apps: int) -> dict[str, float]:
    from policywindow.dashboard import rollups

    from . import _bulk
    from . import _fixtures as fx

    setting = fx.create_setting()
    filer = fx.create_filers(setting, 1)[0]
    shape = _bulk.Shape(apps, 1, approvers=200)
    loaded = _bulk.load(url, shape, setting.clerk.pk, filer, fx.small_pdf(16))
    steps = dict(loaded.steps)
    rules = _bulk_rules()
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        # Without the rollup triggers (a million changes appended for nothing): rebuilt below.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(SPREAD, {"recent": recent, "rules": rules})
        steps["statuses spread (UPDATE)"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(BUDGETS, {"rules": rules})
        steps["budgets (INSERT … SELECT)"] = time.perf_counter() - started
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        # The UPDATE left a dead version of every row: rewrite the table as a settled one is.
        conn.execute("VACUUM (FULL, ANALYZE) applications_application")
        conn.execute("VACUUM ANALYZE finance_budget")
        steps["VACUUM (FULL, ANALYZE)"] = time.perf_counter() - started
    started = time.perf_counter()
    rollups.rebuild()  # the statuses spread by hand: recount as the triggers would have
    steps["data board rollups (rebuild after the spread)"] = time.perf_counter() - started
    for name, seconds in steps.items():
        print(f"    {name}: {seconds:.1f} s", flush=True)
    return steps


def readers() -> dict[str, Any]:
    """The bureau leader and the leader of the department leading the first bulk rule."""
    from policywindow.policies.models import Rule
    from policywindow.system.models import Role, User

    department = Rule.objects.get(code="BULK-RD-00").current.lead_department
    found = {}
    for key, role, dept in (
        ("营商局领导（全部）", "bureau_leader", None),
        (f"分管领导（{department.name}）", "dept_leader", department),
    ):
        user, _ = User.objects.get_or_create(
            username=f"bench_board_{role}",
            defaults={"real_name": key, "department": dept, "must_change_password": False},
        )
        user.roles.set([Role.objects.get(code=role)])
        found[key] = user
    return found


# ---------------------------------------------------------------- the measurements


def periods(today: dt.date) -> dict[str, str]:
    three_years = today.replace(year=today.year - 3)
    return {
        f"本年度（{today.year}-01-01 起）": "",
        f"三年（{three_years:%Y-%m-%d} 起）": f"?start={three_years:%Y-%m-%d}&end={today:%Y-%m-%d}",
    }


def measure(client: Any, who: str, label: str, url: str, kind: str, samples: int) -> Measured:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result = Measured(who, label, kind)
    assert client.get(url).status_code == 200, url  # warm-up
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    result.queries, result.size = len(captured), len(response.content)
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(url)
        result.times.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    print(f"  {who} {label} {kind}: p50 {percentile(result.times, 50) * 1000:.0f} ms", flush=True)
    return result


def plans(client: Any, url: str) -> list[tuple[str, float, str]]:
    """Every SELECT of one board request over the applications or the rollups, run again
    under ``EXPLAIN (ANALYZE, BUFFERS)``: (short SQL, execution ms, plan)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    found = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            read = ("applications_application", "dashboard_rollup")
            if not sql.startswith(("SELECT", "WITH")) or not any(table in sql for table in read):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            lines = [row[0] for row in cursor.fetchall()]
            ms = float(lines[-1].split(":")[1].split()[0])
            found.append((" ".join(sql.split())[:160] + " …", ms, "\n".join(lines)))
    return found


# Indexes (and statistics) the measured plans ask for, on the applications table (owned by the applications
# app: proposed in docs/benchmarks.md, created here in the bench database only with
# ``--proposed-indexes``). Open statuses as in ``dashboard.selectors.OPEN``.
PROPOSED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS app_submitted_board ON applications_application (submitted_at)"
    " INCLUDE (status, rule_id, department_id, enterprise_id, approved_amount)",
    "CREATE INDEX IF NOT EXISTS app_decided_clock ON applications_application (decided_at)"
    " INCLUDE (department_id, rule_id, accepted_at, due_at) WHERE decided_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS app_open_oldest ON applications_application (submitted_at, id)"
    " INCLUDE (department_id) WHERE status IN ('submitted', 'in_review', 'approved',"
    " 'in_publicity', 'publicity_passed', 'objection', 'in_finance')",
    # Not an index: tells the planner how many months there are (else it expects one group per
    # row, and aggregates the month chart without parallel workers).
    "CREATE STATISTICS IF NOT EXISTS app_submitted_month ON"
    " (date_trunc('month', submitted_at AT TIME ZONE 'Asia/Shanghai'))"
    " FROM applications_application",
)


def create_proposed_indexes(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in PROPOSED_INDEXES:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE applications_application")  # the visibility map
    return time.perf_counter() - started


def measure_round(args: argparse.Namespace, title: str, results: list[Measured]) -> list[str]:
    """Every user, period and request measured (appended to ``results``), then the bureau's
    three-year board explained."""
    from django.test import Client
    from django.utils import timezone

    first = len(results)
    today = timezone.localdate()
    bureau_url = ""
    for who, user in readers().items():
        client = Client()
        client.force_login(user)
        for label, query in periods(today).items():
            board = f"/dashboard/{query}"
            bureau_url = bureau_url or (board if query else "")
            results.append(measure(client, who, label, board, "page", args.samples))
            export = f"/dashboard/export/{query}"
            results.append(measure(client, who, label, export, "Excel", args.export_samples))
    bureau = Client()
    bureau.force_login(next(iter(readers().values())))
    explained = plans(bureau, bureau_url)
    lines = [
        f"### The board and its export — {title}",
        table(
            ["user", "period", "request", "samples", "SQL", "p50 ms", "p95 ms", "KiB"],
            [item.row() for item in results[first:]],
        ),
        "",
        f"Queries of the bureau's three-year board over the applications and the rollups,"
        f" `EXPLAIN ANALYZE` ({title}):",
        "",
        table(["query", "execution ms"], [[sql, f"{ms:.1f}"] for sql, ms, _ in explained]),
        "",
    ]
    slowest = max(explained, key=lambda item: item[1], default=None)
    if slowest:
        lines += ["The slowest of them:", "", "```", slowest[0], "", slowest[2], "```", ""]
    return lines


def run(args: argparse.Namespace, url: str, measured: list[Measured]) -> str:
    from policywindow.applications.models import Application

    steps: dict[str, float] = {}
    if not (args.reuse and _loaded(args.apps)):
        print(f"Bulk load: {args.apps:,} applications", flush=True)
        steps = load(url, args.apps)
    lines = [
        "### Machine",
        table(["", ""], machine(database_facts(), "in-process (django.test.Client), no HTTP")),
        "",
        f"{Application.objects.count():,} applications in the database.",
        "",
    ]
    if steps:
        rows = [[k, f"{v:.1f}"] for k, v in steps.items()]
        lines += [table(["load step", "seconds"], rows), ""]
    if not args.skip_plain:
        lines += measure_round(args, "the product's indexes", measured)
    if args.proposed_indexes:
        seconds = create_proposed_indexes(url)
        print(f"  proposed indexes built in {seconds:.1f} s", flush=True)
        lines += [f"Proposed indexes built (and VACUUM ANALYZE) in {seconds:.0f} s.", ""]
        lines += measure_round(args, "with the proposed indexes", measured)
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--apps", type=int, default=1_000_000, help="bulk-loaded applications")
    parser.add_argument("--samples", type=int, default=20, help="timed requests per page")
    parser.add_argument("--export-samples", type=int, default=5, help="timed Excel exports")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it already holds the bulk data (no drop, no load)",
    )
    parser.add_argument(
        "--proposed-indexes",
        action="store_true",
        help="then build the indexes proposed for the applications table and measure again",
    )
    parser.add_argument(
        "--skip-plain", action="store_true", help="measure only with the proposed indexes"
    )
    add_report_arguments(parser)
    return parser.parse_args(argv)


def _exists(url: str) -> bool:
    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    url = database_url()
    if not (args.reuse and _exists(url)):
        print(f"Benchmark database: {url} (dropped, recreated, migrated)", flush=True)
        recreate(url)
    data_dir = prepare_django(url)
    measured: list[Measured] = []
    try:
        text = run(args, url, measured)
        summary(args, measured).write(args.summary)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print("\n" + text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


def summary(args: argparse.Namespace, measured: list[Measured]) -> Summary:
    """The board and its Excel for each user and period (the product's indexes only)."""
    from policywindow.applications.models import Application

    rows = f"{Application.objects.count():,} applications"
    both_rounds = args.proposed_indexes and not args.skip_plain
    first_round = len(measured) // 2 if both_rounds else len(measured)
    headlines = [
        Headline(
            f"数据看板 {'page' if item.kind == 'page' else 'Excel export'}, {item.who}, "
            f"{item.period} ({rows}, in-process)",
            LATENCY,
            p50_ms=percentile(item.times, 50) * 1000,
            p95_ms=percentile(item.times, 95) * 1000,
            sql=str(item.queries),
        )
        for item in measured[:first_round]
    ]
    facts = machine(database_facts(), "in-process (django.test.Client), no HTTP")
    return Summary("dashboard", True, machine=facts, headlines=headlines)


if __name__ == "__main__":
    sys.exit(main())
