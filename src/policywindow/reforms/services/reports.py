"""Progress reports and their review at the bureau: a small explicit state machine.

A department files a report on one of its tasks; the business-environment bureau accepts
it or returns it with comments; a returned report is revised and filed again. Every step
locks the task row — a task has at most one open (待审核 or 已退回) report, and two
reviewers or two submitters can never both succeed — then writes the report, one line of
its history, an audit event and the notices in the same transaction.

Why not the workflow engine: it drives applications through per-rule, multi-level, parallel
definitions; this review has one level, one role and no per-item configuration, so a
four-entry transition table says everything and keeps reports out of the approvers' case
lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.core.files import (
    FILE_TYPES,
    check_file,
    clean_original_name,
    random_name,
    sha256_of,
)
from policywindow.notifications.services import notify
from policywindow.system.models import User
from policywindow.system.selectors import users_with_permission

from .. import selectors
from ..models import (
    Evidence,
    ProgressReport,
    ReformTask,
    ReportEvent,
    ReportKind,
    ReportStatus,
    TaskStatus,
)

REPORT_PERMISSION = "reform:task:report"
REVIEW_PERMISSION = "reform:report:review"
EVIDENCE_TYPES = ("pdf", "jpg", "png", "docx", "xlsx")
EVIDENCE_MB = 20
MAX_FILES = 5
MAX_FIGURES = 3
MAX_TEXT = 5000
MAX_COMMENT = 1000

Action = ReportEvent.Action
# (report status before, action) -> report status after; anything else is refused.
TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, Action.SUBMIT): ReportStatus.SUBMITTED,
    (ReportStatus.SUBMITTED, Action.ACCEPT): ReportStatus.ACCEPTED,
    (ReportStatus.SUBMITTED, Action.RETURN): ReportStatus.RETURNED,
    (ReportStatus.RETURNED, Action.RESUBMIT): ReportStatus.SUBMITTED,
}
OPEN = (ReportStatus.SUBMITTED, ReportStatus.RETURNED)
AUDIT_LABELS = {
    "reform.import": "导入改革任务分工表",
    "reform.report.submit": "报送改革任务进展",
    "reform.report.resubmit": "重新报送改革任务进展",
    "reform.report.accept": "采纳改革进展报告",
    "reform.report.return": "退回改革进展报告",
}


@dataclass(frozen=True)
class ReportInput:
    """What a department files: ``figures`` as typed rows of (name, value, unit)."""

    kind: str
    text: str
    percent: int
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)


def next_status(status: str | None, action: str) -> str:
    """The report status after ``action``; a Conflict naming both when the move is not allowed."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        label = ReportStatus(status).label if status else "未报送"
        raise Conflict(f"报告当前为“{label}”，不能{Action(action).label}") from None


def task_status_after(action: str, kind: str) -> str:
    if action in (Action.SUBMIT, Action.RESUBMIT):
        return TaskStatus.REPORTED
    if action == Action.ACCEPT and kind == ReportKind.COMPLETION:
        return TaskStatus.ACCEPTED
    return TaskStatus.IN_PROGRESS


# ---------------------------------------------------------------- the department


def submit_report(actor: User, task: ReformTask, data: ReportInput) -> ProgressReport:
    """File a new report on one of the actor's department's tasks."""
    _require_own_task(actor, task)
    figures, kinds = _clean(data)
    with transaction.atomic():
        task = _locked_task(task.pk)
        if task.status == TaskStatus.ACCEPTED:
            raise Conflict("该任务已完成销号，无需再报送")
        if task.reports.filter(status__in=OPEN).exists():
            raise Conflict("该任务已有待审核或已退回的报告，请先处理该报告")
        _require_evidence(data, kinds, has_earlier=False)
        now = timezone.now()
        report = ProgressReport.objects.create(
            task=task,
            kind=data.kind,
            status=next_status(None, Action.SUBMIT),
            text=data.text.strip(),
            percent=data.percent,
            figures=figures,
            submitted_by=actor,
            submitted_at=now,
        )
        _attach_all(report, actor, data.files, kinds)
        _step(report, actor, Action.SUBMIT, "", now)
        _notify_reviewers(report)
        return report


