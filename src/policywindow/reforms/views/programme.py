"""The bureau's pages: the programme overview with its chart, items, export, print, import."""

from __future__ import annotations

import base64

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.paging import querystring

from .. import exporting, selectors
from ..forms import ImportForm, TaskFilterForm
from ..models import Programme
from ..selectors import TaskFilters
from ..services.importing import import_table
from ..table import TableRejected

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filtered(request: HttpRequest, programme: Programme) -> tuple[TaskFilterForm, TaskFilters]:
    """The filter bar bound to the query string, offering only what the user can see."""
    form = TaskFilterForm(request.GET, choices=selectors.filter_choices(request.user, programme))
    return form, form.filters()


def filters_text(form: TaskFilterForm) -> str:
    """The active filters in words, for exports and printouts ("全部任务" when none)."""
    parts = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "") or name in form.errors:
            continue
        if name == "q":
            parts.append(f"关键字：{value}")
        else:
            label = dict(field.choices).get(str(value), value)
            parts.append(str(label))
    return "筛选：" + "、".join(parts) if parts else "全部任务"


@permission("reform:programme:view")
def programme(request: HttpRequest) -> HttpResponse:
    current = selectors.programme_or_latest(request.GET.get("programme"))
    if current is None:
        return render(request, "reforms/programme_empty.html")
    form, filters = filtered(request, current)
    summary = selectors.programme_summary(request.user, current, filters)
    context = {
        "programme": current,
        "programmes": selectors.programmes(),
        "summary": summary,
        "figures": selectors.FIGURES,
        "chart": summary.chart(),
        "form": form,
        "querystring": querystring(request),
        "filtered": filters != TaskFilters(),
    }
    return render(request, "reforms/programme.html", context)


@permission("reform:programme:view")
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.visible_item(request.user, pk)
    tasks = selectors.item_tasks(request.user, item)
    marks = selectors.deadline_marks(tasks)
    context = {
        "item": item,
        "points": selectors.content_points(item.content),
        "rows": [(task, marks.get(task.pk)) for task in tasks],
    }
    return render(request, "reforms/item_detail.html", context)


@permission("reform:programme:export")
def programme_export(request: HttpRequest) -> HttpResponse:
    current = selectors.programme_or_latest(request.GET.get("programme"))
    if current is None:
        messages.info(request, "尚未导入改革任务分工表")
        return redirect("reforms:programme")
    form, filters = filtered(request, current)
    summary = selectors.programme_summary(request.user, current, filters)
    tasks = selectors.task_list(request.user, current, filters)
    body = exporting.programme_workbook(summary, tasks, filters_text(form))
    return send_file(body, f"改革任务督办-{timezone.localdate():%Y%m%d}.xlsx", XLSX)


@permission("reform:programme:export")
def programme_print(request: HttpRequest) -> HttpResponse:
    current = selectors.programme_or_latest(request.GET.get("programme"))
    if current is None:
        messages.info(request, "尚未导入改革任务分工表")
        return redirect("reforms:programme")
    form, filters = filtered(request, current)
    summary = selectors.programme_summary(request.user, current, filters)
    context = {
        "programme": current,
        "summary": summary,
        "filters_text": filters_text(form),
        "printed_at": timezone.localtime(),
    }
    return render(request, "reforms/programme_print.html", context)


@permission("reform:programme:import")
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload → preview (the import rolled back) → confirm: the previewed text is imported."""
    posted = request.method == "POST"
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    context: dict = {"form": form, "problems": [], "report": None}
    if posted and form.is_valid():
        # A file chosen after the preview is previewed first, never imported unseen.
        confirm = request.POST.get("action") == "confirm" and not request.FILES
        raw = form.cleaned_data["raw"]
        try:
            report = import_table(
                request.user,
                raw,
                source_name=form.cleaned_data["source_name"] or "任务分工表.txt",
                options=form.options(),
                dry_run=not confirm,
            )
        except TableRejected as exc:
            context["problems"] = exc.problems
            messages.error(request, exc.message)
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if confirm:
                messages.success(request, _done_message(report))
                return redirect(f"{reverse('reforms:programme')}?programme={report.programme_id}")
            context["report"] = report
            context["content"] = base64.b64encode(raw).decode("ascii")
            context["source_name"] = form.cleaned_data["source_name"]
    return render(request, "reforms/import.html", context)


def _done_message(report) -> str:
    if not report.changed:
        return f"《{report.title}》已导入过，本次导入没有任何变化"
    return (
        f"导入完成：新增事项 {len(report.items_created)} 项、更新 {len(report.items_updated)} 项，"
        f"下达任务 {report.tasks_created} 个"
        + (f"，新建部门 {len(report.departments_created)} 个" if report.departments_created else "")
    )


urlpatterns = [
    path("reforms/", programme, name="programme"),
    path("reforms/items/<int:pk>/", item_detail, name="item_detail"),
    path("reforms/export.xlsx", programme_export, name="programme_export"),
    path("reforms/print/", programme_print, name="programme_print"),
    path("reforms/import/", import_page, name="import"),
]
