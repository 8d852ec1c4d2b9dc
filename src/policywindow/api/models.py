"""API access tokens and stored results of idempotent requests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A personal access token for integrations; only its SHA-256 hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name="用户",
    )
    name = models.CharField("名称", max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField("令牌前缀", max_length=16, help_text="仅用于辨认令牌，不能用于认证")
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    expires_at = models.DateTimeField("过期时间")
    revoked = models.BooleanField("已撤销", default=False)
    # What the token stands on: the owner's password and roles when it was issued.
    credential_fingerprint = models.CharField(max_length=64, editable=False, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.name}（{self.prefix}…）"


class IdempotencyRecord(models.Model):
    """The first response to a creating request sent with an ``Idempotency-Key``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="用户"
    )
    key = models.CharField("幂等键", max_length=255)
    method = models.CharField("方法", max_length=8)
    path = models.CharField("路径", max_length=500)
    request_hash = models.CharField("请求摘要", max_length=64)
    response_status = models.PositiveSmallIntegerField("响应状态", null=True)
    response_body = models.TextField("响应内容", blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "幂等请求记录"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
