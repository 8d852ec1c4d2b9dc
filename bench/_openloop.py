"""Deadline day as an open loop: cases arrive at a fixed rate, whatever the answers' speed.

A closed loop (a fixed number of users, each waiting for its answer before the next request)
slows its own arrivals when the server slows, so it never shows the latency of a load the
server cannot keep up with. Here each **case** arrives on a fixed schedule (one every
``1 / rate`` s) and runs its requests at fixed offsets from its arrival — request *k* is due
``k × pause`` s after it (``bench/_locustfile.py``, class ``OpenLoop``):

    create draft, save answers, upload PDF, submit, my applications   (the enterprise)
    intake queue, case for intake, accept                              (a window clerk)
    to-do list, decide, to-do list, decide                             (the rule's approver)

A request waits for its predecessor's answer (it needs its id). Its latency runs from when it
could go — its due time, or that answer if it came later — to its answer, so a late sending
by the load generator is counted, never hidden; how many went late (the case behind its
schedule) is reported. The cases keep arriving whatever the answers' speed, so a server that
falls behind faces a growing backlog, as on the real day. Each rate is one *step*: ``warm`` s
to fill the pipeline, then a window of ``window`` s in which every request due is measured; at
the window's end cases stop sending, and the requests in flight get ``drain`` s to be answered.

This module plans the steps, samples ``pg_locks`` while they run and turns the records the
Locust process wrote into the report; ``bench/deadline_day.py --open-loop`` drives it.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from ._probes import (
    IN_TRANSACTION,
    LOCK_LABELS,
    Sampler,
    busy_percent,
    machine_busy,
    tree_cpu,
)
from ._report import percentile, table
from ._summary import LATENCY, RATE, Headline

# The requests of one case, in order (``OpenLoop.case`` in bench/_locustfile.py sends them).
CASE = (
    "create draft",
    "save answers",
    "upload PDF",
    "submit",
    "my applications",
    "intake queue",
    "case for intake",
    "accept",
    "to-do list",
    "decide",
    "to-do list",
    "decide",
)
REQUEST_NAMES = tuple(dict.fromkeys(CASE))  # each once, in the order of a case
SATURATED_BELOW = 0.9  # answered / due in the window: below this the server fell behind
LATE_S = 0.05  # sent this much after it was due: its predecessor's answer came late
# Issue 16's targets, reported (not checked: they depend on the machine) at this rate.
TARGET_RATE = 8.0
TARGET_P95_MS = 300.0
BEFORE_REQUESTS_PER_S = 88.8  # the closed-loop deadline day before issue 16
TARGET_ROW_LOCK_WAITS = 1.0


def pair(case: int, enterprises: int, rules: int) -> tuple[int, int]:
    """The (enterprise, rule) of case number ``case``: distinct for the first
    ``enterprises × rules`` cases (one application per enterprise and rule a year), and
    consecutive cases spread over both, so no enterprise or approver gets a burst."""
    enterprise = case % enterprises
    return enterprise, (case // enterprises + enterprise) % rules


def parse_models(text: str) -> list[tuple[int, int]]:
    """``"4x4,2x8"`` → ``[(4, 4), (2, 8)]`` (workers × threads)."""
    models = []
    for part in text.split(","):
        workers, _, threads = part.strip().lower().replace("×", "x").partition("x")
        models.append((int(workers), int(threads)))
    return models


@dataclass(frozen=True)
class StepPlan:
    """One arrival rate on one server model; what the Locust process gets in ``DEADLINE_OPEN``."""

    workers: int  # gunicorn workers × threads
    threads: int
    rate: float  # cases per second
    warm: float
    window: float
    pause: float
    drain: float
    offset: int  # the number of the first case (cases are numbered across all steps)

    @property
    def model(self) -> str:
        return f"{self.workers}×{self.threads}"

    @property
    def name(self) -> str:
        return f"{self.model} at {self.rate:g}/s"

    @property
    def cases(self) -> int:
        return round(self.rate * (self.warm + self.window))

    @property
    def offered(self) -> float:
        """Requests due per second once the pipeline is full."""
        return self.rate * len(CASE)

    def environment(self) -> str:
        return json.dumps({**asdict(self), "step": self.name})


def plan_steps(
    models: list[tuple[int, int]], rates: list[float], warm: float, window: float,
    pause: float, drain: float,
) -> list[list[StepPlan]]:  # fmt: skip
    """Each model's steps, its cases numbered on from the previous ones. A model's first step
    warms up twice as long: new worker processes load code and fill caches on their first
    requests, a cost of starting, not of the load."""
    plans, offset = [], 0
    for workers, threads in models:
        steps = []
        for n, rate in enumerate(rates):
            first = warm * 2 if n == 0 else warm
            steps.append(StepPlan(workers, threads, rate, first, window, pause, drain, offset))
            offset += steps[-1].cases
        plans.append(steps)
    return plans


# ---------------------------------------------------------------- lock waits while a step runs

SERVER_CPU_EVERY = 25  # samples: reading the server's CPU walks /proc, so every 0.5 s
WAITS = """
    SELECT l.locktype, a.query
    FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND (l.pid IS NOT NULL OR a.state = 'idle in transaction')
