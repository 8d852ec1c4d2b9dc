"""安全审计: the operation log (read and verify only, never edit) and the login log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from policywindow.core.access import permission
from policywindow.core.audit import verify_chain
from policywindow.core.errors import ValidationFailed
from policywindow.core.exports import XLSX, file_name, filter_values
from policywindow.core.files import send_file
from policywindow.core.models import AuditEvent
from policywindow.core.paging import querystring

from ..forms_rbac import LoginLogFilterForm, OperLogFilterForm
from ..selectors_logs import (
    audit_diff,
    describe_user_agent,
    search_audit_events,
    search_login_logs,
)
from ..services import logs as log_services

PAGE_SIZE = 20
VERIFY_FINDINGS_SHOWN = 5


def _paged(request, queryset) -> tuple:
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


@require_GET
@permission("audit:operlog:list")
def operlog_list(request):
    form = OperLogFilterForm(request.GET)
    page, querystring = _paged(request, search_audit_events(**form.filters()))
    context = {"form": form, "page": page, "querystring": querystring}
    return render(request, "system/operlog_list.html", context)


@require_GET
@permission("audit:operlog:export")
def operlog_export(request):
    """The filtered log as Excel, for the audit administrator (the export is itself logged)."""
    form = OperLogFilterForm(request.GET)
    try:
        body = log_services.export_operation_log(request.user, form.filters(), filter_values(form))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('system:operlog_list')}?{querystring(request)}")
    return send_file(body, file_name(log_services.EXPORT_TITLE), XLSX)


@require_GET
@permission("audit:operlog:list")
def operlog_detail(request, pk: int):
    # By id: an event has its chain position (seq) only once the sealer has chained it.
    event = get_object_or_404(AuditEvent, pk=pk)
    context = {"event": event, "diff": audit_diff(event)}
    return render(request, "system/operlog_detail.html", context)


@require_POST
@permission("audit:operlog:verify")
def operlog_verify(request):
    report = verify_chain()
    text = "；".join(report.lines(limit=VERIFY_FINDINGS_SHOWN))
    (messages.success if report.ok else messages.error)(request, text)
    return redirect("system:operlog_list")


@require_GET
@permission("audit:loginlog:list")
def loginlog_list(request):
    form = LoginLogFilterForm(request.GET)
    page, querystring = _paged(request, search_login_logs(**form.filters()))
    for row in page:
        row.browser = describe_user_agent(row.user_agent)
    context = {"form": form, "page": page, "querystring": querystring}
    return render(request, "system/loginlog_list.html", context)


urlpatterns = [
    path("audit/operlog/", operlog_list, name="operlog_list"),
    path("audit/operlog/verify/", operlog_verify, name="operlog_verify"),
    path("audit/operlog/export.xlsx", operlog_export, name="operlog_export"),
    path("audit/operlog/<int:pk>/", operlog_detail, name="operlog_detail"),
    path("audit/loginlog/", loginlog_list, name="loginlog_list"),
]
