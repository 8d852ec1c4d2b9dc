"""拨付登记 pages: payments made and cases waiting, recording one payment, and importing a
bank's / treasury's statement (upload → reconciliation report → confirm)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.money import format_yuan
from policywindow.core.paging import page_of

from .. import exporting, selectors
from ..forms import PaymentForm, StatementForm
from ..services import disbursements, payment_imports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@permission("finance:disbursement:list")
def disbursement_list(request: HttpRequest) -> HttpResponse:
    codes = request.user.permission_codes
    context = {
        "page": page_of(request, selectors.disbursements(request.user)),
        "waiting": selectors.awaiting_payment(request.user),
        "querystring": "",
        "can_record": "finance:disbursement:record" in codes,
        "can_import": "finance:disbursement:import" in codes,
    }
    return render(request, "finance/disbursement_list.html", context)


@permission("finance:disbursement:record")
def disbursement_create(request: HttpRequest, form_pk: int) -> HttpResponse:
    """Record the payment of one case; a refusal is shown on the field it concerns."""
    fundform = selectors.visible_form(request.user, form_pk)
    status = 200
    if request.method == "POST":
        form = PaymentForm(request.POST)
        if form.is_valid():
            try:
                paid = disbursements.record(request.user, fundform.pk, form.as_payment())
            except ValidationFailed as exc:
                form.add_domain_error(exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"已登记拨付：审批表 {fundform.number}，{format_yuan(paid.amount)}，"
                    f"凭证号 {paid.voucher}",
                )
                return redirect("finance:submission_detail", fundform.batch_id)
        status = 400
    else:
        initial = {"amount": f"{fundform.approved_amount:.2f}", "paid_on": timezone.localdate()}
        form = PaymentForm(initial=initial)
    context = {"form": form, "fundform": fundform, "case": fundform.application}
    return render(request, "finance/disbursement_form.html", context, status=status)


# --------------------------------------------------------------------------- import
@permission("finance:disbursement:import")
def import_upload(request: HttpRequest) -> HttpResponse:
    form = StatementForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                item = payment_imports.upload(request.user, upload.name, upload.read())
            except ValidationFailed as exc:
                form.add_domain_error(exc)
            else:
                return redirect("finance:import_detail", item.pk)
        status = 400
    context = {"form": form, "imports": page_of(request, selectors.payment_imports())}
    return render(request, "finance/import_upload.html", context, status=status)


@permission("finance:disbursement:import")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.payment_import(pk)
    report = payment_imports.reconcile(request.user, item)
    context = {"item": item, "report": report}
    return render(request, "finance/import_detail.html", context)


@require_POST
@permission("finance:disbursement:import")
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = payment_imports.confirm(request.user, pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        recorded = report.of(payment_imports.Outcome.RECORDED)
        messages.success(request, f"已确认入账 {len(recorded)} 行，对应办件已变为“已拨付”")
    return redirect("finance:import_detail", pk)


@permission("finance:disbursement:import")
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.payment_import(pk)
    report = payment_imports.reconcile(request.user, item)
    data = exporting.report_workbook(f"拨付回单核对报告：{item.source_name}", report)
    return send_file(data, f"核对报告-{item.pk}.xlsx", XLSX)


urlpatterns = [
    path("finance/disbursements/", disbursement_list, name="disbursement_list"),
    path(
        "finance/disbursements/forms/<int:form_pk>/",
        disbursement_create,
        name="disbursement_create",
    ),
    path("finance/disbursements/import/", import_upload, name="import_upload"),
    path("finance/disbursements/import/<int:pk>/", import_detail, name="import_detail"),
    path("finance/disbursements/import/<int:pk>/confirm/", import_confirm, name="import_confirm"),
    path("finance/disbursements/import/<int:pk>/report.xlsx", import_report, name="import_report"),
]
