"""按年导入: a year of the holiday table from the State Council's notice or the template,
previewed and confirmed in one step; provisional deadlines computed again when it lands."""

from __future__ import annotations

import datetime as dt
import io

import chinese_calendar
import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from policywindow.applications.models import SupplementNotice
from policywindow.applications.services import intake
from policywindow.core import calendar, deadlines, holidays
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent, CalendarDay, ProvisionalDeadline
from policywindow.core.scheduler import REGISTRY
from policywindow.notifications.models import Notification
from policywindow.system.models import Role
from policywindow.system.services import config as services
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
    shanghai,
)

from .holiday_notices import NOTICE_2025, NOTICE_2026

pytestmark = pytest.mark.django_db

YEAR_PAGE = reverse("system:calendar_year")
NOTICE_URL = reverse("system:calendar_year_notice")
TABLE_URL = reverse("system:calendar_year_table")
CONFIRM_URL = reverse("system:calendar_year_confirm")
TEMPLATE_URL = reverse("system:calendar_year_template")


def kind(day: dt.date, working: bool, named: bool) -> str:
    """What a date is: a holiday, a 调休 working day, a weekend or a normal working day."""
    if working:
        return "makeup" if day.weekday() >= 5 else "normal"
    return "holiday" if named else "weekend"


def official_kind(day: dt.date) -> str:
    working = chinese_calendar.is_workday(day)
    _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return kind(day, working, not working and bool(name))


def plan_kinds(plan: holidays.YearPlan) -> dict[dt.date, str]:
    return {d.date: kind(d.date, d.is_working_day, bool(d.note)) for d in plan.days()}


def problems(caught: pytest.ExceptionInfo, field: str = "text") -> list[str]:
    return caught.value.details[field]


def empty_year(year: int) -> None:
    CalendarDay.objects.filter(date__year=year).delete()


# ---------------------------------------------------------------- reading the notice


@pytest.mark.parametrize(("year", "text"), [(2025, NOTICE_2025), (2026, NOTICE_2026)])
def test_the_real_notices_agree_with_chinesecalendar_on_every_date(year, text):
    plan = holidays.parse_notice(text)
    assert plan.year == year
    found = plan_kinds(plan)
    assert len(found) == (366 if year % 4 == 0 else 365)
    expected = {day: official_kind(day) for day in found}
    assert found == expected
    assert "国务院办公厅" in plan.ignored  # the signature is shown as not read, never dropped


def test_the_2026_notice_names_each_festival_and_make_up_day():
    plan = holidays.parse_notice(NOTICE_2026)
    assert plan.special[dt.date(2026, 2, 15)].note == "春节"
    assert plan.special[dt.date(2026, 2, 28)] == holidays.PlannedDay(
        dt.date(2026, 2, 28), True, "春节调休上班"
    )
    assert plan.special[dt.date(2026, 10, 3)].note == "国庆节"  # a weekend inside the holiday
    assert (plan.holidays, plan.makeup_days) == (33, 6)


def test_a_single_day_without_make_up_a_range_across_months_and_a_list():
    text = "\n".join(
        [
            "国务院办公厅关于2025年部分节假日安排的通知",
            "一、元旦：1月1日（星期三）放假1天，不调休。",
            "二、国庆节、中秋节：9月30日至10月8日放假调休，共9天。9月28日（周日）、10月11日（周六）上班。",
        ]
    )
    plan = holidays.parse_notice(text)
    assert plan.special[dt.date(2025, 1, 1)].note == "元旦"
    assert [d for d in plan.special if d.month in (9, 10) and d.day not in (28, 11)] == [
        dt.date(2025, 9, 30) + dt.timedelta(days=n) for n in range(9)
    ]
    assert plan.special[dt.date(2025, 10, 11)].note == "国庆节、中秋节调休上班"


def test_a_wrapped_line_goes_on_with_its_item():
    text = "二、春节：2月15日（周日）至23日（周一）放假调休，共9天。\n2月14日（周六）、2月28日（周六）上班。"
    plan = holidays.parse_notice(text, 2026)
    assert plan.special[dt.date(2026, 2, 14)].is_working_day


def test_a_weekday_that_does_not_match_names_the_item():
    # The 2026 items read as 2025 (a wrong year): every stated weekday is off by one.
    items = NOTICE_2026.split("如下。")[1]
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice(items, 2025)
    found = problems(caught)
    assert "一、元旦：1月1日写作周四，但 2025 年的这一天是周三，请核对年份或日期" in found
    assert any(p.startswith("二、春节：") for p in found)


