"""Template helpers of the policy library."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from policywindow.core.money import format_yuan

register = template.Library()

APPLY_URL_NAME = "applications:apply_start"


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    """``{{ labels|lookup:policy.theme }}``: a dict entry by a variable key ("" if absent)."""
    return mapping.get(key, "") if mapping else ""


@register.filter
def money(value: Decimal | None) -> str:
    """``Decimal("5000000")`` -> ``"5,000,000.00 元"``; no amount -> ``"—"``."""
    return format_yuan(value)


@register.simple_tag
def apply_url(code: str) -> str:
    """The filing page of a rule, or "" while the applications module does not provide it."""
    for args, kwargs in (((), {"code": code}), ((code,), {})):
        try:
            return reverse(APPLY_URL_NAME, args=args, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return ""
