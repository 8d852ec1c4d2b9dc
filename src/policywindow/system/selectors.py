"""Reads of the system module. Data scope is applied here, never in views."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from policywindow.core.encrypted import equals

from . import identity
from .datascope import scope_filter
from .models import AdminAccountRequest, Department, Menu, RecoveryCode, Role, Status, User


@dataclass
class NavItem:
    name: str
    icon: str
    url: str = ""
    key: str = ""
    children: list[NavItem] = field(default_factory=list)


def granted_menu_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if (known := identity.attached(user)) is not None:
        return set(known.granted_menu_ids)
    return set(
        Menu.objects.filter(
            roles__users=user, roles__status=Status.ENABLED, status=Status.ENABLED
        ).values_list("pk", flat=True)
    )


def sidebar_for(user) -> list[NavItem]:
    """Directories and menus the user's roles grant, as a tree (buttons are not drawn)."""
    granted = granted_menu_ids(user)
    if not granted:
        return []
    menus = list(
        Menu.objects.filter(status=Status.ENABLED, visible=True)
        .exclude(kind=Menu.Kind.BUTTON)
        .order_by("order", "id")
    )
    by_parent: dict[int | None, list[Menu]] = {}
    for menu in menus:
        by_parent.setdefault(menu.parent_id, []).append(menu)

    def build(parent_id: int | None) -> list[NavItem]:
        items = []
        for menu in by_parent.get(parent_id, []):
            children = build(menu.pk)
            if menu.kind == Menu.Kind.DIRECTORY and children:
                items.append(
                    NavItem(
                        gettext(menu.name), menu.icon or "folder", key=menu.key, children=children
                    )
                )
            elif menu.kind == Menu.Kind.MENU and menu.pk in granted and (url := _menu_url(menu)):
                items.append(NavItem(gettext(menu.name), menu.icon or "dot", url, menu.key))
        return items

    return build(None)


def _menu_url(menu: Menu) -> str:
    """The menu's page, or "" when its route does not exist (a menu added by hand)."""
    if not menu.url_name:
        return ""
    try:
        return reverse(menu.url_name)
    except NoReverseMatch:
        return ""


def users_visible_to(viewer) -> QuerySet[User]:
    qs = User.objects.select_related("department").prefetch_related("roles", "posts")
    return scope_filter(qs, viewer, dept_field="department", owner_field="pk")


def search_users(
    viewer,
    *,
    q: str = "",
    department_id: int | None = None,
    kind: str = "",
    active: str = "",
    role_id: int | None = None,
) -> QuerySet[User]:
    qs = users_visible_to(viewer)
    if q:
        # The mobile is encrypted: found only whole, through its blind index.
        qs = qs.filter(
            Q(username__icontains=q) | Q(real_name__icontains=q) | equals(User, "mobile", q)
        )
    if department_id:
        dept = Department.objects.filter(pk=department_id).first()
        if dept:
            qs = qs.filter(department__path__startswith=dept.path)
    if kind:
        qs = qs.filter(kind=kind)
    if active in {"1", "0"}:
        qs = qs.filter(is_active=active == "1")
    if role_id:
        qs = qs.filter(roles=role_id)
    return qs.order_by("department__path", "id")


def department_tree() -> list[Department]:
    """All departments in tree order (path order gives parents before children)."""
    return list(Department.objects.select_related("leader", "parent").order_by("path"))


def enabled_departments() -> QuerySet[Department]:
    return Department.objects.filter(status=Status.ENABLED).order_by("path")


def assignable_roles(kind: str) -> QuerySet[Role]:
    """Roles 分配角色 may give a user of ``kind``: never a 三员 role (create-admins gives those)."""
    return Role.objects.filter(
        status=Status.ENABLED, for_enterprise=(kind == User.Kind.ENTERPRISE), admin_kind=""
    ).order_by("order")


def users_with_permission(code: str, *, department_id: int | None = None) -> QuerySet[User]:
    """Who is told: the active staff whose enabled roles grant a permission code (optionally
    in one department)."""
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


def admin_requests() -> QuerySet[AdminAccountRequest]:
    """双人审批 requests, newest first, with everything the list shows (no query per row)."""
    return AdminAccountRequest.objects.select_related(
        "target", "requested_by", "decided_by"
    ).prefetch_related("target__roles", "requested_by__roles")


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at=None).count()
