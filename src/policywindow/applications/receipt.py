"""回执 PDF: the receipt an enterprise keeps after filing (WeasyPrint, A4, embedded CJK font).

The content depends only on the application (no "printed at" time), so the
same application always yields the same text. Its QR code opens the public
status page for the application number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode, urljoin

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from policywindow.core.money import format_yuan
from policywindow.core.pdf_render import render_pdf

from .forms import specs_of_snapshot
from .models import Application

NOTE = (
    "本回执仅证明申报材料已提交，不代表审核结果。请凭申报编号和统一社会信用代码"
    "在“办理状态查询”中查看办理进度；如收到补正告知，请按告知内容一次性补正。"
)


@dataclass(frozen=True)
class ReceiptMaterial:
    number: int
    item: str
    name: str
    size: str
    sha256: str


def status_url(application: Application, base_url: str = "") -> str:
    """The public status page of this application (absolute when ``base_url`` is given)."""
    path = f"{reverse('applications:public_status')}?{urlencode({'number': application.number})}"
    return urljoin(base_url, path) if base_url else path


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def _materials(application: Application) -> list[ReceiptMaterial]:
    specs = specs_of_snapshot(application.form_snapshot)
    order = {spec.key: index for index, spec in enumerate(specs)}
    labels = {spec.key: spec.label for spec in specs}
    rows = sorted(application.materials.all(), key=lambda m: (order.get(m.item_key, 999), m.pk))
    return [
        ReceiptMaterial(
            n, labels.get(m.item_key, m.item_key), m.original_name, _size(m.size), m.sha256[:16]
        )
        for n, m in enumerate(rows, start=1)
    ]


def _money(amount: Decimal | None) -> str:
    return format_yuan(amount, empty="—（以审核核定金额为准）")


def receipt_context(application: Application, base_url: str = "") -> dict:
    url = status_url(application, base_url)
    return {
        "app": application,
        "title": "受理回执" if application.accepted_at else "申报回执",
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "submitted": timezone.localtime(application.submitted_at).strftime("%Y年%m月%d日 %H:%M"),
        "amount": _money(application.requested_amount),
        "materials": _materials(application),
        "status_url": url,
        "qr": segno.make(url, error="m").svg_data_uri(scale=4, border=1),
        "note": NOTE,
    }


def render_receipt(application: Application, *, base_url: str = "") -> bytes:
    """The receipt of a filed application as PDF bytes."""
    context = receipt_context(application, base_url)
    html = render_to_string("applications/receipt.html", context)
    return render_pdf(html, what=f"{context['title']} {application.number}")


def receipt_filename(application: Application) -> str:
    return f"receipt-{application.number}.pdf"
