"""Importing the table: items, departments, per-locality tasks with working-day deadlines,
idempotence, all-or-nothing, and the command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from policywindow.core.calendar import SHANGHAI, deadline, working_day_deadline
from policywindow.core.errors import ValidationFailed
from policywindow.core.models import AuditEvent, ProvisionalDeadline
from policywindow.notifications.models import Notification
from policywindow.reforms.models import Programme, ReformItem, ReformTask
from policywindow.reforms.services.importing import ImportOptions, import_table
from policywindow.reforms.table import TableRejected
from policywindow.system.models import Department

from .conftest import ISSUED_ON, REAL_TABLE
from .test_table import HEAD, simple_parse

pytestmark = pytest.mark.django_db
CITIES = ["沈阳市营商局", "大连市营商局", "鞍山市营商局", "营口市营商局"]
AREAS = ["沈阳片区", "大连片区", "营口片区"]


def _import(actor, data: bytes, options: ImportOptions, **kwargs):
    return import_table(actor, data, source_name="table.txt", options=options, **kwargs)


def _snapshot() -> tuple:
    """Everything an import writes, to prove a second import writes nothing."""
    return (
        list(Programme.objects.values().order_by("pk")),
        list(ReformItem.objects.values().order_by("pk")),
        list(ReformTask.objects.values().order_by("pk")),
        list(Department.objects.values().order_by("pk")),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def test_the_real_table_becomes_46_items_with_their_departments_and_scopes(
    supervisor, options, real_table
):
    report = _import(supervisor, real_table, options)
    headings, expected = simple_parse(REAL_TABLE.read_text(encoding="utf-8"))
    items = ReformItem.objects.prefetch_related("links__department")
    assert items.count() == len(expected) == 46
    assert report.items_total == 46 and len(report.items_created) == 46
    assert [name for name, _ in report.categories] == headings
    assert sorted({i.category for i in items}) == sorted(headings) and len(headings) == 5
    labels = {"province": "全省", "ftz": "自贸试验区及协同区"}
    for item in items:
        title, departments, scope, category = expected[item.number]
        assert (item.title, labels[item.scope], item.category) == (title, scope, category)
        assert [link.department.name for link in item.links.all()] == departments
    # One task per responsible department and locality: the four city bureaus for 全省,
    # the three FTZ areas (created, as the demo has none) for 自贸试验区及协同区.
    wanted = sum(
        len(departments) * (4 if scope == "全省" else 3)
        for _, departments, scope, _ in expected.values()
    )
    assert report.tasks_created == ReformTask.objects.count() == wanted
    assert report.localities == {"全省": CITIES, "自贸试验区及协同区": AREAS}
    assert len(report.departments_created) == 3
    assert Department.objects.filter(kind=Department.Kind.AREA).count() == 3


def test_deadlines_count_working_days_from_the_issue_date(supervisor, options, real_table):
    _import(supervisor, real_table, options)
    start = dt.datetime.combine(ISSUED_ON, dt.time(12), tzinfo=SHANGHAI)
    province = working_day_deadline(start, options.province_days)
    ftz = working_day_deadline(start, options.ftz_days)
    assert ftz == dt.datetime(2026, 3, 17, tzinfo=SHANGHAI)  # 10 working days after Mon 2 March
    assert set(
        ReformTask.objects.filter(item__scope="province").values_list("due_at", flat=True)
    ) == {province}
    assert set(ReformTask.objects.filter(item__scope="ftz").values_list("due_at", flat=True)) == {
        ftz
    }


def test_importing_the_same_file_again_changes_nothing(supervisor, options, real_table):
    _import(supervisor, real_table, options)
    before = _snapshot()
    again = _import(supervisor, real_table, options)
    assert not again.changed
    assert (again.items_created, again.items_updated, again.tasks_created) == ([], [], 0)
    assert again.tasks_total == ReformTask.objects.count()
    assert _snapshot() == before


def test_a_malformed_row_is_reported_by_line_and_nothing_is_imported(
    supervisor, options, real_table
):
    lines = real_table.decode("utf-8").split("\n")
    broken = next(n for n, line in enumerate(lines) if line.startswith("7\t"))
    lines[broken] = lines[broken].rsplit("\t", 1)[0]  # item 7 loses its 推广范围 column
    before = _snapshot()
    with pytest.raises(TableRejected) as caught:
        _import(supervisor, "\n".join(lines).encode("utf-8"), options)
    assert [p.line for p in caught.value.problems] == [broken + 1]
    assert _snapshot() == before


def test_a_problem_found_late_rolls_back_what_was_already_written(supervisor, options, org):
    """A new department and the FTZ areas are created before the items are matched; when an
    item then fails, none of them remains."""
    first = "\n".join(["测试专项", HEAD, "一、政府职能转变领域", "1\t事项甲\t内容\t省营商局\t全省"])
    _import(supervisor, first.encode(), options)
    before = _snapshot()
    clash = "\n".join(
        [
            "测试专项",
            HEAD,
            "一、政府职能转变领域",
            "1\t改名的事项\t内容\t省新设局\t自贸试验区及协同区",
        ]
    )
    with pytest.raises(TableRejected) as caught:
        _import(supervisor, clash.encode(), options)
    assert caught.value.problems[0].line == 4
    assert "序号 1 已导入为“事项甲”" in caught.value.problems[0].message
    assert _snapshot() == before
    assert not Department.objects.filter(name="省新设局").exists()


def test_a_department_the_system_lacks_is_created_and_reported(supervisor, options):
    text = "\n".join(
        ["测试专项", HEAD, "一、金融创新领域", "1\t事项甲\t内容\t省大数据局、省营商局\t全省"]
    )
    preview = _import(supervisor, text.encode(), options, dry_run=True)
    assert preview.departments_created == ["省大数据局"] and preview.tasks_created == 8
    assert not Department.objects.filter(name="省大数据局").exists()
    assert not Programme.objects.exists()
    report = _import(supervisor, text.encode(), options)
    assert report.departments_created == ["省大数据局"]
    created = Department.objects.get(name="省大数据局")
    assert created.kind == Department.Kind.PROVINCE and created.path == f"/{created.pk}/"
    assert ReformTask.objects.filter(department=created).count() == 4


def test_a_city_added_later_gets_its_tasks_on_the_next_import(
    supervisor, options, real_table, org, make_department
):
    _import(supervisor, real_table, options)
    tieling = make_department("铁岭市营商局", parent=org["YSJ"], kind="city", region_code="211200")
    report = _import(supervisor, real_table, options)
    province_pairs = sum(
        i.links.count()
        for i in ReformItem.objects.filter(scope="province").prefetch_related("links")
    )
    assert report.tasks_created == province_pairs
    assert set(
        ReformTask.objects.filter(locality=tieling).values_list("item__scope", flat=True)
    ) == {"province"}


def test_changed_content_updates_the_item_and_keeps_its_tasks(supervisor, options, real_table):
    _import(supervisor, real_table, options)
    tasks = list(ReformTask.objects.values_list("pk", flat=True).order_by("pk"))
    text = real_table.decode("utf-8").replace("采用多部门并联审核的方式", "采用多部门并联审核方式")
    report = _import(supervisor, text.encode("utf-8"), options)
    assert report.items_updated == [2] and report.tasks_created == 0
    assert ReformItem.objects.get(number=2).content.startswith("采用多部门并联审核方式")
    assert list(ReformTask.objects.values_list("pk", flat=True).order_by("pk")) == tasks


def test_without_city_departments_province_items_cannot_be_divided(supervisor, options, org):
    Department.objects.filter(kind=Department.Kind.CITY).update(status="disabled")
    text = "\n".join(["测试专项", HEAD, "一、扩大开放领域", "1\t事项甲\t内容\t省营商局\t全省"])
    with pytest.raises(TableRejected, match="导入失败") as caught:
        _import(supervisor, text.encode(), options)
    assert "下没有启用的市级部门" in caught.value.problems[0].message


def test_a_deadline_beyond_the_holiday_table_is_provisional(supervisor, org):
    # 60 working days from 2026-12-01 end in 2027, which the table does not hold yet.
    late = ImportOptions(
        bureau=org["YSJ"], issued_on=dt.date(2026, 12, 1), province_days=60, ftz_days=10
    )
    text = "\n".join(["测试专项", HEAD, "一、扩大开放领域", "1\t事项甲\t内容\t省营商局\t全省"])
    report = _import(supervisor, text.encode(), late)
    due = deadline(dt.datetime(2026, 12, 1, 12, tzinfo=SHANGHAI), 60)
    assert due.provisional and due.last_day.year == 2027
    assert report.due == {"全省": due.last_day} and report.provisional == ["全省"]
    assert any("（暂定" in line for line in report.lines())
    tasks = list(ReformTask.objects.all())
    assert tasks and {t.due_at for t in tasks} == {due.due_at}
    remembered = ProvisionalDeadline.objects.filter(target="reforms.reformtask.due_at")
    assert sorted(remembered.values_list("object_id", flat=True)) == sorted(t.pk for t in tasks)


def test_a_new_programme_needs_sensible_limits(supervisor, org):
    bad = ImportOptions(bureau=org["YSJ"], issued_on=ISSUED_ON, province_days=0, ftz_days=10)
    text = "\n".join(["测试专项", HEAD, "一、扩大开放领域", "1\t事项甲\t内容\t省营商局\t全省"])
    with pytest.raises(ValidationFailed) as caught:
        _import(supervisor, text.encode(), bad)
    assert "province_days" in caught.value.details
    untitled = text.split("\n", 1)[1]
    with pytest.raises(ValidationFailed, match="请填写专项名称"):
        _import(supervisor, untitled.encode(), ImportOptions(org["YSJ"], ISSUED_ON, 20, 10))


def test_departments_with_new_tasks_are_told_once(supervisor, options, real_table, make_user, org):
    dlhg = make_user("dlhg", "reviewer", dept=org["DLHG"])
    city = make_user("sy", "section_chief", dept=org["SY-YSJ"])
    _import(supervisor, real_table, options)
    _import(supervisor, real_table, options)
    [message] = Notification.objects.filter(recipient=dlhg)
    assert message.subject.endswith("涉及本部门 68 项任务")  # 17 items × 4 cities
    assert Notification.objects.filter(recipient=city).count() == 1


def test_the_command_imports_reports_and_refuses_bad_files(supervisor, org, tmp_path, real_table):
    table = tmp_path / "分工表.txt"
    table.write_bytes(real_table)
    args = [str(table), "--issued-on", "2026-03-02", "--province-days", "20", "--ftz-days", "10"]
    out = io.StringIO()
    call_command("import_reforms", *args, "--user", "ggdb", stdout=out)
    text = out.getvalue()
    assert "事项 46 项，分 5 个领域" in text and "新增事项 46 项" in text
    assert "用时" in text and "自贸试验区及协同区事项办理期限：2026-03-16" in text
    out = io.StringIO()
    call_command("import_reforms", *args, "--user", "ggdb", stdout=out)
    assert "没有任何变化" in out.getvalue()
    table.write_text(real_table.decode("utf-8").replace("\t全省\n", "\t全国\n", 1), "utf-8")
    with pytest.raises(CommandError, match=r"第 \d+ 行：推广范围“全国”无法识别"):
        call_command("import_reforms", *args, "--user", "ggdb", "--title", "另一专项")
    assert Programme.objects.count() == 1
