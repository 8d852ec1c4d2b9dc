"""The data board recounted from the application and budget rows in plain Python, as its
figures are worded (dashboard/figures.py, applications.selectors_review.CASE_ON_TIME): the
headline figures (``recount``) and every table (``recount_tables``), optionally for some
departments only.

Not a test module: test_figures.py and test_rollups.py hold the board to these counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.money import percent_of
from policywindow.finance.models import Budget
from policywindow.workflow.selectors import Period

ZERO = Decimal("0")
STAGES = {
    "intake": {S.SUBMITTED, S.SUPPLEMENT_REQUIRED},
    "review": {S.IN_REVIEW},
    "passed": {S.APPROVED, S.IN_PUBLICITY, S.PUBLICITY_PASSED, S.OBJECTION, S.IN_FINANCE},
    "paid": {S.DISBURSED, S.ARCHIVED},
    "closed": {S.REJECTED, S.NOT_ACCEPTED, S.WITHDRAWN},
}
APPROVED = STAGES["passed"] | STAGES["paid"]
CLOSED = STAGES["closed"]
PAID = STAGES["paid"]


def _local(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment else None


def _cases(departments: set[int] | None) -> list[Application]:
    cases = Application.objects.select_related("enterprise")
    if departments is not None:
        cases = cases.filter(department_id__in=departments)
    return list(cases)


def _filed(cases: list[Application], period: Period) -> list[Application]:
    return [
        c
        for c in cases
        if c.status != S.DRAFT
        and c.submitted_at
        and period.start <= _local(c.submitted_at) <= period.end
    ]


def _decided(cases: list[Application], period: Period) -> list[Application]:
    return [
        c
        for c in cases
        if c.accepted_at and c.due_at and c.decided_at
        if period.start <= _local(c.decided_at) <= period.end
    ]


def _lapsed(cases: list[Application], period: Period, now: dt.datetime) -> list[Application]:
    return [
        c
        for c in cases
        if c.accepted_at and c.due_at and c.decided_at is None and c.status == S.IN_REVIEW
        if period.start <= _local(c.due_at) <= period.end and c.due_at < now
    ]


def recount(
    period: Period, now: dt.datetime, departments: set[int] | None = None
) -> dict[str, object]:
    """Every headline figure from the application and budget rows, in plain Python."""
    cases = _cases(departments)
    filed = _filed(cases, period)
    approved = [c for c in filed if c.status in APPROVED]
    closed = [c for c in filed if c.status in CLOSED]
    budgets = [
        b
        for b in Budget.objects.select_related("rule__current")
        if period.start.year <= b.year <= period.end.year
        if departments is None or b.rule.current.lead_department_id in departments
    ]
    decided = _decided(cases, period)
    lapsed = _lapsed(cases, period, now)
    due = decided + lapsed
    on_time = [c for c in decided if c.decided_at <= c.due_at]
    hours = [(c.decided_at - c.accepted_at).total_seconds() / 3600 for c in decided]
    decisions = len(approved) + len(closed)
    return {
        "total": len(filed),
        "approved": len(approved),
        "approval_rate": round(len(approved) * 100 / decisions, 1) if decisions else None,
        "approved_amount": sum((c.approved_amount or ZERO for c in approved), ZERO),
        "paid_amount": sum((c.approved_amount or ZERO for c in filed if c.status in PAID), ZERO),
        "budget": percent_of(
            sum((b.committed for b in budgets), ZERO), sum((b.total for b in budgets), ZERO)
        ),
        "due": len(due),
        "open_overdue": len(lapsed),
        "on_time_rate": round(len(on_time) * 100 / len(due), 1) if due else None,
        "avg_days": round(sum(hours) / len(hours) / 24, 1) if hours else None,
    }


def _tally(cases: list[Application]) -> tuple:
    """(total, cases per stage, approved amount, paid amount) of a table row."""
    stages = {key: sum(c.status in statuses for c in cases) for key, statuses in STAGES.items()}
    approved = sum((c.approved_amount or ZERO for c in cases if c.status in APPROVED), ZERO)
    paid = sum((c.approved_amount or ZERO for c in cases if c.status in PAID), ZERO)
    return len(cases), stages, approved, paid


def _grouped(cases: list[Application], key) -> dict:
    groups = defaultdict(list)
    for case in cases:
        groups[key(case)].append(case)
    return {k: _tally(group) for k, group in groups.items()}


def recount_tables(
    period: Period, now: dt.datetime, departments: set[int] | None = None
) -> dict[str, object]:
    """Every table of the board from the rows: per status, rule, lead department, city and
    month (rows with cases only, months all), and the 一周办结 figures per department."""
    cases = _cases(departments)
    filed = _filed(cases, period)
    months = _grouped(filed, lambda c: _local(c.submitted_at).replace(day=1))
    month, every_month = period.start.replace(day=1), {}
    while month <= period.end:
        every_month[month] = months.get(month, _tally([]))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    decided = _decided(cases, period)
    lapsed = _lapsed(cases, period, now)
    timeliness = {}
    for pk in {c.department_id for c in decided + lapsed}:
        mine = [c for c in decided if c.department_id == pk]
        hours = [(c.decided_at - c.accepted_at).total_seconds() / 3600 for c in mine]
        overdue = sum(c.department_id == pk for c in lapsed)
        timeliness[pk] = (
            len(mine) + overdue,
            sum(c.decided_at <= c.due_at for c in mine),
            overdue,
            round(sum(hours) / len(hours), 1) if hours else None,
        )
    return {
        "by_status": {
            status: (
                sum(c.status == status for c in filed),
                sum((c.approved_amount or ZERO for c in filed if c.status == status), ZERO)
                if status in APPROVED
                else ZERO,
            )
            for status, _label in S.choices
            if status != S.DRAFT
        },
        "by_rule": _grouped(filed, lambda c: c.rule_id),
        "by_department": _grouped(filed, lambda c: c.department_id),
        "by_city": _grouped(filed, lambda c: c.enterprise.region_id[:4]),
        "by_month": every_month,
        "timeliness": timeliness,
    }
