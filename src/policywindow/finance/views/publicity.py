"""公示管理 for staff, and the public notice where anyone may object (no sign-in)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone

from policywindow.core.access import permission, public
from policywindow.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from policywindow.core.requestctx import client_ip
from policywindow.policies.models import Rule
from policywindow.system.params import get_param

from .. import selectors
from ..forms import ObjectionForm, PublishForm
from ..models import PublicityBatch
from ..services import objections, publicity

PAGE_SIZE = 20
PUBLIC_PAGE_SIZE = 50


def _page(request: HttpRequest, rows, size: int = PAGE_SIZE):
    return Paginator(rows, size).get_page(request.GET.get("page"))


# --------------------------------------------------------------------------- staff
@permission("finance:publicity:list")
def batch_list(request: HttpRequest) -> HttpResponse:
    context = {
        "page": _page(request, selectors.batches(request.user)),
        "waiting": selectors.publishable(request.user).count(),
        "querystring": "",
    }
    return render(request, "finance/publicity_list.html", context)


@permission("finance:publicity:list")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(PublicityBatch.objects.select_related("published_by"), pk=pk)
    context = {
        "batch": batch,
        "entries": selectors.batch_entries(request.user, batch),
    }
    return render(request, "finance/publicity_detail.html", context)


def _rule_id(request: HttpRequest) -> int | None:
    raw = request.GET.get("rule", "")
    return int(raw) if raw.isdigit() else None


def _render_publish(request: HttpRequest, form: PublishForm, checked=(), problem: str = ""):
    rule_id = _rule_id(request)
    context = {
        "form": form,
        "cases": selectors.publishable(request.user, rule_id),
        "rules": Rule.objects.filter(current__isnull=False).select_related("current"),
        "rule_id": rule_id,
        "checked": {str(pk) for pk in checked},
        "problem": problem,
    }
    return render(request, "finance/publicity_create.html", context)


def _default_title() -> str:
    today = timezone.localdate()
    return f"{today.year}年{today.month}月政策兑现审核结果公示"


@permission("finance:publicity:publish")
def batch_create(request: HttpRequest) -> HttpResponse:
    """Choose approved cases (optionally of one rule) and publish them as one batch."""
    if request.method != "POST":
        days = get_param("general.publicity_days")
        return _render_publish(
            request, PublishForm(initial={"title": _default_title(), "days": days})
        )
    form = PublishForm(request.POST)
    checked = [pk for pk in request.POST.getlist("cases") if pk.isdigit()]
    if form.is_valid():
        data = form.cleaned_data
        try:
            batch = publicity.publish(request.user, checked, data["title"], data["days"])
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError as exc:  # a case moved meanwhile, or the calendar is not maintained
            return _render_publish(request, form, checked, exc.message)
        else:
            count = batch.entries.count()
            messages.success(
                request, f"已发布“{batch.title}”，共 {count} 件，公示期 {batch.days} 个工作日"
            )
            return redirect("finance:publicity_detail", batch.pk)
    return _render_publish(request, form, checked)


# --------------------------------------------------------------------------- public
@public
def public_list(request: HttpRequest) -> HttpResponse:
    """The public notice: cases now in publicity, with nothing private."""
    page = _page(request, selectors.public_entries(), PUBLIC_PAGE_SIZE)
    context = {"page": page, "querystring": "", "filed": request.GET.get("filed") == "1"}
    return render(request, "finance/public_publicity.html", context)


@public
def public_objection(request: HttpRequest, pk: int) -> HttpResponse:
    """File an objection on one published case (CSRF-protected, rate-limited per address)."""
    entry = selectors.public_entry(pk)
    form = ObjectionForm(request.POST or None)
    problem, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            objections.file_objection(entry.pk, form.as_input(), client_ip=client_ip(request))
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except objections.TooManyObjections as exc:
            problem, status = exc.message, exc.http_status
        except (Conflict, NotFound) as exc:
            problem = exc.message
        else:
            return redirect(f"{reverse('finance:public_publicity')}?filed=1")
    context = {"entry": entry, "form": form, "problem": problem}
    return render(request, "finance/public_objection.html", context, status=status)


urlpatterns = [
    path("finance/publicity/", batch_list, name="publicity_list"),
    path("finance/publicity/new/", batch_create, name="publicity_create"),
    path("finance/publicity/<int:pk>/", batch_detail, name="publicity_detail"),
    path("publicity/", public_list, name="public_publicity"),
    path("publicity/<int:pk>/objection/", public_objection, name="public_objection"),
]
