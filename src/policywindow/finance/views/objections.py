"""异议处理: the lead department's list of objections and the page that decides one."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.applications import selectors as cases
from policywindow.core.access import permission
from policywindow.core.errors import Conflict, NotFound, ValidationFailed

from .. import selectors
from ..forms import ObjectionDecisionForm
from ..models import Objection
from ..services import objections

PAGE_SIZE = 20
DECIDE = "finance:objection:decide"


@permission("finance:objection:list")
def objection_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", Objection.Status.OPEN)
    if status not in Objection.Status.values:
        status = ""
    page = Paginator(selectors.objections(request.user, status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "status": status,
        "statuses": Objection.Status.choices,
        "querystring": f"status={status}",
    }
    return render(request, "finance/objection_list.html", context)


def _render_detail(
    request: HttpRequest, item: Objection, form: ObjectionDecisionForm | None = None
):
    application = item.entry.application
    can_decide = request.user.has_permission_code(DECIDE)
    context = {
        "item": item,
        "app": application,
        "batch": item.entry.batch,
        "others": selectors.other_objections(item),
        "timeline": cases.timeline(application),
        # The objector's contact data is for those who decide objections only.
        "show_contact": can_decide,
        "form": form or ObjectionDecisionForm(),
        "can_decide": can_decide and item.status == Objection.Status.OPEN,
    }
    return render(request, "finance/objection_detail.html", context)


@permission("finance:objection:list")
def objection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, selectors.objection(request.user, pk))


@require_POST
@permission(DECIDE)
def objection_decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.objection(request.user, pk)
    form = ObjectionDecisionForm(request.POST)
    if form.is_valid():
        decide = (
            objections.uphold if form.cleaned_data["outcome"] == "uphold" else objections.dismiss
        )
        try:
            decide(request.user, item.pk, form.cleaned_data["note"])
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("finance:objection_detail", item.pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        else:
            item.refresh_from_db()
            number = item.entry.application.number
            messages.success(request, f"已处理 {number} 的异议：{item.get_status_display()}")
            return redirect("finance:objection_detail", item.pk)
    return _render_detail(request, item, form)


urlpatterns = [
    path("finance/objections/", objection_list, name="objection_list"),
    path("finance/objections/<int:pk>/", objection_detail, name="objection_detail"),
    path("finance/objections/<int:pk>/decide/", objection_decide, name="objection_decide"),
]
