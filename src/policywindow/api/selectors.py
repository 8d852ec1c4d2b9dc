"""Reads of the API module."""

from __future__ import annotations

from django.db.models import QuerySet

from policywindow.system.models import Department, User
from policywindow.system.selectors import department_tree

from .models import ApiToken


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def department_forest() -> list[Department]:
    """Root departments, each with ``tree_children`` filled from one query (path order)."""
    departments = department_tree()
    by_id = {dept.pk: dept for dept in departments}
    roots: list[Department] = []
    for dept in departments:
        dept.tree_children = []
    for dept in departments:
        parent = by_id.get(dept.parent_id)
        (parent.tree_children if parent else roots).append(dept)
    return roots
