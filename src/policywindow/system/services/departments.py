"""Departments: a tree with materialised paths, each with a leader who is a real user."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from policywindow.core import audit
from policywindow.core.errors import (
    Conflict,
    ValidationFailed,
    full_clean_or_fail,
    refuse_duplicate,
)

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


def _check_unique(dept: Department) -> None:
    others = Department.objects.exclude(pk=dept.pk)
    refuse_duplicate(others.filter(code__iexact=dept.code), "code", "部门编码已存在")
    refuse_duplicate(
        others.filter(parent=dept.parent_id, name=dept.name),
        "name",
        "同一上级部门下已有同名部门",
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
    _check_unique(dept)
    full_clean_or_fail(dept, exclude=["path"])
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


def _check_status_change(dept: Department, status: str) -> None:
    if status not in Status.values:
        raise ValueError(f"unknown status {status}")
    if (
        status == Status.DISABLED
        and Department.objects.filter(path__startswith=dept.path, status=Status.ENABLED)
        .exclude(pk=dept.pk)
        .exists()
    ):
        raise Conflict("该部门还有启用的下级部门，请先停用下级部门")
    if status == Status.ENABLED and dept.parent_id and dept.parent.status != Status.ENABLED:
        raise Conflict(f"上级部门“{dept.parent.name}”已停用，请先启用上级部门")


@transaction.atomic
def set_department_status(actor: User, dept: Department, status: str) -> Department:
    """Enable or disable; never leaves an enabled department under a disabled one."""
    _check_status_change(dept, status)
    before = {"status": dept.status}
    dept.status = status
    dept.save(update_fields=["status"])
    audit.record(
        "department.status", actor=actor, target=dept, before=before, after={"status": status}
    )
    return dept
