"""Reads of an application's review (审批管理's case page) and its per-rule time limits.

A case is readable by whoever has or had a task on it, or whose data scope covers the
application's lead department or one of its reviewing departments; anyone else gets a 404,
never a hint that the case exists. Its materials and its decisions' attachments follow the case.

办理时效 per rule counts cases (``CASE_ON_TIME``, ``CASE_AVERAGE``); the per-department task
figures and the period are the workflow's (``workflow.selectors``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from policywindow.core.figures import Figure
from policywindow.system.datascope import scope_q
from policywindow.workflow.models import TaskAttachment, WorkflowTask
from policywindow.workflow.selectors import (
    Period,
    TimelinessRow,
    due_window,
    duration,
    timeliness_row,
    timeliness_total,
)

from .models import Application, ApplicationStatus, Material


# --------------------------------------------------------------------------- the case page
def _union(*grants: Q) -> Q:
    """Either grant; an empty ``Q()`` (data scope 全部) grants everything, so it must win
    (``Q(a) | Q()`` would quietly drop it)."""
    if any(not grant for grant in grants):
        return Q()
    union = Q(pk__in=[])
    for grant in grants:
        union |= grant
    return union


def visible_case(user: Any, pk: int | None) -> Application:
    """A case with a workflow that the user has (or had) a task on, or whose lead department or
    one of whose reviewing departments the user's data scope covers (a chief opening a case
    from the department queue); 404 otherwise, also for enterprise users."""
    if getattr(user, "is_enterprise", True):
        raise Http404("案件不存在")
    scope = scope_q(user, dept_field="department", owner_field=None)
    tasks = WorkflowTask.objects.filter(application=OuterRef("pk"))
    readable = _union(Q(Exists(tasks.filter(assignee=user))), Q(Exists(tasks.filter(scope))), scope)
    cases = Application.objects.filter(workflow__isnull=False).select_related(
        "enterprise", "rule", "rule_version", "department", "workflow__workflow"
    )
    return get_object_or_404(cases.filter(readable), pk=pk)


def case_material(user: Any, case_pk: int, material_pk: int) -> Material:
    """A file the case's form shows (attached to it or reused from an earlier filing)."""
    application = visible_case(user, case_pk)
    named = [
        int(value)
        for values in (application.answers or {}).values()
        if isinstance(values, list)
        for value in values
        if str(value).isdigit()
    ]
    shown = Q(application=application) | Q(pk__in=named, enterprise_id=application.enterprise_id)
    return get_object_or_404(Material.objects.filter(shown), pk=material_pk)


def task_attachment(user: Any, pk: int) -> TaskAttachment:
    """A decision attachment of a case the user may read (another subject's task: a 404)."""
    attachment = get_object_or_404(TaskAttachment.objects.select_related("task"), pk=pk)
    visible_case(user, attachment.task.application_id)
    return attachment


# --------------------------------------------------------------------------- time-limit stats
# The case figures, defined here once; 办理时效 and the data board show these words.
CASE_ON_TIME = Figure(
    "case_on_time_rate",
    "案件按期办结率",
    "按期办结的案件 ÷ 应办结的案件。应办结：期间内作出审核决定（通过或不通过）的案件，"
    "加上办结期限已在期间内届满、至统计时仍在审核的案件（超期未办结，计为未按期）；"
    "按期：审核决定不晚于办结期限（待企业补正的时间不计入期限）。",
    "期间按北京时间的日期计；仍在审核的案件以统计时（打开页面时）的状态为准。",
)
CASE_AVERAGE = Figure(
    "case_avg_days",
    "平均办理时长",
    "期间内作出审核决定的案件，自受理至审核决定的平均时长（自然日，含补正时间）；"
    "尚未决定的案件不计入。",
    "期间按审核决定日期（北京时间）计。",
)


def _due_cases(user: Any, period: Period, now: dt.datetime | None) -> QuerySet[Application]:
    """Cases in the user's data scope that were due in the period (``CASE_ON_TIME``): decided
    in it, or still in review with their deadline passed within it."""
    first, after, lapsed = due_window(period, now)
    decided = Q(decided_at__gte=first, decided_at__lt=after)
    open_overdue = lapsed & Q(decided_at__isnull=True, status=ApplicationStatus.IN_REVIEW)
    return Application.objects.filter(
        scope_q(user, dept_field="department", owner_field=None),
        decided | open_overdue,
        due_at__isnull=False,
        accepted_at__isnull=False,
    )


def _case_figures() -> dict[str, Any]:
    """What was due, how many by their deadline, how many are still open past it, and the
    average time from acceptance to decision (``CASE_ON_TIME``, ``CASE_AVERAGE``)."""
    return {
        "total": Count("*"),
        "on_time": Count("decided_at", filter=Q(decided_at__lte=F("due_at"))),
        "open_overdue": Count("id", filter=Q(decided_at__isnull=True)),
        "avg": Avg(duration("decided_at", "accepted_at")),
    }


def case_timeliness(
    user: Any, period: Period, now: dt.datetime | None = None
) -> tuple[list[TimelinessRow], TimelinessRow]:
    """Per rule: cases due in the period, how many by their deadline, how many still open past
    it, and the average time from acceptance to decision. One aggregate query."""
    rows = (
        _due_cases(user, period, now)
        .values("rule_id", "rule__code", "rule__current__title")
        .annotate(**_case_figures())
        .order_by("rule__code")
    )
    found = [
        timeliness_row(row["rule__current__title"] or row["rule__code"], row["rule__code"], row)
        for row in rows
    ]
    return found, timeliness_total(found, "合计")
