"""经费审批表 pages: cases to issue forms for, batches with their downloads, a form's page and
the verification page. Files are served only through these permission-checked views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.masking import mask_account
from policywindow.core.money import to_chinese_capital
from policywindow.core.paging import page_of, querystring
from policywindow.policies.forms import rule_filter_field

from . import rendering, selectors, services
from .models import FundForm

if TYPE_CHECKING:
    from .verification import Result

MAX_UPLOAD_MB = 50
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- cases and issuing
class CaseFilterForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(label="申报编号", required=False, max_length=16)
    enterprise = forms.CharField(label="企业名称", required=False, max_length=200)
    rule = rule_filter_field()
    issued = forms.ChoiceField(label="审批表", required=False, choices=selectors.Issued.CHOICES)

    def filters(self) -> selectors.CaseFilter:
        """The valid filters; an invalid one is shown as an error and left out."""
        self.is_valid()
        data = self.cleaned_data
        rule = data.get("rule")
        return selectors.CaseFilter(
            number=data.get("number", ""),
            enterprise=data.get("enterprise", ""),
            rule_id=rule.pk if rule else None,
            issued=data.get("issued") or selectors.Issued.PENDING,
        )


@permission("finance:form:list")
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET)
    filters = form.filters()
    page = page_of(request, selectors.eligible_cases(request.user, filters))
    context = {
        "form": form,
        "issued": filters.issued,
        "page": page,
        "querystring": querystring(request),
        "can_create": request.user.has_permission_code("finance:form:create"),
        "max_batch": services.MAX_BATCH,
        "tab": "cases",
    }
    return render(request, "fundforms/case_list.html", context)


@require_POST
@permission("finance:form:create")
def batch_create(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("applications") if value.isdigit()]
    try:
        batch = services.issue_batch(request.user, ids, request.POST.get("label", ""))
    except (ValidationFailed, Conflict, NotFound, PermissionDenied) as exc:
        messages.error(request, exc.message)
        return redirect("fundforms:case_list")
    numbers = list(batch.forms.order_by("sequence").values_list("number", flat=True))
    span = numbers[0] if len(numbers) == 1 else f"{numbers[0]} 至 {numbers[-1]}"
    messages.success(
        request, f"已出具经费审批表 {len(numbers)} 份（{span}），汇总表编号 {batch.number}"
    )
    return redirect("fundforms:batch_detail", batch.pk)


# ---------------------------------------------------------------- batches
@permission("finance:form:list")
def batch_list(request: HttpRequest) -> HttpResponse:
    page = page_of(request, selectors.visible_batches(request.user))
    context = {"page": page, "querystring": "", "tab": "batches"}
    return render(request, "fundforms/batch_list.html", context)


@permission("finance:form:list")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_of(request.user, pk)
    rows = selectors.batch_forms(batch)
    total = selectors.total_of(rows)
    context = {
        "batch": batch,
        "rows": rows,
        "total": total,
        "total_capital": to_chinese_capital(total),
        "progress": selectors.file_progress(batch),
        "tab": "batches",
    }
    return render(request, "fundforms/batch_detail.html", context)


@permission("finance:form:list")
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch page's file progress card, polled by htmx until the run is over."""
    batch = selectors.batch_of(request.user, pk)
    context = {"batch": batch, "progress": selectors.file_progress(batch)}
    return render(request, "fundforms/batch_files.html", context)


def _file(produce, record) -> bytes:
    try:
        return produce(record)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@permission("finance:form:list")
def batch_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_of(request.user, pk)
    data = _file(services.batch_file, batch)
    return send_file(data, f"{rendering.BATCH_TITLE}-{batch.number}.pdf", PDF)


@permission("finance:form:list")
def batch_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_of(request.user, pk)
    data = services.batch_workbook(batch)
    return send_file(data, f"{rendering.BATCH_TITLE}-{batch.number}.xlsx", XLSX)


# ---------------------------------------------------------------- one form
@permission("finance:form:list")
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    form = selectors.form_of(request.user, pk)
    context = {
        "fundform": form,
        "content": rendering.form_context(form.content),
        "masked_account": mask_account(form.content["enterprise"]["bank_account"]),
        "verdict": _verify(_file(services.form_file, form)),
        "tab": "batches",
    }
    return render(request, "fundforms/form_detail.html", context)


@xframe_options_sameorigin
@permission("finance:form:list")
def form_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed PDF; ``?inline=1`` shows it in the form's page instead of downloading it."""
    form: FundForm = selectors.form_of(request.user, pk)
    data = _file(services.form_file, form)
    inline = request.GET.get("inline") == "1"
    return send_file(data, f"{rendering.FORM_TITLE}-{form.number}.pdf", PDF, inline=inline)


# ---------------------------------------------------------------- verification
class VerifyForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="审批表或汇总表 PDF 文件",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
        error_messages={"required": "请选择要验证的 PDF 文件", "empty": "上传的文件是空的"},
        help_text=f"文件只用于本次验证，不会保存；不超过 {MAX_UPLOAD_MB} MB。",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"文件不能超过 {MAX_UPLOAD_MB} MB")
        return upload


@permission("finance:form:verify")
def verify(request: HttpRequest) -> HttpResponse:
    verdict, name = None, ""
    bound = request.method == "POST"
    form = VerifyForm(request.POST, request.FILES) if bound else VerifyForm()
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        verdict, name = _verify(upload.read()), upload.name
    context = {
        "form": form,
        "verdict": verdict,
        "file_name": name,
        "record_url": _record_url(request, verdict),
    }
    return render(request, "fundforms/verify.html", context)


def _verify(pdf: bytes) -> Result:
    from .verification import verify as check  # pyHanko is heavy; loaded on first use

    return check(pdf)


def _record_url(request: HttpRequest, verdict: Result | None) -> str:
    """A link to the matching form or batch, when the reader may see it."""
    record = verdict.record if verdict else None
    if record is None:
        return ""
    if isinstance(record, FundForm):
        visible = selectors.visible_forms(request.user).filter(pk=record.pk).exists()
        return reverse("fundforms:form_detail", args=[record.pk]) if visible else ""
    visible = selectors.visible_batches(request.user).filter(pk=record.pk).exists()
    return reverse("fundforms:batch_detail", args=[record.pk]) if visible else ""
