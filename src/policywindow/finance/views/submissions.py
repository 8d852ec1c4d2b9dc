"""财政报送 pages: the batches with their submission state, a batch with its cases and
payments, submitting, signing for or returning it, and its payment instructions."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.masking import mask_account
from policywindow.core.money import to_chinese_capital
from policywindow.core.paging import page_of, querystring
from policywindow.fundforms.selectors import total_of

from .. import exporting, selectors
from ..forms import ReturnForm
from ..services import submissions

CSV = "text/csv; charset=utf-8"


@permission("finance:submission:list")
def submission_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    context = {
        "page": page_of(request, selectors.submission_batches(request.user, status)),
        "status": status,
        "filters": selectors.SUBMISSION_FILTERS,
        "querystring": querystring(request),
    }
    return render(request, "finance/submission_list.html", context)


def _render_detail(
    request: HttpRequest, pk: int, return_form: ReturnForm | None = None, status: int = 200
) -> HttpResponse:
    batch = selectors.submission_batch(request.user, pk)
    rows = selectors.batch_rows(batch)
    for form in rows:  # pages show the account masked (DESIGN.md §6)
        form.masked_account = mask_account(form.content["enterprise"]["bank_account"])
    total = total_of(rows)
    codes = request.user.permission_codes
    context = {
        "batch": batch,
        "submission": selectors.submission_of(batch),
        "rows": rows,
        "total": total,
        "total_capital": to_chinese_capital(total),
        "return_form": return_form or ReturnForm(),
        "can_submit": "finance:submission:submit" in codes,
        "can_receive": "finance:submission:receive" in codes,
        "can_export": "finance:submission:export" in codes,
        "can_record": "finance:disbursement:record" in codes,
    }
    return render(request, "finance/submission_detail.html", context, status=status)


@permission("finance:submission:list")
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, pk)


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("finance:submission_detail", pk)


@require_POST
@permission("finance:submission:submit")
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda: submissions.submit(request.user, pk),
        "已报送财政，批次内办件进入“待拨付”，等待财政签收",
    )


@require_POST
@permission("finance:submission:receive")
def receive(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.submission_batch(request.user, pk)
    submission = selectors.submission_of(batch)
    if submission is None:
        messages.error(request, "该批次尚未报送财政")
        return redirect("finance:submission_detail", pk)
    return _act(
        request,
        pk,
        lambda: submissions.receive(request.user, submission.pk),
        "已签收，可以登记拨付",
    )


@require_POST
@permission("finance:submission:receive")
def send_back(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.submission_batch(request.user, pk)
    submission = selectors.submission_of(batch)
    form = ReturnForm(request.POST)
    if form.is_valid() and submission is not None:
        try:
            submissions.send_back(request.user, submission.pk, form.cleaned_data["reason"])
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("finance:submission_detail", pk)
        else:
            messages.success(request, "已退回政策兑现处，批次内办件恢复为“公示通过”")
            return redirect("finance:submission_detail", pk)
    return _render_detail(request, pk, form, status=400)


def _instructions(request: HttpRequest, pk: int, file_format: str) -> list[dict] | None:
    try:
        return submissions.instructions(request.user, pk, file_format)
    except DomainError as exc:
        messages.error(request, exc.message)
        return None


@permission("finance:submission:export")
def instructions_csv(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.submission_batch(request.user, pk)
    rows = _instructions(request, batch.pk, "csv")
    if rows is None:
        return redirect("finance:submission_detail", pk)
    return send_file(exporting.instructions_csv(rows), f"支付指令-{batch.number}.csv", CSV)


@permission("finance:submission:export")
def instructions_json(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.submission_batch(request.user, pk)
    rows = _instructions(request, batch.pk, "json")
    if rows is None:
        return redirect("finance:submission_detail", pk)
    body = {"batch": batch.number, "count": len(rows), "instructions": rows}
    data = json.dumps(body, ensure_ascii=False, indent=2).encode()
    return send_file(data, f"支付指令-{batch.number}.json", "application/json")


urlpatterns = [
    path("finance/submissions/", submission_list, name="submission_list"),
    path("finance/submissions/<int:pk>/", submission_detail, name="submission_detail"),
    path("finance/submissions/<int:pk>/submit/", submit, name="submission_submit"),
    path("finance/submissions/<int:pk>/receive/", receive, name="submission_receive"),
    path("finance/submissions/<int:pk>/return/", send_back, name="submission_return"),
    path(
        "finance/submissions/<int:pk>/instructions.csv",
        instructions_csv,
        name="submission_instructions_csv",
    ),
    path(
        "finance/submissions/<int:pk>/instructions.json",
        instructions_json,
        name="submission_instructions_json",
    ),
]