"""
ROW_LOCK_TYPES = {"transactionid", "tuple"}  # a row lock is waited for on its holder's xid
ROW_LOCK = "row lock"
TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def wait_label(locktype: str | None, query: str) -> str:
    """``row lock: number sequence``, ``advisory lock: …``, or idle in transaction."""
    if locktype is None:
        return IN_TRANSACTION
    match = TABLE.search(query or "")
    where = LOCK_LABELS.get(match.group(1), match.group(1)) if match else "?"
    kind = ROW_LOCK if locktype in ROW_LOCK_TYPES else f"{locktype} lock"
    return f"{kind}: {where}"


@dataclass
class Sample:
    at: float
    waits: Counter[str]
    busy: tuple[int, int]  # machine_busy() jiffies
    server_cpu: float | None = None  # CPU seconds of the gunicorn master and workers so far


class WaitSampler(Sampler):
    """Samples ``pg_locks`` (sessions waiting for a lock, and what for) and the sessions idle
    in transaction every 20 ms from its own connection, with the machine's and the server's
    CPU, timestamped, so that a step's window can be cut out afterwards."""

    name = "wait-sampler"

    def __init__(self, url: str, server_pid: int) -> None:
        self._server = server_pid
        self.samples: list[Sample] = []
        super().__init__(url)

    def sample(self, conn: psycopg.Connection) -> None:
        rows = conn.execute(WAITS).fetchall()
        waits = Counter(wait_label(locktype, query) for locktype, query in rows)
        cpu = tree_cpu(self._server) if len(self.samples) % SERVER_CPU_EVERY == 0 else None
        self.samples.append(Sample(time.time(), waits, machine_busy(), cpu))


def mean_waits(samples: list[Sample], start: float, end: float) -> dict[str, float]:
    """Mean sessions per label over the samples taken in [start, end)."""
    inside = [s for s in samples if start <= s.at < end]
    total: Counter[str] = Counter()
    for sample in inside:
        total.update(sample.waits)
    return {label: n / len(inside) for label, n in total.items()} if inside else {}


def busy_between(samples: list[Sample], start: float, end: float) -> float:
    """% of all CPUs busy between the first and the last sample in [start, end)."""
    inside = [s for s in samples if start <= s.at < end]
    return busy_percent(inside[0].busy, inside[-1].busy) if len(inside) > 1 else float("nan")


