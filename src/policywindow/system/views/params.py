"""参数设置: parameters grouped into security and business ones.

三员分立: the security administrator changes security parameters, the system
administrator business ones; each sees the other group read-only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from policywindow.core.access import permission

from ..forms_config import ParameterForm, submitted
from ..models import SystemParameter
from ..services import config as services


def _editable_groups(user) -> set[str]:
    return {
        group
        for group in SystemParameter.Group.values
        if user.has_permission_code(services.param_permission(group))
    }


@permission("system:param:list")
def param_list(request):
    params = list(SystemParameter.objects.order_by("key"))
    groups = [
        (value, label, [p for p in params if p.group == value])
        for value, label in SystemParameter.Group.choices
    ]
    context = {"groups": groups, "editable": _editable_groups(request.user)}
    return render(request, "system/param_list.html", context)


@permission("system:param:list")
def param_update(request, pk: int):
    param = get_object_or_404(SystemParameter, pk=pk)
    if param.group not in _editable_groups(request.user):
        raise PermissionDenied(
            f"修改{param.get_group_display()}需要权限 {services.param_permission(param.group)}"
        )
    form = ParameterForm(request.POST or None, initial={"value": param.value}, param=param)
    if submitted(request, form, services.update_parameter, request.user, param):
        messages.success(request, f"已保存参数“{param.name}”")
        return redirect("system:param_list")
    return render(request, "system/param_form.html", {"form": form, "param": param})


urlpatterns = [
    path("system/params/", param_list, name="param_list"),
    path("system/params/<int:pk>/edit/", param_update, name="param_update"),
]