def resubmit_report(actor: User, report: ProgressReport, data: ReportInput) -> ProgressReport:
    """File a returned report again, revised; earlier evidence stays, new files are added."""
    _require_own_task(actor, report.task)
    figures, kinds = _clean(data)
    with transaction.atomic():
        _locked_task(report.task_id)
        report = ProgressReport.objects.get(pk=report.pk)
        status = next_status(report.status, Action.RESUBMIT)
        _require_evidence(data, kinds, has_earlier=report.evidence.exists())
        now = timezone.now()
        report.kind, report.text, report.percent = data.kind, data.text.strip(), data.percent
        report.figures, report.status, report.revision = figures, status, report.revision + 1
        report.submitted_by, report.submitted_at = actor, now
        report.reviewed_by, report.reviewed_at, report.review_comment = None, None, ""
        report.save()
        _attach_all(report, actor, data.files, kinds)
        _step(report, actor, Action.RESUBMIT, "", now)
        _notify_reviewers(report)
        return report


# ---------------------------------------------------------------- the bureau


def accept_report(actor: User, report: ProgressReport, comment: str = "") -> ProgressReport:
    """Accept a report: a completion report closes the task (已完成)."""
    return _review(actor, report, Action.ACCEPT, comment)


def return_report(actor: User, report: ProgressReport, comment: str) -> ProgressReport:
    """Return a report to the department with what to change."""
    if not comment.strip():
        message = "退回时请填写修改意见"
        raise ValidationFailed(message, details={"comment": [message]})
    return _review(actor, report, Action.RETURN, comment)


def _review(actor: User, report: ProgressReport, action: str, comment: str) -> ProgressReport:
    require_permission(actor, REVIEW_PERMISSION)
    if not selectors.visible_tasks(actor).filter(pk=report.task_id).exists():
        raise PermissionDenied("该报告不在您的数据范围内")
    if len(comment) > MAX_COMMENT:
        message = f"审核意见不能超过 {MAX_COMMENT} 字"
        raise ValidationFailed(message, details={"comment": [message]})
    with transaction.atomic():
        _locked_task(report.task_id)
        report = ProgressReport.objects.select_related("task", "submitted_by").get(pk=report.pk)
        now = timezone.now()
        report.status = next_status(report.status, action)
        report.reviewed_by, report.reviewed_at, report.review_comment = actor, now, comment.strip()
        report.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
        _step(report, actor, action, comment.strip(), now)
        verdict = "已采纳" if action == Action.ACCEPT else "被退回，请修改后重新报送"
        notify(
            [report.submitted_by],
            kind="case_decided",
            subject=f"改革进展报告{verdict}：{report.task.item.title}",
            body=comment.strip(),
            link=reverse("reforms:report_detail", args=[report.pk]),
            dedupe_key=f"reform-review:{report.pk}:{report.revision}:{action}",
        )
        return report


# ---------------------------------------------------------------- shared steps


def _require_own_task(actor: User, task: ReformTask) -> None:
    require_permission(actor, REPORT_PERMISSION)
    if not selectors.visible_tasks(actor).filter(pk=task.pk).exists():
        raise PermissionDenied("只能报送本部门的改革任务")


def _locked_task(pk: int) -> ReformTask:
    return ReformTask.objects.select_for_update().select_related("item").get(pk=pk)


def _step(report: ProgressReport, actor: User, action: str, comment: str, now) -> None:
    """The task follows the report; one history line and one audit event per step."""
    task = report.task
    before = {"task_status": task.status, "percent": task.percent}
    task.status = task_status_after(action, report.kind)
    if action in (Action.SUBMIT, Action.RESUBMIT):
        task.reported_at = now
    elif action == Action.ACCEPT:
        task.percent = 100 if task.status == TaskStatus.ACCEPTED else report.percent
        task.accepted_at = now if task.status == TaskStatus.ACCEPTED else None
    task.save(update_fields=["status", "reported_at", "percent", "accepted_at"])
    ReportEvent.objects.create(
        report=report,
        action=action,
        revision=report.revision,
        actor=actor,
        comment=comment,
        occurred_at=now,
    )
    audit.record(
        f"reform.report.{action}",
        actor=actor,
        target=report,
        before=before,
        after={
            "report_status": report.status,
            "task_status": task.status,
            "percent": task.percent,
            "revision": report.revision,
            "comment": comment,
        },
    )