def server_cpu_between(samples: list[Sample], start: float, end: float) -> float:
    """CPU seconds the server spent per second in [start, end) (first to last reading)."""
    read = [s for s in samples if start <= s.at < end and s.server_cpu is not None]
    if len(read) < 2 or read[-1].at == read[0].at:
        return float("nan")
    return (read[-1].server_cpu - read[0].server_cpu) / (read[-1].at - read[0].at)


# ---------------------------------------------------------------- one step's results


@dataclass
class Latencies:
    ms: list[float] = field(default_factory=list)
    errors: int = 0
    statements: list[int] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.ms, q)


@dataclass
class StepResult:
    plan: StepPlan
    due: int = 0  # requests due in the window (answered, failed or never answered)
    answered: int = 0  # answered within the window
    late: int = 0  # sent more than LATE_S after they were due
    unanswered: int = 0  # still unanswered when the drain ended
    idle: int = 0  # decisions not made: nothing left to decide on the approver's first page
    by_request: dict[str, Latencies] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)
    busy: float = float("nan")
    server_cpu: float = float("nan")  # CPU seconds per second of the gunicorn processes

    @property
    def achieved(self) -> float:
        """Requests answered per second in the window."""
        return self.answered / self.plan.window

    @property
    def saturated(self) -> bool:
        return self.unanswered > 0 or self.achieved < SATURATED_BELOW * self.plan.offered

    @property
    def errors(self) -> int:
        return sum(lat.errors for lat in self.by_request.values())

    @property
    def everything(self) -> Latencies:
        merged = Latencies()
        for lat in self.by_request.values():
            merged.ms += lat.ms
            merged.errors += lat.errors
            merged.statements += lat.statements
        return merged

    @property
    def cpu_per_request_ms(self) -> float:
        """The server's CPU per answered request: the model's own cost, robust to a busy
        machine (which stretches latency but not the work a request takes)."""
        return self.server_cpu / self.achieved * 1000 if self.achieved else float("nan")

    @property
    def row_locks(self) -> float:
        return sum(n for label, n in self.waits.items() if label.startswith(ROW_LOCK))

    def worst_p95(self) -> tuple[str, float]:
        measured = [(name, lat.p(95)) for name, lat in self.by_request.items() if lat.ms]
        return max(measured, key=lambda pair: pair[1], default=("–", float("nan")))

    def progress(self) -> str:
        worst, worst_ms = self.worst_p95()
        return (
            f"  {self.plan.name}: due {self.plan.offered:.0f} req/s, answered "
            f"{self.achieved:.1f} req/s, p95 {self.everything.p(95):.0f} ms (worst {worst} "
            f"{worst_ms:.0f} ms), errors {self.errors}, row-lock waits {self.row_locks:.2f}, "
            f"server CPU {self.cpu_per_request_ms:.1f} ms/request, machine busy {self.busy:.0f} %"
            f"{', SATURATED' if self.saturated else ''}"
        )


def step_result(plan: StepPlan, records: list[dict[str, Any]], samples: list[Sample]) -> StepResult:
    """The step's figures from the Locust process's records (those with ``step`` = its name)."""
    mine = [r for r in records if r.get("step") == plan.name]
    window = next((r for r in mine if r["kind"] == "window"), None)
    if window is None:
        raise RuntimeError(f"{plan.name}: the Locust process never started (see its locust.log)")
    start, end = window["start"], window["end"]
    result = StepResult(plan, waits=mean_waits(samples, start, end))
    result.busy = busy_between(samples, start, end)
    result.server_cpu = server_cpu_between(samples, start, end)
    for record in mine:
        kind = record["kind"]
        if kind == "drained":
            result.unanswered = record["unfinished"]
        elif kind == "idle":
            result.idle += 1
        elif kind in ("sql", "error") and start <= record["due"] < end:
            _count(result, record, end)
    return result


def _count(result: StepResult, record: dict[str, Any], end: float) -> None:
    latencies = result.by_request.setdefault(record["name"], Latencies())
    result.due += 1
    if record["kind"] == "error":
        latencies.errors += 1
        return
    latencies.ms.append(record["ms"])
    latencies.statements.append(record["statements"])
    result.answered += record["at"] < end
    result.late += record["late_ms"] > LATE_S * 1000


