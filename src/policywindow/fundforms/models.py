"""政策兑现经费审批表: one form per approved case, printed in batches with a summary (汇总表).

A form's ``content`` is the snapshot frozen when it is issued: its PDF is rendered from that
snapshot alone, so a later change to the enterprise, the rule or the opinions never changes a
form that has been issued, and rendering it again gives the same document.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from policywindow.core.encrypted import EncryptedJSONField, EncryptedModel


class FormSequence(models.Model):
    """Gap-free numbers per kind and year: the row is locked while a number is taken."""

    class Kind(models.TextChoices):
        FORM = "form", "经费审批表"
        BATCH = "batch", "汇总表"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="fundform_sequence_kind_year")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class FormBatch(models.Model):
    """Forms issued and printed together, with their summary table, as one PDF and one Excel."""

    number = models.CharField("汇总表编号", max_length=40, unique=True)
    year = models.PositiveSmallIntegerField("年度")
    sequence = models.PositiveIntegerField("序号")
    label = models.CharField("批次名称", max_length=60, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="出具人"
    )
    created_at = models.DateTimeField("出具时间")
    # Files are made right after the batch commits (and again on demand if that was cut short).
    pdf = models.FileField("汇总表及审批表 PDF", upload_to="fundforms/batches/", blank=True)
    sha256 = models.CharField("PDF 的 SHA-256", max_length=64, blank=True, db_index=True)
    xlsx = models.FileField("汇总表 Excel", upload_to="fundforms/batches/", blank=True)
    # Progress of the background job that makes the signed PDFs: every form's and the batch's.
    files_total = models.PositiveIntegerField("签章文件总数", default=0)
    files_done = models.PositiveIntegerField("已生成文件数", default=0)
    files_failed = models.PositiveIntegerField("生成失败数", default=0)
    files_error = models.CharField("最近一次失败原因", max_length=300, blank=True)
    files_touched_at = models.DateTimeField("生成进度更新时间", null=True, blank=True)
    files_finished_at = models.DateTimeField("文件生成完成时间", null=True, blank=True)
    # Held by the one run that joins the batch PDF and makes the Excel (services._finish).
    files_claimed_until = models.DateTimeField("汇总文件生成占用至", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "经费审批表批次"
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="formbatch_year_sequence")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def files_ready(self) -> bool:
        return self.files_done >= self.files_total


class FundForm(EncryptedModel, models.Model):
    application = models.OneToOneField(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="fund_form",
        verbose_name="申报",
    )
    batch = models.ForeignKey(
        FormBatch, on_delete=models.PROTECT, related_name="forms", verbose_name="批次"
    )
    number = models.CharField("审批表编号", max_length=40, unique=True)
    year = models.PositiveSmallIntegerField("年度")
    sequence = models.PositiveIntegerField("序号")
    # Encrypted at rest as a whole: it carries the enterprise's bank account (core.encrypted).
    content = EncryptedJSONField("内容快照")
    approved_amount = models.DecimalField("核定金额（元）", max_digits=16, decimal_places=2)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="出具人"
    )
    issued_at = models.DateTimeField("出具时间")
    pdf = models.FileField("审批表 PDF", upload_to="fundforms/forms/", blank=True)
    sha256 = models.CharField("PDF 的 SHA-256", max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["year", "sequence"]
        verbose_name = verbose_name_plural = "经费审批表"
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="fundform_year_sequence")
        ]

    def __str__(self) -> str:
        return self.number


class FormChunk(models.Model):
    """A run of a batch's forms laid out together, the share of the work one worker takes.

    Claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and held until ``claimed_until``, so two
    workers never take the same chunk; the sweep for dead runs frees the chunks of a run that
    died (services.claim_stalled_batches). ``part`` keeps the chunk's pages as one unsigned PDF
    until the batch PDF is joined from the parts, then it is deleted.
    """

    batch = models.ForeignKey(
        FormBatch, on_delete=models.CASCADE, related_name="chunks", verbose_name="批次"
    )
    index = models.PositiveSmallIntegerField("序号")
    first = models.PositiveIntegerField("首份审批表序号")
    last = models.PositiveIntegerField("末份审批表序号")
    claimed_until = models.DateTimeField("占用至", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    part = models.FileField("排版结果（未签章）", upload_to="fundforms/parts/", blank=True)

    class Meta:
        ordering = ["batch", "index"]
        verbose_name = verbose_name_plural = "审批表排版分组"
        constraints = [
            models.UniqueConstraint(fields=["batch", "index"], name="formchunk_batch_index")
        ]

    def __str__(self) -> str:
        return f"{self.batch} #{self.index}"
