"""政策匹配 (issue 6): 100,000 enterprises against 200 published rules, evaluations per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench_matching \\
        .venv/bin/python -m bench.matching [--enterprises 100000] [--rules 200] [--agents 0.05]
    # a quick sanity run: ... -m bench.matching --enterprises 5000 --rules 40

Data (untimed): the enterprises COPYed with varied facts (a tenth of them missing their R&D
spend, most without an export figure), one in twenty with an enterprise user (经办人); the
rules made with the ORM as published versions of published policies, a mix of simple
comparisons (decided in Python), zen-only lines (ratios, ``in`` lists, booleans) and
multi-line conditions, one of them 免申即享 with a one-node workflow.

Timed, each through ``matching.services`` exactly as the worker and the command run it:

1. **First run** — every enterprise against every rule: pushes for the pairs that became
   eligible (inbox messages for the enterprises that have a user) and 免申即享 cases.
2. **Second run** — the same: nothing new to push or open (the steady state).
3. **Rule published** — one rule against every enterprise (the publish hook's task).
4. **Breakdown** — loading the facts alone; evaluating in memory alone (the rules over whole
   chunks, ``matching.compiled``); the engine's ``check_eligibility`` (with explanations) on a
   sample, per evaluation.

Checks (fail → exit 1): on the sample, the engine finds eligible exactly the pairs the batch
found; one push per (enterprise, rule) and one message per push and user; every 免申即享 case
in review with its workflow started, none opened twice; the second run pushes and opens
nothing; the queries of a run grow with chunks, not with enterprises.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from ._database import database_url, prepare_django, recreate
from ._report import database_facts, machine, table
from ._sql import counting
from ._summary import RATE, Headline, Summary, add_report_arguments

SEED = 6
SAMPLE = 20_000
ENTERPRISE_COLUMNS = (
    "id, credit_code, name, legal_representative, registered_capital, established_on, address,"
    " contact_name, contact_email, bank_name, employees, revenue,"
    " total_assets, rd_spend, export_value, high_tech, tech_sme, specialized, size, is_demo,"
    " created_at, updated_at, industry_id, region_id, "
)
SIZES = ("large", "medium", "small", "micro", "")
SPECIALIZED = ("", "", "", "provincial", "little_giant")


# ---------------------------------------------------------------- data (untimed)


def _enterprise_row(n: int, rng: random.Random, now: dt.datetime) -> tuple:
    from policywindow.core.codes import make_uscc

    from . import _fixtures as fx

    city = fx.CITIES[n % len(fx.CITIES)]
    revenue = rng.randrange(1_000_000, 500_000_000)
    rd_spend = None if rng.random() < 0.1 else Decimal(rng.randrange(0, 12_000_000))
    export = None if rng.random() < 0.6 else Decimal(rng.randrange(0, 50_000_000))
    return (
        n + 1,
        make_uscc(f"91{city}MC{n:07d}"),
        f"辽宁省匹配基准科技有限公司{n:06d}",
        "王立新",
        Decimal(rng.randrange(10, 100_000)),
        dt.date(1995 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        f"辽宁省沈阳市浑南区智慧路 {n} 号",
        "李晓梅",
        "",
        "中国工商银行沈阳分行",
        rng.randrange(5, 2000),
        Decimal(revenue),
        Decimal(revenue * 2),
        rd_spend,
        export,
        rng.random() < 0.2,
        rng.random() < 0.3,
        rng.choice(SPECIALIZED),
        rng.choice(SIZES),
        False,
        now,
        now,
        fx.INDUSTRIES[n % len(fx.INDUSTRIES)],
        city,
        *fx.enterprise_personal(n + 1, "024-23456789", f"6222{n:012d}"),
    )


def load_enterprises(count: int, agent_share: float) -> None:
    """COPY the enterprises, then one enterprise user for every ``1 / agent_share``-th."""
    from django.db import connection

    from . import _fixtures as fx

    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC)
    connection.ensure_connection()
    copy_sql = f"COPY enterprises_enterprise ({ENTERPRISE_COLUMNS}{fx.ENTERPRISE_PERSONAL_COLUMNS}) FROM STDIN"
    with connection.connection.cursor() as raw, raw.copy(copy_sql) as copy:
        for n in range(count):
            copy.write_row(_enterprise_row(n, rng, now))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('enterprises_enterprise', 'id'), %s)", [count]
        )
        every = max(1, round(1 / agent_share)) if agent_share > 0 else count + 1
        params = {"count": count, "every": every}
        cursor.execute(
            """
            INSERT INTO system_user (password, is_superuser, username, email, is_staff,
                date_joined, is_active, kind, real_name, mobile, password_changed_at,
                must_change_password, totp_secret, totp_confirmed, remark, department_id)
            SELECT '!bench', false, 'match_qy' || lpad(g::text, 6, '0'), '', false, now(), true,
                'enterprise', '经办人' || g, '', now(), false, '', false, '', NULL
            FROM generate_series(1, %(count)s) AS g WHERE g %% %(every)s = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO enterprises_enterprisemember (is_admin, joined_at, enterprise_id, user_id)
            SELECT true, now(), substr(u.username, 9)::int, u.id
            FROM system_user u WHERE u.username LIKE 'match_qy%%'
            """
        )


def _expression(r: int) -> tuple[str, str]:
    """The rule ``r``'s condition and formula: six kinds, thresholds spread over the rules."""
    step = r // 6
    kinds = (
        (f"rd_spend >= {11_985_000 + step * 400} # 上年研发费用", "rd_spend * 0.1"),
        (f"employees > {1950 + step}\nrevenue >= 480000000", "revenue * 0.001"),
        (f"high_tech == true\nrd_spend >= {11_900_000 + step * 1000}", "200000"),
        (f"revenue > 0 and rd_spend / revenue >= {5 + step * 0.1} # 研发强度", "rd_spend * 0.05"),
        (
            f"size in ['small', 'micro']\nexport_value >= {49_500_000 + step * 10_000}",
            "export_value * 0.02",
        ),
        (
            f"established_years >= {25 + step % 5}\ntech_sme == true\n"
            f"employees <= {10 + step % 20}",
            "100000",
        ),
    )
    return kinds[r % len(kinds)]


