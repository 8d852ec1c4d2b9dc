"""按年导入 in the browser: the administrator pastes the State Council's 2026 notice into an
empty 2026, reads the preview, confirms, and the month view shows the holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from policywindow.applications.services import intake
from policywindow.core import holidays
from policywindow.core.models import AuditEvent, CalendarDay
from policywindow.system.services import config as services
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
)
from tests.system.holiday_notices import NOTICE_2026
from tests.workflow.factories import level, node, publish, users

from .conftest import at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_administrator_loads_2026_from_the_notice_text(page_for, sysadmin, shot):
    CalendarDay.objects.filter(date__year=2026).delete()
    page = page_for(sysadmin)
    page.goto("/system/calendar/?year=2026&month=2")
    expect(page.get_by_test_id("sum-missing")).to_have_text("28 天")
    page.get_by_test_id("year-import").click()
    expect(page).to_have_url(at("/system/calendar/year/"))

    # A wrong year in the field is caught by the weekdays and the title, on the field.
    page.locator("#id_notice-year").fill("2027")
    page.locator("#id_notice-text").fill(NOTICE_2026)
    page.get_by_test_id("notice-preview").click()
    expect(page.locator('[data-field-error="text"]')).to_contain_text(
        "通知标题为 2026 年，与所填年份 2027 年不一致"
    )
    shot(page, "form-error")

    page.locator("#id_notice-year").fill("")
    page.get_by_test_id("notice-preview").click()
    expect(page.locator("h1.pw-title")).to_have_text("预览：2026 年节假日安排")
    expect(page.get_by_test_id("sum-holidays")).to_have_text("33 天")
    expect(page.get_by_test_id("sum-makeup")).to_have_text("6 天")
    expect(page.get_by_test_id("sum-changes")).to_have_text("365 天")
    spring = page.locator('[data-testid="changes"] tr[data-date="2026-02-15"]')
    expect(spring).to_contain_text("春节")
    expect(spring).to_contain_text("未维护")
    expect(page.locator('tr[data-date="2026-02-28"]')).to_contain_text("春节调休上班")
    expect(page.get_by_test_id("plain-changes")).to_contain_text("其余 326 天")
    shot(page, "preview")
    assert not CalendarDay.objects.filter(date__year=2026).exists()

    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(at("/system/calendar/?year=2026&month=1"))
    expect(page.locator(".alert-success")).to_contain_text(
        "已导入 2026 年节假日安排，改动 365 个日期"
    )
    expect(page.locator('[data-date="2026-01-01"]')).to_have_attribute("data-kind", "holiday")
    expect(page.locator('[data-date="2026-01-04"]')).to_have_attribute("data-kind", "makeup")
    expect(page.get_by_test_id("sum-missing")).to_have_text("0 天")
    shot(page, "loaded")
    assert CalendarDay.objects.filter(date__year=2026).count() == 365
    assert CalendarDay.objects.get(date=dt.date(2026, 2, 15)).note == "春节"
    assert AuditEvent.objects.filter(action="calendarday.load_year").count() == 1


def test_a_deadline_in_an_unloaded_year_reads_provisional_until_the_year_is_loaded(
    page_for, make_user, department, sysadmin, shot
):
    CalendarDay.objects.filter(date__year=2026).delete()
    reviewer = make_user("reviewer1", "reviewer", real_name="审核员甲")
    version = make_version(department)
    publish(version.rule, level(node("review", "牵头部门审核", users(reviewer))))
    applicant = make_user("qiye1", "enterprise", kind="enterprise")
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    case = make_case(version, enterprise, applicant)
    intake.accept(
        make_user("clerk1", "window_clerk"), case, all_complete(case), expected_revision=0
    )

    page = page_for(reviewer)
    page.goto("/approvals/todo/")
    row = page.locator(f'tr[data-number="{case.number}"]')
    expect(row.get_by_test_id("provisional")).to_have_text("暂定")
    shot(page, "todo-provisional")

    load = services.preview_calendar_year(holidays.parse_notice(NOTICE_2026))
    services.load_calendar_year(sysadmin, load.token)
    page.reload()
    expect(row).to_be_visible()
    expect(row.get_by_test_id("provisional")).to_have_count(0)
