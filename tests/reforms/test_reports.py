"""Progress reports and their review: accept, return, resubmit; overdue marks on a fixed clock;
each department only on its own tasks."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection
from django.utils import timezone

from policywindow.core.calendar import SHANGHAI
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.notifications.models import Notification
from policywindow.reforms import selectors
from policywindow.reforms.models import (
    OVERDUE,
    ProgressReport,
    ReformTask,
    ReportStatus,
    TaskStatus,
)
from policywindow.reforms.selectors import TaskFilters
from policywindow.reforms.services.reports import (
    ReportInput,
    accept_report,
    resubmit_report,
    return_report,
    submit_report,
)
from tests.pdfs import minimal

pytestmark = pytest.mark.django_db


def pdf(name: str = "落实情况.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, minimal("test evidence"), "application/pdf")


def completion(**changes) -> ReportInput:
    fields = {
        "kind": "completion",
        "text": "已在全市推开。",
        "percent": 100,
        "figures": [("惠及企业", "120", "家")],
        "files": [pdf()],
    }
    return ReportInput(**{**fields, **changes})


def progress(percent: int = 40) -> ReportInput:
    return ReportInput(kind="progress", text="正在推进。", percent=percent)


@pytest.fixture
def dlhg(make_user, org):
    return make_user("dlhg", "reviewer", dept=org["DLHG"], real_name="秦海")


@pytest.fixture
def customs_task(programme, org) -> ReformTask:
    """Item 15 (大连海关 沈阳海关, 全省) in 大连."""
    return ReformTask.objects.get(item__number=15, department=org["DLHG"], locality=org["DL-YSJ"])


def test_accept_return_and_resubmit(programme, supervisor, dlhg, customs_task):
    report = submit_report(dlhg, customs_task, completion())
    customs_task.refresh_from_db()
    assert (report.status, report.revision, customs_task.status) == (
        ReportStatus.SUBMITTED,
        1,
        TaskStatus.REPORTED,
    )
    assert report.figures == [{"name": "惠及企业", "value": "120", "unit": "家"}]
    assert Notification.objects.filter(recipient=supervisor, link__contains=str(report.pk))

    with pytest.raises(ValidationFailed, match="退回时请填写修改意见"):
        return_report(supervisor, report, "  ")
    report = return_report(supervisor, report, "请补充办理实例")
    customs_task.refresh_from_db()
    assert report.status == ReportStatus.RETURNED and customs_task.status == TaskStatus.IN_PROGRESS
    assert Notification.objects.get(recipient=dlhg).subject.startswith("改革进展报告被退回")

    with pytest.raises(Conflict, match="不能审核采纳"):
        accept_report(supervisor, report)
    with pytest.raises(Conflict, match="已有待审核或已退回的报告"):
        submit_report(dlhg, customs_task, completion())

    report = resubmit_report(dlhg, report, completion(text="已补充办理实例。", files=[]))
    assert (report.status, report.revision, report.review_comment) == (
        ReportStatus.SUBMITTED,
        2,
        "",
    )
    report = accept_report(supervisor, report, "同意销号")
    customs_task.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    assert (customs_task.status, customs_task.percent) == (TaskStatus.ACCEPTED, 100)
    assert customs_task.accepted_at is not None
    history = [(e.action, e.revision) for e in report.events.all()]
    assert history == [("submit", 1), ("return", 1), ("resubmit", 2), ("accept", 2)]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reform.report.submit", "reform.report.return", "reform.report.accept"} <= actions
    with pytest.raises(Conflict, match="已完成销号"):
        submit_report(dlhg, customs_task, progress())


def test_an_accepted_progress_report_leaves_the_task_in_progress(
    programme, supervisor, dlhg, customs_task
):
    accept_report(supervisor, submit_report(dlhg, customs_task, progress(60)))
    customs_task.refresh_from_db()
    assert (customs_task.status, customs_task.percent) == (TaskStatus.IN_PROGRESS, 60)
    submit_report(dlhg, customs_task, progress(80))  # the next report may follow
    customs_task.refresh_from_db()
    assert customs_task.status == TaskStatus.REPORTED


def test_what_a_report_must_hold(programme, dlhg, customs_task):
    with pytest.raises(ValidationFailed) as caught:
        submit_report(
            dlhg,
            customs_task,
            ReportInput(
                kind="completion",
                text=" ",
                percent=90,
                figures=[("办件量", "很多", "件"), ("", "3", "")],
            ),
        )
    details = caught.value.details
    assert details["text"] == ["请填写进展情况"]
    assert details["percent"] == ["完成报告的完成进度应为 100%"]
    assert details["figures"] == [
        "第 1 项指标的数值“很多”不是数字",
        "第 2 项指标须同时填写名称和数值",
    ]
    with pytest.raises(ValidationFailed, match="须附至少一份佐证材料"):
        submit_report(dlhg, customs_task, completion(files=[]))
    fake = SimpleUploadedFile("方案.pdf", b"just text", "application/pdf")
    with pytest.raises(ValidationFailed) as caught:
        submit_report(dlhg, customs_task, completion(files=[fake]))
    assert "内容不是 PDF 文件" in caught.value.details["files"][0]
    assert not ProgressReport.objects.exists()


def test_a_department_reports_only_on_its_own_tasks(programme, make_user, org, dlhg):
    gxt_task = ReformTask.objects.filter(department=org["GXT"], locality=org["SY-YSJ"]).first()
    with pytest.raises(PermissionDenied, match="只能报送本部门的改革任务"):
        submit_report(dlhg, gxt_task, progress())
    # The city bureau sees and reports every task in its city, whoever is responsible.
    city = make_user("sy_city", "reviewer", dept=org["SY-YSJ"])
    assert submit_report(city, gxt_task, progress()).task_id == gxt_task.pk
    city_tasks = selectors.visible_tasks(city)
    assert city_tasks.count() == ReformTask.objects.filter(locality=org["SY-YSJ"]).count()
    assert not city_tasks.exclude(locality=org["SY-YSJ"]).exists()
    assert set(selectors.visible_tasks(dlhg).values_list("department_id", flat=True)) == {
        org["DLHG"].pk
    }
    # Reviewing needs the bureau's permission.
    with pytest.raises(PermissionDenied):
        accept_report(dlhg, ProgressReport.objects.get())


def test_overdue_follows_the_clock(programme, supervisor, dlhg, customs_task, monkeypatch):
    """全省 items are due at the end of the 20th working day after 2 March 2026 (30 March)."""
    accepted = ReformTask.objects.get(
        item__number=15, department=customs_task.department, locality__code="SY-YSJ"
    )
    accept_report(supervisor, submit_report(dlhg, accepted, completion()))
    submit_report(dlhg, customs_task, progress())

    def statuses(now: dt.datetime) -> dict[int, str]:
        monkeypatch.setattr(timezone, "now", lambda: now)
        rows = selectors.with_status(ReformTask.objects.filter(item__number=15))
        return {t.pk: t.display_status for t in rows}

    before = statuses(dt.datetime(2026, 3, 30, 23, 59, tzinfo=SHANGHAI))
    assert OVERDUE not in before.values()
    assert (before[accepted.pk], before[customs_task.pk]) == ("accepted", "reported")
    after = statuses(dt.datetime(2026, 3, 31, 0, 0, tzinfo=SHANGHAI))
    assert after[accepted.pk] == "accepted"
    assert {status for pk, status in after.items() if pk != accepted.pk} == {OVERDUE}
    summary = selectors.programme_summary(supervisor, programme, TaskFilters(q="15"))
    assert summary.overall.counts == {"accepted": 1, OVERDUE: 7}
    assert summary.categories[0].rows[0].tally.status == OVERDUE


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_reports_filed_at_once_make_one(programme, dlhg, customs_task):
    barrier, results = threading.Barrier(2), []

    def file() -> None:
        close_old_connections()
        barrier.wait()
        try:
            submit_report(dlhg, customs_task, progress())
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=file) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict", "ok"]
    assert ProgressReport.objects.filter(task=customs_task).count() == 1