def load_rules(count: int) -> list[Any]:
    """Published versions of published policies (ten rules a policy); the last is 免申即享."""
    from django.utils import timezone

    from policywindow.policies.models import Policy, Rule, RuleVersion
    from policywindow.system.models import Department

    department = Department.objects.create(name="省科学技术厅（匹配基准）", code="BMATCH", path="/")
    department.path = f"/{department.pk}/"
    department.save(update_fields=["path"])
    rules = []
    for r in range(count):
        if r % 10 == 0:
            policy = Policy.objects.create(
                title=f"辽宁省惠企政策（匹配基准 {r // 10 + 1}）",
                issuing_department=department,
                status=Policy.Status.PUBLISHED,
            )
        rule = Rule.objects.create(policy=policy, code=f"MB-{r:03d}", order=r)
        expression, formula = _expression(r)
        auto = r == count - 1
        if auto:  # 免申即享: a tight condition, so a few hundred cases
            expression, formula = "high_tech == true\nrd_spend >= 11000000", "50000"
        version = RuleVersion.objects.create(
            rule=rule,
            version=1,
            status=RuleVersion.Status.PUBLISHED,
            title=f"{'免申即享 ' if auto else ''}匹配基准细则 {r:03d}",
            eligibility_expression=expression,
            amount_formula=formula,
            per_enterprise_cap=Decimal("5000000"),
            lead_department=department,
            auto_grant=auto,
            published_at=timezone.now(),
        )
        rule.current = version
        rule.save(update_fields=["current"])
        rules.append(rule)
    _publish_workflow(rules[-1], department)
    return rules


def _publish_workflow(rule: Any, department: Any) -> None:
    from policywindow.system.models import Role, User
    from policywindow.workflow.services import designer

    from ._cases import node

    admin = User.objects.create(
        username="match_admin", real_name="政策管理员", must_change_password=False
    )
    admin.roles.set(Role.objects.filter(code="policy_admin"))
    reviewer = User.objects.create(
        username="match_reviewer",
        real_name="审核员",
        department=department,
        must_change_password=False,
    )
    reviewer.roles.set(Role.objects.filter(code="reviewer"))
    levels = [
        {
            "name": "部门审核",
            "parallel": True,
            "nodes": [node("review", "牵头部门审核", [reviewer.pk])],
        }
    ]
    designer.save_draft(admin, rule, {"levels": levels}, note="匹配基准")
    designer.publish(admin, rule)


