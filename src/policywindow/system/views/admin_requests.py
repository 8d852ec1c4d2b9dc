"""三员管理 › 双人审批: file, approve, reject and withdraw changes to the 三员's own accounts.

Who may do what is decided by ``services.admin_requests``; the halves of a one-time
password are rendered in the response that made them and never stored in plain text.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError

from ..forms import AdminRequestForm
from ..selectors import admin_requests
from ..services import admin_requests as services

PAGE_SIZE = 20
ACCESS = "admin:request:list"


def _list_page(request, form: AdminRequestForm):
    page = Paginator(admin_requests(), PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.can_decide = services.may_decide(request.user, row)
        row.can_cancel = row.state == row.State.PENDING and row.requested_by_id == request.user.pk
    return render(request, "system/admin_request_list.html", {"page": page, "form": form})


def _one_time_half(request, outcome: services.Outcome, *, first: bool):
    context = {"outcome": outcome, "first": first, "half": outcome.half}
    return render(request, "system/admin_request_half.html", context)


@permission(ACCESS)
def admin_request_list(request):
    return _list_page(request, AdminRequestForm(actor=request.user))


@require_POST
@permission(ACCESS)
def admin_request_file(request):
    form = AdminRequestForm(request.POST, actor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            outcome = services.file_request(
                request.user, target=data["target"], action=data["action"], reason=data["reason"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if outcome.half:
                return _one_time_half(request, outcome, first=True)
            messages.success(request, f"已提交申请：{outcome.request}，等待第三名三员审批")
            return redirect("system:admin_request_list")
    return _list_page(request, form)


@require_POST
@permission(ACCESS)
def admin_request_approve(request, pk: int):
    try:
        outcome = services.approve_request(request.user, pk, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("system:admin_request_list")
    if outcome.half:
        return _one_time_half(request, outcome, first=False)
    messages.success(request, f"已批准并执行：{outcome.request}")
    return redirect("system:admin_request_list")


@require_POST
@permission(ACCESS)
def admin_request_reject(request, pk: int):
    try:
        done = services.reject_request(request.user, pk, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已驳回申请：{done}")
    return redirect("system:admin_request_list")


@require_POST
@permission(ACCESS)
def admin_request_cancel(request, pk: int):
    try:
        done = services.cancel_request(request.user, pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已撤回申请：{done}")
    return redirect("system:admin_request_list")


urlpatterns = [
    path("system/admin-requests/", admin_request_list, name="admin_request_list"),
    path("system/admin-requests/new/", admin_request_file, name="admin_request_file"),
    path(
        "system/admin-requests/<int:pk>/approve/",
        admin_request_approve,
        name="admin_request_approve",
    ),
    path(
        "system/admin-requests/<int:pk>/reject/", admin_request_reject, name="admin_request_reject"
    ),
    path(
        "system/admin-requests/<int:pk>/cancel/", admin_request_cancel, name="admin_request_cancel"
    ),
]
