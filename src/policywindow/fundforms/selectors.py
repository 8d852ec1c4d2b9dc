"""Reads of the fund approval forms, within the reader's data scope.

A case is in scope as 办件查询 has it (its lead department under the reader's roles). A form
follows its case; a batch is visible only when every form in it is, because its PDF and
Excel carry all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import staff_applications

from .models import FormBatch, FundForm

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
