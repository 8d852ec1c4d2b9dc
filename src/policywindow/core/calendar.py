"""Working-day arithmetic on the holiday table (DESIGN.md §3, §7).

The answers come from ``CalendarDay`` rows an administrator maintains, a year at a time
(系统管理 › 节假日: the chinesecalendar package, a template, or the State Council's notice).
A date the table lacks counts by the weekend alone (Monday to Friday working) and the result
is *provisional* (暂定): ``Deadline.provisional`` says so, and ``is_provisional`` tells
whether a stored deadline falls after ``loaded_until`` — the end of the unbroken table. The
two agree because a period starts inside the table: it reached a date the table lacks exactly
when it ended after that end. ``core.provisional`` recomputes provisional deadlines when their
year is loaded. Periods follow 期间开始之日不计算在内: the start date itself never counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Max, Min

from .models import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
# How far past the start one query reads: n working days fit in 7n/5 days plus the longest
# run of holidays (the Spring Festival with its weekends); a longer walk reads on.
_SLACK_DAYS = 20
# Namespace of the PostgreSQL advisory lock that queues loads of a year (``lock_for_load``).
_LOAD_LOCK = 0x43414C  # "CAL"

Lookup = Callable[[dt.date], "bool | None"]


@dataclass(frozen=True)
class Deadline:
    """The end of ``days`` working days after ``start``, and whether it is provisional."""

    start: dt.datetime
    days: int
    due_at: dt.datetime
    provisional: bool

    @property
    def last_day(self) -> dt.date:
        return self.due_at.date() - dt.timedelta(days=1)


def _as_local_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("需要带时区的时间")
        return value.astimezone(SHANGHAI).date()
    return value


def by_weekend(day: dt.date) -> bool:
    """What a date the table lacks counts as: Monday to Friday working, the weekend not."""
    return day.weekday() < 5


def covered_range() -> tuple[dt.date, dt.date] | None:
    bounds = CalendarDay.objects.aggregate(first=Min("date"), last=Max("date"))
    if bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]


def loaded_until() -> dt.date | None:
    """The last date of the table's unbroken run from its first date (None when empty):
    deadlines after it are provisional."""
    bounds = CalendarDay.objects.aggregate(first=Min("date"), last=Max("date"), rows=Count("date"))
    first, last = bounds["first"], bounds["last"]
    if first is None:
        return None
    if bounds["rows"] == (last - first).days + 1:
        return last
    day = first  # a gap: rare, so walking the dates is fine
    for present in CalendarDay.objects.values_list("date", flat=True).order_by("date"):
        if present != day:
            break
        day += dt.timedelta(days=1)
    return day - dt.timedelta(days=1)


def unbroken_end(first: dt.date, known: set[dt.date]) -> dt.date:
    """The last date of the run of ``known`` dates that starts at ``first`` (the day before
    ``first`` when the table lacks it): ``loaded_until`` seen through a page's window."""
    day = first
    while day in known:
        day += dt.timedelta(days=1)
    return day - dt.timedelta(days=1)


def is_provisional(value: dt.date | dt.datetime | None, until: dt.date | None) -> bool:
    """Whether a deadline (its last day, or the ``due_at`` midnight that ends it) lies after
    ``until`` — ``loaded_until()``, read once for a whole page."""
    if value is None:
        return False
    if isinstance(value, dt.datetime):
        value = _as_local_date(value - dt.timedelta(seconds=1))
    return until is None or value > until


def coverage_warning(today: dt.date, horizon_days: int = 45) -> str:
    """A Chinese warning when the table ends within ``horizon_days``: deadlines after its last
    day are counted by weekends only and marked 暂定 until the next year is loaded."""
    span = covered_range()
    if span is None:
        return (
            "节假日表为空，办理期限只能按周末推算并标注“暂定”。"
            "请系统管理员在“节假日管理”中导入法定节假日。"
        )
    left = (span[1] - today).days
    if left > horizon_days:
        return ""
    if left < 0:
        return (
            f"节假日表仅维护至 {span[1]:%Y-%m-%d}，此后的办理期限按周末推算并标注“暂定”。"
            f"请系统管理员在“节假日管理”中按年导入 {span[1].year + 1} 年的放假安排，"
            "导入后暂定期限自动重算。"
        )
    return (
        f"节假日表仅维护至 {span[1]:%Y-%m-%d}（还剩 {left} 天），晚于该日的办理期限将按周末"
        f"推算并标注“暂定”。请系统管理员在“节假日管理”中按年导入 {span[1].year + 1} 年的放假安排。"
    )


