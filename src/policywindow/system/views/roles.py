"""角色管理: list with search; create and edit; 分配权限 (menus and data scope)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from policywindow.core.access import permission
from policywindow.core.errors import DomainError

from ..forms_rbac import RoleForm, RoleGrantForm
from ..models import Role, Status
from ..selectors_logs import menu_tree, search_roles
from ..services import rbac

PAGE_SIZE = 20


@permission("system:role:list")
def role_list(request):
    params = request.GET
    roles = search_roles(q=params.get("q", "").strip(), status=params.get("status", ""))
    page = Paginator(roles, PAGE_SIZE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": params,
        "statuses": Status.choices,
        "querystring": query.urlencode(),
    }
    return render(request, "system/role_list.html", context)


def _role_form_page(request, role: Role):
    creating = role.pk is None
    initial = (
        {}
        if creating
        else {
            "code": role.code,
            "name": role.name,
            "order": role.order,
            "status": role.status,
            "remark": role.remark,
        }
    )
    form = RoleForm(request.POST or None, initial=initial, role=None if creating else role)
    if request.method == "POST" and form.is_valid():
        try:
            role = rbac.save_role(request.user, role, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已{'新增' if creating else '保存'}角色 {role.name}")
            return redirect("system:role_list")
    context = {"form": form, "creating": creating, "target": role}
    return render(request, "system/role_form.html", context)


@permission("system:role:create")
def role_create(request):
    return _role_form_page(request, Role())


@permission("system:role:update")
def role_update(request, pk: int):
    return _role_form_page(request, get_object_or_404(Role, pk=pk))


@permission("system:role:grant")
def role_grant(request, pk: int):
    role = get_object_or_404(Role, pk=pk)
    initial = {
        "menus": list(role.menus.all()),
        "data_scope": role.data_scope,
        "departments": list(role.scope_departments.all()),
    }
    form = RoleGrantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rbac.grant_role(
                request.user,
                role,
                menus=data["menus"],
                data_scope=data["data_scope"],
                departments=data["departments"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已保存角色 {role.name} 的菜单权限与数据范围")
            return redirect("system:role_list")
    checked = {str(v) for v in (form["menus"].value() or [])}
    context = {"form": form, "target": role, "tree": menu_tree(), "checked": checked}
    return render(request, "system/role_grant.html", context)


urlpatterns = [
    path("system/roles/", role_list, name="role_list"),
    path("system/roles/new/", role_create, name="role_create"),
    path("system/roles/<int:pk>/edit/", role_update, name="role_update"),
    path("system/roles/<int:pk>/grant/", role_grant, name="role_grant"),
]
