"""办理信息查询: 办件查询 for staff, the enterprise's application detail, the public status page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from policywindow.core.access import permission, public
from policywindow.core.errors import NotFound, ValidationFailed
from policywindow.core.exports import XLSX, file_name, filter_values
from policywindow.core.files import send_file
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.paging import querystring
from policywindow.core.requestctx import client_ip
from policywindow.policies.forms import rule_filter_field
from policywindow.space import selectors as space_selectors

from .. import exporting, selectors
from ..models import Application
from ..models import ApplicationStatus as S
from ..services import export

PAGE_SIZE = 20


class CaseFilterForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(label="申报编号", required=False, max_length=16)
    enterprise = forms.CharField(label="企业名称", required=False, max_length=200)
    rule = rule_filter_field()
    status = forms.ChoiceField(label="状态", required=False)
    submitted_from = forms.DateField(
        label="提交日期自",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )
    submitted_to = forms.DateField(
        label="至",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "全部状态"), *selectors.case_statuses()]

    def filters(self) -> selectors.CaseFilter:
        """The valid filters; an invalid one is shown as an error and left out."""
        self.is_valid()
        data = self.cleaned_data
        rule = data.get("rule")
        return selectors.CaseFilter(
            number=data.get("number", ""),
            enterprise=data.get("enterprise", ""),
            rule_id=rule.pk if rule else None,
            status=data.get("status", ""),
            submitted_from=data.get("submitted_from"),
            submitted_to=data.get("submitted_to"),
        )


@permission("window:case:list")
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET)
    cases = selectors.search_cases(request.user, form.filters())
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    marks = selectors.deadline_marks(page)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [
            (application, selectors.due_date(application), marks.get(application.pk))
            for application in page
        ],
        "querystring": query.urlencode(),
    }
    return render(request, "applications/case_list.html", context)


@permission("window:case:export")
def case_export(request: HttpRequest) -> HttpResponse:
    """The list as Excel, with the page's filters and data scope."""
    form = CaseFilterForm(request.GET)
    try:
        body = export.export_cases(request.user, form.filters(), filter_values(form))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('applications:case_list')}?{querystring(request)}")
    return send_file(body, file_name(exporting.TITLE), XLSX)


def _detail_context(application: Application) -> dict:
    return {
        "app": application,
        "sections": selectors.answer_sections(application),
        "timeline": selectors.timeline(application),
        "due_date": selectors.due_date(application),
        "deadline": selectors.deadline_marks([application]).get(application.pk),
        "amount": selectors.money_text(application.requested_amount),
    }


@permission("window:case:list")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.staff_case(request.user, pk)
    context = {
        **_detail_context(application),
        "eligibility": selectors.eligibility_of(application),
        "notices": selectors.supplement_notices(application),
    }
    return render(request, "applications/case_detail.html", context)


@permission("portal:application:list")
def my_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.my_application(request.user, pk)
    notice = (
        selectors.open_supplement_notice(application)
        if application.status == S.SUPPLEMENT_REQUIRED
        else None
    )
    context = {
        **_detail_context(application),
        "notice": notice,
        "documents": space_selectors.case_documents(application),
    }
    return render(request, "applications/status_detail.html", context)


class PublicStatusForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(
        label="申报编号",
        max_length=16,
        error_messages={"required": "请输入申报编号"},
        widget=forms.TextInput(attrs={"placeholder": "如 ZC2026000123", "autocomplete": "off"}),
    )
    credit_code = forms.CharField(
        label="统一社会信用代码",
        max_length=18,
        min_length=18,
        error_messages={
            "required": "请输入统一社会信用代码",
            "min_length": "统一社会信用代码为 18 位",
            "max_length": "统一社会信用代码为 18 位",
        },
        widget=forms.TextInput(
            attrs={"placeholder": "18 位统一社会信用代码", "autocomplete": "off"}
        ),
    )


@public
def public_status(request: HttpRequest) -> HttpResponse:
    """Status by application number + credit code: no login, status only, rate-limited."""
    # The receipt's QR code opens this page with the number only: fill it in, ask for the code.
    asked = "credit_code" in request.GET
    form = PublicStatusForm(
        request.GET if asked else None, initial={"number": request.GET.get("number", "")}
    )
    result, problem, status = None, "", 200
    if asked and form.is_valid():
        try:
            result = selectors.public_status(
                form.cleaned_data["number"],
                form.cleaned_data["credit_code"],
                client_ip=client_ip(request),
            )
        except selectors.TooManyLookups as exc:
            problem, status = exc.message, exc.http_status
        except NotFound as exc:
            problem = exc.message
    context = {"form": form, "result": result, "problem": problem}
    return render(request, "applications/public_status.html", context, status=status)


urlpatterns = [
    path("window/cases/", case_list, name="case_list"),
    path("window/cases/export.xlsx", case_export, name="case_export"),
    path("window/cases/<int:pk>/", case_detail, name="case_detail"),
    path("portal/applications/<int:pk>/", my_detail, name="my_detail"),
    path("status/", public_status, name="public_status"),
]
