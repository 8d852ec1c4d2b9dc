"""Reads of the fund approval forms, within the reader's data scope.

A case is in scope as 办件查询 has it (its lead department under the reader's roles). A form
follows its case; a batch is visible only when every form in it is, because its PDF and
Excel carry all of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import staff_applications

from .models import FormBatch, FundForm

# A run that recorded nothing for this long is shown as waiting for the worker, not working.
RUNNING_WITHIN = dt.timedelta(minutes=2)

# 公示通过 and every later step: the form is what finance pays on.
ELIGIBLE_STATUSES = (S.PUBLICITY_PASSED, S.IN_FINANCE, S.DISBURSED, S.ARCHIVED)


class Issued:
    PENDING = "pending"
    ISSUED = "issued"
    ALL = "all"
    CHOICES = ((PENDING, "待出具"), (ISSUED, "已出具"), (ALL, "全部"))


@dataclass(frozen=True)
class CaseFilter:
    number: str = ""
    enterprise: str = ""
    rule_id: int | None = None
    issued: str = Issued.PENDING


def eligible_cases(user, filters: CaseFilter | None = None) -> QuerySet[Application]:
    """Cases a form can be (or was) issued for, in the user's scope, oldest decision first."""
    filters = filters or CaseFilter()
    cases = staff_applications(user).filter(
        status__in=ELIGIBLE_STATUSES, approved_amount__isnull=False
    )
    if filters.number:
        cases = cases.filter(number__icontains=filters.number.strip())
    if filters.enterprise:
        cases = cases.filter(enterprise__name__icontains=filters.enterprise.strip())
    if filters.rule_id:
        cases = cases.filter(rule_id=filters.rule_id)
    if filters.issued == Issued.PENDING:
        cases = cases.filter(fund_form__isnull=True)
    elif filters.issued == Issued.ISSUED:
        cases = cases.filter(fund_form__isnull=False)
    return cases.select_related("fund_form").order_by("decided_at", "id")


def issuable(user, ids: list[int]) -> QuerySet[Application]:
    """The chosen cases in the user's scope, with all that a form's snapshot reads."""
    scoped = staff_applications(user).filter(pk__in=ids).values("pk")
    return (
        Application.objects.filter(pk__in=scoped)
        .select_related(
            "rule__policy__issuing_department", "rule_version", "enterprise", "department"
        )
        .prefetch_related("tasks__assignee", "tasks__department")
    )


def visible_forms(user) -> QuerySet[FundForm]:
    scoped = staff_applications(user).values("pk")
    return FundForm.objects.filter(application__in=scoped).select_related(
        "application", "batch", "issued_by"
    )


def visible_batches(user) -> QuerySet[FormBatch]:
    """Batches all of whose forms the user may see, newest first, with count and total."""
    hidden = FundForm.objects.exclude(application__in=staff_applications(user).values("pk"))
    return (
        FormBatch.objects.exclude(pk__in=hidden.values("batch_id"))
        .select_related("created_by")
        .annotate(form_count=Count("forms"), total=Sum("forms__approved_amount"))
        .order_by("-created_at", "-id")
    )


def form_of(user, pk: int) -> FundForm:
    return get_object_or_404(visible_forms(user), pk=pk)


def batch_of(user, pk: int) -> FormBatch:
    return get_object_or_404(visible_batches(user), pk=pk)


def batch_forms(batch: FormBatch) -> list[FundForm]:
    return list(batch.forms.select_related("application").order_by("sequence"))


def total_of(forms: list[FundForm]) -> Decimal:
    return sum((form.approved_amount for form in forms), Decimal("0"))


@dataclass(frozen=True)
class FileProgress:
    """How far the background making of a batch's signed PDFs has come, for its page."""

    total: int
    done: int
    failed: int
    error: str
    state: str  # ready | failed | running | queued

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)

    @property
    def polling(self) -> bool:
        """The page keeps asking while a run may still be going or is still to start."""
        return self.state in ("running", "queued")


def file_progress(batch: FormBatch) -> FileProgress:
    if batch.files_done >= batch.files_total:
        state = "ready"
    elif batch.files_finished_at:
        state = "failed"
    elif batch.files_touched_at and timezone.now() - batch.files_touched_at < RUNNING_WITHIN:
        state = "running"
    else:
        state = "queued"
    return FileProgress(
        batch.files_total, batch.files_done, batch.files_failed, batch.files_error, state
    )
