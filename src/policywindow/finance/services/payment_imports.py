"""Importing a bank's / treasury's payment statement: upload, reconcile, confirm.

Uploading keeps the parsed rows (a malformed file is refused and nothing is kept). The
reconciliation is computed from those rows against the forms and payments as they are now:
each row is matched (可入账), or already recorded by this import, or reported as unmatched,
amount differs, already paid, or a duplicate of an earlier line. Confirming reconciles again
under the locks and records the matched rows only, all in one transaction: when one of them
cannot be recorded, none is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from policywindow.core.money import format_yuan
from policywindow.fundforms.models import FundForm
from policywindow.system.models import User

from .. import selectors
from ..models import FinanceSubmission, PaymentImport
from ..statement import StatementRow, read_statement, refuse
from . import disbursements

IMPORT = "finance:disbursement:import"


class Outcome(models.TextChoices):
    MATCHED = "matched", "可入账"
    RECORDED = "recorded", "已入账"
    AMOUNT_DIFFERS = "amount_differs", "金额不符"
    ALREADY_PAID = "already_paid", "已拨付"
    DUPLICATE = "duplicate", "文件内重复"
    UNMATCHED = "unmatched", "未匹配"


@dataclass(frozen=True)
class Checked:
    row: StatementRow
    outcome: str
    form: FundForm | None = None
    message: str = ""

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label


@dataclass
class Reconciliation:
    rows: list[Checked] = field(default_factory=list)

    def of(self, outcome: str) -> list[Checked]:
        return [row for row in self.rows if row.outcome == outcome]

    @property
    def counts(self) -> list[tuple[str, str, int]]:
        """(outcome, label, rows) for every outcome, in the order of ``Outcome``."""
        return [(value, label, len(self.of(value))) for value, label in Outcome.choices]

    @property
    def matched_total(self) -> Decimal:
        return sum((Decimal(r.row.amount) for r in self.of(Outcome.MATCHED)), Decimal("0"))


# --------------------------------------------------------------------------- upload
def upload(actor: User, source_name: str, data: bytes) -> PaymentImport:
    """Keep a statement's parsed rows for reconciliation (nothing is paid yet)."""
    require_permission(actor, IMPORT)
    rows = read_statement(data)
    with transaction.atomic():
        item = PaymentImport.objects.create(
            source_name=source_name[:200] or "拨付回单.xlsx",
            sha256=hashlib.sha256(data).hexdigest(),
            rows=[row.as_json() for row in rows],
            uploaded_by=actor,
            uploaded_at=timezone.now(),
        )
        audit.record(
            "payment_import.upload",
            actor=actor,
            target=item,
            after={"file": item.source_name, "rows": len(rows), "sha256": item.sha256},
        )
    return item


# --------------------------------------------------------------------------- reconcile
def reconcile(actor: User, item: PaymentImport) -> Reconciliation:
    """Each row against the forms in the actor's data scope (others count as unknown)."""
    rows = [StatementRow.from_json(data) for data in item.rows]
    forms = _candidates(actor, rows)
    by_number = {form.number: form for form in forms}
    seen: dict[int, int] = {}  # form id -> the first line that named it
    report = Reconciliation()
    for row in rows:
        form, problem = _find(row, forms, by_number, seen)
        if form is None:
            report.rows.append(Checked(row, Outcome.UNMATCHED, message=problem))
            continue
        report.rows.append(_check(item, row, form, seen))
        seen.setdefault(form.pk, row.line)
    return report


def _candidates(actor: User, rows: list[StatementRow]) -> list[FundForm]:
    numbers = {row.form_number for row in rows if row.form_number}
    codes = {row.credit_code for row in rows if row.credit_code}
    return list(
        selectors.visible_forms(actor)
        .filter(Q(number__in=numbers) | Q(application__enterprise__credit_code__in=codes))
        .select_related("application__enterprise", "batch__finance_submission", "disbursement")
        .order_by("year", "sequence")
    )


def _awaiting(form: FundForm) -> bool:
    submission = getattr(form.batch, "finance_submission", None)
    return (
        submission is not None
        and submission.status == FinanceSubmission.Status.RECEIVED
        and form.application.status == S.IN_FINANCE
        and not hasattr(form, "disbursement")
    )


