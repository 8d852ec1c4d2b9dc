"""The bell in the top bar: one COUNT query per page for a signed-in user."""

from __future__ import annotations

from django import template

from policywindow.system.models import User

from .. import selectors

register = template.Library()


@register.inclusion_tag("notifications/bell.html")
def notification_bell(user: User) -> dict[str, int]:
    return {"unread": selectors.unread_count(user)}
