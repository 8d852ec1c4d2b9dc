"""Reads of 财政报送: budgets with what is left, cases to publish, publicity batches (staff and
public) and objections. Data scope is applied here: cases and objections follow the case's
lead department; budgets are the province's, visible to whoever may open the budget page.
The public reads return only what a publicity notice shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.policies.models import Rule
from policywindow.system.datascope import scope_filter

from .models import Budget, Objection, PublicityBatch, PublicityEntry


# --------------------------------------------------------------------------- budgets
@dataclass(frozen=True)
class BudgetTotals:
    total: Decimal
    committed: Decimal
    disbursed: Decimal

    @property
    def left(self) -> Decimal:
        return self.total - self.committed


def budgets_of_year(year: int) -> list[Budget]:
    return list(
        Budget.objects.filter(year=year).select_related("rule__current").order_by("rule__code")
    )


def totals(budgets: list[Budget]) -> BudgetTotals:
    zero = Decimal("0")
    return BudgetTotals(
        total=sum((b.total for b in budgets), zero),
        committed=sum((b.committed for b in budgets), zero),
        disbursed=sum((b.disbursed for b in budgets), zero),
    )


def rules_without_budget(year: int) -> QuerySet[Rule]:
    """Rules with a published version and no budget for the year: their approvals are not
    limited by a budget until one is created."""
    return (
        Rule.objects.filter(current__status="published", policy__status="published")
        .exclude(budgets__year=year)
        .select_related("current")
        .order_by("code")
    )


def budget_years(today: dt.date) -> list[int]:
    """Years to choose from: the ones with budgets, this year and the next."""
    years = set(Budget.objects.values_list("year", flat=True).distinct())
    return sorted(years | {today.year, today.year + 1}, reverse=True)


def budget(pk: int) -> Budget:
    return get_object_or_404(Budget.objects.select_related("rule__current"), pk=pk)


# --------------------------------------------------------------------------- publicity
def scoped_cases(user) -> QuerySet[Application]:
    """Filed cases of the lead departments the user's data scope reaches."""
    return scope_filter(Application.objects.all(), user, dept_field="department", owner_field=None)


def publishable(user, rule_id: int | None = None) -> QuerySet[Application]:
    """Approved cases waiting to be published, oldest decision first."""
    cases = scoped_cases(user).filter(status=S.APPROVED)
    if rule_id:
        cases = cases.filter(rule_id=rule_id)
    return cases.select_related("enterprise", "rule", "rule_version", "department").order_by(
        "decided_at", "id"
    )


def batches(user) -> QuerySet[PublicityBatch]:
    """Every batch with counts of its cases in the user's scope (a batch is public anyway)."""
    scope = Q(entries__application__in=scoped_cases(user).values("pk"))
    return (
        PublicityBatch.objects.select_related("published_by")
        .annotate(
            cases=Count("entries", filter=scope, distinct=True),
            open_objections=Count(
                "entries__objections",
                filter=scope & Q(entries__objections__status=Objection.Status.OPEN),
                distinct=True,
            ),
        )
        .order_by("-starts_at", "-id")
    )


def batch_entries(user, batch: PublicityBatch) -> QuerySet[PublicityEntry]:
    return (
        batch.entries.filter(application__in=scoped_cases(user).values("pk"))
        .select_related("application")
        .annotate(
            open_objections=Count("objections", filter=Q(objections__status=Objection.Status.OPEN))
        )
        .order_by("order")
    )


# --------------------------------------------------------------------------- public
def public_entries(now: dt.datetime | None = None) -> QuerySet[PublicityEntry]:
    """What the public notice shows: the cases of the batches whose period is running, minus
    those taken off after an upheld objection. Only published snapshot columns are read."""
    now = now or timezone.now()
    return (
        PublicityEntry.objects.filter(
            batch__starts_at__lte=now, batch__ends_at__gt=now, withdrawn_at__isnull=True
        )
        .select_related("batch")
        .only(
            "batch",
            "order",
            "enterprise_name",
            "rule_title",
            "amount",
            "batch__title",
            "batch__days",
            "batch__starts_at",
            "batch__ends_at",
        )
        .order_by("-batch__starts_at", "batch_id", "order")
    )


def public_entry(pk: int) -> PublicityEntry:
    """A case open to objections now; anything else is not found."""
    return get_object_or_404(public_entries(), pk=pk)


# --------------------------------------------------------------------------- objections
def objections(user, status: str = "") -> QuerySet[Objection]:
    """Objections on the cases of the lead departments in the user's data scope."""
    rows = scope_filter(
        Objection.objects.all(), user, dept_field="entry__application__department", owner_field=None
    )
    if status:
        rows = rows.filter(status=status)
    return rows.select_related(
        "entry__batch", "entry__application__department", "decided_by"
    ).order_by("-filed_at", "-id")


def objection(user, pk: int) -> Objection:
    return get_object_or_404(objections(user), pk=pk)


def other_objections(item: Objection) -> QuerySet[Objection]:
    return item.entry.objections.exclude(pk=item.pk).order_by("filed_at")
