"""Departments' and reviewers' pages: the task list, a task, filing and reviewing reports (in
one step, or as an approver of the 督办审核 workflow on the report page)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from policywindow.core.files import send_file
from policywindow.core.paging import page_of, querystring
from policywindow.workflow.services import runtime

from .. import selectors
from ..forms import REVIEW_TABS, ReportDecisionForm, ReportForm, ReviewForm
from ..models import SUBJECT_TYPE, ProgressReport, ReformTask, ReportStatus, TaskStatus
from ..selectors import OpenTask, ReportReview
from ..services import reports
from .programme import filtered

# Deciding a report's workflow task takes what deciding any workflow task takes (审批); the
# runtime checks that the task is the user's.
DECIDE_PERMISSION = "approval:task:decide"


def _can(request: HttpRequest, code: str) -> bool:
    return request.user.has_permission_code(code)


@permission("reform:task:list")
def task_list(request: HttpRequest) -> HttpResponse:
    current = selectors.programme_or_latest(request.GET.get("programme"))
    if current is None:
        return render(request, "reforms/programme_empty.html")
    form, filters = filtered(request, current)
    page = page_of(request, selectors.task_list(request.user, current, filters))
    marks = selectors.deadline_marks(list(page))
    context = {
        "programme": current,
        "programmes": selectors.programmes(),
        "page": page,
        "rows": [(task, marks.get(task.pk)) for task in page],
        "form": form,
        "querystring": querystring(request),
        "can_report": _can(request, reports.REPORT_PERMISSION),
    }
    return render(request, "reforms/task_list.html", context)


@permission("reform:task:list")
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.visible_task(request.user, pk)
    return render(request, "reforms/task_detail.html", _task_context(request, task))


def _task_context(request: HttpRequest, task: ReformTask) -> dict:
    open_report = selectors.open_report(task)
    return {
        "task": task,
        "item": task.item,
        "points": selectors.content_points(task.item.content),
        "reports": selectors.reports_of(task),
        "mark": selectors.deadline_marks([task]).get(task.pk),
        "open_report": open_report,
        "may_report": _can(request, reports.REPORT_PERMISSION)
        and task.status != TaskStatus.ACCEPTED
        and open_report is None,
    }


@permission("reform:task:report")
def report_create(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.visible_task(request.user, pk)
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = reports.submit_report(request.user, task, form.report_input())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("reforms:task_detail", task.pk)
        else:
            if selectors.workflow_reviewed(report.pk):
                messages.success(request, "进展报告已报送，进入督办审核流程逐级审核")
            else:
                bureau = task.item.programme.bureau.name
                messages.success(request, f"进展报告已报送，等待{bureau}审核")
            return redirect("reforms:report_detail", report.pk)
    context = {**_task_context(request, task), "form": form, "report": None}
    return render(request, "reforms/report_form.html", context)


@permission("reform:task:list")
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.visible_report(request.user, pk)
    return render(request, "reforms/report_detail.html", _report_context(request, report))


def _report_context(
    request: HttpRequest,
    report: ProgressReport,
    *,
    review_form: ReviewForm | None = None,
    review: ReportReview | None = None,
    decision_form: ReportDecisionForm | None = None,
) -> dict:
    submitted = report.status == ReportStatus.SUBMITTED
    review = review or selectors.report_review(request.user, report)
    panels = []
    if review is not None and _can(request, DECIDE_PERMISSION):
        for open_task in review.open_tasks:
            form = decision_form
            if form is None or form.task.pk != open_task.task.pk:
                form = _decision_form(open_task)
            panels.append((open_task.task, form))
    return {
        "report": report,
        "task": report.task,
        "item": report.task.item,
        "figures": report.figures,
        "evidence": selectors.report_evidence(report),
        "history": selectors.report_history(report),
        "review": review,
        "panels": panels,
        "may_review": submitted and review is None and _can(request, reports.REVIEW_PERMISSION),
        "may_revise": report.status == ReportStatus.RETURNED
        and _can(request, reports.REPORT_PERMISSION),
        "review_form": review_form or ReviewForm(),
    }


def _decision_form(open_task: OpenTask, data=None) -> ReportDecisionForm:
    return ReportDecisionForm(
        data,
        task=open_task.task,
        first_level=open_task.first_level,
        on_reject=open_task.on_reject,
    )


@require_POST
@permission(DECIDE_PERMISSION)
def report_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """An approver's decision on one of his open tasks of the report's workflow."""
    report = selectors.visible_report(request.user, pk)
    review = selectors.report_review(request.user, report)
    chosen = request.POST.get("task", "")
    open_tasks = review.open_tasks if review is not None else []
    mine = next((o for o in open_tasks if str(o.task.pk) == chosen), None)
    if mine is None:
        messages.error(request, "该审批任务已办理，或不是您的待办")
        return redirect("reforms:report_detail", report.pk)
    form = _decision_form(mine, request.POST)
    if form.is_valid():
        try:
            runtime.decide(request.user, mine.task.pk, form.decision())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except (Conflict, PermissionDenied, NotFound) as exc:
            messages.error(request, exc.message)
            return redirect("reforms:report_detail", report.pk)
        else:
            messages.success(request, f"已{form.action_label()}：{mine.task.node_name}")
            return redirect("reforms:report_detail", report.pk)
    context = _report_context(request, report, review=review, decision_form=form)
    return render(request, "reforms/report_detail.html", context)


@permission("reform:workflow:list")
def review_workflow(request: HttpRequest) -> HttpResponse:
    """The 督办审核流程 menu: the workflow designer of progress reports (a menu names a route
    without arguments)."""
    return redirect(reverse("workflow:type_designer", kwargs={"subject_type": SUBJECT_TYPE}))


@permission("reform:task:report")
def report_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.visible_report(request.user, pk)
    form = ReportForm(request.POST or None, request.FILES or None, report=report)
    if request.method == "POST" and form.is_valid():
        try:
            reports.resubmit_report(request.user, report, form.report_input())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("reforms:report_detail", report.pk)
        else:
            messages.success(request, "修改后的进展报告已重新报送")
            return redirect("reforms:report_detail", report.pk)
    context = {**_task_context(request, report.task), "form": form, "report": report}
    return render(request, "reforms/report_form.html", context)


def _review(request: HttpRequest, pk: int, act, done: str) -> HttpResponse:
    report = selectors.visible_report(request.user, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            act(request.user, report, form.cleaned_data["comment"])
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("reforms:report_detail", report.pk)
        else:
            messages.success(request, done)
            return redirect("reforms:review_queue")
    context = _report_context(request, report, review_form=form)
    return render(request, "reforms/report_detail.html", context)


@require_POST
@permission("reform:report:review")
def report_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, reports.accept_report, "已采纳该进展报告")


@require_POST
@permission("reform:report:review")
def report_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, reports.return_report, "已退回该进展报告，报送部门将收到修改意见")


@permission("reform:report:list")
def review_queue(request: HttpRequest) -> HttpResponse:
    tabs = dict(REVIEW_TABS)
    status = request.GET.get("status", ReportStatus.SUBMITTED)
    status = status if status in tabs else ReportStatus.SUBMITTED
    page = page_of(request, selectors.review_queue(request.user, status))
    context = {
        "page": page,
        "tabs": REVIEW_TABS,
        "status": status,
        "querystring": querystring(request),
        "can_review": _can(request, reports.REVIEW_PERMISSION),
    }
    return render(request, "reforms/review_queue.html", context)


@permission("reform:task:list")
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.visible_evidence(request.user, pk)
    return send_file(item.file, item.original_name, item.content_type)


urlpatterns = [
    path("reforms/tasks/", task_list, name="task_list"),
    path("reforms/tasks/<int:pk>/", task_detail, name="task_detail"),
    path("reforms/tasks/<int:pk>/report/", report_create, name="report_create"),
    path("reforms/reports/", review_queue, name="review_queue"),
    path("reforms/reports/<int:pk>/", report_detail, name="report_detail"),
    path("reforms/reports/<int:pk>/resubmit/", report_resubmit, name="report_resubmit"),
    path("reforms/reports/<int:pk>/accept/", report_accept, name="report_accept"),
    path("reforms/reports/<int:pk>/return/", report_return, name="report_return"),
    path("reforms/reports/<int:pk>/decide/", report_decide, name="report_decide"),
    path("reforms/workflow/", review_workflow, name="review_workflow"),
    path("reforms/evidence/<int:pk>/", evidence, name="evidence"),
]
