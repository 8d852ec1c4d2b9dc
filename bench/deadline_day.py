"""Deadline day: hundreds of enterprises filing while approvers and clerks work (issue 8).

    # load test on the shared server's bench database (errors must be zero):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench_deadline \\
        .venv/bin/python -m bench.deadline_day [--enterprises 500 --approvers 50 --clerks 5]
    # the same load on a throw-away cluster that is crashed after 60 s and started 5 s later:
    .venv/bin/python -m bench.deadline_day --crash-at 60 --outage 5
    # open loop: cases arriving at fixed rates, stepped up until the server saturates
    .venv/bin/python -m bench.deadline_day --open-loop [--rates 2,4,8,12,16]
    # the server model: the same open-loop steps on a few gunicorn workers × threads
    .venv/bin/python -m bench.deadline_day --open-loop --models 2x8,4x4,8x2,4x8 --rates 8,16

The product runs as in production (``policywindow serve``: gunicorn, several workers) on
PostgreSQL; Locust (``bench/_locustfile.py``) plays 500 enterprises filing and uploading with
think time, 50 approvers working their to-do lists and 5 clerks accepting. Every acknowledgement
a client saw is logged and reconciled with the database afterwards: each submission is there
once with the number the client was given, with its one PDF; each decision the approver saw is
stored once; every accepted case started its workflow; the audit chain verifies. With
``--crash-at`` the database is killed (``pg_ctl stop -m immediate``) in the middle of the load
and started again: while it is down every answer must be the 503 error body (never a 500 or a
traceback), clients retry with the same ``Idempotency-Key``, and the product must recover by
itself. With ``--open-loop`` cases arrive at fixed rates instead, independent of how fast
they are answered (``bench/_openloop.py``): each rate is a step, reported with the requests
answered per second, each request's p50/p95/p99, errors and the sessions waiting for row
locks, until the server saturates; ``--models`` repeats the steps on several server models. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _openloop as ol
from ._database import database_url, prepare_django, recreate
from ._report import database_facts, machine, table
from ._server import Server, serve
from ._summary import LATENCY, RATE, Headline, Summary, add_report_arguments

BENCH_DB = "policywindow_bench_deadline"
TRACEBACK_MARKERS = ("Traceback", 'File "/')
WORK_DONE = ("submitted", "decided", "accepted")  # acknowledgements of work, not refusals
SERVER_TROUBLE = re.compile(r"WORKER TIMEOUT|Worker \(pid:\d+\) (was sent|exited)")


@dataclass
class Outcome:
    acks: list[dict[str, Any]] = field(default_factory=list)
    crash_window: tuple[float, float] | None = None
    stats: list[dict[str, str]] = field(default_factory=list)
    server_log: str = ""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.deadline_day", description=__doc__)
    parser.add_argument("--enterprises", type=int, default=500)
    parser.add_argument("--approvers", type=int, default=50)
    parser.add_argument("--clerks", type=int, default=5)
    parser.add_argument("--run-time", type=int, default=180, help="seconds of load")
    parser.add_argument("--spawn-rate", type=float, default=50)
    parser.add_argument("--think", default="3,10", help="enterprise think time range, seconds")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--crash-at", type=float, help="crash the database after this many s")
    parser.add_argument("--outage", type=float, default=5, help="seconds the database stays down")
    opened = parser.add_argument_group("open loop (--open-loop)")
    opened.add_argument("--open-loop", action="store_true", help="cases at fixed arrival rates")
    opened.add_argument(
        "--rates", default="2,4,8,12,16,20,24,28,32",
        help="cases per second, one step each, until the server saturates",
    )  # fmt: skip
    opened.add_argument(
        "--models", help="server models to compare, e.g. 2x8,4x4 (default --workers x --threads)"
    )
    opened.add_argument("--warm", type=float, default=12, help="seconds before each window")
    opened.add_argument("--window", type=float, default=30, help="seconds measured per step")
    opened.add_argument(
        "--pause", type=float, default=1.0, help="seconds between a case's requests"
    )
    opened.add_argument(
        "--drain", type=float, default=30, help="seconds for answers after a window"
    )
    add_report_arguments(parser)
    args = parser.parse_args(argv)
    args.rates = [float(rate) for rate in args.rates.split(",")]
    args.models = ol.parse_models(args.models or f"{args.workers}x{args.threads}")
    args.plans = ol.plan_steps(
        args.models, args.rates, args.warm, args.window, args.pause, args.drain
    )
    if args.open_loop and args.crash_at is not None:
        parser.error("--open-loop and --crash-at are separate runs")
    if args.rates != sorted(set(args.rates)):
        parser.error("--rates must go up (each names a step)")
    return args


# ---------------------------------------------------------------- set-up (Django, in process)


def _plan(args: argparse.Namespace, work: Path) -> Path:
    """Enterprises, approvers (each with a rule of two levels naming only them) and clerks with
    API tokens, made through the product's services; written where the Locust users read them."""
    import datetime as dt

    from policywindow.api.services import issue_token

    from . import _cases
    from . import _fixtures as fx

    setting = fx.create_setting()
    admin = _cases.policy_admin()
    policy = _cases.create_policy(admin, setting.department)
    approvers = _cases.create_approvers(setting, policy, args.approvers)
    clerks = [setting.clerk] + [
        fx._staff(f"bench_ck{n:02d}", f"窗口人员{n:02d}", "window_clerk", setting.department)
        for n in range(1, args.clerks)
    ]
    filers = fx.create_filers(setting, _enterprises(args))
    think_min, think_max = (float(part) for part in args.think.split(","))
    plan = {
        "enterprises": [filer.token for filer in filers],
        "approvers": [approver.token for approver in approvers],
        "clerks": [
            issue_token(clerk, name="基准测试", lifetime=dt.timedelta(days=1)).plaintext
            for clerk in clerks
        ],
        "rules": [approver.rule.code for approver in approvers],
        "answers": fx.ANSWERS,
        "file_item": fx.FILE_ITEM,
        "pdf_hex": fx.small_pdf(64).hex(),
        "think_min": think_min,
        "think_max": think_max,
    }
    path = work / "plan.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return path


