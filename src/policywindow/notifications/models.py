"""The inbox (one row per message and recipient) and its outbox of email/SMS deliveries."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import models
from django.utils import timezone

from policywindow.core.encrypted import EncryptedCharField, EncryptedManager, EncryptedModel
from policywindow.core.labels import add_labels

# Chinese labels of the kinds; other apps add theirs (register_kind_labels). A kind nothing
# names still works and shows itself.
KIND_LABELS: dict[str, str] = {
    "task_assigned": "待办任务",
    "task_reminder": "办理提醒",
    "task_overdue": "超期提醒",
    "task_escalated": "超期督办",
    "case_decided": "办理结果",
    "supplement_requested": "补正通知",
    "reform_reminder": "督办提醒",
    "reform_overdue": "督办超期",
    "reform_overdue_digest": "超期汇总",
    "deadline_moved": "期限重算",
}


def register_kind_labels(labels: Mapping[str, str]) -> None:
    """Name an app's message kinds (called from its ``AppConfig.ready``)."""
    add_labels(KIND_LABELS, labels, what="notification kinds")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="接收人",
    )
    kind = models.CharField("消息类型", max_length=40)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=500, blank=True)
    dedupe_key = models.CharField("去重键", max_length=200)
    created_at = models.DateTimeField("时间", default=timezone.now)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "站内消息"
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], name="notification_once_per_key"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


class Delivery(EncryptedModel, models.Model):
    """One message to send on one external channel; the worker drains these rows."""

    class Channel(models.TextChoices):
        EMAIL = "email", "邮件"
        SMS = "sms", "短信"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name="消息"
    )
    channel = models.CharField("渠道", max_length=8, choices=Channel.choices)
    # A mobile number or an e-mail address: encrypted at rest (core.encrypted).
    address = EncryptedCharField("地址", max_length=254)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", default=timezone.now)
    # When the current attempt was claimed; a row still sending long after it was abandoned.
    claimed_at = models.DateTimeField("开始发送时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    provider_id = models.CharField("服务商消息编号", max_length=200, blank=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["id"]
        verbose_name = verbose_name_plural = "消息投递"
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_once_per_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address}（{self.get_status_display()}）"
