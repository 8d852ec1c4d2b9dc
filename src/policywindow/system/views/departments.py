"""部门管理: the department tree with search; create, edit (move), enable and disable."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError

from ..forms_config import DepartmentForm, submitted
from ..models import Department, Status
from ..selectors import department_tree
from ..services import departments as services


@dataclass(frozen=True)
class TreeRow:
    dept: Department
    depth: int
    has_children: bool
    matched: bool


def _matches(dept: Department, q: str) -> bool:
    q = q.lower()
    return q in dept.name.lower() or q in dept.short_name.lower() or q in dept.code.lower()


def _kept_ids(departments: list[Department], q: str) -> set[int]:
    """Departments matching ``q`` and their ancestors, so matches keep their place in the tree."""
    kept: set[int] = set()
    for dept in departments:
        if _matches(dept, q):
            kept.update(int(part) for part in dept.path.strip("/").split("/") if part)
    return kept


def tree_rows(departments: list[Department], q: str = "") -> list[TreeRow]:
    """Depth-first rows, siblings by display order; with ``q`` only matches and ancestors."""
    children: dict[int | None, list[Department]] = {}
    for dept in departments:
        children.setdefault(dept.parent_id, []).append(dept)
    kept = _kept_ids(departments, q) if q else None
    rows: list[TreeRow] = []

    def visit(parent_id: int | None, depth: int) -> None:
        for dept in sorted(children.get(parent_id, []), key=lambda d: (d.order, d.pk)):
            if kept is None or dept.pk in kept:
                matched = bool(q) and _matches(dept, q)
                rows.append(TreeRow(dept, depth, dept.pk in children, matched))
                visit(dept.pk, depth + 1)

    visit(None, 0)
    return rows


@permission("system:dept:list")
def dept_list(request):
    q = request.GET.get("q", "").strip()
    rows = tree_rows(department_tree(), q)
    return render(request, "system/dept_list.html", {"rows": rows, "q": q})


def _edit(request, dept: Department, initial: dict):
    form = DepartmentForm(request.POST or None, initial=initial, dept=dept)
    target = dept.name if dept.pk else ""  # shown in the title even if a save fails
    if submitted(request, form, services.save_department, request.user, dept):
        messages.success(request, f"已保存部门 {dept.name}")
        return redirect("system:dept_list")
    return render(request, "system/dept_form.html", {"form": form, "target": target})


@permission("system:dept:create")
def dept_create(request):
    parent = request.GET.get("parent", "")
    return _edit(request, Department(), {"parent": parent if parent.isdigit() else None})


@permission("system:dept:update")
def dept_update(request, pk: int):
    dept = get_object_or_404(Department.objects.select_related("parent", "leader"), pk=pk)
    return _edit(request, dept, model_to_dict(dept, fields=list(DepartmentForm.base_fields)))


@require_POST
@permission("system:dept:update")
def dept_toggle(request, pk: int):
    dept = get_object_or_404(Department.objects.select_related("parent"), pk=pk)
    enable = dept.status != Status.ENABLED
    try:
        services.set_department_status(
            request.user, dept, Status.ENABLED if enable else Status.DISABLED
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已{'启用' if enable else '停用'}部门 {dept.name}")
    return redirect("system:dept_list")


urlpatterns = [
    path("system/departments/", dept_list, name="dept_list"),
    path("system/departments/new/", dept_create, name="dept_create"),
    path("system/departments/<int:pk>/edit/", dept_update, name="dept_update"),
    path("system/departments/<int:pk>/toggle/", dept_toggle, name="dept_toggle"),
]
