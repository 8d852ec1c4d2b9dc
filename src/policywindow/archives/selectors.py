"""Reads of 归档: cases ready to be archived and archives, within the reader's data scope.

Staff see the cases 办件查询 shows them (their roles' departments); an enterprise user sees
only the archives of the enterprise they act for — another enterprise's archive is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import enterprise_applications, staff_applications

from .models import Archive, ArchiveBatch


@dataclass(frozen=True)
class Search:
    number: str = ""
    enterprise: str = ""


def _searched(rows: QuerySet, search: Search, prefix: str = "") -> QuerySet:
    if search.number:
        rows = rows.filter(**{f"{prefix}number__icontains": search.number.strip()})
    if search.enterprise:
        rows = rows.filter(**{f"{prefix}enterprise__name__icontains": search.enterprise.strip()})
    return rows


def archivable_cases(user, search: Search | None = None) -> QuerySet[Application]:
    """已拨付 cases in scope, not archived yet, the longest waiting first."""
    cases = staff_applications(user).filter(status=S.DISBURSED, archive__isnull=True)
    return (
        _searched(cases, search or Search())
        .select_related("fund_form")
        .order_by("updated_at", "id")
    )


def _archives() -> QuerySet[Archive]:
    return Archive.objects.select_related(
        "application__enterprise", "application__rule", "application__rule_version", "archived_by"
    )


def archives(user, search: Search | None = None) -> QuerySet[Archive]:
    """Archived cases in the user's scope, newest first."""
    scoped = staff_applications(user).values("pk")
    rows = _archives().filter(application__in=scoped)
    return _searched(rows, search or Search(), "application__").order_by("-archived_at", "-id")


def archive_of(user, pk: int) -> Archive:
    return get_object_or_404(archives(user), pk=pk)


def in_scope(user, ids: list[int]) -> QuerySet[Application]:
    """The chosen cases the user may see (with what the archive reads of them)."""
    scoped = staff_applications(user).filter(pk__in=ids).values("pk")
    return Application.objects.filter(pk__in=scoped).select_related(
        "rule__policy", "rule_version", "enterprise", "department", "applicant"
    )


def my_archives(user) -> QuerySet[Archive]:
    """The archives of the enterprise the user acts for."""
    mine = enterprise_applications(user).values("pk")
    return _archives().filter(application__in=mine).order_by("-archived_at", "-id")


def my_archive(user, pk: int) -> Archive:
    return get_object_or_404(my_archives(user), pk=pk)


def batch_of(user, pk: int) -> ArchiveBatch:
    """A batch run, visible when every case in it is (its page names them all)."""
    batch = get_object_or_404(ArchiveBatch.objects.select_related("created_by"), pk=pk)
    if in_scope(user, batch.application_ids).count() != len(batch.application_ids):
        raise Http404("批量归档记录不存在")
    return batch


def batch_rows(batch: ArchiveBatch) -> list[Application]:
    """The batch's cases in the order chosen, each with its archive when it has one."""
    cases = Application.objects.filter(pk__in=batch.application_ids).select_related(
        "enterprise", "archive"
    )
    by_pk = {case.pk: case for case in cases}
    return [by_pk[pk] for pk in batch.application_ids if pk in by_pk]
