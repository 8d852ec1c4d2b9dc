"""Reads of 财政报送: budgets with what is left, cases to publish, publicity batches (staff and
public), objections, fund-form batches with their submission to finance, and payments. Data
scope is applied here: cases and objections follow the case's lead department, batches are
visible when all their forms are (as 经费审批表); budgets are the province's, visible to
whoever may open the budget page. The public reads return only what a publicity notice shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.fundforms.models import FormBatch, FundForm
from policywindow.fundforms.selectors import visible_batches
from policywindow.policies.models import Policy, Rule, RuleVersion
from policywindow.system.datascope import scope_filter

from .models import (
    Budget,
    Disbursement,
    FinanceSubmission,
    Objection,
    PaymentImport,
    PublicityBatch,
    PublicityEntry,
)


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
        Rule.objects.filter(
            current__status=RuleVersion.Status.PUBLISHED, policy__status=Policy.Status.PUBLISHED
        )
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


# --------------------------------------------------------------------------- submissions
SUBMISSION_FILTERS = (
    ("", "全部"),
    ("none", "未报送"),
    *FinanceSubmission.Status.choices,
)


def submission_batches(user, status: str = "") -> QuerySet[FormBatch]:
    """Fund-form batches the user may see, newest first, with their submission, totals and
    how many of their cases are paid."""
    batches = (
        visible_batches(user)
        .select_related("finance_submission")
        .annotate(
            paid_count=Count("forms__disbursement"),
            paid_total=Sum("forms__disbursement__amount"),
        )
        .annotate(unpaid_count=F("form_count") - F("paid_count"))
    )
    if status == "none":
        batches = batches.filter(finance_submission__isnull=True)
    elif status in FinanceSubmission.Status.values:
        batches = batches.filter(finance_submission__status=status)
    return batches


def submission_batch(user, pk: int) -> FormBatch:
    return get_object_or_404(submission_batches(user), pk=pk)


def submission_of(batch: FormBatch) -> FinanceSubmission | None:
    return getattr(batch, "finance_submission", None)


def batch_rows(batch: FormBatch) -> list[FundForm]:
    """The batch's forms in order, with their case and payment."""
    return list(
        batch.forms.select_related("application", "disbursement__recorded_by").order_by("sequence")
    )


def visible_forms(user) -> QuerySet[FundForm]:
    """Fund forms in the user's data scope (those of the batches the user may see)."""
    return FundForm.objects.filter(batch__in=visible_batches(user).values("pk"))


def visible_form(user, pk: int) -> FundForm:
    return get_object_or_404(
        visible_forms(user).select_related(
            "application__enterprise", "batch__finance_submission", "disbursement"
        ),
        pk=pk,
    )


def submissions(user) -> QuerySet[FinanceSubmission]:
    """Submissions of the batches the user may see (the API's list), newest first."""
    return (
        FinanceSubmission.objects.filter(batch__in=visible_batches(user).values("pk"))
        .select_related("batch", "submitted_by", "received_by")
        .annotate(
            form_count=Count("batch__forms", distinct=True),
            total=Sum("batch__forms__approved_amount"),
        )
        .order_by("-submitted_at", "-id")
    )


def submission(user, pk: int) -> FinanceSubmission:
    return get_object_or_404(submissions(user), pk=pk)


# --------------------------------------------------------------------------- disbursements
def disbursements(user) -> QuerySet[Disbursement]:
    """Payments of the cases in the user's scope, latest first."""
    return (
        Disbursement.objects.filter(application__in=scoped_cases(user).values("pk"))
        .select_related("application__enterprise", "fund_form", "recorded_by", "source")
        .order_by("-paid_on", "-id")
    )


def awaiting_payment(user) -> QuerySet[FundForm]:
    """Forms of received batches whose case waits for its payment, oldest batch first."""
    return (
        FundForm.objects.filter(
            batch__in=visible_batches(user).values("pk"),
            batch__finance_submission__status=FinanceSubmission.Status.RECEIVED,
            application__status=S.IN_FINANCE,
            disbursement__isnull=True,
        )
        .select_related("application__enterprise", "batch")
        .order_by("batch__created_at", "sequence")
    )


def payment_imports() -> QuerySet[PaymentImport]:
    return PaymentImport.objects.select_related("uploaded_by", "confirmed_by")


def payment_import(pk: int) -> PaymentImport:
    return get_object_or_404(payment_imports(), pk=pk)
