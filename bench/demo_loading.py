"""How long the demo data takes to load (issue 15): what ``make demo`` does on a fresh database.

    make bench
    # or: DATABASE_URL=postgres://postgres@127.0.0.1:5432/policywindow_bench \
    #     .venv/bin/python -m bench.demo_loading

On a freshly migrated database (untimed), the demo's accounts (``system.demo.load_demo``,
real password hashing) and then its business data (``demo.loader.load_business_demo``:
policies, enterprises, cases through the real services, their PDFs, publicity, payment) are
loaded and timed, each with its SQL statements; then the whole load is run again, which must
create nothing (a second ``make demo``). This was a test's ``seconds < 20`` assertion, which
failed on a busy machine: a time is a measurement, reported here, not a pass/fail check. The
run fails only when the first load creates nothing or the second creates something.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._database import database_url, prepare_django, recreate
from ._report import database_facts, machine, table
from ._sql import counting
from ._summary import LATENCY, Headline, Summary, add_report_arguments


@dataclass(frozen=True)
class Step:
    name: str
    created: int
    seconds: float
    statements: int


def timed(name: str, load: Callable[[], int]) -> Step:
    with counting() as statements:
        started = time.perf_counter()
        created = load()
        seconds = time.perf_counter() - started
    return Step(name, created, seconds, statements.count)


def load_steps() -> list[Step]:
    from policywindow.demo.loader import load_business_demo
    from policywindow.system.demo import load_demo

    first = [
        timed("演示账号 (load_demo)", load_demo),
        timed("业务数据 (load_business_demo)", load_business_demo),
    ]
    again = timed("再次载入 (second make demo)", lambda: load_demo() + load_business_demo())
    return [*first, again]


def report(steps: list[Step], facts: list[tuple[str, str]]) -> str:
    rows = [[s.name, s.created, f"{s.seconds:.1f}", f"{s.statements:,}"] for s in steps]
    total = steps[0].seconds + steps[1].seconds
    return "\n".join(
        [
            f"First load: **{total:.1f} s** (accounts and business data; migrations not "
            "counted). A second load creates nothing.",
            "",
            table(["step", "rows created", "seconds", "SQL statements"], rows),
            "",
            table(["", ""], facts),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_report_arguments(parser)
    args = parser.parse_args()
    url = database_url()
    recreate(url)
    data_dir = prepare_django(url)
    try:
        steps = load_steps()
        accounts, business, again = steps
        ok = business.created > 0 and again.created == 0
        facts = machine(database_facts(), "none (service layer, one process)")
        text = report(steps, facts)
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        total_ms = (accounts.seconds + business.seconds) * 1000
        headline = Headline(
            "Demo data loaded on a fresh database (first make demo, one process)",
            LATENCY,
            p50_ms=total_ms,
            p95_ms=total_ms,
            sql=f"{accounts.statements + business.statements:,} in all",
        )
        summary = Summary("demo_loading", ok, total_ms / 1000, facts, [headline])
        summary.write(args.summary)
        if not ok:
            print(
                "\nFAILED: the first load created nothing or the second created rows",
                file=sys.stderr,
            )
            sys.exit(1)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
