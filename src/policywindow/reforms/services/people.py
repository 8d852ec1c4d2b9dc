"""Who is told: the active staff whose enabled roles grant a permission code."""

from __future__ import annotations

from django.db.models import QuerySet

from policywindow.system.models import Status, User


def users_with_permission(code: str, *, department_id: int | None = None) -> QuerySet[User]:
    users = User.objects.filter(
        is_active=True,
        kind=User.Kind.STAFF,
        roles__status=Status.ENABLED,
        roles__menus__status=Status.ENABLED,
        roles__menus__permission=code,
    )
    if department_id is not None:
        users = users.filter(department_id=department_id)
    return users.distinct()
