"""一表申请 and 一口受理: applications, their materials, the timeline, 补正 notices and numbering."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from policywindow.core import deadlines
from policywindow.core.encrypted import EncryptedJSONField, EncryptedModel


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待受理"
    SUPPLEMENT_REQUIRED = "supplement_required", "待补正"
    NOT_ACCEPTED = "not_accepted", "不予受理"
    WITHDRAWN = "withdrawn", "已撤回"
    IN_REVIEW = "in_review", "审核中"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "审核不通过"
    IN_PUBLICITY = "in_publicity", "公示中"
    PUBLICITY_PASSED = "publicity_passed", "公示通过"
    OBJECTION = "objection", "异议处理中"
    IN_FINANCE = "in_finance", "待拨付"
    DISBURSED = "disbursed", "已拨付"
    ARCHIVED = "archived", "已办结"


class Application(EncryptedModel, models.Model):
    class Channel(models.TextChoices):
        ONLINE = "online", "网上申报"
        WINDOW = "window", "窗口代办"

    number = models.CharField("申报编号", max_length=16, unique=True, null=True, blank=True)
    rule = models.ForeignKey("policies.Rule", on_delete=models.PROTECT, related_name="applications")
    rule_version = models.ForeignKey(
        "policies.RuleVersion", on_delete=models.PROTECT, related_name="applications"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )
    channel = models.CharField(
        "申报渠道", max_length=8, choices=Channel.choices, default=Channel.ONLINE
    )
    status = models.CharField(
        "状态",
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        db_index=True,
    )
    year = models.PositiveSmallIntegerField("申报年度")
    # The form as filed: item definitions copied from the rule version, and the answers.
    form_snapshot = models.JSONField("表单快照", default=list)
    # Encrypted at rest as a whole: rules ask for phone and other personal numbers (core.encrypted).
    answers = EncryptedJSONField("填报内容", default=dict)
    eligibility = models.JSONField("资格预审结果", default=dict, blank=True)
    requested_amount = models.DecimalField(
        "申请金额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    approved_amount = models.DecimalField(
        "核定金额（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    department = models.ForeignKey(
        "system.Department", on_delete=models.PROTECT, related_name="+", verbose_name="牵头部门"
    )
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_at = models.DateTimeField("办结期限", null=True, blank=True)
    decided_at = models.DateTimeField("审核决定时间", null=True, blank=True)
    # Bumped by every status change: a decision made on a stale page is refused.
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "申报"
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            models.Index(fields=["enterprise", "rule", "year"]),
        ]
        # One open draft per filing (what ``selectors_filing.open_draft`` reopens): two starts
        # at the same instant cannot both insert one; the loser reopens the winner's.
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "rule", "year"],
                condition=models.Q(status=ApplicationStatus.DRAFT, channel="online"),
                name="one_online_draft_per_rule_and_year",
            ),
            models.UniqueConstraint(
                fields=["enterprise", "rule", "year", "applicant"],
                condition=models.Q(status=ApplicationStatus.DRAFT, channel="window"),
                name="one_counter_draft_per_clerk_rule_and_year",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"草稿 #{self.pk}"


class ApplicationSequence(models.Model):
    """Gap-free application numbers per year: the row is locked while a number is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Material(models.Model):
    """An uploaded file, kept outside the web root and served only through a permission check."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="materials"
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="materials"
    )
    item_key = models.CharField("要件标识", max_length=50)
    material_code = models.CharField("材料类别", max_length=50, blank=True, db_index=True)
    file = models.FileField("文件", upload_to="materials/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = verbose_name_plural = "申报材料"

    def __str__(self) -> str:
        return self.original_name


class ApplicationEvent(models.Model):
    """One line of the case timeline: who did what, when, with which note."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField("办理人", max_length=150, blank=True)
    action = models.CharField("环节", max_length=32)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    note = models.TextField("意见", blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = verbose_name_plural = "办理记录"

    def __str__(self) -> str:
        return f"{self.application} {self.action}"


class SupplementNotice(models.Model):
    """补正 one-time notice (一次性告知): every item to fix, each with a comment."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="supplement_notices"
    )
    items = models.JSONField(
        "补正事项", default=list, help_text='[{"key": ..., "label": ..., "comment": ...}]'
    )
    comment = models.TextField("总体说明", blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField("告知时间")
    # The end of the last working day to resubmit (the notice states it); empty on older notices.
    respond_by = models.DateTimeField("补正期限", null=True, blank=True)
    resolved_at = models.DateTimeField("补正提交时间", null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = verbose_name_plural = "补正告知"

    def __str__(self) -> str:
        return f"{self.application} 补正告知"

    @property
    def last_day(self) -> dt.date | None:
        """The last working day to resubmit, as the notice states it."""
        return deadlines.last_day(self.respond_by)
