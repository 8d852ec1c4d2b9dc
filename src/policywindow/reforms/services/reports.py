"""Progress reports and their review: filed by a department, reviewed in one step or through
the 督办审核 workflow the bureau draws.

A department files a report on one of its tasks; a report returned is revised and filed again.
When the bureau has published a workflow for reform-task progress reports (subject type
``reform_report``, see ``review``), filing starts it in the same transaction: the approvers of
its levels decide on the report page (通过, 退回修改, 驳回, 退回上一级), and the outcome moves
the report — 已采纳 (the task follows as an acceptance does), 已退回 (revised and filed again, the
review resumes at the node that returned it) or 未采纳 (final; the department files a new
report). The one-step accept and return are refused for such a report. Without a published
workflow (existing deployments) the bureau accepts or returns a report in one step. A report
stays with the review it was filed under.

Both ways share one transition table. Every step locks the task row, then the report (one lock
order for every writer, the workflow's too: ``lock_report``) — a task has at most one open
(待审核 or 已退回) report, and two reviewers or two submitters can never both succeed — then
writes the report, one line of its history, an audit event and the notices in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

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
from policywindow.workflow.services import runtime

from .. import selectors
from ..models import (
    SUBJECT_TYPE,
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
    (ReportStatus.RETURNED, Action.RESUBMIT): ReportStatus.SUBMITTED,
    # The one-step review.
    (ReportStatus.SUBMITTED, Action.ACCEPT): ReportStatus.ACCEPTED,
    (ReportStatus.SUBMITTED, Action.RETURN): ReportStatus.RETURNED,
    # The outcomes of a workflow review.
    (ReportStatus.SUBMITTED, Action.REVIEW_APPROVED): ReportStatus.ACCEPTED,
    (ReportStatus.SUBMITTED, Action.REVIEW_SUPPLEMENT): ReportStatus.RETURNED,
    (ReportStatus.SUBMITTED, Action.REVIEW_REJECTED): ReportStatus.REJECTED,
}
OPEN = (ReportStatus.SUBMITTED, ReportStatus.RETURNED)
ACCEPTING = (Action.ACCEPT, Action.REVIEW_APPROVED)
FILING = (Action.SUBMIT, Action.RESUBMIT)
# What the department is told of a review's outcome.
VERDICTS = {
    Action.ACCEPT: "已采纳",
    Action.REVIEW_APPROVED: "已采纳",
    Action.RETURN: "被退回，请修改后重新报送",
    Action.REVIEW_SUPPLEMENT: "被退回，请修改后重新报送",
    Action.REVIEW_REJECTED: "未予采纳，请按审核意见报送新的报告",
}
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
    if action in FILING:
        return TaskStatus.REPORTED
    if action in ACCEPTING and kind == ReportKind.COMPLETION:
        return TaskStatus.ACCEPTED
    return TaskStatus.IN_PROGRESS


# ---------------------------------------------------------------- the department


def submit_report(actor: User, task: ReformTask, data: ReportInput) -> ProgressReport:
    """File a new report on one of the actor's department's tasks; with a published workflow
    its review starts (refused, nothing filed, when a level has nobody to act)."""
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
        if runtime.published_workflow(SUBJECT_TYPE) is not None:
            runtime.start(actor, SUBJECT_TYPE, report)  # tells the first level's approvers
        else:
            _notify_reviewers(report)
        return report


def resubmit_report(actor: User, report: ProgressReport, data: ReportInput) -> ProgressReport:
    """File a returned report again, revised; earlier evidence stays, new files are added.
    A report its workflow returned goes back to the node that returned it."""
    _require_own_task(actor, report.task)
    figures, kinds = _clean(data)
    with transaction.atomic():
        report = lock_report(report.pk)
        next_status(report.status, Action.RESUBMIT)  # refused unless returned
        _require_evidence(data, kinds, has_earlier=report.evidence.exists())
        report.kind, report.text, report.percent = data.kind, data.text.strip(), data.percent
        report.figures = figures
        if runtime.in_review_supplement(SUBJECT_TYPE, report.pk):
            runtime.resume(actor, SUBJECT_TYPE, report)  # ``review`` calls ``resubmitted``
        else:
            resubmitted(report, actor, timezone.now())
            _notify_reviewers(report)
        _attach_all(report, actor, data.files, kinds)
        return report


def resubmitted(report: ProgressReport, actor: User, now: dt.datetime) -> None:
    """A *locked* returned report, revised, is filed again as its next revision."""
    report.status = next_status(report.status, Action.RESUBMIT)
    report.revision += 1
    report.submitted_by, report.submitted_at = actor, now
    report.reviewed_by, report.reviewed_at, report.review_comment = None, None, ""
    report.save()
    _step(report, actor, Action.RESUBMIT, "", now)


# ---------------------------------------------------------------- the bureau, in one step


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
        report = lock_report(report.pk)
        if selectors.workflow_reviewed(report.pk):
            raise Conflict("该报告正按督办审核流程逐级审核，请由各级审批人在审批任务中办理")
        conclude(report, actor, action, comment.strip(), timezone.now())
        return report


def conclude(
    report: ProgressReport,
    actor: User,
    action: str,
    comment: str,
    now: dt.datetime,
    *,
    audited: bool = True,
) -> dict[str, Any]:
    """A review's outcome on a *locked* report (accepted, returned, rejected): the report and
    its task move, one history line, the department is told. Returns what changed, for the
    caller's audit event when ``audited`` is false (a workflow decision writes one for all)."""
    before = report.status
    report.status = next_status(report.status, action)
    report.reviewed_by, report.reviewed_at, report.review_comment = actor, now, comment
    report.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
    changed = _step(report, actor, action, comment, now, audited=audited)
    notify(
        [report.submitted_by],
        kind="case_decided",
        subject=f"改革进展报告{VERDICTS[action]}：{report.task.item.title}",
        body=comment,
        link=reverse("reforms:report_detail", args=[report.pk]),
        dedupe_key=f"reform-review:{report.pk}:{report.revision}:{action}",
    )
    return {"case": {"from": before, "to": report.status, "step": action}, **changed}


