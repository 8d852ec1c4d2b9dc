"""Data scope (数据范围): which rows of department-owned data a user may see.

Selectors call ``scope_filter``; the user's roles combine as a union.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .identity import enabled_roles
from .models import Department, Role


def scope_q(user, *, dept_field: str = "department", owner_field: str | None = "created_by") -> Q:
    """A filter granting the union of the data scopes of the user's enabled roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    grant = Q(pk__in=[])
    for role in enabled_roles(user):
        scope = role.data_scope
        if scope == Role.DataScope.ALL:
            return Q()
        if scope == Role.DataScope.CUSTOM:
            grant |= Q(**{f"{dept_field}__in": list(role.scope_department_ids)})
        elif scope == Role.DataScope.DEPARTMENT and user.department_id:
            grant |= Q(**{dept_field: user.department_id})
        elif scope == Role.DataScope.DEPARTMENT_AND_BELOW and user.department_id:
            grant |= Q(**{_path_lookup(dept_field): user.department.path})
        elif scope == Role.DataScope.SELF and owner_field:
            grant |= Q(**{owner_field: user.pk})
    return grant


def scope_filter(
    queryset: QuerySet,
    user,
    *,
    dept_field: str = "department",
    owner_field: str | None = "created_by",
) -> QuerySet:
    return queryset.filter(scope_q(user, dept_field=dept_field, owner_field=owner_field)).distinct()


def _path_lookup(dept_field: str) -> str:
    return "path__startswith" if dept_field == "pk" else f"{dept_field}__path__startswith"


def visible_departments(user) -> QuerySet:
    """Departments the user's data scope reaches (for filters and pickers)."""
    return Department.objects.filter(scope_q(user, dept_field="pk", owner_field=None))