def test_a_typo_in_one_weekday_is_caught():
    text = NOTICE_2026.replace("5月9日（周六）上班", "5月9日（周日）上班")
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice(text)
    assert problems(caught) == [
        "四、劳动节：5月9日写作周日，但 2026 年的这一天是周六，请核对年份或日期"
    ]


def test_the_title_year_and_the_year_field_must_agree():
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice(NOTICE_2026, 2027)
    assert problems(caught) == ["通知标题为 2026 年，与所填年份 2027 年不一致，请核对"]
    assert holidays.parse_notice(NOTICE_2026, 2026).year == 2026


def test_without_a_title_the_year_field_is_needed():
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice("一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。")
    assert "请填写年份" in problems(caught)[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "一、元旦：1月1日（周四）至3日（周六）放假调休，共4天。",
            "一、元旦：写明放假 4 天，但读到的放假日期是 3 天（1月1日、1月2日、1月3日）",
        ),
        (
            "一、元旦：1月1日（周四）至3日（周六）放假调休，另行通知。",
            "一、元旦：无法识别“另行通知”",
        ),
        ("一、元旦：1月3日至1日放假。", "一、元旦：1月3日至1月1日起止颠倒"),
        ("一、元旦：2月30日放假。", "一、元旦：2026年没有2月30日"),
        ("一、元旦：1月5日（周一）上班。", "一、元旦：没有读到放假日期"),
        (
            "一、元旦：1月1日（周四）放假。1月5日（周一）上班。",
            "一、元旦：1月5日是周一，本就是工作日，不应列为调休上班，请核对",
        ),
        (
            "一、元旦：1月1日（周四）至2027年1月3日放假。",
            "一、元旦：1月3日不在 2026 年，每次只导入一年",
        ),
    ],
)
def test_lines_that_cannot_be_read_are_errors_naming_the_item(line, expected):
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice(line, 2026)
    assert any(p.startswith(expected) for p in problems(caught)), problems(caught)


def test_a_dated_line_outside_the_items_is_reported_not_skipped():
    text = NOTICE_2026.replace("节假日期间，", "另：12月31日（周四）下午放假半天。\n节假日期间，")
    # Right below item 七 it would go on with it; after prose it stands alone.
    text = text.replace("另：12月31日", "以上安排请遵照执行。\n另：12月31日")
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice(text)
    assert any("另：12月31日（周四）下午放假半天。”含有日期" in p for p in problems(caught))


def test_text_without_any_item_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_notice("国务院办公厅关于2027年部分节假日安排的通知\n经国务院批准。")
    assert problems(caught)[0].startswith("未找到放假安排")


# ---------------------------------------------------------------- the template