# ---------------------------------------------------------------- shared steps


def _require_own_task(actor: User, task: ReformTask) -> None:
    require_permission(actor, REPORT_PERMISSION)
    if not selectors.visible_tasks(actor).filter(pk=task.pk).exists():
        raise PermissionDenied("只能报送本部门的改革任务")


def _locked_task(pk: int) -> ReformTask:
    return (
        ReformTask.objects.select_for_update(of=("self",))
        .select_related("item", "department", "locality")
        .get(pk=pk)
    )


def lock_report(pk: int) -> ProgressReport:
    """A report locked for the caller's transaction after its task (the order of every writer
    of reports), with ``task`` (its item, department and locality) and ``submitted_by`` set."""
    task_id = ProgressReport.objects.filter(pk=pk).values_list("task_id", flat=True).get()
    task = _locked_task(task_id)  # a report never changes task: read unlocked, then lock
    report = (
        ProgressReport.objects.select_for_update(of=("self",))
        .select_related("submitted_by")
        .get(pk=pk)
    )
    report.task = task
    return report


def add_event(
    report: ProgressReport, actor: User, action: str, comment: str, now: dt.datetime, node: str = ""
) -> ReportEvent:
    """One line of the report's history."""
    return ReportEvent.objects.create(
        report=report,
        action=action,
        node=node,
        revision=report.revision,
        actor=actor,
        comment=comment,
        occurred_at=now,
    )


def _step(
    report: ProgressReport,
    actor: User,
    action: str,
    comment: str,
    now: dt.datetime,
    *,
    audited: bool = True,
) -> dict[str, Any]:
    """The task follows the report; one history line, and unless told otherwise one audit
    event (a one-step action's ``reform.report.<action>``, a workflow outcome's
    ``reform_report.<action>``). Returns the task's change."""
    task = report.task
    before = {"task_status": task.status, "percent": task.percent}
    task.status = task_status_after(action, report.kind)
    if action in FILING:
        task.reported_at = now
    elif action in ACCEPTING:
        task.percent = 100 if task.status == TaskStatus.ACCEPTED else report.percent
        task.accepted_at = now if task.status == TaskStatus.ACCEPTED else None
    task.save(update_fields=["status", "reported_at", "percent", "accepted_at"])
    add_event(report, actor, action, comment, now)
    after = {"task_status": task.status, "percent": task.percent}
    if audited:
        prefix = f"{SUBJECT_TYPE}." if action.startswith("review_") else "reform.report."
        audit.record(
            f"{prefix}{action}",
            actor=actor,
            target=report,
            before=before,
            after={
                "report_status": report.status,
                **after,
                "revision": report.revision,
                "comment": comment,
            },
        )
    return {"reform_task": {"from": before, "to": after}}


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
