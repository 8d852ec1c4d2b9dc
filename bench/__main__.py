"""``make bench``: every benchmark in one run, written into docs/benchmarks.md (issue 8).

    make bench                      # full size, about 25 minutes on 2 cores
    make bench BENCH_ARGS=--quick   # small sizes, a few minutes; prints, writes no docs
    .venv/bin/python -m bench --only approvals,fundforms [--output FILE]

Each benchmark runs as its own process (``python -m bench.<name> --output … --summary …``)
on the PostgreSQL database of ``DATABASE_URL`` (dropped and recreated by each; its name
must contain "bench"), the database-crash run on a throw-away cluster of its own. Then the
blocks between ``<!-- make bench: NAME -->`` and ``<!-- /make bench: NAME -->`` in the
document are replaced: ``summary`` with the machine, the ceilings and every headline figure
as a ratio to its ceiling with its SQL statements, and each benchmark's block with its
report. The prose around the blocks is left as written. Exits non-zero when a benchmark
failed or a check in it did; its block then keeps the previous run's report and the summary
says it failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from ._report import table
from ._summary import LATENCY, CeilingFigure, Headline, Summary

REPO = Path(__file__).resolve().parent.parent
DOCUMENT = REPO / "docs" / "benchmarks.md"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/policywindow_bench"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SMALL_LOAD = ["--enterprises", "50", "--approvers", "5", "--clerks", "2"]
# The open-loop deadline day at small sizes: short steps, low rates.
SMALL_OPEN = ["--open-loop", "--warm", "3", "--window", "8", "--pause", "0.25", "--drain", "10"]


@dataclass(frozen=True)
class Step:
    name: str  # the block in the document
    module: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


# The approvals benchmark also measures the two ceilings every figure is compared with.
STEPS = (
    Step("approvals", "approvals", (), ("--apps", "20000", "--levels", "1,4", "--per-level", "24")),
    Step("submissions", "submissions", (), ("--levels", "1,4", "--per-level", "24")),
    Step("fundforms", "fundforms", (), ("--forms", "20", "--batch", "10")),
    Step("matching", "matching", (), ("--enterprises", "2000", "--rules", "20")),
    Step("dashboard", "dashboard", (), ("--apps", "20000", "--samples", "5")),
    Step("spreadsheet_bomb", "spreadsheet_bomb", (), ("--unpacked-mb", "32", "--repeat", "3")),
    Step("demo_loading", "demo_loading"),
    Step("deadline_day", "deadline_day", (), ("--run-time", "30", *SMALL_LOAD)),
    Step(
        "deadline_day_crash",
        "deadline_day",
        ("--crash-at", "50", "--outage", "5", "--run-time", "120"),
        ("--crash-at", "15", "--outage", "3", "--run-time", "40", *SMALL_LOAD),
    ),
    Step(
        "deadline_day_open",
        "deadline_day",
        ("--open-loop",),
        (*SMALL_OPEN, "--rates", "2,4,8", *SMALL_LOAD),
    ),
    Step(
        "server_model",
        "deadline_day",
        ("--open-loop", "--models", "2x8,4x4,8x2,4x8,5x1", "--rates", "8,16,24", "--window", "20"),
        (*SMALL_OPEN, "--models", "2x8,4x4", "--rates", "4", *SMALL_LOAD),
    ),
)


@dataclass
class Outcome:
    step: Step
    command: str
    seconds: float
    status: int
    report: str | None
    summary: Summary | None


# ---------------------------------------------------------------- running


def run_step(step: Step, quick: bool, url: str, work: Path) -> Outcome:
    """One benchmark in its own process, its output shown as it comes."""
    arguments = [*(step.quick if quick else step.full)]
    report, summary = work / f"{step.name}.md", work / f"{step.name}.json"
    command = [sys.executable, "-m", f"bench.{step.module}", *arguments]
    shown = " ".join(["python", "-m", f"bench.{step.module}", *arguments])
    print(f"\n== {shown}", flush=True)
    started = time.perf_counter()
    status = subprocess.call(  # noqa: S603 - our own modules, fixed arguments
        [*command, "--output", str(report), "--summary", str(summary)],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
    )
    seconds = time.perf_counter() - started
    print(f"== {shown}: exit {status} after {seconds:.0f} s", flush=True)
    return Outcome(
        step,
        shown,
        seconds,
        status,
        report.read_text(encoding="utf-8").strip() if report.exists() else None,
        Summary.read(summary) if summary.exists() else None,
    )


# ---------------------------------------------------------------- ratios


def ceiling_for(ceilings: Sequence[CeilingFigure], name: str, clients: int) -> CeilingFigure | None:
    """The ceiling measured with ``clients`` clients, else the nearest level below, else above."""
    mine = sorted((c for c in ceilings if c.name == name), key=lambda c: c.clients)
    below = [c for c in mine if c.clients <= clients]
    return below[-1] if below else (mine[0] if mine else None)


def ratio_text(headline: Headline, ceilings: Sequence[CeilingFigure]) -> str:
    """A rate as a share of the one-INSERT view's requests/s; a latency as a multiple of the
    fixed-JSON view's p50 — each at the headline's number of clients."""
    if headline.kind == LATENCY:
        ceiling = ceiling_for(ceilings, "json", headline.clients)
        if ceiling is None or not ceiling.p50_ms or headline.p50_ms is None:
            return "–"
        return f"{headline.p50_ms / ceiling.p50_ms:,.0f}× JSON p50 (C={ceiling.clients})"
    ceiling = ceiling_for(ceilings, "insert", headline.clients)
    if ceiling is None or not ceiling.rate or headline.rate is None:
        return "–"
    share = headline.rate / ceiling.rate
    shown = f"{share:,.0f}×" if share >= 10 else f"{share:.1%} of"
    return f"{shown} INSERT/s (C={ceiling.clients})"


def _number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or value != value else f"{value:,.{digits}f}"


def headline_rows(outcomes: Sequence[Outcome], ceilings: Sequence[CeilingFigure]) -> list[list]:
    rows = []
    for outcome in outcomes:
        for h in outcome.summary.headlines if outcome.summary else ():
            result = (
                f"**{_number(h.rate, 1)} {h.unit}/s**"
                if h.rate is not None
                else f"**{_number(h.p50_ms, 1)} ms**"
            )
            rows.append(
                [
                    outcome.step.name,
                    h.measure,
                    result,
                    _number(h.p50_ms, 1),
                    _number(h.p95_ms, 1),
                    _number(h.p99_ms, 1),
                    ratio_text(h, ceilings),
                    h.sql,
                ]
            )
    return rows


def ceiling_rows(ceilings: Sequence[CeilingFigure]) -> list[list]:
    levels = sorted({c.clients for c in ceilings})
    rows = []
    for clients in levels:
        row: list = [clients]
        for name in ("json", "insert"):
            c = ceiling_for(ceilings, name, clients)
            row += (
                [_number(c.rate), _number(c.p50_ms, 1), _number(c.p95_ms, 1)]
                if c and c.clients == clients
                else ["–"] * 3
            )
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the document


def _git(*arguments: str) -> str:
    return subprocess.run(  # noqa: S603 - git with our own fixed arguments
        ["git", *arguments],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _commit() -> str:
    try:
        commit, dirty = _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain", "-uno")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if dirty else "")


def summary_block(
    outcomes: Sequence[Outcome], started: dt.datetime, seconds: float, loads: tuple[float, float]
) -> str:
    ceilings = [c for o in outcomes if o.summary for c in o.summary.ceilings]
    facts = next((o.summary.machine for o in outcomes if o.summary and o.summary.machine), [])
    facts = [pair for pair in facts if not pair[0].startswith("Load average")]  # one module's
    facts.append(
        ("Load average (1 min) before / after the run", f"{loads[0]:.2f} / {loads[1]:.2f}")
    )
    runs = [
        [
            o.step.name,
            f"`{o.command}`",
            f"{o.seconds / 60:.1f} min",
            "passed"
            if o.status == 0 and o.summary and o.summary.ok
            else f"**FAILED** (exit {o.status})",
        ]
        for o in outcomes
    ]
    return "\n".join(
        [
            f"Made by `make bench` on {started:%Y-%m-%d %H:%M} (Asia/Shanghai) at commit "
            f"{_commit()}; {seconds / 60:.0f} min in all. Every block marked *latest `make "
            "bench`* below comes from this run.",
            "",
            "#### Machine",
            table(["", ""], facts),
            "",
            "#### Ceilings: the same server set-up answering a fixed JSON body, and doing one "
            "INSERT in a transaction (requests/s; ms)",
            table(
                ["clients", "fixed JSON /s", "p50", "p95", "one INSERT /s", "p50", "p95"],
                ceiling_rows(ceilings),
            ),
            "",
            "#### Every measured figure, against its ceiling, with its SQL statements",
            "A rate is given as a share of the one-INSERT ceiling's requests/s, a latency as a "
            "multiple of the fixed-JSON ceiling's p50, each at the same number of concurrent "
            "clients (the nearest level measured below it). In-process figures (fund forms, "
            "matching, the board) are compared with the same HTTP ceilings: a yardstick of the "
            "machine's speed in this run, not a bound. SQL statements are counted per request "
            "(HTTP benchmarks: in-process on one request at a time; deadline day: by the server "
            "under load, median and range).",
            "",
            table(
                [
                    "benchmark",
                    "measure",
                    "result",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "to its ceiling",
                    "SQL statements",
                ],
                headline_rows(outcomes, ceilings),
                labels=2,
            ),
            "",
            "#### Benchmarks run",
            table(["benchmark", "command", "time", "checks"], runs, labels=2),
        ]
    )


def marker(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- make bench: {re.escape(name)} -->\n)(.*?)(<!-- /make bench: {re.escape(name)} -->)",
        re.DOTALL,
    )


def missing_blocks(text: str, names: Sequence[str]) -> list[str]:
    return [name for name in names if not marker(name).search(text)]


def replace_block(text: str, name: str, content: str) -> str:
    """The document with block ``name``'s content replaced (the markers stay)."""
    found = marker(name).search(text)
    if found is None:
        raise ValueError(f"docs/benchmarks.md has no block '{name}'")
    return text[: found.start(2)] + content.rstrip() + "\n" + text[found.end(2) :]


