"""归档 pages: disbursed cases to archive, archived cases with their zips, a batch's progress,
and the enterprise's own archives. Zips are served only through these checked views."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.paging import page_of, querystring

from . import selectors, services
from .models import Archive, ArchiveBatch

ZIP = "application/zip"


class SearchForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(label="申报编号", required=False, max_length=16)
    enterprise = forms.CharField(label="企业名称", required=False, max_length=200)

    def search(self) -> selectors.Search:
        self.is_valid()
        data = self.cleaned_data
        return selectors.Search(data.get("number", ""), data.get("enterprise", ""))


def _listing(request: HttpRequest, rows, tab: str, template: str, **extra) -> HttpResponse:
    form = SearchForm(request.GET)
    context = {
        "form": form,
        "page": page_of(request, rows(request.user, form.search())),
        "querystring": querystring(request),
        "tab": tab,
        **extra,
    }
    return render(request, template, context)


@permission("finance:archive:list")
def case_list(request: HttpRequest) -> HttpResponse:
    """待归档: 已拨付 cases, to be chosen and archived."""
    return _listing(
        request,
        selectors.archivable_cases,
        "cases",
        "archives/case_list.html",
        can_archive=request.user.has_permission_code(services.ARCHIVE_PERMISSION),
        max_batch=services.MAX_BATCH,
    )


@permission("finance:archive:list")
def archive_list(request: HttpRequest) -> HttpResponse:
    """已归档: the archived cases with their zips."""
    return _listing(
        request,
        selectors.archives,
        "archives",
        "archives/archive_list.html",
        can_download=request.user.has_permission_code("finance:archive:download"),
    )


@require_POST
@permission("finance:archive:archive")
def archive_create(request: HttpRequest) -> HttpResponse:
    """One case is archived at once; several are left to a background batch with progress."""
    ids = sorted({int(v) for v in request.POST.getlist("applications") if v.isdigit()})
    try:
        if len(ids) == 1:
            archive = services.archive_case(request.user, ids[0])
        else:
            batch = services.start_batch(request.user, ids)
    except (ValidationFailed, Conflict, NotFound, PermissionDenied) as exc:
        messages.error(request, exc.message)
        return redirect("archives:case_list")
    if len(ids) == 1:
        number = archive.application.number
        messages.success(request, f"办件 {number} 已归档，共 {archive.file_count} 个文件")
        return redirect(f"{reverse('archives:archive_list')}?{urlencode({'number': number})}")
    messages.success(request, f"已开始批量归档 {batch.total} 件，本页显示进度")
    return redirect("archives:batch_detail", batch.pk)


def _progress_context(batch: ArchiveBatch) -> dict:
    return {"batch": batch, "percent": batch.done * 100 // max(batch.total, 1)}


@permission("finance:archive:list")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_of(request.user, pk)
    context = {**_progress_context(batch), "rows": selectors.batch_rows(batch), "tab": "cases"}
    return render(request, "archives/batch_detail.html", context)


@permission("finance:archive:list")
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch page's progress card and cases, polled by htmx until the run is over."""
    batch = selectors.batch_of(request.user, pk)
    context = {**_progress_context(batch), "rows": selectors.batch_rows(batch)}
    return render(request, "archives/batch_progress.html", context)


def _zip(archive: Archive) -> HttpResponse:
    try:
        stored = services.open_archive(archive)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return send_file(stored, f"归档-{archive.application.number}.zip", ZIP)


@permission("finance:archive:download")
def download(request: HttpRequest, pk: int) -> HttpResponse:
    return _zip(selectors.archive_of(request.user, pk))


# ---------------------------------------------------------------- the enterprise's own
@permission("portal:archive:list")
def my_list(request: HttpRequest) -> HttpResponse:
    page = page_of(request, selectors.my_archives(request.user))
    return render(request, "archives/my_list.html", {"page": page, "querystring": ""})


@permission("portal:archive:list")
def my_download(request: HttpRequest, pk: int) -> HttpResponse:
    return _zip(selectors.my_archive(request.user, pk))
