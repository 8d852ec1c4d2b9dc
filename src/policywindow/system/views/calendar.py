"""节假日日历: a month of the holiday table, editing one day, importing the official schedule,
and 按年导入 — a whole year from the template or the State Council's notice, previewed date by
date and confirmed.

Every working-day deadline is computed from this table (core/calendar.py); dates the table
does not cover are shown as 未维护, and deadlines that reach them are marked 暂定.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from policywindow.core import calendar as workdays
from policywindow.core import holidays
from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.models import CalendarDay

from ..forms_config import (
    CalendarDayForm,
    CalendarImportForm,
    CalendarNoticeForm,
    CalendarTableForm,
    submitted,
)
from ..services import config as services

WEEKDAYS = "一二三四五六日"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_YEAR, LAST_YEAR = 1900, 2100


@dataclass(frozen=True)
class DayCell:
    date: dt.date
    kind: str  # work | rest | holiday | makeup | missing
    label: str
    in_month: bool
    is_today: bool


def classify(day: dt.date, row: CalendarDay | None) -> tuple[str, str]:
    """The cell's colour class and text: 工作日, 休息日, a holiday's name, 调休上班 or 未维护."""
    return workdays.describe(day, row.is_working_day if row else None, row.note if row else "")


def month_weeks(year: int, month: int, today: dt.date) -> list[list[DayCell]]:
    """Monday-first weeks covering the month, each date classified from the table."""
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    first, last = weeks[0][0], weeks[-1][-1]
    rows = {r.date: r for r in CalendarDay.objects.filter(date__gte=first, date__lte=last)}
    return [
        [
            DayCell(day, *classify(day, rows.get(day)), day.month == month, day == today)
            for day in week
        ]
        for week in weeks
    ]


def _int_param(raw: str | None, low: int, high: int, default: int) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return value if low <= value <= high else default


def _shifted(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def _month_url(year: int, month: int) -> str:
    return f"{reverse('system:calendar')}?year={year}&month={month}"


def _summary(weeks: list[list[DayCell]]) -> dict[str, int]:
    cells = [c for week in weeks for c in week if c.in_month]
    return {
        "working": sum(c.kind in {"work", "makeup"} for c in cells),
        "resting": sum(c.kind in {"rest", "holiday"} for c in cells),
        "missing": sum(c.kind == "missing" for c in cells),
    }


@permission("system:calendar:list")
def calendar_month(request):
    today = timezone.localdate()
    year = _int_param(request.GET.get("year"), FIRST_YEAR, LAST_YEAR, today.year)
    month = _int_param(request.GET.get("month"), 1, 12, today.month)
    weeks = month_weeks(year, month, today)
    covered = workdays.covered_range()
    low = min(covered[0].year if covered else today.year, today.year, year)
    high = max(covered[1].year if covered else today.year, today.year + 1, year)
    official_first, official_last = workdays.official_years()
    context = {
        "year": year,
        "month": month,
        "weeks": weeks,
        "weekdays": WEEKDAYS,
        "summary": _summary(weeks),
        "covered": covered,
        "years": range(high, low - 1, -1),
        "months": range(1, 13),
        "prev_url": _month_url(*_shifted(year, month, -1)),
        "next_url": _month_url(*_shifted(year, month, 1)),
        "today_url": _month_url(today.year, today.month),
        "official_first": official_first,
        "official_last": official_last,
        "import_form": CalendarImportForm(initial={"year": year}),
    }
    return render(request, "system/calendar.html", context)


def _parse_day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Http404("日期格式不正确") from None


@permission("system:calendar:update")
def calendar_day_update(request, day: str):
    date = _parse_day(day)
    row = CalendarDay.objects.filter(date=date).first()
    working = row.is_working_day if row else date.weekday() < 5
    initial = {"is_working_day": "1" if working else "0", "note": row.note if row else ""}
    form = CalendarDayForm(request.POST or None, initial=initial)
    if submitted(request, form, services.set_calendar_day, request.user, date):
        messages.success(request, f"已保存 {date:%Y-%m-%d} 的日历安排")
        return redirect(_month_url(date.year, date.month))
    kind, label = classify(date, row)
    context = {
        "form": form,
        "date": date,
        "weekday": WEEKDAYS[date.weekday()],
        "kind": kind,
        "label": label,
        "back_url": _month_url(date.year, date.month),
    }
    return render(request, "system/calendar_day.html", context)


@require_POST
@permission("system:calendar:seed")
def calendar_import(request):
    form = CalendarImportForm(request.POST)
    month = _int_param(request.POST.get("month"), 1, 12, 1)
    if not form.is_valid():
        messages.error(request, form.errors["year"][0])
        return redirect("system:calendar")
    year = form.cleaned_data["year"]
    try:
        created = services.import_official_holidays(request.user, year)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(
                request, f"已导入 {year} 年法定节假日，新增 {created} 天；已维护的日期保持不变"
            )
        else:
            messages.info(request, f"{year} 年的日期均已维护，没有新增；已修改的日期不会被覆盖")
    return redirect(_month_url(year, month))


# ---------------------------------------------------------------- 按年导入


def _year_page(request, notice_form=None, table_form=None):
    today = timezone.localdate()
    context = {
        "notice_form": notice_form or CalendarNoticeForm(),
        "table_form": table_form or CalendarTableForm(initial={"year": today.year + 1}),
        "loaded_until": workdays.loaded_until(),
    }
    return render(request, "system/calendar_year.html", context)


@permission("system:calendar:seed")
def calendar_year(request):
    return _year_page(request)


def _preview(request, key: str, form, read) -> HttpResponse:
    """The preview of a valid form's year, or the year page with the errors on the field
    (``key`` names the form on that page)."""
    if not form.is_valid():
        return _year_page(request, **{key: form})
    try:
        plan = read(**form.cleaned_data)
    except ValidationFailed as exc:
        form.add_domain_error(exc)
        return _year_page(request, **{key: form})
    context = {"preview": services.preview_calendar_year(plan)}
    return render(request, "system/calendar_year_preview.html", context)


def _read_notice(year: int | None, text: str) -> holidays.YearPlan:
    return holidays.parse_notice(text, year)


def _read_table(year: int, file) -> holidays.YearPlan:
    return holidays.parse_table(file.name, file.read(), year)


@require_POST
@permission("system:calendar:seed")
def calendar_year_notice(request):
    return _preview(request, "notice_form", CalendarNoticeForm(request.POST), _read_notice)


@require_POST
@permission("system:calendar:seed")
def calendar_year_table(request):
    form = CalendarTableForm(request.POST, request.FILES)
    return _preview(request, "table_form", form, _read_table)


@require_POST
@permission("system:calendar:seed")
def calendar_year_confirm(request):
    try:
        loaded = services.load_calendar_year(request.user, request.POST.get("plan", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("system:calendar_year")
    moved = f"，{loaded.moved} 个暂定期限已按新安排重算并通知相关人员" if loaded.moved else ""
    messages.success(
        request, f"已导入 {loaded.year} 年节假日安排，改动 {loaded.changed} 个日期{moved}"
    )
    return redirect(_month_url(loaded.year, 1))


@permission("system:calendar:seed")
def calendar_year_template(request):
    year = timezone.localdate().year + 1
    return send_file(holidays.template_workbook(year), f"{year}年节假日导入模板.xlsx", XLSX)


urlpatterns = [
    path("system/calendar/", calendar_month, name="calendar"),
    path("system/calendar/import/", calendar_import, name="calendar_import"),
    path("system/calendar/year/", calendar_year, name="calendar_year"),
    path("system/calendar/year/notice/", calendar_year_notice, name="calendar_year_notice"),
    path("system/calendar/year/table/", calendar_year_table, name="calendar_year_table"),
    path("system/calendar/year/confirm/", calendar_year_confirm, name="calendar_year_confirm"),
    path(
        "system/calendar/year/template.xlsx",
        calendar_year_template,
        name="calendar_year_template",
    ),
    path("system/calendar/<str:day>/edit/", calendar_day_update, name="calendar_day_update"),
]
