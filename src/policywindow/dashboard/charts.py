"""The board's figures as the ECharts script (``static/dashboard/board.js``) reads them.

Money goes to the charts in 万元, still ``Decimal`` (``json_script`` writes it as a string,
which ECharts reads as a number); the tables and the export keep the exact yuan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from policywindow.core.money import CENT

from .selectors import STAGES, Board, Tally

TEN_THOUSAND = Decimal("10000")
TOP_RULES = 12


def wan(amount: Decimal) -> Decimal:
    return (amount / TEN_THOUSAND).quantize(CENT)


def _stacked(rows: list[Tally]) -> dict[str, Any]:
    return {
        "labels": [row.label for row in rows],
        "series": [
            {"key": stage.key, "name": stage.label, "data": [row.stages[stage.key] for row in rows]}
            for stage in STAGES
        ],
    }


def chart_data(board: Board) -> dict[str, Any]:
    months = board.by_month
    return {
        "stages": [{"key": stage.key, "name": stage.label} for stage in STAGES],
        "month": {
            **_stacked(months),
            "approved_amount": [wan(row.approved_amount) for row in months],
        },
        "stage_share": [
            {"key": stage.key, "name": stage.label, "value": board.total.stages[stage.key]}
            for stage in STAGES
        ],
        "department": _stacked(board.by_department),
        "rule": _stacked(board.by_rule[:TOP_RULES]),
        "city": {
            "labels": [row.label for row in board.by_city],
            "total": [row.total for row in board.by_city],
            "approved": [row.approved for row in board.by_city],
            "approved_amount": [wan(row.approved_amount) for row in board.by_city],
        },
        "budget": {
            "labels": [row.label for row in board.budgets],
            "disbursed": [wan(row.budget.disbursed) for row in board.budgets],
            "committed": [
                wan(row.budget.committed - row.budget.disbursed) for row in board.budgets
            ],
            "left": [wan(row.budget.left) for row in board.budgets],
        },
        "timeliness": {
            "labels": [row.label for row in board.timeliness],
            "rate": [row.rate for row in board.timeliness],
            "avg_days": [row.avg_days for row in board.timeliness],
            "total": [row.total for row in board.timeliness],
        },
    }
