"""节假日日历: month view, editing a day, importing the official schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from policywindow.core import calendar
from policywindow.core.models import AuditEvent, CalendarDay
from policywindow.system.views.calendar import classify

pytestmark = pytest.mark.django_db

MONTH = reverse("system:calendar")
IMPORT = reverse("system:calendar_import")


def day_url(value: str) -> str:
    return reverse("system:calendar_day_update", args=[value])


def cells(response) -> dict[dt.date, object]:
    return {c.date: c for week in response.context["weeks"] for c in week if c.in_month}


def test_month_view_shows_holidays_and_make_up_days(login, sysadmin):
    response = login(sysadmin).get(MONTH, {"year": 2026, "month": 10})
    assert response.status_code == 200
    month = cells(response)
    assert len(month) == 31
    assert (month[dt.date(2026, 10, 1)].kind, month[dt.date(2026, 10, 1)].label) == (
        "holiday",
        "国庆节",
    )
    assert month[dt.date(2026, 10, 10)].kind == "makeup"
    assert month[dt.date(2026, 10, 10)].label.endswith("调休上班")
    assert month[dt.date(2026, 10, 12)].kind == "work"
    assert month[dt.date(2026, 10, 17)].kind == "rest"
    assert response.context["summary"] == {"working": 18, "resting": 13, "missing": 0}
    body = response.content.decode()
    first, last = calendar.official_years()
    assert f"已维护 {first}-01-01 至 {last}-12-31" in body
    assert "国庆节调休上班" in body


def test_month_outside_the_table_is_shown_as_not_maintained(login, sysadmin):
    year = calendar.official_years()[1] + 1
    response = login(sysadmin).get(MONTH, {"year": year, "month": 3})
    month = cells(response)
    assert {c.kind for c in month.values()} == {"missing"}
    assert response.context["summary"]["missing"] == 31
    assert "未维护" in response.content.decode()


@pytest.mark.parametrize("query", [{"year": "abc", "month": "13"}, {"year": "99999"}, {}])
def test_bad_month_parameters_fall_back_to_the_current_month(login, sysadmin, query):
    response = login(sysadmin).get(MONTH, query)
    assert response.status_code == 200
    assert 1 <= response.context["month"] <= 12


def test_prev_and_next_cross_the_year(login, sysadmin):
    response = login(sysadmin).get(MONTH, {"year": 2026, "month": 1})
    assert response.context["prev_url"].endswith("?year=2025&month=12")
    assert response.context["next_url"].endswith("?year=2026&month=2")


@pytest.mark.parametrize("who", ["enterprise_user", "auditor", "secadmin"])
def test_other_roles_are_refused(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(MONTH).status_code == 403
    response = client.post(day_url("2026-11-23"), {"is_working_day": "0", "note": "x"})
    assert response.status_code == 403
    assert client.post(IMPORT, {"year": 2026}).status_code == 403
    assert CalendarDay.objects.get(date=dt.date(2026, 11, 23)).is_working_day is True


def test_editing_a_day_moves_working_day_deadlines_and_is_audited(login, sysadmin):
    assert calendar.add_working_days(dt.date(2026, 11, 20), 5) == dt.date(2026, 11, 27)
    response = login(sysadmin).post(
        day_url("2026-11-23"), {"is_working_day": "0", "note": " 临时休假 "}
    )
    assert response.status_code == 302
    assert response.url.endswith("?year=2026&month=11")
    assert calendar.add_working_days(dt.date(2026, 11, 20), 5) == dt.date(2026, 11, 30)
    row = CalendarDay.objects.get(date=dt.date(2026, 11, 23))
    assert row.note == "临时休假"
    event = AuditEvent.objects.get(action="calendarday.update", object_id="2026-11-23")
    assert event.before == {"is_working_day": True, "note": ""}
    assert event.after == {"is_working_day": False, "note": "临时休假"}


def test_declaring_a_saturday_a_working_day(login, sysadmin):
    login(sysadmin).post(day_url("2026-11-21"), {"is_working_day": "1", "note": "补班"})
    assert calendar.add_working_days(dt.date(2026, 11, 20), 1) == dt.date(2026, 11, 21)
    row = CalendarDay.objects.get(date=dt.date(2026, 11, 21))
    assert classify(row.date, row) == ("makeup", "补班")


def test_editing_a_day_not_yet_maintained_adds_it(login, sysadmin):
    CalendarDay.objects.filter(date=dt.date(2026, 12, 28)).delete()  # a Monday
    page = login(sysadmin).get(day_url("2026-12-28"))
    assert page.status_code == 200
    assert page.context["label"] == "未维护"
    assert page.context["form"].initial["is_working_day"] == "1"
    login(sysadmin).post(day_url("2026-12-28"), {"is_working_day": "1", "note": ""})
    assert calendar.is_working_day(dt.date(2026, 12, 28)) is True
    assert AuditEvent.objects.filter(action="calendarday.create", object_id="2026-12-28").exists()


def test_invalid_edits_are_field_errors_or_not_found(login, sysadmin):
    client = login(sysadmin)
    response = client.post(day_url("2026-11-23"), {"is_working_day": "0", "note": "长" * 65})
    assert response.status_code == 200
    assert response.context["form"].errors["note"] == ["说明不能超过 64 个字符"]
    response = client.post(day_url("2026-11-23"), {"note": "x"})
    assert response.context["form"].errors["is_working_day"] == ["请选择工作日或休息日"]
    assert client.get(day_url("2026-02-30")).status_code == 404
    assert CalendarDay.objects.get(date=dt.date(2026, 11, 23)).is_working_day is True


def test_import_fills_a_year_without_overwriting_edits(login, sysadmin):
    CalendarDay.objects.filter(date__year=2025).exclude(date=dt.date(2025, 10, 1)).delete()
    CalendarDay.objects.filter(date=dt.date(2025, 10, 1)).update(is_working_day=True, note="值班")
    response = login(sysadmin).post(IMPORT, {"year": 2025, "month": 10}, follow=True)
    assert "已导入 2025 年法定节假日，新增 364 天" in response.content.decode()
    assert CalendarDay.objects.filter(date__year=2025).count() == 365
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 1)).note == "值班"
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 2)).note == "国庆节"
    event = AuditEvent.objects.get(action="calendarday.import")
    assert event.after == {"year": 2025, "created": 364}


@pytest.mark.parametrize("offset", [-1, 1])
def test_import_of_a_year_the_package_does_not_know_is_a_clear_message(login, sysadmin, offset):
    first, last = calendar.official_years()
    year = first - 1 if offset < 0 else last + 1
    response = login(sysadmin).post(IMPORT, {"year": year}, follow=True)
    assert response.status_code == 200
    assert f"尚未收录 {year} 年的法定节假日安排" in response.content.decode()
    assert not CalendarDay.objects.filter(date__year=year).exists()
    assert not AuditEvent.objects.filter(action="calendarday.import").exists()


def test_import_with_a_bad_year_is_refused(login, sysadmin):
    response = login(sysadmin).post(IMPORT, {"year": "二〇二六"}, follow=True)
    assert response.status_code == 200
    assert "年份须为 4 位数字" in response.content.decode()