def _find(
    row: StatementRow, forms: list[FundForm], by_number: dict[str, FundForm], seen: dict[int, int]
) -> tuple[FundForm | None, str]:
    if row.form_number:
        form = by_number.get(row.form_number)
        if form is None:
            return None, f"系统中没有审批表编号 {row.form_number}，或不在您的数据范围内"
        code = form.application.enterprise.credit_code
        if row.credit_code and row.credit_code != code:
            return None, f"统一社会信用代码 {row.credit_code} 与审批表 {form.number} 的企业不一致"
        return form, ""
    same = [f for f in forms if f.application.enterprise.credit_code == row.credit_code]
    if not same:
        return None, (
            f"系统中没有统一社会信用代码为 {row.credit_code} 的经费审批表，或不在您的数据范围内"
        )
    waiting = [f for f in same if _awaiting(f) and f.pk not in seen]
    if len(waiting) > 1:
        waiting = [f for f in waiting if f.approved_amount == Decimal(row.amount)] or waiting
    if len(waiting) > 1:
        return None, (
            f"该企业有 {len(waiting)} 件待拨付且金额相同，无法确定对应哪一件，请在文件中填写审批表编号"
        )
    # Nothing waiting: the row names a form already paid, or one named on an earlier line.
    return (waiting or same)[0], ""


def _check(item: PaymentImport, row: StatementRow, form: FundForm, seen: dict[int, int]) -> Checked:
    if form.pk in seen:
        return Checked(row, Outcome.DUPLICATE, form, f"与第 {seen[form.pk]} 行是同一张审批表")
    paid = getattr(form, "disbursement", None)
    if paid is not None:
        if paid.source_id == item.pk and paid.source_line == row.line:
            return Checked(row, Outcome.RECORDED, form, "本文件确认入账时登记")
        return Checked(
            row,
            Outcome.ALREADY_PAID,
            form,
            f"已于 {paid.paid_on:%Y-%m-%d} 拨付 {format_yuan(paid.amount)}（凭证号 {paid.voucher}）",
        )
    if not _awaiting(form):
        return Checked(row, Outcome.UNMATCHED, form, _why_not_awaiting(form))
    if Decimal(row.amount) != form.approved_amount:
        return Checked(
            row,
            Outcome.AMOUNT_DIFFERS,
            form,
            f"文件金额 {format_yuan(row.amount)}，审批表核定金额 {format_yuan(form.approved_amount)}",
        )
    enterprise = form.application.enterprise.name
    if row.payee and row.payee != enterprise:
        return Checked(
            row, Outcome.UNMATCHED, form, f"收款单位“{row.payee}”与审批表企业“{enterprise}”不一致"
        )
    return Checked(row, Outcome.MATCHED, form, f"审批表 {form.number}，{enterprise}")


def _why_not_awaiting(form: FundForm) -> str:
    submission = getattr(form.batch, "finance_submission", None)
    if submission is None or submission.status != FinanceSubmission.Status.RECEIVED:
        state = submission.get_status_display() if submission else "未报送财政"
        return f"审批表 {form.number} 所在汇总表 {form.batch.number} 为“{state}”，不是待拨付"
    return f"申报 {form.application.number} 当前为“{form.application.get_status_display()}”，不是待拨付"


# --------------------------------------------------------------------------- confirm
def confirm(actor: User, import_id: int) -> Reconciliation:
    """Record the matched rows, all or none; returns the reconciliation after recording."""
    require_permission(actor, IMPORT)
    with transaction.atomic():
        item = PaymentImport.objects.select_for_update().filter(pk=import_id).first()
        if item is None:
            raise NotFound("该导入记录不存在")
        if item.confirmed_at is not None:
            raise Conflict(
                f"该文件已于 {timezone.localtime(item.confirmed_at):%Y-%m-%d %H:%M} 确认入账"
            )
        matched = reconcile(actor, item).of(Outcome.MATCHED)
        if not matched:
            raise refuse("没有可入账的行：请先处理核对报告中的问题")
        _record_all(actor, item, matched)
        item.confirmed_at, item.confirmed_by = timezone.now(), actor
        item.save(update_fields=["confirmed_at", "confirmed_by"])
        total = sum((Decimal(r.row.amount) for r in matched), Decimal("0"))
        audit.record(
            "payment_import.confirm",
            actor=actor,
            target=item,
            after={
                "recorded": len(matched),
                "total": total,
                "lines": [r.row.line for r in matched],
            },
        )
    return reconcile(actor, item)


def _record_all(actor: User, item: PaymentImport, matched: Iterable[Checked]) -> None:
    for checked in matched:
        row = checked.row
        payment = disbursements.Payment(
            amount=row.amount,
            paid_on=dt.date.fromisoformat(row.paid_on),
            voucher=row.voucher,
            bank_reference=row.bank_reference,
        )
        try:
            disbursements.record_locked(
                actor, checked.form.pk, payment, disbursements.Source(item, row.line)
            )
        except DomainError as exc:
            reasons = [text for texts in exc.details.values() for text in texts]
            reason = "；".join(reasons) if isinstance(exc, ValidationFailed) else exc.message
            message = f"第 {row.line} 行：{reason}。本次未登记任何一行，请刷新核对报告"
            if isinstance(exc, ValidationFailed):
                raise refuse(message) from exc
            raise type(exc)(message) from exc