def write_document(
    path: Path, outcomes: Sequence[Outcome], summary: str, when: dt.datetime
) -> None:
    text = replace_block(path.read_text(encoding="utf-8"), "summary", summary)
    for outcome in outcomes:
        if outcome.report is not None and outcome.status == 0:
            heading = (
                f"*Latest `make bench`, {when:%Y-%m-%d}:* `{outcome.command}`, "
                f"{outcome.seconds / 60:.1f} min."
            )
            text = replace_block(text, outcome.step.name, f"{heading}\n\n{outcome.report}")
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- main


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; writes no document")
    parser.add_argument(
        "--only", help="comma-separated benchmarks: " + ",".join(s.name for s in STEPS)
    )
    parser.add_argument("--output", type=Path, help=f"the document to update (default {DOCUMENT})")
    args = parser.parse_args(argv)
    names = {s.name for s in STEPS}
    args.only = args.only.split(",") if args.only else [s.name for s in STEPS]
    if unknown := sorted(set(args.only) - names):
        parser.error(f"unknown benchmarks: {', '.join(unknown)}")
    if args.output is None and not args.quick and len(args.only) == len(STEPS):
        args.output = DOCUMENT  # only a whole full-size run rewrites the document by default
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    steps = [s for s in STEPS if s.name in args.only]
    if args.output and (
        missing := missing_blocks(args.output.read_text("utf-8"), ["summary", *args.only])
    ):
        print(f"{args.output} lacks the blocks: {', '.join(missing)}", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    started, clock, load_before = dt.datetime.now(SHANGHAI), time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="policywindow-make-bench-") as work:
        outcomes = [run_step(step, args.quick, url, Path(work)) for step in steps]
    loads = (load_before, os.getloadavg()[0])
    block = summary_block(outcomes, started, time.perf_counter() - clock, loads)
    print("\n" + block)
    if args.output:
        write_document(args.output, outcomes, block, started)
        print(f"\nwritten: {args.output}")
    failed = [o.step.name for o in outcomes if o.status != 0 or not (o.summary and o.summary.ok)]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
