"""``{% load dashboard_tags %}``: amounts for tables and headlines, table totals, case links."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from policywindow.core.money import to_yuan

from ..charts import wan as wan_number
from ..selectors import OpenCase, Tally, total_of

register = template.Library()


@register.filter
def amount(value: Decimal | None) -> str:
    """Yuan with thousands separators and two decimals, no unit (the column names it)."""
    return "—" if value is None else f"{to_yuan(value):,}"


@register.simple_tag
def headline_amount(value: Decimal | None) -> SafeString:
    """A headline figure: in 亿元 from a hundred million yuan up, in 万元 below."""
    number, unit = _short(value or Decimal("0"))
    return format_html("{}<small>{}</small>", number, unit)


@register.filter
def short_amount(value: Decimal | None) -> str:
    return " ".join(_short(value or Decimal("0")))


def _short(value: Decimal) -> tuple[str, str]:
    if abs(value) >= Decimal("100000000"):
        return f"{value / Decimal('100000000'):,.2f}", "亿元"
    return f"{wan_number(value):,.2f}", "万元"


@register.filter
def tally_total(rows: list[Tally]) -> Tally:
    return total_of(rows)


@register.simple_tag
def case_link(item: OpenCase, user: Any) -> str:
    """The case page the user may open: 审批管理's when the case is in a workflow and the user
    reviews, else 办件查询's; empty when neither is granted."""
    codes = user.permission_codes
    if item.has_workflow and "approval:task:todo" in codes:
        return reverse("applications:review_case", args=[item.application.pk])
    if "window:case:list" in codes:
        return reverse("applications:case_detail", args=[item.application.pk])
    return ""
