"""Departments: a tree with materialised paths, each with a leader who is a real user."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from policywindow.core import audit
from policywindow.core.errors import Conflict, ValidationFailed

from ..models import Department, Status, User

DEPT_AUDIT_FIELDS = [
    "name",
    "code",
    "parent",
    "kind",
    "region_code",
    "leader",
    "phone",
    "email",
    "order",
    "status",
]


def _department_path(dept: Department) -> str:
    parent_path = dept.parent.path if dept.parent_id else "/"
    return f"{parent_path}{dept.pk}/"


def _check_parent(dept: Department, parent: Department | None) -> None:
    if parent is None or dept.pk is None:
        return
    if parent.pk == dept.pk or parent.path.startswith(dept.path):
        raise ValidationFailed(
            "上级部门不能是本部门或其下级部门",
            details={"parent": ["上级部门不能是本部门或其下级部门"]},
        )


@transaction.atomic
def save_department(actor: User, dept: Department, **fields: Any) -> Department:
    """Create (``dept.pk`` is None) or update a department, keeping the tree paths right."""
    creating = dept.pk is None
    before = None if creating else audit.snapshot(dept, DEPT_AUDIT_FIELDS)
    old_path = dept.path
    if "parent" in fields:
        _check_parent(dept, fields["parent"])
    for name, value in fields.items():
        setattr(dept, name, value)
    if dept.leader_id and dept.leader.kind != User.Kind.STAFF:
        raise ValidationFailed(
            "负责人必须是政府工作人员", details={"leader": ["负责人必须是政府工作人员"]}
        )
    dept.full_clean(exclude=["path"])
    dept.save()
    new_path = _department_path(dept)
    if new_path != dept.path:
        dept.path = new_path
        dept.save(update_fields=["path"])
        if old_path:
            _move_subtree(old_path, new_path)
    audit.record(
        "department.create" if creating else "department.update",
        actor=actor,
        target=dept,
        before=before,
        after=audit.snapshot(dept, DEPT_AUDIT_FIELDS),
    )
    return dept


def _move_subtree(old_path: str, new_path: str) -> None:
    for child in Department.objects.filter(path__startswith=old_path).exclude(path=old_path):
        child.path = new_path + child.path[len(old_path) :]
        child.save(update_fields=["path"])


@transaction.atomic
def set_department_status(actor: User, dept: Department, status: str) -> Department:
    if (
        status == Status.DISABLED
        and Department.objects.filter(path__startswith=dept.path, status=Status.ENABLED)
        .exclude(pk=dept.pk)
        .exists()
    ):
        raise Conflict("该部门还有启用的下级部门，请先停用下级部门")
    before = {"status": dept.status}
    dept.status = status
    dept.save(update_fields=["status"])
    audit.record(
        "department.status", actor=actor, target=dept, before=before, after={"status": status}
    )
    return dept