# ---------------------------------------------------------------- report


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def sql_text(counts: list[int]) -> str:
    """Median and range: a list's statements depend on its rows, a decision's on its level."""
    if not counts:
        return "–"
    low, middle, high = min(counts), statistics.median_low(counts), max(counts)
    return str(middle) if low == high else f"{middle} ({low}–{high})"


def _ordered(names: set[str]) -> list[str]:
    return [n for n in REQUEST_NAMES if n in names] + sorted(names - set(REQUEST_NAMES))


def _step_row(result: StepResult) -> list[object]:
    everything = result.everything
    worst, worst_ms = result.worst_p95()
    return [
        result.plan.model,
        f"{result.plan.rate:g}",
        f"{result.plan.offered:.0f}",
        f"**{result.achieved:.1f}**",
        f"{result.due:,}",
        result.errors,
        _ms(everything.p(50)),
        _ms(everything.p(95)),
        _ms(everything.p(99)),
        f"{worst} {_ms(worst_ms)}",
        result.late,
        f"{result.row_locks:.2f}",
        f"{result.waits.get(IN_TRANSACTION, 0.0):.2f}",
        f"{result.cpu_per_request_ms:.1f}",
        _ms(result.busy),
        _saturation_text(result),
    ]


def _saturation_text(result: StepResult) -> str:
    if not result.saturated:
        return ""
    return (
        f"**saturated** ({result.unanswered} unanswered)" if result.unanswered else "**saturated**"
    )


def _p95_matrix(results: list[StepResult]) -> str:
    names = _ordered({name for r in results for name in r.by_request})
    headers = ["Request", *(r.plan.name for r in results)]
    rows = []
    for name in names:
        cells = []
        for r in results:
            lat = r.by_request.get(name)
            cells.append(_ms(lat.p(95)) if lat and lat.ms else "–")
        rows.append([name, *cells])
    return table(headers, rows)


def _waits_matrix(results: list[StepResult]) -> str:
    labels = sorted({label for r in results for label in r.waits})
    headers = ["Sessions (mean)", *(r.plan.name for r in results)]
    rows = [[label, *(f"{r.waits.get(label, 0.0):.2f}" for r in results)] for label in labels]
    return table(headers, rows) if rows else "No session waited for a lock or sat idle in one."


