"""The headline figures a benchmark hands to ``python -m bench`` (its ``--summary FILE``).

A headline is one measured thing, either a **rate** (units of work per second, with the
latency of one unit) or a **latency** (one request, p50/p95 ms), with the SQL statements it
ran. ``python -m bench`` compares each with a ceiling measured in the same run on the same
server set-up: a rate with the one-INSERT view's requests/s, a latency with the fixed-JSON
view's p50, both at the headline's number of concurrent clients.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """``--output`` and ``--summary``, which ``python -m bench`` gives every benchmark."""
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--summary", type=Path, help="write the headline figures (JSON) here")


RATE = "rate"
LATENCY = "latency"


@dataclass(frozen=True)
class Headline:
    measure: str
    kind: str  # RATE or LATENCY
    clients: int = 1  # concurrent clients it was measured with: picks the ceiling
    rate: float | None = None  # per second, for a RATE
    unit: str = ""  # what the rate counts ("submissions", "forms", …)
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    sql: str = "–"  # statements per request, or per unit of work as the text says


def rate_headline(
    measure: str, clients: int, rate: float, unit: str, seconds: list[float], sql: str
) -> Headline:
    """A rate with the p50/p95 of its units of work (``seconds``, one per unit)."""
    from ._report import percentile

    return Headline(
        measure,
        RATE,
        clients,
        rate=rate,
        unit=unit,
        p50_ms=percentile(seconds, 50) * 1000,
        p95_ms=percentile(seconds, 95) * 1000,
        sql=sql,
    )


@dataclass(frozen=True)
class CeilingFigure:
    name: str  # "json" or "insert"
    clients: int
    rate: float
    p50_ms: float
    p95_ms: float


@dataclass
class Summary:
    benchmark: str
    ok: bool
    seconds: float = 0.0
    machine: list[tuple[str, str]] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)
    ceilings: list[CeilingFigure] = field(default_factory=list)

    def write(self, path: Path | str | None) -> None:
        if path:
            Path(path).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), "utf-8")

    @classmethod
    def read(cls, path: Path) -> Summary:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            benchmark=data["benchmark"],
            ok=data["ok"],
            seconds=data.get("seconds", 0.0),
            machine=[tuple(pair) for pair in data.get("machine", [])],
            headlines=[Headline(**item) for item in data.get("headlines", [])],
            ceilings=[CeilingFigure(**item) for item in data.get("ceilings", [])],
        )
