"""菜单管理: the menu tree as a table; create, edit and delete menus, directories and buttons."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed

from ..forms_rbac import MenuForm
from ..models import Menu
from ..selectors_logs import flatten, menu_tree
from ..services import rbac


@permission("system:menu:list")
def menu_list(request):
    return render(request, "system/menu_list.html", {"rows": flatten(menu_tree())})


def _menu_initial(menu: Menu) -> dict:
    return {
        "kind": menu.kind,
        "parent": menu.parent_id,
        "name": menu.name,
        "icon": menu.icon,
        "url_name": menu.url_name,
        "permission": menu.permission,
        "order": menu.order,
        "visible": menu.visible,
        "status": menu.status,
    }


def _menu_form_page(request, menu: Menu, initial: dict):
    creating = menu.pk is None
    form = MenuForm(request.POST or None, initial=initial, menu=None if creating else menu)
    if request.method == "POST" and form.is_valid():
        try:
            menu = rbac.save_menu(request.user, menu, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, f"已{'新增' if creating else '保存'}{menu.get_kind_display()} {menu.name}"
            )
            return redirect("system:menu_list")
    admin_menu = rbac.is_admin_menu(menu)
    context = {"form": form, "creating": creating, "target": menu, "admin_menu": admin_menu}
    return render(request, "system/menu_form.html", context)


@permission("system:menu:create")
def menu_create(request):
    parent_id = request.GET.get("parent", "")
    parent = Menu.objects.filter(pk=parent_id).first() if parent_id.isdigit() else None
    initial = {}
    if parent is not None:
        child_kind = Menu.Kind.BUTTON if parent.kind == Menu.Kind.MENU else Menu.Kind.MENU
        initial = {"parent": parent.pk, "kind": child_kind}
    return _menu_form_page(request, Menu(), initial)


@permission("system:menu:update")
def menu_update(request, pk: int):
    menu = get_object_or_404(Menu, pk=pk)
    return _menu_form_page(request, menu, _menu_initial(menu))


@require_POST
@permission("system:menu:delete")
def menu_delete(request, pk: int):
    menu = get_object_or_404(Menu, pk=pk)
    try:
        rbac.delete_menu(request.user, menu)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已删除{menu.get_kind_display()} {menu.name}")
    return redirect("system:menu_list")


urlpatterns = [
    path("system/menus/", menu_list, name="menu_list"),
    path("system/menus/new/", menu_create, name="menu_create"),
    path("system/menus/<int:pk>/edit/", menu_update, name="menu_update"),
    path("system/menus/<int:pk>/delete/", menu_delete, name="menu_delete"),
]
