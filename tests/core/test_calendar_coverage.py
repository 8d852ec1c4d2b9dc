"""The workbench warns staff before the holiday table runs out (deadlines cannot be computed)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from policywindow.core import calendar
from policywindow.core.models import CalendarDay

pytestmark = pytest.mark.django_db


def test_no_warning_while_the_table_reaches_far_enough():
    last = calendar.covered_range()[1]
    assert calendar.coverage_warning(last - dt.timedelta(days=46)) == ""


def test_a_warning_names_the_last_day_and_the_year_to_enter():
    last = calendar.covered_range()[1]
    warning = calendar.coverage_warning(last - dt.timedelta(days=35))
    assert f"节假日表仅维护至 {last:%Y-%m-%d}（还剩 35 天）" in warning
    assert f"按年导入 {last.year + 1} 年的放假安排" in warning
    assert "按周末推算并标注“暂定”" in warning


def test_past_the_end_the_warning_says_deadlines_are_provisional():
    last = calendar.covered_range()[1]
    warning = calendar.coverage_warning(last + dt.timedelta(days=3))
    assert f"节假日表仅维护至 {last:%Y-%m-%d}，此后的办理期限按周末推算并标注“暂定”" in warning
    assert "导入后暂定期限自动重算" in warning


def test_staff_see_it_on_the_workbench_enterprises_do_not(make_user, login, monkeypatch):
    last = calendar.covered_range()[1]
    monkeypatch.setattr(timezone, "localdate", lambda *args: last - dt.timedelta(days=5))
    staff = login(make_user("reviewer1", "reviewer")).get("/").content.decode()
    assert 'data-testid="calendar-warning"' in staff and "还剩 5 天" in staff
    assert "前往节假日管理" not in staff  # only for those who may edit the calendar
    admin = login(make_user("admin1", "sys_admin")).get("/").content.decode()
    assert "前往节假日管理" in admin
    company = login(make_user("qiye1", "enterprise", kind="enterprise")).get("/").content
    assert b"calendar-warning" not in company


def test_an_empty_table_is_a_warning_too():
    CalendarDay.objects.all().delete()
    assert "节假日表为空" in calendar.coverage_warning(dt.date(2026, 11, 26))
