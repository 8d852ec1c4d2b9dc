"""The data board's numbers against the hand-built province (conftest), its data scope, the
period filter (Asia/Shanghai dates), the Excel export and the number of SQL queries."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from policywindow.applications.models import ApplicationStatus as S
from policywindow.dashboard import selectors
from policywindow.dashboard.forms import PeriodForm
from policywindow.workflow.selectors import Period
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version

from .conftest import dalian_enterprise, shanghai

pytestmark = pytest.mark.django_db

YEAR = Period(dt.date(2026, 1, 1), dt.date(2026, 11, 26))
URL = "/dashboard/"
EXPORT = "/dashboard/export/"


def _by_label(rows) -> dict[str, selectors.Tally]:
    return {row.label: row for row in rows}


def test_counts_per_status_rule_department_city_and_month(province):
    board = selectors.board(province["bureau"], YEAR)
    counts = {row.status: row.count for row in board.by_status}
    assert counts == {
        **{status: 0 for status, _ in S.choices if status != S.DRAFT},
        S.DISBURSED: 1,
        S.IN_REVIEW: 1,
        S.REJECTED: 1,
        S.APPROVED: 1,
        S.SUBMITTED: 1,
    }
    assert [(row.label, row.total) for row in board.by_rule] == [
        ("研发费用后补助", 3),
        ("出口信用保险保费补助", 2),
    ]
    rule_a = board.by_rule[0]
    assert rule_a.stages == {"intake": 0, "review": 1, "passed": 0, "paid": 1, "closed": 1}
    assert rule_a.approval_rate == 50.0
    departments = _by_label(board.by_department)
    assert {name: row.total for name, row in departments.items()} == {"省科技厅": 3, "省商务厅": 2}
    # A district of 大连 counts for 大连市.
    assert [(row.label, row.total) for row in board.by_city] == [("沈阳市", 3), ("大连市", 2)]
    months = {row.label: row.total for row in board.by_month}
    assert len(months) == 11 and months["2026-01"] == 1  # 00:30 on 1 January in Shanghai
    assert (months["2026-02"], months["2026-03"], months["2026-04"], months["2026-11"]) == (
        0,
        2,
        2,
        0,
    )
    assert board.total.total == 5


def test_amounts_against_the_budgets(province):
    board = selectors.board(province["bureau"], YEAR)
    assert board.total.approved_amount == Decimal("450000.50")
    assert board.total.paid_amount == Decimal("300000.00")
    assert _by_label(board.by_department)["省商务厅"].approved_amount == Decimal("150000.50")
    budgets = {row.budget.pk for row in board.budgets}
    assert budgets == {province["budgets"]["a"].pk, province["budgets"]["b"].pk}  # not 2024
    assert (board.budget_total, board.budget_committed, board.budget_disbursed) == (
        Decimal("1500000.00"),
        Decimal("450000.50"),
        Decimal("300000.00"),
    )
    assert board.budget_percent == Decimal("30.0")


def test_one_week_limit_per_department(province):
    board = selectors.board(province["bureau"], YEAR)
    rows = {
        row.label: (row.total, row.on_time, row.open_overdue, row.rate, row.avg_days)
        for row in board.timeliness
    }
    # 省科技厅: the case still in review since March (due 28 March) counts against the rate.
    assert rows == {"省科技厅": (3, 1, 1, 33.3, 7.0), "省商务厅": (1, 1, 0, 100.0, 4.0)}
    total = board.timeliness_total
    assert (total.total, total.on_time, total.open_overdue, total.rate, total.avg_days) == (
        4,
        2,
        1,
        50.0,
        6.0,
    )


def test_oldest_open_cases_first_whatever_the_period(province):
    cases = province["cases"]
    board = selectors.board(province["bureau"], Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    shown = [item.application.pk for item in board.oldest_open]
    expected = ["last_year", "new_year", "reviewing", "approved"]  # no 补正, no closed case
    assert shown == [cases[key].pk for key in expected]
    assert board.oldest_open[0].days_open == 330  # 2025-12-31 to 2026-11-26 (the clock)


def test_a_department_sees_only_its_own_cases(province):
    tech = selectors.board(province["tech_leader"], YEAR)
    assert tech.total.total == 3
    assert [row.label for row in tech.by_rule] == ["研发费用后补助"]
    assert [row.label for row in tech.by_department] == ["省科技厅"]
    assert [row.budget.pk for row in tech.budgets] == [province["budgets"]["a"].pk]
    assert [row.label for row in tech.timeliness] == ["省科技厅"]
    assert [item.application.pk for item in tech.oldest_open] == [province["cases"]["reviewing"].pk]
    assert tech.scope_label == "省科技厅"
    commerce = selectors.board(province["commerce_chief"], YEAR)
    assert commerce.total.total == 2
    assert commerce.total.approved_amount == Decimal("150000.50")
    assert {row.label for row in commerce.by_city} == {"沈阳市", "大连市"}


@pytest.mark.parametrize(
    ("start", "end", "total"),
    [
        ("2026-03-01", "2026-03-31", 2),
        ("2026-01-01", "2026-01-01", 1),  # 00:30 Shanghai is 2025 in UTC, still counted here
        ("2025-12-31", "2025-12-31", 1),  # 23:30 Shanghai on the 31st
        ("2026-03-31", "2026-03-01", 2),  # backwards: swapped
    ],
)
def test_period_filter_in_shanghai_dates(province, login, start, end, total):
    response = login(province["bureau"]).get(URL, {"start": start, "end": end})
    assert response.status_code == 200
    board = response.context["board"]
    assert board.total.total == total
    assert board.period == Period(
        *sorted((dt.date.fromisoformat(start), dt.date.fromisoformat(end)))
    )


def test_default_period_is_this_year_and_a_bad_date_is_reported(province, login):
    assert PeriodForm({}).period() == YEAR
    response = login(province["bureau"]).get(URL, {"start": "2026-13-40"})
    assert response.context["board"].period == YEAR
    assert "请输入正确的日期" in response.content.decode()


def test_page_shows_charts_tables_and_case_links(province, login):
    html = login(province["bureau"]).get(URL).content.decode()
    assert "vendor/echarts/echarts.min.js" in html and 'id="db-chart-data"' in html
    for chart in ("month", "stage_share", "department", "timeliness", "rule", "city", "budget"):
        assert f'data-chart="{chart}"' in html
    for table in ("by-status", "by-month", "by-department", "by-rule", "by-city", "budgets"):
        assert f'data-testid="{table}"' in html
    # Not in a workflow (built directly): the bureau opens it through 办件查询.
    reviewing = province["cases"]["reviewing"]
    assert f'href="{reverse("applications:case_detail", args=[reviewing.pk])}"' in html
    assert 'data-testid="board-export"' in html


def test_export_writes_one_sheet_per_table_and_the_filters_first(province, login):
    response = login(province["tech_leader"]).get(
        EXPORT, {"start": "2026-03-01", "end": "2026-04-30"}
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "概览",
        "按状态",
        "按政策细则",
        "按部门",
        "按地市",
        "按月份",
        "预算执行",
        "办理时效",
        "在办最久案件",
    ]
    first = {row[0]: row[1] for row in book["概览"].iter_rows(values_only=True) if row[0]}
    assert first["统计期间"].startswith("2026-03-01 至 2026-04-30")
    assert first["数据范围"] == "省科技厅"
    assert first["导出人"] == "科技厅李处长"
    assert first["申报件数"] == 3
    assert first["核定金额（元）"] == 300000
    rules = list(book["按政策细则"].iter_rows(min_row=2, values_only=True))
    assert rules[0][:2] == ("研发费用后补助", 3) and rules[-1][0] == "合计"
    months = [row[0] for row in book["按月份"].iter_rows(min_row=2, values_only=True)]
    assert months == ["2026-03", "2026-04", "合计"]
    open_cases = list(book["在办最久案件"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in open_cases] == [province["cases"]["reviewing"].number]


def _more_cases(province) -> None:
    """Another department, rule and city and cases in more months: rows, not queries."""
    from policywindow.system.models import Department

    other = Department.objects.create(name="省工信厅", code="DASHX", path="/")
    other.path = f"/{other.pk}/"
    other.save()
    version = make_version(other, title="智能工厂奖励")
    for month in (5, 6, 7):
        make_case(
            version,
            make_enterprise(),
            province["applicant"],
            status=S.IN_REVIEW,
            submitted_at=shanghai(2026, month, 3, 10),
        )
    make_case(
        version,
        dalian_enterprise(),
        province["applicant"],
        status=S.SUBMITTED,
        submitted_at=shanghai(2026, 8, 3),
    )


def _queries(client) -> int:
    client.get(URL)  # warm per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["bureau", "tech_leader"])
def test_the_page_costs_a_fixed_number_of_queries(province, login, who):
    client = login(province[who])
    few = _queries(client)
    _more_cases(province)
    assert _queries(client) == few
    # Under ten for any signed-in page (session, user, parameters, sidebar, notifications),
    # the rest for the board: data scope, one read of the rollups and the names of what it
    # counted (rules, departments, cities), budgets, open cases, calendar (was 25–27 before
    # the rollups).
    assert few <= 15, f"{few} queries"