def _enterprises(args: argparse.Namespace) -> int:
    """Enough for the open loop's cases to be distinct (enterprise, rule) pairs."""
    if not args.open_loop:
        return args.enterprises
    needed = sum(step.cases for steps in args.plans for step in steps)
    return max(args.enterprises, math.ceil(needed / args.approvers))


# ---------------------------------------------------------------- the load


def _locust(
    port: int, plan: Path, work: Path, arguments: list[str], env: dict[str, str]
) -> subprocess.Popen:
    """Locust headless on ``bench/_locustfile.py`` with ``arguments``; records to acks.jsonl."""
    locust = Path(sys.executable).with_name("locust")
    command = [
        str(locust),
        "-f",
        str(Path(__file__).with_name("_locustfile.py")),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
        *arguments,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "DEADLINE_PLAN": str(plan),
        "DEADLINE_ACKS": str(work / "acks.jsonl"),
        **env,
    }
    with (work / "locust.log").open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603


def _closed_loop(args: argparse.Namespace, port: int, plan: Path, work: Path) -> subprocess.Popen:
    users = args.enterprises + args.approvers + args.clerks
    arguments = [
        "--users", str(users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.run_time}s", "--stop-timeout", "30", "--csv", str(work / "locust"),
        "Enterprise", "Approver", "Clerk",
    ]  # fmt: skip
    env = {
        "DEADLINE_ENTERPRISES": str(args.enterprises),
        "DEADLINE_APPROVERS": str(args.approvers),
        "DEADLINE_CLERKS": str(args.clerks),
    }
    return _locust(port, plan, work, arguments, env)


