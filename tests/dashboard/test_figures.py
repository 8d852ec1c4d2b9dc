"""Each headline figure of the data board, recounted from the rows as its definition
(dashboard/figures.py) words it (recount.py), and shown on the page with that definition
beside it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.dashboard import selectors
from policywindow.dashboard.figures import FIGURES
from policywindow.workflow.selectors import Period

from .conftest import NOW
from .recount import recount

pytestmark = pytest.mark.django_db

YEAR = Period(dt.date(2026, 1, 1), dt.date(2026, 11, 26))


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
