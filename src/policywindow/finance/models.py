"""财政报送 models: budgets per rule and year with the amounts approvals took from them,
publicity batches (公示) with what they published, and the objections (异议) filed on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from policywindow.core.encrypted import EncryptedCharField, EncryptedModel


class Budget(models.Model):
    """A rule's budget for one year. ``committed`` is what approvals have taken (disbursed
    amounts included: ``disbursed`` is the paid part of it), so what is left is
    ``total - committed``. Both sums change only under this row's lock."""

    rule = models.ForeignKey(
        "policies.Rule", on_delete=models.PROTECT, related_name="budgets", verbose_name="政策细则"
    )
    year = models.PositiveSmallIntegerField("预算年度")
    total = models.DecimalField("年度预算（元）", max_digits=16, decimal_places=2)
    committed = models.DecimalField(
        "已核定（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    disbursed = models.DecimalField(
        "已拨付（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-year", "rule__code"]
        verbose_name = verbose_name_plural = "预算"
        constraints = [
            models.UniqueConstraint(fields=["rule", "year"], name="finance_budget_rule_year"),
            # The last line of defence: no approval ever takes more than the total.
            models.CheckConstraint(
                condition=Q(committed__gte=0) & Q(committed__lte=F("total")),
                name="finance_budget_within_total",
            ),
            models.CheckConstraint(
                condition=Q(disbursed__gte=0) & Q(disbursed__lte=F("committed")),
                name="finance_budget_disbursed_within_committed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} 年度 {self.rule.code}"

    @property
    def left(self) -> Decimal:
        return self.total - self.committed

    @property
    def used_percent(self) -> int:
        """Share of the total already committed, in whole percent (for the usage bar)."""
        return int(self.committed * 100 / self.total) if self.total else 0


class Commitment(models.Model):
    """The amount one approval took. ``budget`` is empty when the rule had no budget for the
    year at the time; such amounts are counted in when the budget is created."""

    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, related_name="budget_commitments"
    )
    budget = models.ForeignKey(
        Budget, null=True, blank=True, on_delete=models.PROTECT, related_name="commitments"
    )
    amount = models.DecimalField("核定金额（元）", max_digits=16, decimal_places=2)
    committed_at = models.DateTimeField("核定时间")
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField("释放时间", null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-committed_at", "-id"]
        verbose_name = verbose_name_plural = "预算占用"
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(released_at__isnull=True),
                name="finance_one_open_commitment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} {self.amount}"


class PublicityBatch(models.Model):
    """Approved cases published together for a period of working days.

    The period runs from ``starts_at`` to ``ends_at``: the midnight that ends the last of
    ``days`` working days after the publishing day (期间开始之日不计算在内).
    """

    title = models.CharField("公示名称", max_length=100)
    days = models.PositiveSmallIntegerField("公示期（工作日）")
    starts_at = models.DateTimeField("公示开始时间")
    ends_at = models.DateTimeField("公示结束时间", db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = verbose_name_plural = "公示批次"

    def __str__(self) -> str:
        return self.title

    @property
    def last_day(self) -> dt.date:
        """The last working day of the period (``ends_at`` is the midnight that ends it)."""
        return timezone.localdate(self.ends_at - dt.timedelta(seconds=1))

    @property
    def running(self) -> bool:
        return self.starts_at <= timezone.now() < self.ends_at


class PublicityEntry(models.Model):
    """One published case, with the public facts as published (they never change after)."""

    batch = models.ForeignKey(PublicityBatch, on_delete=models.PROTECT, related_name="entries")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, related_name="publicity_entries"
    )
    order = models.PositiveIntegerField("序号")
    enterprise_name = models.CharField("企业名称", max_length=200)
    rule_title = models.CharField("政策细则", max_length=200)
    amount = models.DecimalField(
        "核定金额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    # An upheld objection takes the case off the publicity (it goes back to review).
    withdrawn_at = models.DateTimeField("撤下时间", null=True, blank=True)

    class Meta:
        ordering = ["batch", "order"]
        verbose_name = verbose_name_plural = "公示明细"
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(withdrawn_at__isnull=True),
                name="finance_one_live_publicity_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch} #{self.order}"


class Objection(EncryptedModel, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        UPHELD = "upheld", "异议成立"
        DISMISSED = "dismissed", "异议不成立"
        CLOSED = "closed", "随案办结"

    entry = models.ForeignKey(PublicityEntry, on_delete=models.PROTECT, related_name="objections")
    # Contact data of the objector: shown only to staff who decide objections.
    name = models.CharField("异议人姓名", max_length=50)
    phone = EncryptedCharField("联系电话", max_length=20, kind="phone")  # encrypted at rest
    content = models.TextField("异议内容")
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    filed_at = models.DateTimeField("提出时间")
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField("处理意见", blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = verbose_name_plural = "公示异议"

    def __str__(self) -> str:
        return f"异议 #{self.pk}"


class FinanceSubmission(models.Model):
    """A fund-form batch sent to the finance bureau (报送财政), and its receipt (签收) or return.

    A returned batch may be submitted again: the row is reused, ``rounds`` counts the
    submissions and the last return's reason stays readable."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "待签收"
        RECEIVED = "received", "已签收"
        RETURNED = "returned", "已退回"

    batch = models.OneToOneField(
        "fundforms.FormBatch",
        on_delete=models.PROTECT,
        related_name="finance_submission",
        verbose_name="审批表批次",
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, db_index=True)
    rounds = models.PositiveSmallIntegerField("报送次数", default=1)
    submitted_at = models.DateTimeField("报送时间")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="报送人"
    )
    received_at = models.DateTimeField("签收时间", null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="签收人",
    )
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="退回人",
    )
    return_reason = models.TextField("退回原因", blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = verbose_name_plural = "财政报送"

    def __str__(self) -> str:
        return f"报送 {self.batch}"


class PaymentImport(models.Model):
    """A bank / treasury payment statement (.xlsx) as uploaded: its rows are kept parsed, the
    reconciliation is computed from them, and confirming records the matched rows once."""

    source_name = models.CharField("文件名", max_length=200)
    sha256 = models.CharField("文件 SHA-256", max_length=64, db_index=True)
    rows = models.JSONField("解析的行", default=list)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="导入人"
    )
    uploaded_at = models.DateTimeField("上传时间")
    confirmed_at = models.DateTimeField("确认入账时间", null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="确认人",
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = verbose_name_plural = "拨付回单导入"

    def __str__(self) -> str:
        return self.source_name


class Disbursement(models.Model):
    """The payment of one case (拨付), in full: a case is paid once and only once."""

    application = models.OneToOneField(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="disbursement",
        verbose_name="申报",
    )
    fund_form = models.OneToOneField(
        "fundforms.FundForm",
        on_delete=models.PROTECT,
        related_name="disbursement",
        verbose_name="经费审批表",
    )
    submission = models.ForeignKey(
        FinanceSubmission, on_delete=models.PROTECT, related_name="disbursements"
    )
    budget = models.ForeignKey(
        Budget, null=True, blank=True, on_delete=models.PROTECT, related_name="disbursements"
    )
    amount = models.DecimalField("拨付金额（元）", max_digits=16, decimal_places=2)
    paid_on = models.DateField("支付日期")
    voucher = models.CharField("凭证号", max_length=60)
    bank_reference = models.CharField("银行流水号", max_length=60, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )
    recorded_at = models.DateTimeField("登记时间")
    source = models.ForeignKey(
        PaymentImport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disbursements",
        verbose_name="来源导入",
    )
    source_line = models.PositiveIntegerField("导入文件行号", null=True, blank=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        verbose_name = verbose_name_plural = "拨付记录"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_disbursement_positive")
        ]

    def __str__(self) -> str:
        return f"拨付 {self.fund_form} {self.amount}"
