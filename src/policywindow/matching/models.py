"""政策匹配: batch runs, the pushes already sent (精准推送) and the cases opened by 免申即享."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MatchRun(models.Model):
    """One pass of enterprises against published rules, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "匹配中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "手动发起"
        COMMAND = "command", "命令行"
        PUBLISH = "publish", "细则发布"

    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField("发起方式", max_length=8, choices=Trigger.choices)
    rules = models.ManyToManyField(
        "policies.Rule", blank=True, related_name="+", verbose_name="匹配的细则（空为全部）"
    )
    total = models.PositiveIntegerField("企业总数", default=0)
    done = models.PositiveIntegerField("已匹配企业", default=0)
    rule_count = models.PositiveIntegerField("细则数", default=0)
    evaluations = models.PositiveBigIntegerField("判断次数", default=0)
    eligible = models.PositiveIntegerField("符合条件（企业×细则）", default=0)
    pushed = models.PositiveIntegerField("新推送", default=0)
    granted = models.PositiveIntegerField("免申即享立案", default=0)
    error = models.TextField("错误", blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("发起时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "匹配任务"

    def __str__(self) -> str:
        return f"匹配任务 #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class MatchPush(models.Model):
    """An enterprise was told it meets a rule: once per (enterprise, rule), never again."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey("policies.Rule", on_delete=models.CASCADE, related_name="+")
    rule_version = models.ForeignKey(
        "policies.RuleVersion", on_delete=models.PROTECT, related_name="+"
    )
    recipients = models.PositiveSmallIntegerField("收到消息的经办人", default=0)
    pushed_at = models.DateTimeField("推送时间")

    class Meta:
        verbose_name = verbose_name_plural = "精准推送记录"
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "rule"], name="match_push_once")
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} → {self.rule_id}"


class AutoGrant(models.Model):
    """A 免申即享 case opened by matching: one per (enterprise, rule version), with its proof."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    rule_version = models.ForeignKey(
        "policies.RuleVersion", on_delete=models.PROTECT, related_name="+"
    )
    application = models.OneToOneField(
        "applications.Application", on_delete=models.PROTECT, related_name="auto_grant"
    )
    facts = models.JSONField("判定依据（企业数据）", default=dict)
    run = models.ForeignKey(
        MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("立案时间", auto_now_add=True)
    declined_at = models.DateTimeField("企业放弃时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "免申即享立案"
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "rule_version"], name="auto_grant_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"免申即享 {self.application}"
