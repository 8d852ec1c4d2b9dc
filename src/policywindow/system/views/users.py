"""用户管理: list with search, filters and paging; create, edit, roles, password, status."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed

from ..forms import RoleAssignForm, UserForm
from ..models import Role, User
from ..selectors import enabled_departments, search_users, users_visible_to
from ..services import users as services

PAGE_SIZE = 20


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@permission("system:user:list")
def user_list(request):
    params = request.GET
    users = search_users(
        request.user,
        q=params.get("q", "").strip(),
        department_id=_int_or_none(params.get("department")),
        kind=params.get("kind", ""),
        active=params.get("active", ""),
        role_id=_int_or_none(params.get("role")),
    )
    page = Paginator(users, PAGE_SIZE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "departments": enabled_departments(),
        "roles": Role.objects.order_by("order"),
        "kinds": User.Kind.choices,
        "filters": params,
        "querystring": query.urlencode(),
    }
    return render(request, "system/user_list.html", context)


@permission("system:user:create")
def user_create(request):
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or services.generate_password()
        try:
            user = services.create_user(
                request.user,
                username=data["username"],
                real_name=data["real_name"],
                kind=data["kind"],
                mobile=data["mobile"],
                email=data["email"],
                department=data["department"],
                posts=list(data["posts"]),
                remark=data["remark"],
                password=password,
            )
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            shown = (
                ""
                if data["password"]
                else f"，初始密码：{password}（请当面告知用户，首次登录须修改）"
            )
            messages.success(request, f"已新增用户 {user}{shown}")
            return redirect("system:user_list")
    return render(request, "system/user_form.html", {"form": form, "creating": True})


def _visible_user(request, pk: int) -> User:
    return get_object_or_404(users_visible_to(request.user), pk=pk)


def _refused(request, user: User, what: str):
    """The list with the reason, when this page may not change ``user`` (a 三员 account)."""
    try:
        services.ensure_manageable(request.user, user, what)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("system:user_list")
    return None


@permission("system:user:update")
def user_update(request, pk: int):
    user = _visible_user(request, pk)
    if refused := _refused(request, user, "修改"):
        return refused
    initial = {
        "real_name": user.real_name,
        "mobile": user.mobile,
        "email": user.email,
        "department": user.department_id,
        "posts": list(user.posts.all()),
        "remark": user.remark,
    }
    form = UserForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_user(
                request.user,
                user,
                real_name=data["real_name"],
                mobile=data["mobile"],
                email=data["email"],
                department=data["department"],
                remark=data["remark"],
                posts=list(data["posts"]),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已保存用户 {user}")
            return redirect("system:user_list")
    return render(
        request, "system/user_form.html", {"form": form, "creating": False, "target": user}
    )


@permission("system:user:grant-role")
def user_roles(request, pk: int):
    user = _visible_user(request, pk)
    if refused := _refused(request, user, "分配角色"):
        return refused
    form = RoleAssignForm(
        request.POST or None, user=user, initial={"roles": list(user.roles.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.assign_roles(request.user, user, list(form.cleaned_data["roles"]))
        except DomainError as exc:
            form.add_error("roles", exc.details.get("roles", [exc.message])[0])
        else:
            messages.success(request, f"已为 {user} 分配角色")
            return redirect("system:user_list")
    return render(request, "system/user_roles.html", {"form": form, "target": user})


@require_POST
@permission("system:user:reset-password")
def user_reset_password(request, pk: int):
    user = _visible_user(request, pk)
    try:
        password = services.reset_password(request.user, user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已重置 {user} 的密码，新密码：{password}（用户下次登录须修改）")
    return redirect("system:user_list")


@require_POST
@permission("system:user:status")
def user_toggle_active(request, pk: int):
    user = _visible_user(request, pk)
    try:
        services.set_user_active(request.user, user, not user.is_active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已{'启用' if user.is_active else '停用'}用户 {user}")
    return redirect("system:user_list")


urlpatterns = [
    path("system/users/", user_list, name="user_list"),
    path("system/users/new/", user_create, name="user_create"),
    path("system/users/<int:pk>/edit/", user_update, name="user_update"),
    path("system/users/<int:pk>/roles/", user_roles, name="user_roles"),
    path("system/users/<int:pk>/reset-password/", user_reset_password, name="user_reset_password"),
    path("system/users/<int:pk>/toggle-active/", user_toggle_active, name="user_toggle_active"),
]
