"""``{% load deadline_tags %}``: ``{% provisional task.due_at %}`` marks a deadline 暂定 when it
lies past the loaded holiday table — the one mark every page shows (includes/provisional.html).
The table's end is read once per request, however many deadlines a page shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from policywindow.core import deadlines

register = template.Library()


@register.inclusion_tag("includes/provisional.html", takes_context=True)
def provisional(context: Any, due: dt.date | dt.datetime | None) -> dict[str, bool]:
    return {"provisional": deadlines.is_provisional(due, context.get("request"))}