def workbook(rows: list[tuple], header=holidays.TEMPLATE_HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = holidays.TEMPLATE_SHEET
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_template_reads_back_as_a_plan():
    content = workbook(
        [
            (dt.datetime(2026, 1, 1), "放假", "元旦"),
            ("2026/1/2", "放假", "元旦"),
            ("2026年1月3日", "休息", "元旦"),
            ("2026-01-04", "上班", "元旦调休上班"),
            (None, None, None),
        ]
    )
    plan = holidays.parse_table("2026.xlsx", content, 2026)
    assert sorted(plan.special) == [dt.date(2026, 1, d) for d in (1, 2, 3, 4)]
    assert plan.special[dt.date(2026, 1, 4)].is_working_day
    assert plan_kinds(plan)[dt.date(2026, 1, 10)] == "weekend"


def test_every_bad_row_is_named_and_nothing_is_read():
    content = workbook(
        [
            ("2026-02-30", "放假", "春节"),
            ("2026-02-16", "请假", "春节"),
            ("2025-12-31", "放假", "元旦"),
            ("2026-02-17", "放假", "春节"),
            ("2026-02-17", "放假", "春节"),
        ]
    )
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_table("2026.xlsx", content, 2026)
    assert problems(caught, "file") == [
        "第 2 行：日期“2026-02-30”无效，请写成 2026-01-01 的格式",
        "第 3 行：安排“请假”无效，请填写“放假”或“上班”",
        "第 4 行：日期 2025-12-31 不在 2026 年，每次只导入一年",
        "第 6 行：日期 2026-02-17 与前面的行重复",
    ]


def test_a_csv_in_gbk_is_read_and_a_wrong_header_refused():
    text = "日期,安排,节日名称\r\n2026-10-01,放假,国庆节\r\n"
    plan = holidays.parse_table("2026.csv", text.encode("gb18030"), 2026)
    assert plan.special[dt.date(2026, 10, 1)].note == "国庆节"
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_table("2026.csv", b"date,kind\r\n2026-10-01,x\r\n", 2026)
    assert "缺少“日期”“安排”列" in problems(caught, "file")[0]


def test_a_file_that_is_no_workbook_is_refused_by_the_safe_opener():
    with pytest.raises(ValidationFailed) as caught:
        holidays.parse_table("2026.xlsx", b"not a zip", 2026)
    assert problems(caught, "file") == [holidays.TABLE_MESSAGES.not_workbook]


# ---------------------------------------------------------------- the pages


def test_pasting_the_notice_into_an_empty_year_previews_then_loads_it(login, sysadmin):
    empty_year(2026)
    client = login(sysadmin)
    assert client.get(YEAR_PAGE).status_code == 200
    page = client.post(NOTICE_URL, {"notice-text": NOTICE_2026, "notice-year": ""})
    assert page.status_code == 200
    preview = page.context["preview"]
    assert len(preview.changes) == 365  # every date was 未维护
    body = page.content.decode()
    assert 'data-date="2026-02-15" data-kind="holiday"' in body
    assert 'data-date="2026-02-14" data-kind="makeup"' in body
    assert not CalendarDay.objects.filter(date__year=2026).exists()  # nothing written yet
    done = client.post(CONFIRM_URL, {"plan": preview.token}, follow=True)
    assert "已导入 2026 年节假日安排，改动 365 个日期" in done.content.decode()
    rows = calendar.year_rows(2026)
    assert {
        d: kind(d, r.is_working_day, bool(r.note) and not r.is_working_day) for d, r in rows.items()
    } == {d: official_kind(d) for d in rows}
    event = AuditEvent.objects.get(action="calendarday.load_year")
    assert event.after["holidays"] == 33 and event.after["makeup_days"] == 6
    assert event.after["changed"] == 365


def test_the_preview_of_a_loaded_year_lists_only_what_changes(login, sysadmin):
    CalendarDay.objects.filter(date=dt.date(2026, 11, 23)).update(
        is_working_day=False, note="临时休假"
    )
    page = login(sysadmin).post(NOTICE_URL, {"notice-text": NOTICE_2026})
    changed = {c.date: c for c in page.context["preview"].changes}
    assert changed[dt.date(2026, 11, 23)].after == ("work", "工作日")
    assert changed[dt.date(2026, 11, 23)].before == ("holiday", "临时休假")
    assert dt.date(2026, 2, 16) not in changed  # chinesecalendar's 春节 already


def test_errors_stay_on_the_form_in_chinese(login, sysadmin):
    client = login(sysadmin)
    page = client.post(NOTICE_URL, {"notice-text": NOTICE_2026, "notice-year": "2027"})
    form = page.context["notice_form"]
    assert form.errors["text"] == ["通知标题为 2026 年，与所填年份 2027 年不一致，请核对"]
    assert "通知标题为 2026 年" in page.content.decode()
    page = client.post(TABLE_URL, {"table-year": "2026"})
    assert page.context["table_form"].errors["file"] == ["请选择要导入的文件"]


def test_the_template_downloads_and_round_trips(login, sysadmin):
    client = login(sysadmin)
    response = client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    sheet = book[holidays.TEMPLATE_SHEET]
    assert [c.value for c in sheet[1]] == list(holidays.TEMPLATE_HEADER)
    sheet.append(["2026-10-01", "放假", "国庆节"])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.name = "2026.xlsx"
    buffer.seek(0)
    page = client.post(TABLE_URL, {"table-year": "2026", "table-file": buffer})
    assert page.status_code == 200 and "preview" in page.context
    assert page.context["preview"].plan.special[dt.date(2026, 10, 1)].note == "国庆节"


def test_a_table_with_row_errors_is_shown_per_row(login, sysadmin):
    upload = io.BytesIO(workbook([("2026-13-01", "放假", "春节")]))
    upload.name = "bad.xlsx"
    page = login(sysadmin).post(TABLE_URL, {"table-year": "2026", "table-file": upload})
    assert page.context["table_form"].errors["file"] == [
        "第 2 行：日期“2026-13-01”无效，请写成 2026-01-01 的格式"
    ]


def test_a_year_changed_after_the_preview_is_not_overwritten(login, sysadmin):
    client = login(sysadmin)
    token = client.post(NOTICE_URL, {"notice-text": NOTICE_2026}).context["preview"].token
    CalendarDay.objects.filter(date=dt.date(2026, 12, 1)).update(note="值班")
    with pytest.raises(Conflict, match="在预览后已被修改"):
        services.load_calendar_year(sysadmin, token)
    page = client.post(CONFIRM_URL, {"plan": token}, follow=True)
    assert "在预览后已被修改" in page.content.decode()
    assert not AuditEvent.objects.filter(action="calendarday.load_year").exists()


def test_a_forged_plan_is_refused(login, sysadmin):
    page = login(sysadmin).post(CONFIRM_URL, {"plan": "forged"}, follow=True)
    assert "导入内容无效" in page.content.decode()
    assert not AuditEvent.objects.filter(action="calendarday.load_year").exists()


@pytest.mark.parametrize("who", ["enterprise_user", "auditor", "secadmin"])
def test_other_roles_are_refused(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(YEAR_PAGE).status_code == 403
    assert client.get(TEMPLATE_URL).status_code == 403
    assert client.post(NOTICE_URL, {"notice-text": NOTICE_2026}).status_code == 403
    assert client.post(CONFIRM_URL, {"plan": "x"}).status_code == 403


# ---------------------------------------------------------------- provisional deadlines


@pytest.fixture
def accepted_before_national_day(monkeypatch, make_user, department):
    """With 2026 not loaded: a case accepted on Tuesday 2026-09-29 (5 working days) and its
    reviewer's task (2 working days), both counted by the weekend alone."""
    empty_year(2026)
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 9, 29, 10, 0))
    clerk = make_user("clerk1", "window_clerk", real_name="张明")
    applicant = make_user("qiye1", "enterprise", kind="enterprise")
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    case = make_case(make_version(department), enterprise, applicant)
    return intake.accept(clerk, case, all_complete(case), expected_revision=0), clerk, applicant


