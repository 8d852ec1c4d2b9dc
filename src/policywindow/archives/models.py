"""归档: the full file of a disbursed case, frozen as one zip with a manifest of SHA-256s.

The zip holds the signed fund approval form, the case print (form data, opinions, timeline),
the opinions and the timeline as CSV, every uploaded material and opinion attachment under
its original name, and ``manifest.json`` with the SHA-256 of each of them. The zip's own
SHA-256 is recorded here, so a copy can be checked against the archive at any time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ArchiveBatch(models.Model):
    """Many disbursed cases archived by a background task, with its progress."""

    application_ids = models.JSONField("办件", default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="发起人"
    )
    created_at = models.DateTimeField("发起时间")
    total = models.PositiveIntegerField("办件数", default=0)
    done = models.PositiveIntegerField("已归档", default=0)
    failed = models.PositiveIntegerField("未能归档", default=0)
    errors = models.JSONField("未能归档的原因", default=list, blank=True)
    touched_at = models.DateTimeField("进度更新时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "批量归档"

    def __str__(self) -> str:
        return f"批量归档 #{self.pk}"


class Archive(models.Model):
    application = models.OneToOneField(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="archive",
        verbose_name="申报",
    )
    file = models.FileField("归档文件（zip）", upload_to="archives/%Y/")
    sha256 = models.CharField("归档文件 SHA-256", max_length=64, db_index=True)
    size = models.PositiveBigIntegerField("大小（字节）")
    file_count = models.PositiveIntegerField("文件数")
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="归档人"
    )
    archived_at = models.DateTimeField("归档时间", db_index=True)
    batch = models.ForeignKey(
        ArchiveBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="archives",
        verbose_name="批量归档",
    )

    class Meta:
        ordering = ["-archived_at", "-id"]
        verbose_name = verbose_name_plural = "办件归档"

    def __str__(self) -> str:
        return f"{self.application} 归档"
