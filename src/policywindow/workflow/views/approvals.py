"""审批管理 pages: to-do (with batch approval), done, department queue and approvers. A case's
own pages — the case page with its decision forms, and 办理时效 — are its subject's
(``applications.views.review``). Reads come from ``selectors``, writes from
``services.runtime``."""

from __future__ import annotations

from dataclasses import replace

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.paging import page_of, querystring
from policywindow.policies.forms import rule_filter_field

from .. import selectors
from ..services import runtime

BATCH_RESULTS = "approval_batch_results"


# --------------------------------------------------------------------------- task lists
class TaskFilterForm(BootstrapFormMixin, forms.Form):
    rule = rule_filter_field()
    overdue = forms.BooleanField(label="只看已超期", required=False)

    def filters(self) -> selectors.TaskFilter:
        """The valid filters; an invalid one is shown as an error and left out."""
        self.is_valid()
        rule = self.cleaned_data.get("rule")
        return selectors.TaskFilter(
            rule_id=rule.pk if rule else None, overdue_only=bool(self.cleaned_data.get("overdue"))
        )


class QueueFilterForm(TaskFilterForm):
    stuck = forms.BooleanField(label="只看卡住的节点", required=False)

    def filters(self) -> selectors.TaskFilter:
        found = super().filters()
        return replace(found, stuck_only=bool(self.cleaned_data.get("stuck")))


def _render_todo(
    request: HttpRequest, *, batch_error: str = "", batch_opinion: str = "", checked=()
) -> HttpResponse:
    form = TaskFilterForm(request.GET)
    page = page_of(request, selectors.todo_tasks(request.user, form.filters()))
    marks = selectors.task_marks(page)
    context = {
        "form": form,
        "page": page,
        "rows": [
            (task, marks.get(task.pk), selectors.batchable(task))
            for task in selectors.labelled(page)
        ],
        "querystring": querystring(request),
        "batch_results": request.session.pop(BATCH_RESULTS, None),
        "batch_error": batch_error,
        "batch_opinion": batch_opinion,
        "checked": {str(pk) for pk in checked},
        "can_batch": request.user.has_permission_code("approval:task:batch"),
    }
    return render(request, "workflow/approval_todo.html", context)


@permission("approval:task:todo")
def todo(request: HttpRequest) -> HttpResponse:
    return _render_todo(request)


@permission("approval:task:done")
def done(request: HttpRequest) -> HttpResponse:
    page = page_of(request, selectors.done_tasks(request.user))
    context = {"page": page, "tasks": selectors.labelled(page), "querystring": ""}
    return render(request, "workflow/approval_done.html", context)


@permission("approval:queue:list")
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    page = page_of(request, selectors.queue_tasks(request.user, form.filters()))
    context = {
        "form": form,
        "page": page,
        "rows": selectors.queue_rows(page),
        "querystring": querystring(request),
    }
    return render(request, "workflow/approval_queue.html", context)


@require_POST
@permission("approval:task:batch")
def batch(request: HttpRequest) -> HttpResponse:
    """Approve the ticked 或签 tasks with one opinion; each task's outcome is listed after."""
    ids = [int(value) for value in request.POST.getlist("tasks") if value.isdigit()]
    opinion = request.POST.get("opinion", "").strip()
    problem = "" if ids else "请先勾选要批量审批的或签任务"
    if ids and not opinion:
        problem = "请填写批量审批意见"
    if problem:
        return _render_todo(request, batch_error=problem, batch_opinion=opinion, checked=ids)
    mine = selectors.my_tasks(request.user, ids)
    outcome = runtime.approve_many(request.user, [pk for pk in ids if pk in mine], opinion)
    request.session[BATCH_RESULTS] = [
        {
            "task": pk,
            "number": mine[pk].application.number if pk in mine else "",
            "node": mine[pk].node_name if pk in mine else "",
            "error": outcome.get(pk, "审批任务不存在"),
        }
        for pk in ids
    ]
    approved = sum(1 for pk in ids if pk in outcome and not outcome[pk])
    messages.info(request, f"批量审批完成：通过 {approved} 件，未通过 {len(ids) - approved} 件")
    return redirect("workflow:todo")


# --------------------------------------------------------------------------- supervision
@permission("approval:approver:list")
def approvers(request: HttpRequest) -> HttpResponse:
    page = page_of(request, selectors.approvers(request.user))
    loads = selectors.approver_loads(page)
    empty = selectors.ApproverLoad()
    context = {
        "page": page,
        "rows": [(person, loads.get(person.pk, empty)) for person in page],
        "recent_days": selectors.RECENT_DAYS,
        "querystring": "",
    }
    return render(request, "workflow/approval_approvers.html", context)


urlpatterns = [
    path("approvals/todo/", todo, name="todo"),
    path("approvals/done/", done, name="done"),
    path("approvals/queue/", queue, name="queue"),
    path("approvals/batch/", batch, name="batch"),
    path("approvals/approvers/", approvers, name="approvers"),
]