def load(actor, text: str) -> services.YearLoad:
    return services.load_calendar_year(
        actor, services.preview_calendar_year(holidays.parse_notice(text)).token
    )


def test_loading_the_year_recomputes_provisional_deadlines_and_tells_whom_they_concern(
    accepted_before_national_day, sysadmin
):
    case, _clerk, applicant = accepted_before_national_day
    task = WorkflowTask.objects.get(application=case)
    # 9/30, 10/1, 10/2, 10/5, 10/6 and 9/30, 10/1 by the weekend: both provisional.
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 6)
    assert deadlines.last_day(task.due_at) == dt.date(2026, 10, 1)
    assert deadlines.is_provisional(case.due_at) and deadlines.is_provisional(task.due_at)
    assert ProvisionalDeadline.objects.count() == 2

    loaded = load(sysadmin, NOTICE_2026)

    case.refresh_from_db()
    task.refresh_from_db()
    # 国庆 10/1–10/7; 10/10 (Saturday) is a 调休 working day.
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 12)
    assert deadlines.last_day(task.due_at) == dt.date(2026, 10, 8)
    assert not deadlines.is_provisional(case.due_at)
    assert not ProvisionalDeadline.objects.exists()
    assert loaded.moved == 2
    told = Notification.objects.filter(kind="deadline_moved")
    assert sorted(told.values_list("recipient__username", flat=True)) == sorted(
        ["qiye1", "clerk1", task.assignee.username]
    )
    message = told.get(recipient=applicant)
    assert message.body == (
        f"节假日安排已导入，申报 {case.number} 的办结期限由 2026-10-06（暂定）重算为 2026-10-12。"
    )
    assert message.link == reverse("applications:my_detail", args=[case.pk])
    event = AuditEvent.objects.get(action="calendarday.load_year")
    assert event.after["deadlines_moved"] == 2


