"""审批管理's pages of an application's review: the case page with its decision, transfer and
withdraw forms, the case's materials and decision attachments, and 办理时效 (per rule and per
department). The to-do lists stay the workflow's (``workflow.views.approvals``). Reads come
from ``selectors_review`` and ``workflow.selectors``, writes from ``workflow.services.runtime``;
a service's error is shown on the page, next to the field it concerns."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.files import DEFAULT_TYPES, accept_attribute, send_file
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.money import MoneyField
from policywindow.system.models import User
from policywindow.workflow import selectors as workflow_reads
from policywindow.workflow.forms import DecidedPeriodForm, DecisionFormBase
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime

from .. import selectors, selectors_review
from ..forms import MultipleFileInput
from ..models import Application
from ..review import current_amount

MATERIAL_PARTIAL = "workflow/approval_material.html"
SERVICE_ERRORS = (ValidationFailed, Conflict, PermissionDenied)


class MultipleUploadField(forms.FileField):
    """Any number of uploads; the service checks their type and size."""

    def __init__(self, **kwargs: Any) -> None:
        widget = MultipleFileInput(attrs={"accept": accept_attribute(DEFAULT_TYPES)})
        super().__init__(widget=widget, required=False, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        return [f for f in (data if isinstance(data, list | tuple) else [data]) if f]


class DecisionForm(DecisionFormBase):
    """通过 / 驳回 / 退回上一级 / 退回企业补正, with the opinion, amount and items to fix."""

    approved_amount = MoneyField(
        label="核定金额（元）", required=False, help_text="可核减，不能高于当前金额。"
    )
    amount_reason = forms.CharField(
        label="核减理由", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    attachments = MultipleUploadField(
        label="审批附件",
        help_text=f"可选，PDF 或图片，最多 {runtime.MAX_ATTACHMENTS} 个，"
        f"每个不超过 {runtime.ATTACHMENT_MB} MB。",
    )

    def __init__(self, *args: Any, task: WorkflowTask, items: list, first_level: bool, **kwargs):
        choices = [
            (value, label)
            for value, label in runtime.ACTIONS.items()
            if not (first_level and value == "return_previous")
        ]
        super().__init__(*args, task=task, choices=choices, **kwargs)
        self.items = items
        for item in items:
            self.fields[f"fix_{item.key}"] = forms.BooleanField(label=item.label, required=False)
            self.fields[f"fix_comment_{item.key}"] = forms.CharField(
                label=f"{item.label}补正要求",
                required=False,
                widget=forms.Textarea(attrs={"rows": 1, "placeholder": "写明需要如何补正"}),
            )

    def checklist(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        return [
            (item, self[f"fix_{item.key}"], self[f"fix_comment_{item.key}"]) for item in self.items
        ]

    def decision(self) -> runtime.Decision:
        data = self.cleaned_data
        return runtime.Decision(
            action=data["action"],
            opinion=data["opinion"],
            approved_amount=data["approved_amount"],
            amount_reason=data["amount_reason"],
            supplement_items=tuple(
                {"key": item.key, "comment": data[f"fix_comment_{item.key}"]}
                for item in self.items
                if data[f"fix_{item.key}"]
            ),
        )

    def add_service_error(self, error: ValidationFailed) -> None:
        """Each ``details`` entry on its field (``items.<key>`` on that item's comment)."""
        placed = False
        for name, problems in (error.details or {}).items():
            prefix, _, key = name.partition(".")
            field = f"fix_comment_{key}" if prefix == "items" and key else name
            for problem in problems if isinstance(problems, list) else [problems]:
                self.add_error(field if field in self.fields else None, problem)
                placed = True
        if not placed:
            self.add_error(None, error.message)


class TransferForm(BootstrapFormMixin, forms.Form):
    to_user = forms.ModelChoiceField(
        label="转办给",
        queryset=User.objects.none(),  # the task's colleagues, set per task
        empty_label="请选择本部门工作人员",
        error_messages={"required": "请选择转办对象", "invalid_choice": "所选人员不可转办"},
    )
    reason = forms.CharField(
        label="转办说明",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写转办说明"},
    )

    def __init__(self, *args: Any, task: WorkflowTask, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"tr{task.pk}_%s")
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["to_user"].queryset = workflow_reads.transfer_targets(user, task)
        self.fields["to_user"].label_from_instance = lambda u: u.real_name or u.username

    def add_service_error(self, error: ValidationFailed) -> None:
        fields = {"to_user": "to_user", "opinion": "reason"}
        placed = False
        for name, problems in (error.details or {}).items():
            for problem in problems:
                self.add_error(fields.get(name), problem)
                placed = True
        if not placed:
            self.add_error(None, error.message)


def _render_case(
    request: HttpRequest,
    application: Application,
    *,
    decision_form: DecisionForm | None = None,
    transfer_form: TransferForm | None = None,
) -> HttpResponse:
    user = request.user
    progress = workflow_reads.case_progress(
        user, application.workflow, application, current_amount(application)
    )
    items = selectors.form_items(application)
    panels = []
    for task in progress.my_open:
        first = progress.first_level is None or task.level <= progress.first_level
        decide_form = (
            decision_form
            if decision_form is not None and decision_form.task.pk == task.pk
            else DecisionForm(
                task=task,
                items=items,
                first_level=first,
                initial={"approved_amount": progress.amount},
            )
        )
        move_form = (
            transfer_form
            if transfer_form is not None and transfer_form.task.pk == task.pk
            else TransferForm(task=task, user=user)
        )
        panels.append((task, decide_form, move_form))
    context = {
        "app": application,
        "sections": selectors.answer_sections(application),
        "timeline": selectors.timeline(application),
        "notices": selectors.supplement_notices(application),
        "due_date": selectors.due_date(application),
        "deadline": selectors.deadline_marks([application]).get(application.pk),
        "amount": selectors.money_text(application.requested_amount),
        "current_amount": selectors.money_text(progress.amount),
        "progress": progress,
        "panels": panels,
        "material_partial": MATERIAL_PARTIAL,
        "open_transfer": transfer_form is not None,
    }
    return render(request, "workflow/approval_case.html", context)


@permission("approval:task:todo")
def case(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_case(request, selectors_review.visible_case(request.user, pk))


def _decided_message(task: WorkflowTask, action: str) -> str:
    return f"已{runtime.ACTIONS[action]}：{task.application.number} {task.node_name}"


@require_POST
@permission("approval:task:decide")
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    task = workflow_reads.my_task(request.user, pk)
    application = selectors_review.visible_case(request.user, task.application_id)
    form = DecisionForm(
        request.POST,
        request.FILES,
        task=task,
        items=selectors.form_items(application),
        first_level=workflow_reads.returns_nowhere(task),
    )
    if form.is_valid():
        try:
            runtime.decide(
                request.user, task.pk, form.decision(), files=form.cleaned_data["attachments"]
            )
        except ValidationFailed as exc:
            form.add_service_error(exc)
        except (Conflict, PermissionDenied) as exc:
            messages.error(request, exc.message)
            return redirect("applications:review_case", application.pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        else:
            messages.success(request, _decided_message(task, form.cleaned_data["action"]))
            return redirect("workflow:todo")
    return _render_case(request, application, decision_form=form)


@require_POST
@permission("approval:task:transfer")
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    task = workflow_reads.my_task(request.user, pk)
    application = selectors_review.visible_case(request.user, task.application_id)
    form = TransferForm(request.POST, task=task, user=request.user)
    if form.is_valid():
        target = form.cleaned_data["to_user"]
        try:
            runtime.transfer(request.user, task.pk, target.pk, form.cleaned_data["reason"])
        except ValidationFailed as exc:
            form.add_service_error(exc)
        except (Conflict, PermissionDenied) as exc:
            messages.error(request, exc.message)
            return redirect("applications:review_case", application.pk)
        else:
            name = target.real_name or target.username
            messages.success(request, f"已将 {application.number} {task.node_name} 转办给 {name}")
            return redirect("workflow:todo")
    return _render_case(request, application, transfer_form=form)


@require_POST
@permission("approval:task:decide")
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    task = workflow_reads.my_task(request.user, pk)
    try:
        runtime.withdraw(request.user, task.pk)
    except SERVICE_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已撤回对 {task.node_name} 的审批，该任务已回到您的待办")
    return redirect("applications:review_case", task.application_id)


@xframe_options_sameorigin
@permission("approval:task:todo")
def material(request: HttpRequest, pk: int, material_pk: int) -> HttpResponse:
    """A material of the case, inline (previewed in the page) after the case's own check."""
    item = selectors_review.case_material(request.user, pk, material_pk)
    return send_file(item.file, item.original_name, item.content_type, inline=True)


@xframe_options_sameorigin
@permission("approval:task:todo")
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors_review.task_attachment(request.user, pk)
    return send_file(item.file, item.original_name, item.content_type, inline=True)


@permission("approval:stats:view")
def stats(request: HttpRequest) -> HttpResponse:
    form = DecidedPeriodForm(request.GET)
    period = form.period()
    by_rule, case_total = selectors_review.case_timeliness(request.user, period)
    by_department, task_total = workflow_reads.task_timeliness(request.user, period)
    context = {
        "form": form,
        "period": period,
        "by_rule": by_rule,
        "case_total": case_total,
        "by_department": by_department,
        "task_total": task_total,
        "figures": {"case": selectors_review.CASE_ON_TIME, "task": workflow_reads.TASK_ON_TIME},
    }
    return render(request, "workflow/approval_stats.html", context)


# 审批管理's paths, kept from when these pages were the workflow's.
urlpatterns = [
    path("approvals/cases/<int:pk>/", case, name="review_case"),
    path("approvals/cases/<int:pk>/materials/<int:material_pk>/", material, name="review_material"),
    path("approvals/tasks/<int:pk>/decide/", decide, name="review_decide"),
    path("approvals/tasks/<int:pk>/transfer/", transfer, name="review_transfer"),
    path("approvals/tasks/<int:pk>/withdraw/", withdraw, name="review_withdraw"),
    path("approvals/attachments/<int:pk>/", attachment, name="review_attachment"),
    path("approvals/stats/", stats, name="review_stats"),
]