def _notify_reviewers(report: ProgressReport) -> None:
    task = report.task
    notify(
        users_with_permission(REVIEW_PERMISSION),
        kind="task_assigned",
        subject=f"改革进展待审核：{task.item.number}. {task.item.title}",
        body=f"{task.department.name} · {task.locality.name} 报送了{report.get_kind_display()}"
        f"（第 {report.revision} 次报送）。",
        link=reverse("reforms:report_detail", args=[report.pk]),
        dedupe_key=f"reform-report:{report.pk}:{report.revision}",
    )


def _clean(data: ReportInput) -> tuple[list[dict[str, str]], list[str]]:
    """The figures as stored and the sniffed type of each file; every problem at once."""
    errors: dict[str, list[str]] = {}
    if data.kind not in ReportKind.values:
        errors["kind"] = ["请选择报告类型"]
    text = data.text.strip()
    if not text:
        errors["text"] = ["请填写进展情况"]
    elif len(text) > MAX_TEXT:
        errors["text"] = [f"进展情况不能超过 {MAX_TEXT} 字"]
    if not 0 <= data.percent <= 100:
        errors["percent"] = ["完成进度应在 0–100 之间"]
    elif data.kind == ReportKind.COMPLETION and data.percent != 100:
        errors["percent"] = ["完成报告的完成进度应为 100%"]
    figures, figure_errors = _figures(data.figures)
    if figure_errors:
        errors["figures"] = figure_errors
    kinds, file_errors = _file_kinds(data.files)
    if file_errors:
        errors["files"] = file_errors
    if errors:
        raise ValidationFailed("提交的内容有误", details=errors)
    return figures, kinds


def _figures(rows: list[tuple[str, str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    figures, errors = [], []
    for n, (name, value, unit) in enumerate(rows, start=1):
        name, value, unit = name.strip(), value.strip(), unit.strip()
        if not (name or value or unit):
            continue
        if not name or not value:
            errors.append(f"第 {n} 项指标须同时填写名称和数值")
            continue
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            errors.append(f"第 {n} 项指标的数值“{value}”不是数字")
            continue
        if not number.is_finite() or len(name) > 30 or len(unit) > 10:
            errors.append(f"第 {n} 项指标有误（名称不超过 30 字，单位不超过 10 字）")
            continue
        figures.append({"name": name, "value": str(number), "unit": unit})
    if len(figures) > MAX_FIGURES:
        errors.append(f"量化指标最多 {MAX_FIGURES} 项")
    return figures, errors


def _file_kinds(files: list[UploadedFile]) -> tuple[list[str], list[str]]:
    if len(files) > MAX_FILES:
        return [], [f"每次最多上传 {MAX_FILES} 个佐证材料"]
    kinds, errors = [], []
    for upload in files:
        try:
            kinds.append(check_file(upload, allowed_types=EVIDENCE_TYPES, max_size_mb=EVIDENCE_MB))
        except DjangoValidationError as exc:
            errors.extend(exc.messages)
    return kinds, errors


def _require_evidence(data: ReportInput, kinds: list[str], *, has_earlier: bool) -> None:
    if data.kind == ReportKind.COMPLETION and not kinds and not has_earlier:
        message = "完成报告须附至少一份佐证材料（如印发的文件、办理实例、系统截图）"
        raise ValidationFailed(message, details={"files": [message]})


def _attach_all(
    report: ProgressReport, actor: User, files: list[UploadedFile], kinds: list[str]
) -> None:
    for upload, kind in zip(files, kinds, strict=True):
        evidence = Evidence(
            report=report,
            revision=report.revision,
            original_name=clean_original_name(upload.name),
            content_type=FILE_TYPES[kind].mime,
            size=upload.size,
            sha256=sha256_of(upload),
            uploaded_by=actor,
        )
        evidence.file.save(random_name(kind), upload, save=False)
        evidence.save()
