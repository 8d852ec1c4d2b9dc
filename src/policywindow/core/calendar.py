"""Working-day arithmetic on the holiday table (DESIGN.md §3).

Every answer comes from ``CalendarDay`` rows an administrator maintains; a
question about a date the table does not cover raises ``CalendarNotCovered``
instead of guessing. Periods follow 期间开始之日不计算在内: the start date
itself never counts.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max, Min

from .errors import CalendarNotCovered
from .models import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _as_local_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("需要带时区的时间")
        return value.astimezone(SHANGHAI).date()
    return value


def covered_range() -> tuple[dt.date, dt.date] | None:
    bounds = CalendarDay.objects.aggregate(first=Min("date"), last=Max("date"))
    if bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]


def coverage_warning(today: dt.date, horizon_days: int = 45) -> str:
    """A Chinese warning when the table ends within ``horizon_days``: deadlines that fall after
    its last day cannot be computed, so acceptances would start being refused."""
    span = covered_range()
    if span is None:
        return "节假日表为空，无法计算工作日办理期限，请系统管理员在“节假日管理”中导入。"
    left = (span[1] - today).days
    if left > horizon_days:
        return ""
    return (
        f"节假日表仅维护至 {span[1]:%Y-%m-%d}（还剩 {max(left, 0)} 天），办理期限晚于该日的申报将"
        f"无法受理。请系统管理员在“节假日管理”中补充 {span[1].year + 1} 年的放假安排。"
    )


def _not_covered(day: dt.date) -> CalendarNotCovered:
    span = covered_range()
    where = f"（已维护 {span[0]} 至 {span[1]}）" if span else "（节假日表为空）"
    return CalendarNotCovered(
        f"节假日表未覆盖日期 {day}{where}，请系统管理员先维护节假日日历",
        details={"date": day.isoformat()},
    )


def _require_covered(first: dt.date, last: dt.date) -> None:
    """Every date in [first, last] must have a row; gaps are refused too."""
    expected = (last - first).days + 1
    present = CalendarDay.objects.filter(date__gte=first, date__lte=last).count()
    if present == expected:
        return
    have = set(
        CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list("date", flat=True)
    )
    day = first
    while day in have:
        day += dt.timedelta(days=1)
    raise _not_covered(day)


def is_working_day(day: dt.date | dt.datetime) -> bool:
    day = _as_local_date(day)
    row = CalendarDay.objects.filter(date=day).values_list("is_working_day", flat=True).first()
    if row is None:
        raise _not_covered(day)
    return row


def add_working_days(start: dt.date | dt.datetime, n: int) -> dt.date:
    """The date of the n-th working day after ``start`` (start itself not counted)."""
    if n < 0:
        raise ValueError("工作日数不能为负数")
    start = _as_local_date(start)
    if n == 0:
        return start
    found = list(
        CalendarDay.objects.filter(date__gt=start, is_working_day=True)
        .order_by("date")
        .values_list("date", flat=True)[:n]
    )
    if len(found) < n:
        span = covered_range()
        raise _not_covered((span[1] if span else start) + dt.timedelta(days=1))
    target = found[-1]
    _require_covered(start + dt.timedelta(days=1), target)
    return target


def working_day_deadline(start: dt.datetime, n: int) -> dt.datetime:
    """End (24:00 Shanghai) of the n-th working day after ``start``."""
    due = add_working_days(start, n) + dt.timedelta(days=1)
    return dt.datetime.combine(due, dt.time.min, tzinfo=SHANGHAI)


def working_days_between(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
    """Working days in (a, b]: after a, up to and including b. Negative when b < a."""
    a, b = _as_local_date(a), _as_local_date(b)
    if b < a:
        return -working_days_between(b, a)
    if a == b:
        return 0
    first = a + dt.timedelta(days=1)
    _require_covered(first, b)
    return CalendarDay.objects.filter(date__gte=first, date__lte=b, is_working_day=True).count()


@transaction.atomic
def seed_from_chinese_calendar(first_year: int | None = None, last_year: int | None = None) -> int:
    """Fill missing dates from the ``chinesecalendar`` package; never overwrites edits."""
    import chinese_calendar

    known_first, known_last = official_years()
    first_year = max(first_year or known_first, known_first)
    last_year = min(last_year or known_last, known_last)
    existing = set(
        CalendarDay.objects.filter(
            date__gte=dt.date(first_year, 1, 1), date__lte=dt.date(last_year, 12, 31)
        ).values_list("date", flat=True)
    )
    rows = []
    day = dt.date(first_year, 1, 1)
    while day.year <= last_year:
        if day not in existing:
            working = chinese_calendar.is_workday(day)
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            note = _holiday_note(day, working, on_holiday, name)
            rows.append(CalendarDay(date=day, is_working_day=working, note=note))
        day += dt.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _holiday_note(day: dt.date, working: bool, on_holiday: bool, name: str | None) -> str:
    label = _HOLIDAY_NAMES.get(name or "", name or "")
    if working and day.weekday() >= 5:
        return f"{label}调休上班" if label else "调休上班"
    if not working and label:
        return label
    return ""


def official_years() -> tuple[int, int]:
    """First and last year the installed chinesecalendar package knows."""
    import chinese_calendar

    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


def working_dates(first: dt.date, last: dt.date) -> tuple[set[dt.date], set[dt.date]]:
    """(working dates, all maintained dates) in [first, last] in one query, for pages that mark
    many deadlines at once; callers treat a date missing from the second set as unknown."""
    rows = CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list(
        "date", "is_working_day"
    )
    working, known = set(), set()
    for day, is_working in rows:
        known.add(day)
        if is_working:
            working.add(day)
    return working, known
