"""Gap-free form numbers per year: ``辽营商兑〔2026〕0001号``, batches ``辽营商兑汇〔2026〕001号``.

As with application numbers, the year's sequence row is locked while numbers are taken, inside
the caller's transaction: concurrent batches queue on the row, and a batch that fails
afterwards rolls its numbers back with it, so the sequence never has a gap.
"""

from __future__ import annotations

import re

from django.db import transaction

from .models import FormSequence

FORM_PREFIX = "辽营商兑"
BATCH_PREFIX = "辽营商兑汇"
NUMBER_PATTERN = re.compile(r"辽营商兑汇?〔\d{4}〕\d{3,}号")


def form_number(year: int, sequence: int) -> str:
    return f"{FORM_PREFIX}〔{year:04d}〕{sequence:04d}号"


def batch_number(year: int, sequence: int) -> str:
    return f"{BATCH_PREFIX}〔{year:04d}〕{sequence:03d}号"


def take(kind: str, year: int, count: int = 1) -> range:
    """Reserve ``count`` consecutive sequence numbers of ``kind`` in ``year``.

    Must run inside the caller's transaction, which keeps the row locked until it ends.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take() must run inside the caller's transaction")
    row, _ = FormSequence.objects.select_for_update().get_or_create(kind=kind, year=year)
    first = row.last + 1
    row.last += count
    row.save(update_fields=["last"])
    return range(first, row.last + 1)