def _table_lookup(first: dt.date, last: dt.date) -> dict[dt.date, bool]:
    rows = CalendarDay.objects.filter(date__gte=first, date__lte=last)
    return dict(rows.values_list("date", "is_working_day"))


def _walk(start: dt.date, n: int, lookup: Lookup | None, step: int = 1) -> tuple[dt.date, bool]:
    """The n-th working day after ``start`` (before it, with ``step`` -1) and whether a date
    the table lacks was counted. ``lookup`` answers from rows read already (None for a date
    the table lacks); without it the table is read a window at a time."""
    day, left, provisional = start, n, False
    one = dt.timedelta(days=step)
    while left:
        if lookup is None:
            end = day + one * _window(left)
            window = sorted([day + one, end])
            known = _table_lookup(*window).get
        else:
            end, known = None, lookup
        while left and day != end:
            day += one
            working = known(day)
            if working is None:
                provisional, working = True, by_weekend(day)
            left -= working
    return day, provisional


def _window(n: int) -> int:
    return n * 7 // 5 + _SLACK_DAYS


def nth_working_day(
    start: dt.date | dt.datetime, n: int, lookup: Lookup | None = None
) -> tuple[dt.date, bool]:
    """(the n-th working day after ``start``, provisional?) — start itself not counted."""
    if n < 0:
        raise ValueError("工作日数不能为负数")
    return _walk(_as_local_date(start), n, lookup)


def working_day_before(day: dt.date, n: int) -> dt.date:
    """The n-th working day before ``day`` (0 is ``day`` itself), for dating the demo's past."""
    if n < 0:
        raise ValueError("工作日数不能为负数")
    return _walk(day, n, None, step=-1)[0]


def add_working_days(start: dt.date | dt.datetime, n: int) -> dt.date:
    """The date of the n-th working day after ``start`` (start itself not counted)."""
    return nth_working_day(start, n)[0]


def deadline(start: dt.datetime, n: int, lookup: Lookup | None = None) -> Deadline:
    """End (24:00 Shanghai) of the n-th working day after ``start``, provisional or not."""
    day, provisional = nth_working_day(start, n, lookup)
    due_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    return Deadline(start, n, due_at, provisional)


def working_day_deadline(start: dt.datetime, n: int) -> dt.datetime:
    """End (24:00 Shanghai) of the n-th working day after ``start``."""
    return deadline(start, n).due_at


def is_working_day(day: dt.date | dt.datetime) -> bool:
    day = _as_local_date(day)
    row = CalendarDay.objects.filter(date=day).values_list("is_working_day", flat=True).first()
    return by_weekend(day) if row is None else row


def working_days_between(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
    """Working days in (a, b]: after a, up to and including b. Negative when b < a."""
    a, b = _as_local_date(a), _as_local_date(b)
    if b < a:
        return -working_days_between(b, a)
    working, _known = working_dates(a + dt.timedelta(days=1), b)
    return len(working)


def lock_for_load() -> None:
    """Queue loads of the table (a whole year and the deadlines it recomputes) one after
    another. SQLite lets one transaction write at a time, so there is nothing to do there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOAD_LOCK])


def describe(day: dt.date, is_working_day: bool | None, note: str = "") -> tuple[str, str]:
    """A date's kind and words: ``work`` 工作日, ``rest`` 休息日, ``holiday`` (the festival),
    ``makeup`` 调休上班, or ``missing`` 未维护 (``is_working_day`` None: no row)."""
    if is_working_day is None:
        return "missing", "未维护"
    if is_working_day:
        return ("work", note or "工作日") if by_weekend(day) else ("makeup", note or "调休上班")
    return ("holiday", note) if note else ("rest", "休息日")


def year_rows(year: int) -> dict[dt.date, CalendarDay]:
    rows = CalendarDay.objects.filter(
        date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
    )
    return {row.date: row for row in rows}


def fingerprint(year: int) -> str:
    """A short digest of the year's rows: a load confirms the year it previewed is unchanged."""
    rows = sorted((d.isoformat(), r.is_working_day, r.note) for d, r in year_rows(year).items())
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def replace_year(year: int, days: Iterable[tuple[dt.date, bool, str]]) -> None:
    """Write the year's rows as given (every date of the year), in the caller's transaction
    and under ``lock_for_load``."""
    CalendarDay.objects.filter(
        date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
    ).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(date=day, is_working_day=working, note=note) for day, working, note in days
    )


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
    """(working dates, dates the table holds) in [first, last] in one query, for pages that
    mark many deadlines at once; a date the table lacks is working by ``by_weekend``."""
    table = _table_lookup(first, last)
    working, day = set(), first
    while day <= last:
        if table.get(day, by_weekend(day)):
            working.add(day)
        day += dt.timedelta(days=1)
    return working, set(table)
