"""一表申请 pages: the rule catalogue, the form, 补正, my applications, receipts and files.

Enterprise users file online for the enterprise they act for; a window clerk
files at the counter for an enterprise (窗口代办) with the same form. Every
object is looked up through ``selectors_filing``: another enterprise's
application, file or receipt is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from policywindow.core.access import authenticated, permission
from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.core.files import send_file
from policywindow.enterprises.selectors import enterprise_of
from policywindow.policies.selectors import rule_by_code

from .. import selectors_filing as reads
from ..forms import answers_as_data, specs_of_snapshot
from ..models import Application
from ..models import ApplicationStatus as S
from ..receipt import receipt_filename, render_receipt
from ..selectors import enterprise_applications, open_supplement_notice
from ..services import filing

PAGE_SIZE = 20
COUNTER_RESULTS = 20
REFUSED = "草稿已保存，但有文件未通过检查、没有保存，请按提示重新选择"


# ---------------------------------------------------------------- the catalogue


@permission("portal:apply:create")
def rule_catalog(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    enterprise = enterprise_of(request.user)
    page = Paginator(reads.search_rules(q), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "q": q,
        "page": page,
        "entries": reads.catalog_entries(page.object_list, enterprise),
        "enterprise": enterprise,
        "querystring": f"q={q}" if q else "",
    }
    return render(request, "applications/apply_catalog.html", context)


@require_http_methods(["GET", "POST"])
@permission("portal:apply:create")
def apply_start(request: HttpRequest, code: str) -> HttpResponse:
    rule = rule_by_code(code)
    if request.method == "GET":
        # A link (the public guide's 立即申报, also after signing in) must not create a draft:
        # it leads to the rule in the catalogue, whose button posts here.
        return redirect(f"{reverse('applications:rule_catalog')}?{urlencode({'q': rule.code})}")
    enterprise = enterprise_of(request.user)
    if enterprise is None:
        messages.error(request, "您的账号尚未关联企业，请联系窗口工作人员绑定企业后再申报")
        return redirect("applications:rule_catalog")
    try:
        application = filing.start_application(request.user, enterprise, rule)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("applications:rule_catalog")
    return redirect("applications:apply_form", application.pk)


# ---------------------------------------------------------------- the form (online and counter)


@dataclass(frozen=True)
class FormPages:
    """Where the shared form page links to, online or at the counter."""

    form: str
    back: str
    back_label: str
    counter: bool


ONLINE = FormPages("applications:apply_form", "applications:rule_catalog", "政策申报", False)
COUNTER = FormPages("applications:counter_form", "applications:counter_start", "窗口代办申报", True)


def _form_context(application: Application, form, pages: FormPages) -> dict:
    return {
        "app": application,
        "version": application.rule_version,
        "form": form,
        "pages": pages,
        "assessment": reads.assess_application(application),
        "window_note": reads.window_problem(application.rule_version),
    }


def _filled_form(application: Application):
    """The stored answers as a bound, fully validated form (to show what is still missing)."""
    form = _saved_form(application, draft=False)
    form.is_valid()
    return form


def _saved_form(application: Application, *, draft: bool = True):
    """The form bound to the stored answers and files."""
    specs = specs_of_snapshot(application.form_snapshot)
    return filing.build_form(application, answers_as_data(specs, application.answers), draft=draft)


def _marked(form, error: DomainError):
    """``form`` (bound to what was sent or stored) with the service's errors on their fields,
    each once; a problem of no field (and any refusal beyond the form) shows on top."""
    form.is_valid()
    for name, problems in (error.details or {}).items():
        field = name if name in form.fields else None
        shown = list(form.errors.get(field or NON_FIELD_ERRORS, []))
        for problem in problems if isinstance(problems, list) else [problems]:
            if problem not in shown:
                form.add_error(field, problem)
    if error.code != "validation_error" or not form.errors:
        form.add_error(None, error.message)
    return form


def _fill(request: HttpRequest, application: Application, pages: FormPages) -> HttpResponse:
    if application.status != S.DRAFT:
        return redirect("applications:apply_done", application.pk)
    action = request.POST.get("action", "save")
    if request.method == "POST" and action == "precheck":
        return _precheck_panel(request, application)
    if request.method != "POST":
        form = filing.build_form(application)
        return render(
            request, "applications/apply_form.html", _form_context(application, form, pages)
        )
    try:
        application, refused = filing.save_draft(
            request.user, application, request.POST, request.FILES
        )
    except ValidationFailed as exc:
        form = _marked(filing.build_form(application, request.POST, draft=True), exc)
        if request.FILES:
            messages.warning(request, "本次选择的文件尚未保存，请修正后重新选择文件")
        return render(
            request, "applications/apply_form.html", _form_context(application, form, pages)
        )
    if refused:  # the answers and the other files are saved; the refused files say why
        form = _marked(_saved_form(application), ValidationFailed(REFUSED, details=refused))
        messages.warning(request, REFUSED)
        return render(
            request, "applications/apply_form.html", _form_context(application, form, pages)
        )
    if action != "submit":
        messages.success(request, "草稿已保存")
        return redirect(pages.form, application.pk)
    return _submit(request, application, pages)


def _submit(request: HttpRequest, application: Application, pages: FormPages) -> HttpResponse:
    try:
        application = filing.submit(request.user, application)
    except DomainError as exc:
        application.refresh_from_db()
        form = _filled_form(application)
        if exc.code != "validation_error":
            form.add_error(None, exc.message)
        return render(
            request, "applications/apply_form.html", _form_context(application, form, pages)
        )
    return redirect("applications:apply_done", application.pk)  # the page itself says it was filed


def _precheck_panel(request: HttpRequest, application: Application) -> HttpResponse:
    """htmx: the pre-check over the answers on screen, before they are saved."""
    form = filing.build_form(application, request.POST, draft=True)
    form.is_valid()
    answers = {k: v for k, v in form.answers().items() if v is not None and k not in form.errors}
    context = {
        "app": application,
        "assessment": reads.assess_application(application, {**application.answers, **answers}),
        "window_note": reads.window_problem(application.rule_version),
    }
    return render(request, "applications/apply_precheck.html", context)


@require_http_methods(["GET", "POST"])
@permission("portal:apply:create")
def apply_form(request: HttpRequest, pk: int) -> HttpResponse:
    return _fill(request, reads.own_application(request.user, pk), ONLINE)


@authenticated
def apply_done(request: HttpRequest, pk: int) -> HttpResponse:
    application = reads.filed_application(request.user, pk)
    return render(request, "applications/apply_done.html", {"app": application})


@require_http_methods(["GET", "POST"])
@permission("portal:apply:create")
def apply_supplement(request: HttpRequest, pk: int) -> HttpResponse:
    """补正: the enterprise fixes exactly the items of the one-time notice and resubmits."""
    application = get_object_or_404(
        enterprise_applications(request.user), pk=pk, status=S.SUPPLEMENT_REQUIRED
    )
    notice = open_supplement_notice(application)
    keys = [item.get("key") for item in notice.items] if notice else []
    form = filing.build_form(application, only_keys=keys, fixing=True)
    if request.method == "POST":
        try:
            moved = filing.resubmit_supplement(
                request.user, application, request.POST, request.FILES
            )
        except DomainError as exc:
            # What was sent, each problem on its item (the files chosen must be chosen again).
            sent = filing.build_form(application, request.POST, only_keys=keys, draft=True)
            form = _marked(sent, exc)
            messages.error(request, exc.message)
            if request.FILES:
                messages.warning(request, "本次选择的文件尚未保存，请修正后重新选择文件")
        else:
            next_step = "请等待窗口受理" if moved.status == S.SUBMITTED else "已转回审核"
            messages.success(
                request, f"补正材料已提交（申报编号 {application.number}），{next_step}"
            )
            return redirect("applications:my_detail", application.pk)
    context = {"app": application, "notice": notice, "form": form}
    return render(request, "applications/apply_supplement.html", context)


# ---------------------------------------------------------------- my applications


@permission("portal:application:list")
def my_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    applications = enterprise_applications(request.user)
    if status in S.values:
        applications = applications.filter(status=status)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": S.choices,
        "enterprise": enterprise_of(request.user),
        "querystring": f"status={status}" if status else "",
    }
    return render(request, "applications/my_list.html", context)


# ---------------------------------------------------------------- files


@authenticated
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    application = reads.filed_application(request.user, pk)
    pdf = render_receipt(application, base_url=request.build_absolute_uri("/"))
    return send_file(pdf, receipt_filename(application), "application/pdf", inline=True)


@authenticated
def material_download(request: HttpRequest, pk: int) -> HttpResponse:
    material = reads.readable_material(request.user, pk)
    return send_file(material.file, material.original_name, material.content_type)


@authenticated
def item_template(request: HttpRequest, pk: int) -> HttpResponse:
    item = reads.template_item(pk)
    name = item.template_name or item.template_file.name.rsplit("/", 1)[-1]
    return send_file(item.template_file, name)


# ---------------------------------------------------------------- 窗口代办 at the counter


@require_http_methods(["GET", "POST"])
@permission("window:apply:create")
def counter_start(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _counter_open(request)
    q = request.GET.get("q", "").strip()
    enterprises = reads.counter_enterprises(request.user, q)[:COUNTER_RESULTS] if q else []
    context = {
        "q": q,
        "enterprises": enterprises,
        "rules": reads.search_rules(""),
        "drafts": reads.counter_drafts(request.user),
    }
    return render(request, "applications/apply_counter.html", context)


def _counter_open(request: HttpRequest) -> HttpResponse:
    enterprise_id = request.POST.get("enterprise", "")
    enterprise = get_object_or_404(
        reads.counter_enterprises(request.user, ""),
        pk=int(enterprise_id) if enterprise_id.isdigit() else 0,
    )
    rule = rule_by_code(request.POST.get("rule", ""))
    try:
        application = filing.start_application(
            request.user, enterprise, rule, channel=Application.Channel.WINDOW
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('applications:counter_start')}?q={enterprise.credit_code}")
    return redirect("applications:counter_form", application.pk)


@require_http_methods(["GET", "POST"])
@permission("window:apply:create")
def counter_form(request: HttpRequest, pk: int) -> HttpResponse:
    return _fill(request, reads.counter_application(request.user, pk), COUNTER)


urlpatterns = [
    path("portal/apply/", rule_catalog, name="rule_catalog"),
    path("portal/apply/rules/<str:code>/start/", apply_start, name="apply_start"),
    path("portal/apply/<int:pk>/", apply_form, name="apply_form"),
    path("portal/apply/<int:pk>/supplement/", apply_supplement, name="apply_supplement"),
    path("portal/applications/", my_list, name="my_list"),
    path("applications/<int:pk>/submitted/", apply_done, name="apply_done"),
    path("applications/<int:pk>/receipt/", receipt, name="receipt"),
    path("applications/materials/<int:pk>/", material_download, name="material_download"),
    path("applications/item-templates/<int:pk>/", item_template, name="item_template"),
    path("window/counter/", counter_start, name="counter_start"),
    path("window/counter/<int:pk>/", counter_form, name="counter_form"),
]