def _detail(result: StepResult) -> str:
    rows = []
    for name in _ordered(set(result.by_request)):
        lat = result.by_request[name]
        rows.append(
            [
                name,
                len(lat.ms) + lat.errors,
                lat.errors,
                _ms(lat.p(50)),
                _ms(lat.p(95)),
                _ms(lat.p(99)),
                _ms(max(lat.ms, default=float("nan"))),
                sql_text(lat.statements),
            ]
        )
    headers = ["Request", "Due", "Errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "SQL"]
    return f"**{result.plan.name}** — {result.plan.offered:.0f} requests/s due\n\n" + table(
        headers, rows
    )


def saturation(results: list[StepResult]) -> StepResult | None:
    """The step that answered most requests per second (the saturation throughput)."""
    return max(results, key=lambda r: r.achieved, default=None)


def target_lines(results: list[StepResult]) -> list[str]:
    """Issue 16's targets against this run, per server model: reported, not checked."""
    lines = []
    for model in dict.fromkeys(r.plan.model for r in results):
        mine = [r for r in results if r.plan.model == model]
        at = next((r for r in mine if r.plan.rate == TARGET_RATE), None)
        best = saturation(mine)
        if at is not None:
            worst, worst_ms = at.worst_p95()
            lines.append(
                f"- {model}, at {TARGET_RATE:g} cases/s: worst p95 {worst} {_ms(worst_ms)} ms "
                f"(target ≤ {TARGET_P95_MS:.0f}: {_met(worst_ms <= TARGET_P95_MS)}); "
                f"{at.errors} errors (target 0: {_met(at.errors == 0)}); row-lock waits "
                f"{at.row_locks:.2f} sessions on average (target ≤ {TARGET_ROW_LOCK_WAITS:g}: "
                f"{_met(at.row_locks <= TARGET_ROW_LOCK_WAITS)})."
            )
        if best is not None:
            reached = "saturated" if any(r.saturated for r in mine) else "not saturated"
            ratio = best.achieved / BEFORE_REQUESTS_PER_S
            lines.append(
                f"- {model}: most answered {best.achieved:.1f} requests/s (at "
                f"{best.plan.rate:g} cases/s; {reached} in the steps run) = {ratio:.2f}× the "
                f"{BEFORE_REQUESTS_PER_S} requests/s before issue 16 (target ≥ 3×: "
                f"{_met(ratio >= 3)})."
            )
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report_tables(results: list[StepResult]) -> str:
    """The steps, the p95 of each request at each step, lock waits, then each step in full."""
    headers = [
        "Server",
        "Cases/s",
        "Due req/s",
        "Answered req/s",
        "Requests",
        "Errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "Worst p95 (ms)",
        "Sent late",
        "Row-lock waits",
        "Idle in tx",
        "Server CPU ms/req",
        "Machine busy %",
        "",
    ]
    parts = [
        table(headers, [_step_row(r) for r in results], labels=1),
        "",
        "Requests: those due in the window; p50/p95/p99 of all of them, each from when it "
        "could be sent (its due time, or its predecessor's answer if later) to its answer. "
        "Answered req/s: answered within the window. Sent late: more than "
        f"{LATE_S * 1000:.0f} ms after it was due, its predecessor's answer having come late. "
        "Row-lock waits / idle in tx: mean sessions waiting for a row lock (`pg_locks`) / "
        "idle in transaction, sampled every 20 ms. Server CPU: of the gunicorn processes per "
        "answered request. Machine busy: all CPUs (server, PostgreSQL, Locust and anything "
        "else running) in the window.",
        "",
        "**Issue 16 targets** (reported, not checked — they depend on the machine):",
        "",
        *target_lines(results),
        "",
        "p95 of each request (ms):",
        "",
        _p95_matrix(results),
        "",
        "Where sessions waited (mean sessions in the window, by lock and the table of the "
        "waiting statement):",
        "",
        _waits_matrix(results),
    ]
    for result in results:
        parts += ["", _detail(result)]
    return "\n".join(parts)


def headlines(
    results: list[StepResult], clients: dict[str, int], per_request: bool
) -> list[Headline]:
    """Each step as a rate (with all its requests' latency); with ``per_request``, each request
    at the target rate as a latency too."""
    found = []
    for r in results:
        everything = r.everything
        found.append(
            Headline(
                f"Deadline day, open loop, {r.plan.name} ({r.plan.offered:.0f} requests/s due, "
                f"{r.errors} errors{', saturated' if r.saturated else ''})",
                RATE,
                clients[r.plan.model],
                rate=r.achieved,
                unit="requests",
                p50_ms=everything.p(50),
                p95_ms=everything.p(95),
                p99_ms=everything.p(99),
                sql=f"{sql_text(everything.statements)} per request",
            )
        )
    for r in (r for r in results if per_request and r.plan.rate == TARGET_RATE):
        for name in _ordered(set(r.by_request)):
            lat = r.by_request[name]
            found.append(
                Headline(
                    f"Deadline day, open loop, {r.plan.name}: {name}",
                    LATENCY,
                    clients[r.plan.model],
                    p50_ms=lat.p(50),
                    p95_ms=lat.p(95),
                    p99_ms=lat.p(99),
                    sql=sql_text(lat.statements),
                )
            )
    return found
