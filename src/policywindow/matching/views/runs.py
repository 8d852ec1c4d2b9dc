"""Batch matching runs (政策匹配): the list, starting one, its page and its progress as JSON."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission

from .. import selectors, services
from ..models import MatchRun

PAGE_SIZE = 20


@permission("policy:matching:list")
def run_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.runs(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "matching/run_list.html", {"page": page, "querystring": ""})


@require_POST
@permission("policy:matching:run")
def run_start(request: HttpRequest) -> HttpResponse:
    run = services.start_run(request.user, trigger=MatchRun.Trigger.MANUAL)
    messages.success(request, f"已发起匹配任务 #{run.pk}，后台处理中")
    return redirect("matching:run_detail", run.pk)


@permission("policy:matching:list")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "matching/run_detail.html", {"run": selectors.run(pk)})


def progress_of(run: MatchRun) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "total": run.total,
        "done": run.done,
        "percent": run.percent,
        "evaluations": run.evaluations,
        "eligible": run.eligible,
        "pushed": run.pushed,
        "granted": run.granted,
        "finished": run.finished,
        "error": run.error,
    }


@permission("policy:matching:list")
def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(progress_of(selectors.run(pk)))


urlpatterns = [
    path("policy/matching/", run_list, name="run_list"),
    path("policy/matching/start/", run_start, name="run_start"),
    path("policy/matching/<int:pk>/", run_detail, name="run_detail"),
    path("policy/matching/<int:pk>/progress/", run_progress, name="run_progress"),
]
