"""`make bench` writes docs/benchmarks.md: ratios to the ceilings, the blocks it replaces."""

from pathlib import Path

import pytest
from bench.__main__ import (
    DOCUMENT,
    STEPS,
    Outcome,
    Step,
    ceiling_for,
    headline_rows,
    missing_blocks,
    ratio_text,
    replace_block,
)
from bench._summary import LATENCY, RATE, CeilingFigure, Headline, Summary

CEILINGS = [
    CeilingFigure("json", 1, rate=1000.0, p50_ms=2.0, p95_ms=3.0),
    CeilingFigure("json", 4, rate=2000.0, p50_ms=4.0, p95_ms=6.0),
    CeilingFigure("insert", 1, rate=500.0, p50_ms=2.5, p95_ms=4.0),
    CeilingFigure("insert", 4, rate=800.0, p50_ms=5.0, p95_ms=9.0),
]


def test_the_ceiling_is_the_one_at_the_same_clients_or_the_nearest_below():
    assert ceiling_for(CEILINGS, "insert", 4).rate == 800.0
    assert ceiling_for(CEILINGS, "insert", 16).clients == 4  # nearest level below
    assert ceiling_for(CEILINGS, "json", 0).clients == 1  # none below: the lowest
    assert ceiling_for([], "json", 1) is None


def test_a_rate_is_a_share_of_the_insert_ceiling_and_a_latency_a_multiple_of_json_p50():
    rate = Headline("decisions", RATE, 4, rate=40.0, unit="decisions", p50_ms=90.0)
    latency = Headline("to-do list", LATENCY, 1, p50_ms=30.0, p95_ms=45.0)
    assert ratio_text(rate, CEILINGS) == "5.0% of INSERT/s (C=4)"
    fast = Headline("evaluations", RATE, 1, rate=60_000.0, unit="evaluations")
    assert ratio_text(fast, CEILINGS) == "120× INSERT/s (C=1)"
    assert ratio_text(latency, CEILINGS) == "15× JSON p50 (C=1)"
    assert ratio_text(latency, []) == "–"


def test_headline_rows_carry_result_percentiles_ratio_and_sql():
    summary = Summary(
        "approvals",
        True,
        headlines=[Headline("case page", LATENCY, 1, p50_ms=12.5, p95_ms=20.0, sql="14")],
    )
    outcome = Outcome(
        Step("approvals", "approvals"), "python -m bench.approvals", 1.0, 0, "", summary
    )
    (row,) = headline_rows([outcome], CEILINGS)
    assert row == [
        "approvals",
        "case page",
        "**12.5 ms**",
        "12.5",
        "20.0",
        "–",
        "6× JSON p50 (C=1)",
        "14",
    ]


def test_a_block_is_replaced_between_its_markers_and_the_prose_around_it_stays():
    text = (
        "intro\n<!-- make bench: fundforms -->\nold table\n<!-- /make bench: fundforms -->\nprose\n"
    )
    replaced = replace_block(text, "fundforms", "new table\n\n")
    assert replaced == (
        "intro\n<!-- make bench: fundforms -->\nnew table\n<!-- /make bench: fundforms -->\nprose\n"
    )
    assert missing_blocks(text, ["fundforms", "matching"]) == ["matching"]
    with pytest.raises(ValueError, match="matching"):
        replace_block(text, "matching", "x")


def test_the_document_has_a_block_for_the_summary_and_every_benchmark():
    text = Path(DOCUMENT).read_text(encoding="utf-8")
    assert missing_blocks(text, ["summary", *(step.name for step in STEPS)]) == []


def test_every_benchmark_module_is_run_by_make_bench():
    """A new bench/<name>.py must be added to STEPS (and get a block in the document)."""
    modules = {
        path.stem for path in Path(DOCUMENT).parent.parent.joinpath("bench").glob("[!_]*.py")
    }
    assert modules == {step.module for step in STEPS}
