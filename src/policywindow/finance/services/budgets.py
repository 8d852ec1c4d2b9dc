"""Budgets and the limits an approval must respect (DESIGN.md §3 "No double dipping").

``commit`` runs inside the final approval's transaction (``workflow.services.runtime``): it
refuses, and so rolls the whole decision back, when the approval would exceed what is left of
the rule's budget for the year, the rule's per-enterprise cap, or the rule's mutual-exclusion
group. A rule without a budget row for the year has no budget limit (the policy
administrator has not set one yet); its caps and exclusion still apply, and the amounts
approved meanwhile are counted in when the budget is created.

Lock order, as in an approval: the application row, then the enterprise's approval lock (only
for a rule with a cap or an exclusion group), then — last, just before the commit — the
budget row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.money import format_yuan, parse_yuan
from policywindow.policies.models import Rule
from policywindow.system.models import User

from ..models import Budget, Commitment

# An approval counts against caps and exclusion from the moment it is approved.
GRANTED = (
    S.APPROVED,
    S.IN_PUBLICITY,
    S.PUBLICITY_PASSED,
    S.OBJECTION,
    S.IN_FINANCE,
    S.DISBURSED,
    S.ARCHIVED,
)
BUDGET_FIELDS = ["total", "note"]
# Namespaces of PostgreSQL advisory locks: one enterprise's approvals queue on the first; a
# rule's budget being created and its approvals that found no budget, on the second.
_ENTERPRISE_LOCK = 5_001
_BUDGET_LOCK = 5_002


# --------------------------------------------------------------------------- approvals
def commit(
    actor: User | None, application: Application, amount: Decimal | None, *, audited: bool = True
) -> dict[str, Any] | None:
    """Take ``amount`` from the rule's budget for the final approval of a *locked* application.

    Refused with ``ValidationFailed`` (field ``approved_amount``, or ``action`` for a
    mutual exclusion, which no amount can fix) naming the limit and the numbers; the caller's
    transaction must then roll back. A case approved again replaces its earlier commitment,
    if it still holds one. Returns what was taken (amount, budget, what is left) — None when
    the rule grants no money — as the ``budget.commit`` event records it, or with
    ``audited=False`` as the caller's own event does (a decision logs itself and what it
    caused as one event).

    Call it last in the approval's transaction: every approval of the rule and year updates
    the one budget row, so that comes last here too and the row is held only until the commit.
    """
    version = application.rule_version
    if version.exclusion_group or version.per_enterprise_cap is not None:
        _lock_enterprise(application.enterprise_id)
        _refuse_exclusion(application)
    if amount is None:  # a rule that grants no money: nothing to count, nothing may stay held
        release(actor, application)
        return None
    _refuse_over_cap(application, amount)
    commitment = _insert_commitment(actor, application, amount)
    if commitment is None:  # approved again, still holding what the last approval took
        release(actor, application)
        commitment = _insert_commitment(actor, application, amount)
    commitment_id, budget_seen = commitment
    budget_id, left = _take(application, amount)
    if budget_id != budget_seen:  # a budget created meanwhile, which this approval took from
        Commitment.objects.filter(pk=commitment_id).update(budget_id=budget_id)
    taken = {"amount": amount, "budget": budget_id, "left": left}
    if audited:
        audit.record("budget.commit", actor=actor, target=application, after=taken)
    return taken


def _take(application: Application, amount: Decimal) -> tuple[int | None, Decimal | None]:
    """(the budget's id, what it has left after ``amount``), or (None, None) when the rule has no
    budget for the year; refused when it has less left than ``amount``."""
    taken = _update_budget(application, amount)
    if taken is not None:
        return taken
    # No budget seen. One being created for the rule either counts this approval in (it waits
    # for this lock, so it reads the commitment once committed) or, waited for here, is seen.
    _advisory_lock(_BUDGET_LOCK, application.rule_id, shared=True)
    budget = Budget.objects.filter(rule_id=application.rule_id, year=application.year).first()
    if budget is None:
        return None, None
    taken = _update_budget(application, amount) if budget.left >= amount else None
    if taken is None:
        message = (
            f"细则“{application.rule_version.title}”{application.year} 年度预算余额不足："
            f"本年度剩余 {format_yuan(budget.left)}，本次核定 {format_yuan(amount)}"
        )
        raise ValidationFailed(message, details={"approved_amount": [message]})
    return taken


def _update_budget(application: Application, amount: Decimal) -> tuple[int, Decimal] | None:
    """Take ``amount`` if the budget has it left: (its id, what is left after), else None.

    One UPDATE … RETURNING (the ORM's ``update()`` cannot say which row it changed nor what is
    left): it waits for, then sees, the row as the approval committed before it left it.
    """
    now = Budget._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [amount, now, application.rule_id, application.year, amount])
        row = cursor.fetchone()
    return None if row is None else (row[0], Decimal(str(row[1])).quantize(CENT))


def _insert_commitment(
    actor: User | None, application: Application, amount: Decimal
) -> tuple[int, int | None] | None:
    """Record the approval's commitment, with the rule's budget as it stands: (its id, the
    budget's id or None); None when the application still holds an earlier one.

    One INSERT … ON CONFLICT DO NOTHING RETURNING on ``finance_one_open_commitment``: the ORM
    cannot insert-unless-held in one statement, and a read first would cost one more.
    """
    committed_at = Commitment._meta.get_field("committed_at").get_db_prep_save(
        timezone.now(), connection
    )
    by = actor.pk if getattr(actor, "is_authenticated", False) else None
    params = [application.pk, application.rule_id, application.year, amount, committed_at, by]
    with connection.cursor() as cursor:
        cursor.execute(_COMMIT_SQL, params)
        return cursor.fetchone()


_COMMIT_SQL = (
    "INSERT INTO finance_commitment (application_id, budget_id, amount, committed_at, "
    "committed_by_id) VALUES (%s, (SELECT id FROM finance_budget WHERE rule_id = %s AND "
    "year = %s), %s, %s, %s) ON CONFLICT (application_id) WHERE released_at IS NULL "
    "DO NOTHING RETURNING id, budget_id"
)
# Amounts cast, as the ORM does on SQLite: there a text parameter never equals a number.
_TAKE_SQL = (
    "UPDATE finance_budget SET committed = committed + CAST(%s AS NUMERIC), updated_at = %s "
    "WHERE rule_id = %s AND year = %s AND total - committed >= CAST(%s AS NUMERIC) "
    "RETURNING id, total - committed"
)
CENT = Decimal("0.01")


def release(actor: User, application: Application) -> Commitment | None:
    """Give back what a *locked* application's approval took (its approval was undone)."""
    commitment = (
        Commitment.objects.select_for_update()
        .filter(application=application, released_at__isnull=True)
        .first()
    )
    if commitment is None:
        return None
    if commitment.budget_id is not None:
        budget = Budget.objects.select_for_update().get(pk=commitment.budget_id)
        budget.committed -= commitment.amount
        budget.save(update_fields=["committed", "updated_at"])
    commitment.released_at, commitment.released_by = timezone.now(), actor
    commitment.save(update_fields=["released_at", "released_by"])
    audit.record(
        "budget.release",
        actor=actor,
        target=application,
        after={"amount": commitment.amount, "budget": commitment.budget_id},
    )
    return commitment


def _lock_enterprise(enterprise_id: int) -> None:
    """Queue the approvals of one enterprise, so two cases of one exclusion group (or over one
    cap) decided at the same moment are checked one after the other. An advisory lock, not the
    enterprise row: filing locks that row while it writes, and approvals need no write of it."""
    _advisory_lock(_ENTERPRISE_LOCK, enterprise_id)


def _advisory_lock(namespace: int, key: int, *, shared: bool = False) -> None:
    """A PostgreSQL advisory lock until the end of the transaction. SQLite lets one transaction
    write at a time, so there is nothing to do there."""
    if connection.vendor == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s, %s)", [namespace, key])


def _granted_of_enterprise(application: Application):
    return (
        Application.objects.filter(
            enterprise_id=application.enterprise_id, year=application.year, status__in=GRANTED
        )
        .exclude(pk=application.pk)
        .select_related("rule_version")
    )


def _refuse_exclusion(application: Application) -> None:
    group = application.rule_version.exclusion_group
    if not group:
        return
    other = (
        _granted_of_enterprise(application)
        .filter(rule_version__exclusion_group=group)
        .exclude(rule_id=application.rule_id)
        .order_by("decided_at", "id")
        .first()
    )
    if other is not None:
        message = (
            f"与互斥政策冲突：该企业 {application.year} 年度已获批同一互斥组的"
            f"“{other.rule_version.title}”（申报编号 {other.number}，{other.get_status_display()}），"
            "不能同时享受，请驳回本申报"
        )
        raise ValidationFailed(message, details={"action": [message]})


def _refuse_over_cap(application: Application, amount: Decimal) -> None:
    cap = application.rule_version.per_enterprise_cap
    if cap is None:
        return
    before = _granted_of_enterprise(application).filter(rule_id=application.rule_id).aggregate(
        total=Sum("approved_amount")
    )["total"] or Decimal("0")
    if before + amount > cap:
        message = (
            f"超过单个企业上限：细则“{application.rule_version.title}”每个企业每年度最多 "
            f"{format_yuan(cap)}，该企业本年度已核定 {format_yuan(before)}，"
            f"本次核定 {format_yuan(amount)}"
        )
        raise ValidationFailed(message, details={"approved_amount": [message]})


# --------------------------------------------------------------------------- budget rows
def create_budget(actor: User, rule: Rule, year: int, total: object, note: str = "") -> Budget:
    """A rule's budget for a year; approvals of that year made without one are counted in."""
    total = _checked_total(total)
    _check_year(year)
    with transaction.atomic():
        # Approvals of the rule that found no budget hold this lock shared until they commit:
        # waiting for them makes the amounts read below final, and approvals after it wait
        # for this budget and take from it (``_take``).
        _advisory_lock(_BUDGET_LOCK, rule.pk)
        try:
            with transaction.atomic():
                budget = Budget.objects.create(
                    rule=rule, year=year, total=total, note=note.strip(), created_by=actor
                )
        except IntegrityError as exc:
            message = f"细则 {rule.code} 的 {year} 年度预算已存在，请在列表中修改"
            raise ValidationFailed(message, details={"rule": [message]}) from exc
        audit.record(
            "budget.create",
            actor=actor,
            target=budget,
            after=audit.snapshot(budget, ["rule", "year", *BUDGET_FIELDS]),
        )
        orphans = Commitment.objects.filter(
            budget__isnull=True,
            released_at__isnull=True,
            application__rule=rule,
            application__year=year,
        )
        taken = orphans.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if taken > total:
            message = f"预算总额不能低于本年度已核定的 {format_yuan(taken)}"
            raise ValidationFailed(message, details={"total": [message]})
        orphans.update(budget=budget)
        budget.committed = taken
        budget.save(update_fields=["committed"])
    return budget


def update_budget(actor: User, budget_id: int, total: object, note: str = "") -> Budget:
    """Change a budget's total (never below what is already committed) and note."""
    total = _checked_total(total)
    with transaction.atomic():
        seen = Budget.objects.select_related("rule").get(pk=budget_id)
        # The event records the budget as the page showed it (``seen``); the row, locked after,
        # must still be that, or the edit is refused.
        audit.record(
            "budget.update",
            actor=actor,
            target=seen,
            before=audit.snapshot(seen, BUDGET_FIELDS),
            after={"total": total, "note": note.strip()},
        )
        budget = Budget.objects.select_for_update().select_related("rule").get(pk=budget_id)
        if (budget.total, budget.note) != (seen.total, seen.note):
            raise Conflict("该预算已被他人修改，请刷新页面后重试")
        if total < budget.committed:
            message = f"预算总额不能低于已核定的 {format_yuan(budget.committed)}"
            raise ValidationFailed(message, details={"total": [message]})
        budget.total, budget.note = total, note.strip()
        budget.save(update_fields=["total", "note", "updated_at"])
    return budget


def _checked_total(value: object) -> Decimal:
    try:
        total = parse_yuan(value, "预算总额")
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={"total": [str(exc)]}) from exc
    if total <= 0:
        message = "预算总额须大于 0 元"
        raise ValidationFailed(message, details={"total": [message]})
    return total


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise ValidationFailed("请输入正确的年度", details={"year": ["请输入正确的年度"]})
