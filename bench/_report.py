"""Percentiles, the machine description and Markdown tables for benchmark reports."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear between closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], labels: int = 1) -> str:
    """A Markdown table: the first ``labels`` columns left-aligned, the others right (numbers)."""
    align = [":---" if n < labels else "---:" for n in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine(database: dict[str, str], server: str) -> list[tuple[str, str]]:
    """What the numbers were measured on; ``database`` holds PostgreSQL facts, ``server`` gunicorn's."""
    import django

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", f"{cpus} × {_cpu_model()} (nproc = {cpus})"),
        ("Memory", _memory_gib()),
        ("OS", platform.platform()),
        ("PostgreSQL", database.get("version", "?")),
        (
            "PostgreSQL settings",
            ", ".join(f"{k}={v}" for k, v in database.items() if k != "version"),
        ),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Django", django.get_version()),
        ("Server", server),
    ]


def database_facts() -> dict[str, str]:
    from django.db import connection

    names = ["server_version", "max_connections", "shared_buffers", "synchronous_commit", "fsync"]
    facts = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SHOW {name}")
            facts[name] = cursor.fetchone()[0]
    facts["version"] = facts.pop("server_version")
    return facts
