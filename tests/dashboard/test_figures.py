"""Each headline figure of the data board, recounted here from the rows as its definition
(dashboard/figures.py) words it, and shown on the page with that definition beside it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.money import percent_of
from policywindow.dashboard import selectors
from policywindow.dashboard.figures import FIGURES
from policywindow.finance.models import Budget
from policywindow.workflow.selectors import Period

from .conftest import NOW

pytestmark = pytest.mark.django_db

YEAR = Period(dt.date(2026, 1, 1), dt.date(2026, 11, 26))
APPROVED = {
    S.APPROVED,
    S.IN_PUBLICITY,
    S.PUBLICITY_PASSED,
    S.OBJECTION,
    S.IN_FINANCE,
    S.DISBURSED,
    S.ARCHIVED,
}
CLOSED = {S.REJECTED, S.NOT_ACCEPTED, S.WITHDRAWN}
PAID = {S.DISBURSED, S.ARCHIVED}


def _local(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment else None


def recount(period: Period, now: dt.datetime) -> dict[str, object]:
    """Every headline figure from the application and budget rows, in plain Python."""
    cases = list(Application.objects.all())
    filed = [
        c
        for c in cases
        if c.status != S.DRAFT and period.start <= _local(c.submitted_at) <= period.end
    ]
    approved = [c for c in filed if c.status in APPROVED]
    closed = [c for c in filed if c.status in CLOSED]
    budgets = [b for b in Budget.objects.all() if period.start.year <= b.year <= period.end.year]
    decided = [
        c
        for c in cases
        if c.accepted_at and c.due_at and c.decided_at
        if period.start <= _local(c.decided_at) <= period.end
    ]
    lapsed = [
        c
        for c in cases
        if c.accepted_at and c.due_at and c.decided_at is None and c.status == S.IN_REVIEW
        if period.start <= _local(c.due_at) <= period.end and c.due_at < now
    ]
    due = decided + lapsed
    on_time = [c for c in decided if c.decided_at <= c.due_at]
    hours = [(c.decided_at - c.accepted_at).total_seconds() / 3600 for c in decided]
    return {
        "total": len(filed),
        "approved": len(approved),
        "approval_rate": round(len(approved) * 100 / (len(approved) + len(closed)), 1),
        "approved_amount": sum((c.approved_amount for c in approved), Decimal("0")),
        "paid_amount": sum((c.approved_amount for c in filed if c.status in PAID), Decimal("0")),
        "budget": percent_of(
            sum((b.committed for b in budgets), Decimal("0")),
            sum((b.total for b in budgets), Decimal("0")),
        ),
        "due": len(due),
        "open_overdue": len(lapsed),
        "on_time_rate": round(len(on_time) * 100 / len(due), 1),
        "avg_days": round(sum(hours) / len(hours) / 24, 1),
    }


def test_every_headline_figure_recounts_from_the_rows(province):
    board = selectors.board(province["bureau"], YEAR, NOW)
    expected = recount(YEAR, NOW)
    timely = board.timeliness_total
    assert {
        "total": board.total.total,
        "approved": board.total.approved,
        "approval_rate": board.total.approval_rate,
        "approved_amount": board.total.approved_amount,
        "paid_amount": board.total.paid_amount,
        "budget": board.budget_percent,
        "due": timely.total,
        "open_overdue": timely.open_overdue,
        "on_time_rate": timely.rate,
        "avg_days": timely.avg_days,
    } == expected
    # The case in review since March, due 28 March, is overdue: the rate is not 100 %.
    assert expected["open_overdue"] == 1 and expected["on_time_rate"] < 100


def test_an_overdue_open_case_lowers_the_rate_until_it_is_decided(province):
    reviewing = province["cases"]["reviewing"]
    before = selectors.board(province["bureau"], YEAR, NOW).timeliness_total
    Application.objects.filter(pk=reviewing.pk).update(status=S.SUPPLEMENT_REQUIRED)
    paused = selectors.board(province["bureau"], YEAR, NOW).timeliness_total
    # Waiting for the enterprise's 补正 stops the clock: not the government's delay.
    assert (before.total, paused.total) == (4, 3)
    assert (before.rate, paused.rate) == (50.0, 66.7)


def test_the_page_shows_each_figure_with_its_definition(province, login):
    html = login(province["bureau"]).get("/dashboard/").content.decode()
    expected = recount(YEAR, NOW)
    kpi = dict(re.findall(r'data-kpi="(\w+)">([\d.,]+)', html))
    assert int(kpi["total"]) == expected["total"]
    assert int(kpi["approved"]) == expected["approved"]
    assert float(kpi["on_time_rate"]) == expected["on_time_rate"]
    assert int(kpi["open_overdue"]) == expected["open_overdue"]
    assert float(kpi["avg_days"]) == expected["avg_days"]
    for key, figure in FIGURES.items():
        definition = re.search(
            rf'<details class="pw-figure-def" data-figure="{key}">.*?</details>', html, re.S
        )
        assert definition, key
        assert figure.counts in definition.group(0) and figure.as_of in definition.group(0)
