"""``{% load money %}``: ``{{ amount|yuan }}`` and ``{{ amount|capital }}`` for every page."""

from __future__ import annotations

from typing import Any

from django import template

from policywindow.core.money import format_yuan, to_chinese_capital

register = template.Library()


@register.filter
def yuan(value: Any, empty: str = "—") -> str:
    return format_yuan(value, empty)


@register.filter
def capital(value: Any) -> str:
    return "" if value is None or value == "" else to_chinese_capital(value)