def _crash_later(cluster: Any, at: float, outage: float, outcome: Outcome) -> threading.Thread:
    def run() -> None:
        time.sleep(at)
        down = time.time()
        cluster.crash()
        print(f"  database crashed at {at:.0f} s in {time.time() - down:.1f} s", flush=True)
        time.sleep(outage)
        starting = time.time()
        cluster.start()
        outcome.crash_window = (down, time.time())
        print(f"  database started again in {time.time() - starting:.1f} s", flush=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _run_load(args: argparse.Namespace, plan: Path, work: Path, cluster: Any) -> Outcome:
    outcome = Outcome()
    server_env = {"DB_CONNECT_TIMEOUT": "2"}
    log = work / "server.log"
    with serve(workers=args.workers, threads=args.threads, log_path=log, env=server_env) as srv:
        print(f"Load: {args.enterprises} enterprises, {args.approvers} approvers, "
              f"{args.clerks} clerks for {args.run_time} s on port {srv.port}", flush=True)  # fmt: skip
        process = _closed_loop(args, srv.port, plan, work)
        crasher = _crash_later(cluster, args.crash_at, args.outage, outcome) if cluster else None
        process.wait(timeout=args.run_time + 180)
        if crasher:
            crasher.join()
    from django.db import connections

    connections.close_all()  # the set-up's connection did not survive a crash
    outcome.server_log = log.read_text(encoding="utf-8", errors="replace")
    outcome.acks = _acks(work)
    stats = work / "locust_stats.csv"
    if stats.exists():
        with stats.open(encoding="utf-8") as handle:
            outcome.stats = list(csv.DictReader(handle))
    return outcome


def _acks(work: Path) -> list[dict[str, Any]]:
    acks = work / "acks.jsonl"
    if not acks.exists():
        return []
    return [json.loads(line) for line in acks.read_text(encoding="utf-8").splitlines()]


def _open_step(step: ol.StepPlan, srv: Server, plan: Path, work: Path, url: str) -> ol.StepResult:
    """One arrival rate: a Locust process of one ``OpenLoop`` user, pg_locks sampled meanwhile."""
    limit = step.warm + step.window + step.drain + 60  # Locust quits itself before this
    arguments = ["--users", "1", "--spawn-rate", "1", "--run-time", f"{limit:.0f}s", "OpenLoop"]
    with ol.WaitSampler(url, srv.pid) as sampler:
        process = _locust(srv.port, plan, work, arguments, {"DEADLINE_OPEN": step.environment()})
        process.wait(timeout=limit + 60)
    result = ol.step_result(step, _acks(work), sampler.samples)
    print(result.progress(), flush=True)
    return result


def _run_open(
    args: argparse.Namespace, plan: Path, work: Path, url: str
) -> tuple[Outcome, list[ol.StepResult]]:
    """Each server model in turn, its rates stepped up until one saturates."""
    outcome, results = Outcome(), []
    for steps in args.plans:
        workers, threads = steps[0].workers, steps[0].threads
        log = work / f"server-{workers}x{threads}.log"
        with serve(workers=workers, threads=threads, log_path=log) as srv:
            print(f"Open loop on {steps[0].model}, port {srv.port}: rates "
                  f"{', '.join(f'{s.rate:g}' for s in steps)} cases/s", flush=True)  # fmt: skip
            for step in steps:
                results.append(_open_step(step, srv, plan, work, url))
                if results[-1].saturated:
                    break
        outcome.server_log += log.read_text(encoding="utf-8", errors="replace")
    outcome.acks = _acks(work)
    return outcome, results


# ---------------------------------------------------------------- reconciliation


def reconcile(outcome: Outcome) -> list[tuple[str, bool]]:
    """What the clients saw acknowledged, against the database: all there, none twice."""
    from django.db.models import Count

    from policywindow.applications.models import Application, Material
    from policywindow.core.audit import verify_chain
    from policywindow.workflow.models import WorkflowTask

    submitted = {a["application"]: a["number"] for a in outcome.acks if a["kind"] == "submitted"}
    decided = {a["task"] for a in outcome.acks if a["kind"] == "decided"}
    accepted = {a["application"] for a in outcome.acks if a["kind"] == "accepted"}
    stored = dict(Application.objects.filter(pk__in=submitted).values_list("pk", "number"))
    pdfs = Counter(
        Material.objects.filter(application_id__in=submitted).values_list(
            "application_id", flat=True
        )
    )
    tasks = dict(WorkflowTask.objects.filter(pk__in=decided).values_list("pk", "status"))
    started = set(
        WorkflowTask.objects.filter(application_id__in=accepted).values_list(
            "application_id", flat=True
        )
    )
    numbers = Application.objects.exclude(number=None).values("number")
    doubled = numbers.annotate(n=Count("id")).filter(n__gt=1).count()
    chain = verify_chain()
    bad_bodies = [a for a in outcome.acks if a["kind"] in ("outage", "error") and _traceback(a)]
    checks = [
        (f"{len(submitted)} acknowledged submissions all stored with the number the client "
         "was given", stored == submitted),
        ("each acknowledged submission has exactly its one PDF",
         all(pdfs[pk] == 1 for pk in submitted)),
        ("no application number given twice", doubled == 0),
        (f"{len(decided)} acknowledged decisions all stored as approved",
         len(tasks) == len(decided) and set(tasks.values()) <= {"approved"}),
        (f"{len(accepted)} acknowledged acceptances all started their workflow",
         accepted <= started),
        ("no answer carried a traceback", not bad_bodies),
        (f"audit hash chain intact ({chain.checked} events)", chain.ok),
    ]  # fmt: skip
    errors = [a for a in outcome.acks if a["kind"] == "error"]
    checks.append((f"no errors ({len(errors)} seen)", not errors))
    died = [line for line in outcome.server_log.splitlines() if SERVER_TROUBLE.search(line)]
    checks.append((f"no server worker died or timed out ({len(died)} log lines)", not died))
    # Status 0 outside an outage is a keep-alive connection the server closed while idle as
    # the client reused it (gunicorn's keep-alive is 2 s): retried, counted, not a failure.
    answered = [a for a in outcome.acks if a["kind"] == "outage" and a["status"]]
    if outcome.crash_window is None:
        checks.append((f"no 503 without an outage ({len(answered)} seen)", not answered))
    else:
        checks += _outage_checks(answered, outcome.crash_window, outcome.acks)
    return checks


def in_window(ack: dict[str, Any], window: tuple[float, float]) -> bool:
    """From the crash until the restart's command returned (refusals go on a little after it)."""
    return window[0] - 1 <= ack["at"] <= window[1]


def _outage_checks(
    answered: list[dict[str, Any]], window: tuple[float, float], acks: list[dict[str, Any]]
) -> list[tuple[str, bool]]:
    """Refusals only from the crash on, all 503 bodies; and the product recovered by itself:
    work is acknowledged again after the last refusal. How long that took is reported, not
    judged — on a busy machine it takes longer, and that is no fault of the product."""
    early = [a for a in answered if a["at"] < window[0] - 1]
    last_refusal = max((a["at"] for a in answered), default=window[1])
    resumed = [a for a in acks if a["kind"] in WORK_DONE and a["at"] > last_refusal]
    after = max(0.0, last_refusal - window[1])
    return [
        (f"during the outage only 503 answers ({len(answered)})",
         all(a["status"] == 503 for a in answered)),
        (f"every 503 is the JSON error body with code service_unavailable ({len(answered)})",
         all('"service_unavailable"' in a["body"] for a in answered)),
        (f"no refusal before the crash ({len(early)})", not early),
        (f"recovered by itself: {len(resumed)} acknowledgements after the last refusal, "
         f"{after:.1f} s after the restart", bool(resumed)),
    ]  # fmt: skip


def _first_server_error(log: str, lines: int = 40) -> str:
    """The server's log of its first unexpected error (with its traceback), to say why."""
    found = log.splitlines()
    for index, line in enumerate(found):
        if "unexpected error" in line or "Internal Server Error" in line:
            return "\n".join(found[index : index + lines])
    return ""


def _traceback(ack: dict[str, Any]) -> bool:
    return any(marker in ack.get("body", "") for marker in TRACEBACK_MARKERS)


# ---------------------------------------------------------------- report


def sql_counts(acks: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Statements per answered request, by request name (from the server's header)."""
    counts: dict[str, list[int]] = {}
    for ack in acks:
        if ack["kind"] == "sql":
            counts.setdefault(ack["name"], []).append(ack["statements"])
    return counts


def _stats_rows(stats: list[dict[str, str]], sql: dict[str, list[int]]) -> list[list[object]]:
    rows = []
    everything = [n for counts in sql.values() for n in counts]
    for row in stats:
        name = row["Name"]
        rows.append(
            [
                name,
                row["Request Count"],
                row["Failure Count"],
                f"{float(row['Requests/s']):.1f}",
                row["50%"],
                row["95%"],
                row["99%"],
                row["Max Response Time"].split(".")[0],
                ol.sql_text(everything if name == "Aggregated" else sql.get(name, [])),
            ]
        )
    return rows


def summary(
    args: argparse.Namespace, outcome: Outcome, ok: bool, steps: list[ol.StepResult]
) -> Summary:
    """The whole load's throughput and each request's latency, for ``python -m bench``."""
    facts = machine(database_facts(), _server_text(args))
    if args.open_loop:
        clients = {f"{w}×{t}": w * t for w, t in args.models}
        found = ol.headlines(steps, clients, per_request=len(args.models) == 1)
        return Summary("deadline_day_open", ok, machine=facts, headlines=found)
    sql = sql_counts(outcome.acks)
    everything = [n for counts in sql.values() for n in counts]
    users = args.enterprises + args.approvers + args.clerks
    label = "with the database crashed" if args.crash_at is not None else "no faults"
    concurrency = args.workers * args.threads
    headlines = []
    for row in outcome.stats:
        name = row["Name"]
        latency = {
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
        }
        if name == "Aggregated":
            headlines.insert(0, Headline(
                f"Deadline day ({label}): all requests of {users} Locust users, "
                f"{int(row['Request Count']):,} requests, {_failures(args, row)}",
                RATE, concurrency, rate=float(row["Requests/s"]), unit="requests",
                sql=f"{ol.sql_text(everything)} per request", **latency,
            ))  # fmt: skip
        else:
            headlines.append(Headline(
                f"Deadline day ({label}): {name}", LATENCY, concurrency,
                sql=ol.sql_text(sql.get(name, [])), **latency,
            ))  # fmt: skip
    name = "deadline_day_crash" if args.crash_at is not None else "deadline_day"
    return Summary(name, ok, machine=facts, headlines=headlines)


def _failures(args: argparse.Namespace, row: dict[str, str]) -> str:
    """Locust counts the outage's 503s as failures; the checks prove they were nothing else."""
    failed = int(row["Failure Count"])
    if args.crash_at is None:
        return f"{failed:,} failed"
    return f"{failed:,} refused (503) or cut while the database was down, all retried"


def _server_text(args: argparse.Namespace) -> str:
    if args.open_loop:
        models = ", ".join(f"{w}×{t}" for w, t in args.models)
        return (
            f"`policywindow serve` (gunicorn), workers × threads: {models}; one Locust process "
            "(open loop) on the same machine"
        )
    return (
        f"`policywindow serve` (gunicorn) --workers {args.workers} --threads {args.threads}; "
        f"Locust {args.enterprises + args.approvers + args.clerks} users on the same machine"
    )


def _load_text(args: argparse.Namespace) -> str:
    return (
        f"Cases arrive one every 1/rate s; a case's {len(ol.CASE)} requests are due "
        f"{args.pause:g} s apart. Per step {args.warm:g} s of warm-up (a server model's first "
        f"step {args.warm * 2:g} s), then {args.window:g} s measured, then up to "
        f"{args.drain:g} s for the answers still due. "
        f"{_enterprises(args)} enterprises, {args.approvers} approvers (one rule of two levels "
        f"each), {args.clerks} clerks. Steps stop at the first saturated one."
    )


def _closed_loop_tables(args: argparse.Namespace, outcome: Outcome) -> list[str]:
    lines = []
    if outcome.crash_window:
        down, up = outcome.crash_window
        lines += [f"Database crashed at {args.crash_at:.0f} s, down {up - down:.1f} s.", ""]
    headers = ["Request", "Count", "Failures", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    headers.append("SQL statements")
    lines += [table(headers, _stats_rows(outcome.stats, sql_counts(outcome.acks))), ""]
    lines += [
        "SQL statements: the median (and range) of what each answered request ran, counted by "
        "the server (`X-Bench-SQL`).",
        "",
    ]
    return lines


def report(
    args: argparse.Namespace,
    outcome: Outcome,
    checks: list[tuple[str, bool]],
    steps: list[ol.StepResult],
) -> str:
    facts = machine(database_facts(), _server_text(args))
    lines = [table(["", ""], facts), ""]
    if args.open_loop:
        lines += [_load_text(args), "", ol.report_tables(steps), ""]
    else:
        lines += _closed_loop_tables(args, outcome)
    lines += [table(["Check", "Result"], [[name, "ok" if ok else "FAILED"] for name, ok in checks])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    with ExitStack() as stack:
        cluster = None
        if args.crash_at is not None:
            from ._cluster import ephemeral_cluster

            cluster = stack.enter_context(ephemeral_cluster())
            url = cluster.url(BENCH_DB)
        else:
            url = database_url()
        print(f"Benchmark database: {url} (dropped, recreated, migrated)", flush=True)
        recreate(url)
        work = prepare_django(url)
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        started = time.perf_counter()
        plan = _plan(args, work)
        print(f"Setup in {time.perf_counter() - started:.0f} s", flush=True)
        steps: list[ol.StepResult] = []
        if args.open_loop:
            outcome, steps = _run_open(args, plan, work, url)
        else:
            outcome = _run_load(args, plan, work, cluster)
        checks = reconcile(outcome)
        text = report(args, outcome, checks, steps)
        print("\n" + text)
        window = outcome.crash_window or (math.inf, -math.inf)  # no crash: nothing in it
        outages = [a for a in outcome.acks if a["kind"] == "outage"]
        reconnects = [a for a in outages if not a["status"] and not in_window(a, window)]
        print(f"  {len(reconnects)} idle keep-alive connections closed by the server (retried)")
        stray = [a for a in outages if a["status"] and not in_window(a, window)]
        for ack in stray[:5]:
            print(f"  refused {ack['at'] - window[0]:+.1f} s from the crash (the restart returned "
                  f"at {window[1] - window[0]:+.1f} s): "
                  f"{ack['name']} {ack['status']} {ack['body'][:200]}")  # fmt: skip
        for ack in [a for a in outcome.acks if a["kind"] == "error"][:10]:
            print(f"  ! {ack['name']}: HTTP {ack['status']} {ack['body'][:200]}")
        print(_first_server_error(outcome.server_log))
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        ok = all(ok for _, ok in checks)
        summary(args, outcome, ok, steps).write(args.summary)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
