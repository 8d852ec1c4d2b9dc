"""The pages: programme view with chart data, filters, Excel export, print, the upload with
preview, filing and reviewing through the browser forms, and data scope on every page."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from openpyxl import load_workbook

from policywindow.core.models import CalendarDay
from policywindow.reforms.models import Programme, ProgressReport, ReformItem, ReformTask
from policywindow.reforms.services.reports import accept_report, submit_report

from .conftest import ISSUED_ON
from .test_reports import completion, pdf, progress

pytestmark = pytest.mark.django_db


@pytest.fixture
def dlhg(make_user, org):
    return make_user("dlhg", "reviewer", dept=org["DLHG"])


@pytest.fixture
def gxt(make_user, org):
    return make_user("gxt", "section_chief", dept=org["GXT"])


def _task(org, number: int, department: str, locality: str) -> ReformTask:
    return ReformTask.objects.get(
        item__number=number, department=org[department], locality=org[locality]
    )


def test_the_programme_view_shows_items_by_area_and_the_chart(
    programme, supervisor, dlhg, org, login
):
    accept_report(supervisor, submit_report(dlhg, _task(org, 15, "DLHG", "DL-YSJ"), completion()))
    page = login(supervisor).get(reverse("reforms:programme"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="rf-category"') == 5
    assert len(re.findall(r'<tr data-number="\d+">', html)) == 46
    assert "vendor/echarts/echarts.min.js" in html and 'id="rf-department-chart"' in html
    chart = json.loads(re.search(r'id="rf-chart-data"[^>]*>(.*?)</script>', html, re.S)[1])
    customs = chart["departments"].index("大连海关")
    done = next(s for s in chart["series"] if s["status"] == "accepted")
    assert done["data"][customs] == 1 and chart["rates"][customs] == 1  # 1 of 68 tasks
    assert sum(sum(s["data"]) for s in chart["series"]) == ReformTask.objects.count()


def test_filters_narrow_items_and_counts(programme, supervisor, login, org):
    client = login(supervisor)
    html = client.get(
        reverse("reforms:programme"), {"department": org["GXT"].pk, "scope": "province"}
    ).content.decode()
    numbers = sorted(int(n) for n in re.findall(r'<tr data-number="(\d+)">', html))
    assert numbers == [33, 43, 44]  # 省工业和信息化厅's three items
    html = client.get(reverse("reforms:programme"), {"status": "accepted"}).content.decode()
    assert "没有符合条件的改革事项" in html
    # A hand-made value is ignored, not an error page.
    assert client.get(reverse("reforms:programme"), {"department": "x"}).status_code == 200


def test_the_excel_export_opens_and_holds_every_item_and_task(programme, supervisor, login):
    response = login(supervisor).get(reverse("reforms:programme_export"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["事项汇总", "任务明细", "部门完成情况"]
    items = list(book["事项汇总"].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in items] == list(range(1, 47))
    assert items[14][2] == "维修物品综保区流转新模式" and items[14][4] == "大连海关 沈阳海关"
    assert {row[1] for row in items} == {
        "一、政府职能转变领域",
        "二、贸易便利化领域",
        "三、金融创新领域",
        "四、国资国企改革领域",
        "五、扩大开放领域",
    }
    tasks = list(book["任务明细"].iter_rows(min_row=3, values_only=True))
    assert len(tasks) == ReformTask.objects.count()
    assert book["任务明细"]["A1"].value.startswith(programme.title)


def test_the_export_marks_deadlines_past_the_holiday_table_as_provisional(
    programme, supervisor, login
):
    CalendarDay.objects.filter(date__gte=dt.date(2026, 3, 25)).delete()  # table ends before
    response = login(supervisor).get(reverse("reforms:programme_export"))
    sheet = load_workbook(io.BytesIO(response.content))["任务明细"]
    assert sheet["E2"].value == "办理期限" and sheet["F2"].value == "期限说明"
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    past = [row for row in rows if row[4].date() > dt.date(2026, 3, 24)]
    assert past and {row[5] for row in past} == {"暂定"}
    before = [row for row in rows if row[4].date() <= dt.date(2026, 3, 24)]
    assert before and {row[5] for row in before} == {None}  # an empty cell


def test_the_export_follows_the_filters(programme, supervisor, login, org):
    response = login(supervisor).get(
        reverse("reforms:programme_export"), {"locality": org["SY-YSJ"].pk}
    )
    book = load_workbook(io.BytesIO(response.content))
    tasks = list(book["任务明细"].iter_rows(min_row=3, values_only=True))
    assert len(tasks) == ReformTask.objects.filter(locality=org["SY-YSJ"]).count()
    assert {row[3] for row in tasks} == {"沈阳市营商局"}
    assert "沈阳市营商局" in book["事项汇总"]["A1"].value


def test_the_printable_summary(programme, supervisor, login):
    html = login(supervisor).get(reverse("reforms:programme_print")).content.decode()
    assert "推进情况汇总" in html and 'data-testid="print-departments"' in html
    # Styles and the print button live in static files (the CSP refuses inline ones).
    assert "reforms/print.css" in html and "data-print" in html
    assert "@page { size: A4 landscape" in Path(finders.find("reforms/print.css")).read_text()
    assert html.count('<tr class="cat">') == 5


def test_a_department_sees_and_reports_only_its_own_tasks(programme, dlhg, gxt, login, org):
    client = login(dlhg)
    listed = client.get(reverse("reforms:task_list")).context["page"]
    assert listed.paginator.count == ReformTask.objects.filter(department=org["DLHG"]).count()
    assert {t.department_id for t in listed} == {org["DLHG"].pk}
    other = _task(org, 33, "GXT", "SY-YSJ")
    assert client.get(reverse("reforms:task_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("reforms:report_create", args=[other.pk])).status_code == 404
    assert client.get(reverse("reforms:programme")).status_code == 403
    report = submit_report(gxt, other, completion())
    assert client.get(reverse("reforms:report_detail", args=[report.pk])).status_code == 404
    evidence = report.evidence.get()
    assert client.get(reverse("reforms:evidence", args=[evidence.pk])).status_code == 404
    assert login(gxt).get(reverse("reforms:evidence", args=[evidence.pk])).status_code == 200


def test_filing_returning_and_resubmitting_through_the_pages(
    programme, dlhg, supervisor, login, org
):
    task = _task(org, 16, "DLHG", "DL-YSJ")
    department = login(dlhg)
    response = department.post(
        reverse("reforms:report_create", args=[task.pk]),
        {
            "kind": "completion",
            "percent": "100",
            "text": "已在大窑湾口岸全面实施。",
            "figure_name_1": "试运行批次",
            "figure_value_1": "42",
            "figure_unit_1": "批",
            "files": [pdf("实施方案.pdf")],
        },
    )
    report = ProgressReport.objects.get(task=task)
    assert response.status_code == 302 and response.url == reverse(
        "reforms:report_detail", args=[report.pk]
    )

    bureau = login(supervisor)
    queue = bureau.get(reverse("reforms:review_queue")).content.decode()
    assert f'data-report="{report.pk}"' in queue
    page = bureau.get(reverse("reforms:report_detail", args=[report.pk])).content.decode()
    assert 'data-testid="review-card"' in page and "实施方案.pdf" in page
    empty = bureau.post(reverse("reforms:report_return", args=[report.pk]), {"comment": ""})
    assert "退回时请填写修改意见" in empty.content.decode()
    bureau.post(reverse("reforms:report_return", args=[report.pk]), {"comment": "请补充数据"})
    report.refresh_from_db()
    assert report.status == "returned"

    form = department.get(reverse("reforms:report_resubmit", args=[report.pk])).content.decode()
    assert "请补充数据" in form and 'value="42"' in form
    department.post(
        reverse("reforms:report_resubmit", args=[report.pk]),
        {"kind": "completion", "percent": "100", "text": "已补充数据。"},
    )
    report.refresh_from_db()
    assert (report.status, report.revision) == ("submitted", 2)
    bureau.post(reverse("reforms:report_accept", args=[report.pk]), {"comment": ""})
    task.refresh_from_db()
    assert task.status == "accepted"
    history = bureau.get(reverse("reforms:report_detail", args=[report.pk])).content.decode()
    assert history.count("rf-h-") == 4


def test_a_department_cannot_review(programme, dlhg, login, org):
    report = submit_report(dlhg, _task(org, 16, "DLHG", "DL-YSJ"), progress())
    response = login(dlhg).post(reverse("reforms:report_accept", args=[report.pk]))
    assert response.status_code == 403
    page = login(dlhg).get(reverse("reforms:report_detail", args=[report.pk])).content.decode()
    assert 'data-testid="review-card"' not in page


def test_the_upload_page_previews_then_imports(supervisor, org, login, real_table):
    client = login(supervisor)
    fields = {
        "bureau": org["YSJ"].pk,
        "issued_on": ISSUED_ON.isoformat(),
        "province_days": "20",
        "ftz_days": "10",
        "title": "",
    }
    upload = io.BytesIO(real_table)
    upload.name = "分工表.txt"
    preview = client.post(
        reverse("reforms:import"), {**fields, "file": upload, "action": "preview"}
    )
    assert preview.status_code == 200
    report = preview.context["report"]
    assert (report.items_total, len(report.categories), report.tasks_created) == (
        46,
        5,
        247,
    )
    assert not Programme.objects.exists()  # a preview writes nothing
    content = preview.context["content"]
    done = client.post(
        reverse("reforms:import"),
        {**fields, "content": content, "source_name": "分工表.txt", "action": "confirm"},
    )
    assert done.status_code == 302
    assert ReformItem.objects.count() == 46 and ReformTask.objects.count() == 247
    assert Programme.objects.get().source_name == "分工表.txt"


def test_the_upload_page_reports_bad_lines_and_imports_nothing(supervisor, org, login):
    bad = "标题\n序号\t借鉴推广事项\t实施内容\t负责部门\t推广范围\n一、扩大开放领域\n1\t事项\t内容\t省营商局\t全国\n"
    upload = io.BytesIO(bad.encode("gb18030"))
    upload.name = "bad.txt"
    response = login(supervisor).post(
        reverse("reforms:import"),
        {
            "bureau": org["YSJ"].pk,
            "issued_on": ISSUED_ON.isoformat(),
            "province_days": "20",
            "ftz_days": "10",
            "file": upload,
            "action": "confirm",
        },
    )
    html = response.content.decode()
    assert '<tr data-line="4">' in html and "推广范围“全国”无法识别" in html
    assert not Programme.objects.exists()


def test_unknown_ids_are_not_found_for_the_bureau(programme, supervisor, login):
    client = login(supervisor)
    for name in ("item_detail", "task_detail", "report_detail", "evidence"):
        assert client.get(reverse(f"reforms:{name}", args=[999999])).status_code == 404


def test_without_a_programme_the_pages_say_so(supervisor, login):
    client = login(supervisor)
    assert "尚未导入改革任务分工表" in client.get(reverse("reforms:programme")).content.decode()
    assert client.get(reverse("reforms:programme_export")).status_code == 302


def test_the_upload_form_starts_from_the_users_bureau_and_a_date_browsers_read(
    supervisor, login, org
):
    html = login(supervisor).get(reverse("reforms:import")).content.decode()
    assert re.search(r'name="issued_on" value="\d{4}-\d{2}-\d{2}"', html)
    assert f'<option value="{org["YSJ"].pk}" selected>' in html