# ---------------------------------------------------------------- timed


def timed_run(label: str) -> dict[str, Any]:
    from policywindow.matching import services
    from policywindow.matching.models import MatchRun

    run = services.create_run(None, trigger=MatchRun.Trigger.COMMAND)
    ticks: list[float] = []
    started = time.perf_counter()

    def progress(current: MatchRun) -> None:
        ticks.append(time.perf_counter())
        if len(ticks) % 10 == 0:
            print(f"    {label}: {current.done:,} / {current.total:,}", flush=True)

    with counting() as statements:
        run = services.execute_run(run.pk, on_progress=progress)
    seconds = time.perf_counter() - started
    chunks = [b - a for a, b in zip([started, *ticks], ticks, strict=False)]
    return {"run": run, "seconds": seconds, "queries": statements.count, "chunks": chunks}


def timed_publish(rule_id: int) -> dict[str, Any]:
    from policywindow.matching import tasks
    from policywindow.matching.models import MatchRun

    started = time.perf_counter()
    tasks.match_published_rules.call([rule_id])
    return {"run": MatchRun.objects.latest("pk"), "seconds": time.perf_counter() - started}


def breakdown(rules_count: int) -> dict[str, Any]:
    """Facts loading alone, evaluation alone, and the engine's explaining check on a sample."""
    from policywindow.matching import selectors, services
    from policywindow.matching.compiled import compile_rules
    from policywindow.policies import engine

    started = time.perf_counter()
    chunks = list(selectors.fact_chunks(services.CHUNK))
    load = time.perf_counter() - started
    versions = selectors.published_versions()
    started = time.perf_counter()
    rules = compile_rules(versions)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    hits = {
        (hit.enterprise_id, hit.rule.rule_id)
        for chunk in chunks
        for hit in services.eligible_hits(chunk, rules)
    }
    evaluate = time.perf_counter() - started

    rng = random.Random(SEED)
    enterprises = [pair for chunk in chunks for pair in chunk]
    pairs = [(rng.choice(enterprises), rng.randrange(len(versions))) for _ in range(SAMPLE)]
    started = time.perf_counter()
    slow = [engine.check_eligibility(versions[i], facts).status for (_, facts), i in pairs]
    engine_seconds = time.perf_counter() - started
    fast = [(pk, rules[i].rule_id) in hits for (pk, _), i in pairs]
    disagree = sum(1 for s, f in zip(slow, fast, strict=True) if (s == engine.ELIGIBLE) != f)
    statuses = {s: slow.count(s) for s in (engine.ELIGIBLE, engine.INELIGIBLE, engine.UNKNOWN)}
    evaluations = len(enterprises) * rules_count
    return {
        "load": load,
        "compile": compile_seconds,
        "evaluate": evaluate,
        "evaluations": evaluations,
        "hits": len(hits),
        "engine_us": engine_seconds / SAMPLE * 1e6,
        "compiled_us": evaluate / evaluations * 1e6,
        "disagree": disagree,
        "statuses": statuses,
    }


# ---------------------------------------------------------------- checks and report


