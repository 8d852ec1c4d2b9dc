"""Reform-task progress reports as a workflow subject: what a drawn 督办审核 review means to them.

The bureau draws the review of progress reports like any other workflow (levels of nodes, e.g.
the lead department's 初审, then the bureau's 督办复核) and publishes it as the subject type's own
workflow; filing a report starts it (``services.reports``). This says how a report is locked
(its task, then the report: the order of every writer of reports), which facts a node condition
reads, who leads it (the task's responsible department) and where it is (the task's locality),
how lists and messages name it, and what the review's outcomes do: approved → 已采纳 (the task
follows as an acceptance does), rejected → 未采纳 (final), 退回修改 → 已退回 with the reason,
until the department files it again and the review resumes at the node that returned it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse

from policywindow.core.audit import register_action_labels
from policywindow.core.calendar import Deadline
from policywindow.core.errors import Conflict
from policywindow.workflow import subjects
from policywindow.workflow.models import InstanceStatus, TaskStatus, WorkflowTask
from policywindow.workflow.services.runtime import Case
from policywindow.workflow.subjects import CaseContext, Label

from .models import (
    REVIEW_STEP_LABELS,
    SUBJECT_TYPE,
    ProgressReport,
    ReportEvent,
    ReportKind,
    Scope,
)
from .services import reports

Action = ReportEvent.Action
FACT_LABELS = {
    "percent": "完成进度（%）",
    "is_completion": "是否完成报告",
    "is_ftz": "是否自贸试验区事项",
}
NO_REOPEN = "进展报告审核办结后不能重新审核；如需调整，请报送部门报送新的进展报告"


class ReportSubject(subjects.Subject):
    type = SUBJECT_TYPE
    label = "改革任务进展报告"
    design_permissions = (
        "reform:workflow:list",
        "reform:workflow:update",
        "reform:workflow:publish",
    )

    # --- reading and locking -------------------------------------------------------------
    def lock(self, pk: int) -> ProgressReport:
        return reports.lock_report(pk)

    def no_workflow(self, row: ProgressReport) -> str:
        return "督办审核流程尚未发布，请联系改革督办员发布后再报送"

    def facts(self, row: ProgressReport) -> Mapping[str, Any]:
        return {
            "percent": row.percent,
            "is_completion": row.kind == ReportKind.COMPLETION,
            "is_ftz": row.task.item.scope == Scope.FTZ,
        }

    def fact_labels(self, row: ProgressReport | None = None) -> dict[str, str]:
        return dict(FACT_LABELS)

    def context(self, row: ProgressReport) -> CaseContext:
        task = row.task
        return CaseContext(task.department_id, task.locality.region_code or None)

    def label_of(self, row: ProgressReport) -> Label:
        task = row.task
        return Label(
            f"改革任务 {task.item.number}",
            task.item.title,
            f"{task.department.name} · {task.locality.name}",
            _link(row.pk),
        )

    def labels(self, ids: Iterable[int]) -> dict[int, Label]:
        rows = ProgressReport.objects.filter(pk__in=list(ids)).values_list(
            "pk",
            "task__item__number",
            "task__item__title",
            "task__department__name",
            "task__locality__name",
        )
        return {
            pk: Label(f"改革任务 {number}", title, f"{department} · {locality}", _link(pk))
            for pk, number, title, department, locality in rows
        }

    def review_days(self, row: ProgressReport) -> int:
        raise Conflict(NO_REOPEN)

    # --- what happens ----------------------------------------------------------------------
    def record(self, case: Case, actor: Any, action: str, note: str, data: dict) -> None:
        reports.add_event(case.row, actor, action, note, case.now, node=data.get("node", ""))

    def finished(self, case: Case, status: str, actor: Any) -> None:
        approved = status == InstanceStatus.APPROVED
        action = Action.REVIEW_APPROVED if approved else Action.REVIEW_REJECTED
        _conclude(case, actor, action, _last_opinion(case))

    def supplement_requested(
        self, case: Case, actor: Any, reason: str, items: tuple[dict[str, str], ...]
    ) -> None:
        _conclude(case, actor, Action.REVIEW_SUPPLEMENT, reason)

    def resumed(self, case: Case, actor: Any, due: Deadline, **move: Any) -> None:
        # A report has no time limit of its own: only its nodes' limits run again.
        reports.resubmitted(case.row, actor, case.now)

    def reopened(self, case: Case, actor: Any, due: Deadline, reason: str, *, action: str) -> None:
        raise Conflict(NO_REOPEN)


def _link(pk: int) -> str:
    return reverse("reforms:report_detail", args=[pk])


def _last_opinion(case: Case) -> str:
    """The opinion of the decision that ended the review (written before the case moves)."""
    decided = WorkflowTask.objects.filter(
        instance=case.instance, status__in=(TaskStatus.APPROVED, TaskStatus.REJECTED)
    ).order_by("-decided_at", "-id")
    return decided.values_list("opinion", flat=True).first() or ""


def _conclude(case: Case, actor: Any, action: str, comment: str) -> None:
    """Move the report; a decision's one audit event records the move it caused."""
    gathered = case.gathered
    changed = reports.conclude(case.row, actor, action, comment, case.now, audited=gathered is None)
    if gathered is not None:
        gathered.update(changed)


def register() -> None:
    """Called from the app's ``ready()``: reports are a workflow subject, and the operation log
    names its steps."""
    subjects.register(ReportSubject())
    register_action_labels(
        {f"{SUBJECT_TYPE}.{step}": label for step, label in REVIEW_STEP_LABELS.items()}
    )
