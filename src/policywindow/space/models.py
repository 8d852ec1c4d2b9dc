"""法人空间: the documents the government issued to an enterprise about its applications.

Receipts and decision notices are rendered once and kept, so the enterprise downloads the very
file whose SHA-256 its space shows, however often it comes back. Fund approval forms and
uploaded materials are stored by their own apps with their own SHA-256 and are not copied here.
"""

from __future__ import annotations

from django.db import models


class DocumentKind(models.TextChoices):
    RECEIPT = "receipt", "申报回执"
    ACCEPTANCE = "acceptance", "受理通知书"
    SUPPLEMENT = "supplement", "补正告知书"
    REFUSAL = "refusal", "不予受理决定书"
    DECISION = "decision", "审核结果告知书"


class SpaceDocument(models.Model):
    """One issued document. ``basis`` is the moment it speaks of (filing, acceptance, the 补正
    notice or the decision): a case decided again after an upheld objection, or asked for 补正
    a second time, gets a new document; the old one stays on file."""

    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.PROTECT,
        related_name="space_documents",
        verbose_name="申报",
    )
    kind = models.CharField("文书类别", max_length=16, choices=DocumentKind.choices)
    basis = models.DateTimeField("文书所述时间")
    file = models.FileField("文件", upload_to="space/%Y/%m/")
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField("大小（字节）")
    issued_at = models.DateTimeField("出具时间", auto_now_add=True)

    class Meta:
        ordering = ["issued_at", "id"]
        verbose_name = verbose_name_plural = "法人空间文书"
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "basis"], name="space_document_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.application}"
