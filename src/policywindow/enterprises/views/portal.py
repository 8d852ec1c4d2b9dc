"""企业信息 (enterprise portal): the enterprise's own record and the fields it may edit."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path

from policywindow.core.access import permission
from policywindow.core.errors import ValidationFailed

from .. import services
from ..forms import EnterpriseSelfForm
from ..selectors import enterprise_of, members_of


def _not_linked(request):
    return render(request, "enterprises/my_enterprise_missing.html")


@permission("portal:enterprise:view")
def my_enterprise(request):
    enterprise = enterprise_of(request.user)
    if enterprise is None:
        return _not_linked(request)
    context = {"enterprise": enterprise, "members": members_of(enterprise)}
    return render(request, "enterprises/my_enterprise.html", context)


@permission("portal:enterprise:update")
def my_enterprise_update(request):
    enterprise = enterprise_of(request.user)
    if enterprise is None:
        return _not_linked(request)
    form = EnterpriseSelfForm(request.POST or None, enterprise=enterprise)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_own_enterprise(request.user, form.changes())
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, "已保存企业信息")
            return redirect("enterprises:my_enterprise")
    return render(
        request, "enterprises/my_enterprise_form.html", {"form": form, "enterprise": enterprise}
    )


urlpatterns = [
    path("portal/enterprise/", my_enterprise, name="my_enterprise"),
    path("portal/enterprise/edit/", my_enterprise_update, name="my_enterprise_update"),
]
