"""企业管理 (window clerks): search, register, edit, agents (经办人) and Excel import."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import ValidationFailed
from policywindow.core.exports import XLSX, file_name, filter_values
from policywindow.core.files import send_file
from policywindow.core.paging import querystring

from .. import exporting, importing, services
from ..forms import EnterpriseFilterForm, EnterpriseForm, ImportForm, LinkMemberForm, NewMemberForm
from ..selectors import member_of, members_of, search_enterprises, visible_enterprise

PAGE_SIZE = 20
TEMPLATE_NAME = "企业信息导入模板.xlsx"


@permission("enterprise:enterprise:list")
def enterprise_list(request):
    form = EnterpriseFilterForm(request.GET)
    enterprises = search_enterprises(request.user, **form.filters()).prefetch_related("members")
    page = Paginator(enterprises, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "querystring": querystring(request)}
    return render(request, "enterprises/enterprise_list.html", context)


@permission("enterprise:enterprise:export")
def enterprise_export(request):
    """The list as Excel, with the page's filters and data scope."""
    form = EnterpriseFilterForm(request.GET)
    try:
        body = services.export_enterprises(request.user, form.filters(), filter_values(form))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('enterprises:enterprise_list')}?{querystring(request)}")
    return send_file(body, file_name(exporting.TITLE), XLSX)


@permission("enterprise:enterprise:list")
def enterprise_detail(request, pk: int):
    enterprise = visible_enterprise(request.user, pk)
    context = {"enterprise": enterprise, "members": members_of(enterprise)}
    return render(request, "enterprises/enterprise_detail.html", context)


@permission("enterprise:enterprise:create")
def enterprise_create(request):
    form = EnterpriseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enterprise = services.create_enterprise(request.user, form.changes())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已登记企业 {enterprise}")
            return redirect("enterprises:enterprise_detail", enterprise.pk)
    return render(request, "enterprises/enterprise_form.html", {"form": form, "creating": True})


@permission("enterprise:enterprise:update")
def enterprise_update(request, pk: int):
    enterprise = visible_enterprise(request.user, pk)
    form = EnterpriseForm(request.POST or None, enterprise=enterprise)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_enterprise(request.user, enterprise, form.changes())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已保存企业 {enterprise}")
            return redirect("enterprises:enterprise_detail", enterprise.pk)
    context = {"form": form, "creating": False, "enterprise": enterprise}
    return render(request, "enterprises/enterprise_form.html", context)


@permission("enterprise:enterprise:member")
def enterprise_members(request, pk: int):
    enterprise = visible_enterprise(request.user, pk)
    action = request.POST.get("action")
    link_form = LinkMemberForm(request.POST if action == "link" else None, prefix="link")
    new_form = NewMemberForm(request.POST if action == "create" else None, prefix="new")
    if action == "link" and link_form.is_valid():
        data = link_form.cleaned_data
        try:
            member = services.link_member(
                request.user, enterprise, data["username"], is_admin=data["is_admin"]
            )
        except ValidationFailed as exc:
            link_form.add_domain_error(exc)
        else:
            messages.success(request, f"已将 {member.user} 关联为本企业经办人")
            return redirect("enterprises:enterprise_members", enterprise.pk)
    elif action == "create" and new_form.is_valid():
        try:
            member, password = services.create_member(
                request.user, enterprise, **new_form.cleaned_data
            )
        except ValidationFailed as exc:
            new_form.add_domain_error(exc)
        else:
            messages.success(
                request,
                f"已为本企业开通经办人账号 {member.user.username}，初始密码：{password}"
                "（请当面告知经办人，首次登录须修改）",
            )
            return redirect("enterprises:enterprise_members", enterprise.pk)
    context = {
        "enterprise": enterprise,
        "members": members_of(enterprise),
        "link_form": link_form,
        "new_form": new_form,
        "action": action,
    }
    return render(request, "enterprises/enterprise_members.html", context)


@require_POST
@permission("enterprise:enterprise:member")
def enterprise_member_remove(request, pk: int, member_pk: int):
    enterprise = visible_enterprise(request.user, pk)
    member = member_of(enterprise, member_pk)
    services.remove_member(request.user, member)
    messages.success(request, f"已解除 {member.user} 与本企业的关联")
    return redirect("enterprises:enterprise_members", enterprise.pk)


@permission("enterprise:enterprise:import")
def enterprise_import(request):
    posted = request.method == "POST"
    form = ImportForm(request.POST, request.FILES) if posted else ImportForm()
    problems = []
    if posted and form.is_valid():
        try:
            created = services.import_enterprises(request.user, form.cleaned_data["file"])
        except importing.ImportRejected as exc:
            problems = exc.problems
            messages.error(request, exc.message)
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"导入成功：共登记 {len(created)} 家企业")
            return redirect("enterprises:enterprise_list")
    context = {"form": form, "problems": problems, "max_rows": importing.MAX_ROWS}
    return render(request, "enterprises/enterprise_import.html", context)


@permission("enterprise:enterprise:import")
def enterprise_import_template(request):
    return send_file(importing.template_workbook(), TEMPLATE_NAME, XLSX)


urlpatterns = [
    path("enterprises/", enterprise_list, name="enterprise_list"),
    path("enterprises/new/", enterprise_create, name="enterprise_create"),
    path("enterprises/export.xlsx", enterprise_export, name="enterprise_export"),
    path("enterprises/import/", enterprise_import, name="enterprise_import"),
    path(
        "enterprises/import/template.xlsx",
        enterprise_import_template,
        name="enterprise_import_template",
    ),
    path("enterprises/<int:pk>/", enterprise_detail, name="enterprise_detail"),
    path("enterprises/<int:pk>/edit/", enterprise_update, name="enterprise_update"),
    path("enterprises/<int:pk>/members/", enterprise_members, name="enterprise_members"),
    path(
        "enterprises/<int:pk>/members/<int:member_pk>/remove/",
        enterprise_member_remove,
        name="enterprise_member_remove",
    ),
]
