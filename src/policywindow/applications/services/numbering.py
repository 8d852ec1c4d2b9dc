"""Gap-free application numbers: ``ZC`` + year + six-digit sequence, e.g. ``ZC2026000123``.

The year's ``ApplicationSequence`` row is locked while a number is taken, inside
the caller's transaction: concurrent submissions queue on the row, and a submit
that fails afterwards rolls its number back, so the sequence never has a gap.
"""

from __future__ import annotations

from django.db import transaction

from ..models import ApplicationSequence

PREFIX = "ZC"


def format_number(year: int, sequence: int) -> str:
    return f"{PREFIX}{year:04d}{sequence:06d}"


def next_number(year: int) -> str:
    """Take the next number of ``year``; must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number() must run inside the caller's transaction")
    row, _ = ApplicationSequence.objects.select_for_update().get_or_create(year=year)
    row.last += 1
    row.save(update_fields=["last"])
    return format_number(year, row.last)