def check(first: dict, second: dict, enterprises: int, rules: int) -> list[str]:
    from django.db.models import Count

    from policywindow.applications.models import Application
    from policywindow.matching.models import AutoGrant, MatchPush
    from policywindow.notifications.models import Notification
    from policywindow.workflow.models import WorkflowInstance

    problems = []
    run = first["run"]
    if (run.done, run.evaluations) != (enterprises, enterprises * rules):
        problems.append(f"first run covered {run.done} enterprises, {run.evaluations} evaluations")
    if MatchPush.objects.count() != run.pushed:
        problems.append("pushes recorded differ from the run's count")
    doubled = (
        Notification.objects.values("recipient", "dedupe_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    if doubled.exists():
        problems.append("a message was queued twice")
    if (second["run"].pushed, second["run"].granted) != (0, 0):
        problems.append("the second run pushed or opened something")
    cases = Application.objects.filter(pk__in=AutoGrant.objects.values("application"))
    if cases.exclude(status="in_review").exists() or cases.count() != run.granted:
        problems.append("a 免申即享 case is not in review, or the count differs")
    if WorkflowInstance.objects.filter(application__in=cases).count() != cases.count():
        problems.append("a 免申即享 case has no workflow")
    return problems


def report(args: Any, results: dict[str, Any]) -> str:
    first, second, publish, parts = (results[k] for k in ("first", "second", "publish", "parts"))

    def rate(evaluations: int, seconds: float) -> str:
        return f"{evaluations / seconds:,.0f}"

    rows = [
        ("enterprises × rules", f"{args.enterprises:,} × {args.rules}"),
        ("evaluations per run", f"{first['run'].evaluations:,}"),
        ("first run: wall time", f"{first['seconds']:.1f} s"),
        ("first run: evaluations per second", rate(first["run"].evaluations, first["seconds"])),
        ("first run: eligible pairs / new pushes / 免申即享 cases",
         f"{first['run'].eligible:,} / {first['run'].pushed:,} / {first['run'].granted:,}"),
        ("second run (nothing new): wall time", f"{second['seconds']:.1f} s"),
        ("second run: evaluations per second", rate(second["run"].evaluations, second["seconds"])),
        ("SQL statements: first run / second run",
         f"{first['queries']:,} / {second['queries']:,}"),
        ("per chunk of 1,000 enterprises (second run): median / max",
         f"{statistics.median(second['chunks']) * 1000:.0f} ms / {max(second['chunks']) * 1000:.0f} ms"),
        ("one rule published: 1 rule × all enterprises", f"{publish['seconds']:.2f} s"),
        ("breakdown: facts loaded (all enterprises)", f"{parts['load']:.1f} s"),
        ("breakdown: rules compiled", f"{parts['compile'] * 1000:.0f} ms"),
        ("breakdown: evaluation in memory", f"{parts['evaluate']:.1f} s ({rate(parts['evaluations'], parts['evaluate'])}/s)"),
        ("engine check_eligibility, per evaluation (sample)", f"{parts['engine_us']:.1f} µs"),
        ("batch evaluation, per evaluation (all pairs)", f"{parts['compiled_us']:.2f} µs"),
        ("sample verdicts eligible / ineligible / unknown",
         " / ".join(f"{v:,}" for v in parts["statuses"].values())),
    ]  # fmt: skip
    from django.db import connection

    facts = database_facts() if connection.vendor == "postgresql" else {}
    lines = ["### Machine", "", table(["", ""], machine(facts, "in-process (no HTTP)")), ""]
    lines += ["### Results", "", table(["measure", "value"], rows)]
    return "\n".join(lines)


def summary(args: Any, results: dict[str, Any], ok: bool) -> Summary:
    """Evaluations/s of both runs (one process), for ``python -m bench``."""
    headlines = [
        Headline(
            f"Policy matching, {args.enterprises:,} enterprises × {args.rules} rules, {label}",
            RATE,
            rate=run["run"].evaluations / run["seconds"],
            unit="evaluations",
            sql=f"{run['queries']:,} for the run",
        )
        for label, run in (
            ("first run", results["first"]),
            ("run with nothing new", results["second"]),
        )
    ]
    facts = machine(database_facts(), "in-process (no HTTP)")
    return Summary("matching", ok, machine=facts, headlines=headlines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument(
        "--agents", type=float, default=0.05, help="share of enterprises with a user"
    )
    add_report_arguments(parser)
    args = parser.parse_args()
    url = database_url()
    recreate(url)
    data_dir = prepare_django(url)
    try:
        started = time.perf_counter()
        load_enterprises(args.enterprises, args.agents)
        rules = load_rules(args.rules)
        print(f"data loaded in {time.perf_counter() - started:.1f} s", flush=True)
        results = {"first": timed_run("first run"), "second": timed_run("second run")}
        results["publish"] = timed_publish(rules[0].pk)
        results["parts"] = breakdown(args.rules)
        text = report(args, results)
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        problems = check(results["first"], results["second"], args.enterprises, args.rules)
        if results["parts"]["disagree"]:
            problems.append(
                f"{results['parts']['disagree']} sample verdicts differ from the engine"
            )
        summary(args, results, not problems).write(args.summary)
        if problems:
            print("\nFAILED CHECKS:\n" + "\n".join(problems), file=sys.stderr)
            sys.exit(1)
        print("\nchecks passed: verdicts as the engine's, pushes once, cases in review, no repeats")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        os.environ.pop("POLICYWINDOW_DATA_DIR", None)


if __name__ == "__main__":
    main()