def test_a_deadline_that_did_not_move_loses_its_mark_silently(
    accepted_before_national_day, sysadmin
):
    # Loading a year whose arrangement is the weekend's alone changes no deadline.
    case, _clerk, _applicant = accepted_before_national_day
    before = case.due_at
    plan = holidays.YearPlan(2026, {}, "测试")
    services.load_calendar_year(sysadmin, services.preview_calendar_year(plan).token)
    case.refresh_from_db()
    assert case.due_at == before and not deadlines.is_provisional(case.due_at)
    assert not ProvisionalDeadline.objects.exists()
    assert not Notification.objects.filter(kind="deadline_moved").exists()


def test_a_deadline_set_anew_or_finished_is_left_alone(accepted_before_national_day, sysadmin):
    case, _clerk, _applicant = accepted_before_national_day
    task = WorkflowTask.objects.get(application=case)
    WorkflowTask.objects.filter(pk=task.pk).update(status="approved")  # finished meanwhile
    replaced = shanghai(2026, 10, 20, 0, 0)
    type(case).objects.filter(pk=case.pk).update(due_at=replaced)  # set anew meanwhile
    load(sysadmin, NOTICE_2026)
    case.refresh_from_db()
    task.refresh_from_db()
    assert case.due_at == replaced
    assert deadlines.last_day(task.due_at) == dt.date(2026, 10, 1)
    assert not ProvisionalDeadline.objects.exists()
    assert not Notification.objects.filter(kind="deadline_moved").exists()


def test_a_supplement_deadline_is_recomputed_for_the_enterprise(
    monkeypatch, make_user, department, sysadmin
):
    empty_year(2026)
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 9, 29, 10, 0))
    clerk = make_user("clerk1", "window_clerk")
    applicant = make_user("qiye1", "enterprise", kind="enterprise")
    enterprise = make_enterprise()
    make_member(applicant, enterprise)
    case = make_case(make_version(department), enterprise, applicant)
    items = [{"key": "audit_report", "comment": "请补充盖章页"}]
    intake.request_supplement(clerk, case, items, expected_revision=0)
    notice = SupplementNotice.objects.get(application=case)
    assert deadlines.is_provisional(notice.respond_by)
    load(sysadmin, NOTICE_2026)
    notice.refresh_from_db()
    assert not deadlines.is_provisional(notice.respond_by)
    assert Notification.objects.filter(kind="deadline_moved", recipient=applicant).exists()


def test_the_pages_and_the_api_mark_a_provisional_deadline(accepted_before_national_day, login):
    case, _clerk, applicant = accepted_before_national_day
    page = login(applicant).get(reverse("applications:my_detail", args=[case.pk]))
    assert 'data-testid="provisional"' in page.content.decode()
    task = WorkflowTask.objects.get(application=case)
    task.assignee.roles.add(Role.objects.get(code="reviewer"))
    reviewer = login(task.assignee)
    todo = reviewer.get(reverse("workflow:todo")).content.decode()
    assert todo.count('data-testid="provisional"') == 1
    items = reviewer.get("/api/v1/tasks").json()["items"]
    assert [item["due_provisional"] for item in items] == [True]


def test_a_day_entered_by_hand_settles_the_deadlines_it_touches(
    monkeypatch, accepted_before_national_day, sysadmin
):
    case, _clerk, _applicant = accepted_before_national_day
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 9, 29, 11, 0))
    services.set_calendar_day(sysadmin, dt.date(2026, 9, 30), is_working_day=False, note="临时休假")
    case.refresh_from_db()
    # 9/30 off now: 10/1, 10/2, 10/5, 10/6, 10/7 — still by the weekend, still provisional.
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 7)
    assert deadlines.is_provisional(case.due_at)
    row = ProvisionalDeadline.objects.get(target="applications.application.due_at")
    assert row.due_at == case.due_at


def test_the_hourly_catch_up_settles_what_a_load_did_not_see(accepted_before_national_day):
    # As if the case had been accepted by a request that committed after the load settled:
    # the year's rows are there, the deadline still counted by the weekend.
    case, _clerk, _applicant = accepted_before_national_day
    plan = holidays.parse_notice(NOTICE_2026)
    calendar.replace_year(2026, ((d.date, d.is_working_day, d.note) for d in plan.days()))
    job = REGISTRY["policywindow.core.provisional.settle_provisional_deadlines"]
    assert job.interval == dt.timedelta(hours=1)
    assert job.task.call() == 2  # the case and its task
    case.refresh_from_db()
    assert deadlines.last_day(case.due_at) == dt.date(2026, 10, 12)
    assert job.task.call() == 0  # nothing left to settle
