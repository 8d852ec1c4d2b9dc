"""The period filter of the data board: local dates (Asia/Shanghai) of submission."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from policywindow.workflow.forms import PeriodForm as BasePeriodForm


class PeriodForm(BasePeriodForm):
    """Applications submitted in the period; this year so far by default."""

    start_label = "申报日期自"

    def default_start(self, end: dt.date) -> dt.date:
        return end.replace(month=1, day=1)


def quick_periods(today: dt.date | None = None) -> list[tuple[str, dt.date, dt.date]]:
    """The periods a leader asks for most: this year, this quarter, the last 30 days, last year."""
    today = today or timezone.localdate()
    quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    last_year = today.year - 1
    return [
        ("本年度", today.replace(month=1, day=1), today),
        ("本季度", quarter, today),
        ("近30日", today - dt.timedelta(days=29), today),
        ("上年度", dt.date(last_year, 1, 1), dt.date(last_year, 12, 31)),
    ]
