"""Display filters of the enterprise registry: masked accounts, yuan amounts, unknowns."""

from __future__ import annotations

from decimal import Decimal

from django import template

from policywindow.core import masking
from policywindow.core.money import format_yuan

register = template.Library()
UNKNOWN = "未知"


@register.filter
def mask_account(value: str) -> str:
    return masking.mask_account(value) or "—"


@register.filter
def yuan(value: Decimal | None) -> str:
    """``1234567.5`` -> ``1,234,567.50 元``; None (unknown) -> ``未知``."""
    return format_yuan(value, UNKNOWN)


@register.filter
def wan_yuan(value: Decimal | None) -> str:
    return UNKNOWN if value is None else f"{value:,.2f} 万元"


@register.filter
def persons(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,} 人"
