"""Roles, menus and sessions: the writes behind 角色管理, 菜单管理 and 在线用户.

三员分立 (DESIGN.md §6) is enforced here, not in the pages:

- a permission code belongs to the 三员 whose built-in grants carry it (or, for a code added
  by hand, whose prefix it has: ``system:``, ``security:``, ``audit:``); only that
  administrator's role may be granted it, and an administrator's role holds nothing else;
- the three administrator roles keep exactly their built-in grants and data scope;
- nobody changes a role they hold;
- the 三员's built-in menus keep their code, route, status, visibility and place;
- the rule is checked again whenever a grant can change its meaning: a grant, a role
  enabled again, a role assigned (services.users) and a menu's code, kind or place changed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse

from policywindow.core import audit
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed

from ..bootstrap import (
    ADMIN_MENU_KEYS,
    AUDIT_ADMIN_MENUS,
    MENU_TREE,
    SECURITY_ADMIN_MENUS,
    SYSTEM_ADMIN_MENUS,
    walk,
)
from ..models import Department, Menu, Role, Status, User, UserSession
from ..sessions import end_session

ROLE_AUDIT_FIELDS = ["code", "name", "order", "status", "remark"]
MENU_AUDIT_FIELDS = [
    "parent",
    "kind",
    "name",
    "url_name",
    "icon",
    "permission",
    "order",
    "visible",
    "status",
]
# Built-in menus keep what the code depends on; names, icons, order and visibility stay editable.
MENU_LOCKED_WHEN_BUILTIN = ("kind", "url_name", "permission")
# The 三员's built-in menus also keep their status, visibility and place, so that no
# administrator can hide another's page (the operation log from the auditor).
MENU_LOCKED_WHEN_ADMIN = (*MENU_LOCKED_WHEN_BUILTIN, "status", "visible", "parent")
PERMISSION_PATTERN = re.compile(r"^[a-z]+(:[a-z-]+)+$")
ICON_PATTERN = re.compile(r"^[a-z0-9-]*$")

ADMIN_KIND_LABELS = dict(Role.AdminKind.choices)
_ALL_ADMIN_KINDS = frozenset(Role.AdminKind.values)
_BUILTIN_GRANTS = {
    Role.AdminKind.SYSTEM: frozenset(SYSTEM_ADMIN_MENUS),
    Role.AdminKind.SECURITY: frozenset(SECURITY_ADMIN_MENUS),
    Role.AdminKind.AUDIT: frozenset(AUDIT_ADMIN_MENUS),
}
# Owners of a code added by hand, by its prefix.
_PREFIX_OWNERS = {
    "system:": frozenset({Role.AdminKind.SYSTEM}),
    "security:": frozenset({Role.AdminKind.SECURITY}),
    "audit:": frozenset({Role.AdminKind.AUDIT}),
    "admin:": _ALL_ADMIN_KINDS,
}


def _builtin_code_owners() -> dict[str, frozenset[str]]:
    codes = {spec.key: spec.permission for spec, _, _ in walk(MENU_TREE) if spec.permission}
    owners: dict[str, set[str]] = {}
    for kind, keys in _BUILTIN_GRANTS.items():
        for key in keys & codes.keys():
            owners.setdefault(codes[key], set()).add(kind)
    return {code: frozenset(kinds) for code, kinds in owners.items()}


_CODE_OWNERS = _builtin_code_owners()


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


# ---------------------------------------------------------------- roles


def _role_snapshot(role: Role) -> dict[str, Any]:
    return audit.snapshot(role, ROLE_AUDIT_FIELDS)


def _check_role_unique(role: Role, code: str, name: str) -> None:
    others = Role.objects.exclude(pk=role.pk) if role.pk else Role.objects.all()
    if others.filter(code=code).exists():
        raise _fail("code", "该角色编码已被使用")
    if others.filter(name=name).exists():
        raise _fail("name", "该角色名称已被使用")


def _check_builtin_admin_role(role: Role, code: str, status: str) -> None:
    if not (role.builtin and role.admin_kind):
        return
    if code != role.code:
        raise _fail("code", "三员角色的角色编码不能修改")
    if status != Status.ENABLED:
        raise _fail("status", "三员角色不能停用")


@transaction.atomic
def save_role(
    actor: User,
    role: Role,
    *,
    code: str,
    name: str,
    order: int = 0,
    status: str = Status.ENABLED,
    remark: str = "",
) -> Role:
    """Create (``role.pk`` is None) or update a role's basic information."""
    creating = role.pk is None
    if not creating:
        role = Role.objects.select_for_update().get(pk=role.pk)
        refuse_own_role(actor, role)
    before = None if creating else _role_snapshot(role)
    _check_role_unique(role, code, name)
    _check_builtin_admin_role(role, code, status)
    enabling = not creating and role.status != Status.ENABLED and status == Status.ENABLED
    role.code, role.name, role.order, role.status, role.remark = code, name, order, status, remark
    role.full_clean(exclude=["scope_departments", "menus"], validate_unique=False)
    if enabling:
        # Grants made before a rule tightened come back to life only if they still hold.
        check_grant_separation(role, role.menus.all())
    role.save()
    audit.record(
        "role.create" if creating else "role.update",
        actor=actor,
        target=role,
        before=before,
        after=_role_snapshot(role),
    )
    return role


def permission_owners(code: str) -> frozenset[str]:
    """The 三员 whose power a permission code is; empty for a business permission."""
    if code in _CODE_OWNERS:
        return _CODE_OWNERS[code]
    prefix = next((p for p in _PREFIX_OWNERS if code.startswith(p)), None)
    return _PREFIX_OWNERS[prefix] if prefix else frozenset()


def _kinds_label(kinds: Iterable[str]) -> str:
    return "、".join(ADMIN_KIND_LABELS[k] for k in Role.AdminKind.values if k in kinds)


def _grant_violation(role: Role, menu: Menu) -> str:
    # Directories and menus without a code grant no power; their children carry it.
    if not menu.permission:
        return ""
    owners = permission_owners(menu.permission)
    label = f"{menu.name}（{menu.permission}）"
    if role.admin_kind:
        if role.admin_kind in owners:
            return ""
        whose = f"属于{_kinds_label(owners)}" if owners else "是业务权限"
        return f"三员分立：{label} {whose}，不能授予{ADMIN_KIND_LABELS[role.admin_kind]}角色"
    if owners:
        return f"三员分立：{label} 只能授予{_kinds_label(owners)}角色"
    return ""


def grant_problems(role: Role, menus: Iterable[Menu]) -> list[str]:
    """Every menu of ``menus`` that ``role`` may not hold under 三员分立, as messages."""
    return [p for p in (_grant_violation(role, m) for m in menus) if p]


def check_grant_separation(role: Role, menus: Iterable[Menu]) -> None:
    """三员分立 for a role's menus: raise with every offending menu named."""
    problems = grant_problems(role, menus)
    if problems:
        raise ValidationFailed(problems[0], details={"menus": problems})


def refuse_own_role(actor: User | None, role: Role) -> None:
    """Nobody changes the grants, status or holders of a role they hold themselves."""
    if actor is not None and role.users.filter(pk=actor.pk).exists():
        raise PermissionDenied(f"不能修改自己持有的角色“{role.name}”，请由其他有权限的人员办理")


def _check_admin_role_grant(role: Role, granted: list[Menu], data_scope: str) -> None:
    """The 三员 roles keep their built-in menus and see all data: neither can be narrowed
    (hiding the log from the auditor) nor widened."""
    if not role.admin_kind:
        return
    if {m.key for m in granted} != _BUILTIN_GRANTS[role.admin_kind]:
        raise _fail("menus", f"{role.name}是三员角色，菜单权限由系统内置，不能增删")
    if data_scope != Role.DataScope.ALL:
        raise _fail("data_scope", f"{role.name}是三员角色，数据范围固定为“全部数据”")


def with_ancestors(menus: Iterable[Menu]) -> list[Menu]:
    """The menus plus every directory and menu above them (a granted button needs its page)."""
    by_id = {m.pk: m for m in Menu.objects.all()}
    chosen: dict[int, Menu] = {}
    for menu in menus:
        current: Menu | None = by_id.get(menu.pk, menu)
        while current is not None and current.pk not in chosen:
            chosen[current.pk] = current
            current = by_id.get(current.parent_id) if current.parent_id else None
    return sorted(chosen.values(), key=lambda m: m.pk)


def _grant_snapshot(role: Role) -> dict[str, Any]:
    """Menus as "name（key）": readable to the auditor, still exact when a name changes."""
    return {
        "menus": [
            f"{name}（{key}）"
            for key, name in role.menus.order_by("key").values_list("key", "name")
        ],
        "data_scope": role.data_scope,
        "scope_departments": sorted(role.scope_departments.values_list("name", flat=True)),
    }


@transaction.atomic
def grant_role(
    actor: User,
    role: Role,
    *,
    menus: Iterable[Menu],
    data_scope: str,
    departments: Iterable[Department] = (),
) -> Role:
    """Set a role's menus (ancestors included) and its data scope."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    refuse_own_role(actor, role)
    granted = with_ancestors(menus)
    check_grant_separation(role, granted)
    departments = list(departments)
    if data_scope not in Role.DataScope.values:
        raise _fail("data_scope", "请选择数据范围")
    if data_scope == Role.DataScope.CUSTOM and not departments:
        raise _fail("departments", "数据范围为“指定部门”时，请至少选择一个部门")
    _check_admin_role_grant(role, granted, data_scope)
    before = _grant_snapshot(role)
    role.data_scope = data_scope
    role.save(update_fields=["data_scope"])
    role.menus.set(granted)
    role.scope_departments.set(departments if data_scope == Role.DataScope.CUSTOM else [])
    audit.record("role.grant", actor=actor, target=role, before=before, after=_grant_snapshot(role))
    return role


# ---------------------------------------------------------------- menus


def _menu_parent_problem(kind: str, parent: Menu | None) -> str:
    if kind == Menu.Kind.DIRECTORY and parent is not None:
        return "目录只能位于顶级，请不要选择上级菜单"
    if kind == Menu.Kind.MENU and parent is not None and parent.kind != Menu.Kind.DIRECTORY:
        return "菜单的上级必须是目录"
    if kind == Menu.Kind.BUTTON and (parent is None or parent.kind != Menu.Kind.MENU):
        return "按钮的上级必须是菜单"
    return ""


def _menu_permission_problem(kind: str, permission: str) -> str:
    if kind == Menu.Kind.BUTTON and not permission:
        return "按钮必须填写权限标识，例如 policy:rule:update"
    if permission and not PERMISSION_PATTERN.fullmatch(permission):
        return "权限标识格式不正确：小写字母，用冒号分段，如 policy:rule:update"
    return ""


def _menu_route_problem(kind: str, url_name: str) -> str:
    if kind != Menu.Kind.MENU:
        return ""
    if not url_name:
        return "菜单必须填写路由名称，例如 system:user_list"
    try:
        reverse(url_name)
    except NoReverseMatch:
        return f"路由“{url_name}”不存在或需要参数，请填写无参数页面的路由名称"
    return ""


def _check_menu_rules(menu: Menu) -> None:
    """Every problem at once, each on its field."""
    problems = {
        "parent": _menu_parent_problem(menu.kind, menu.parent),
        "permission": _menu_permission_problem(menu.kind, menu.permission),
        # A built-in route is fixed by the code that ships it, not by this form.
        "url_name": "" if menu.builtin else _menu_route_problem(menu.kind, menu.url_name),
        "icon": ""
        if ICON_PATTERN.fullmatch(menu.icon)
        else "图标填写 bootstrap-icons 名称，例如 people、gear",
    }
    details = {field: [message] for field, message in problems.items() if message}
    if details:
        raise ValidationFailed(next(iter(details.values()))[0], details=details)


def is_admin_menu(menu: Menu) -> bool:
    """One of the 三员's built-in menus (directories included)."""
    return menu.builtin and menu.key in ADMIN_MENU_KEYS


def locked_menu_fields(menu: Menu) -> tuple[str, ...]:
    if is_admin_menu(menu):
        return MENU_LOCKED_WHEN_ADMIN
    return MENU_LOCKED_WHEN_BUILTIN if menu.builtin else ()


def _check_menu_change(menu: Menu, fields: dict[str, Any]) -> None:
    if menu.pk is None:
        return
    for name in locked_menu_fields(menu):
        if name in fields and fields[name] != getattr(menu, name):
            label = Menu._meta.get_field(name).verbose_name
            if name in MENU_LOCKED_WHEN_BUILTIN:
                raise _fail(name, f"内置菜单的{label}不能修改")
            raise _fail(name, f"三员分立：三员内置菜单的{label}不能修改")
    if fields.get("kind", menu.kind) != menu.kind and menu.children.exists():
        raise _fail("kind", "该菜单下还有子菜单，不能修改类型")


def _recheck_holders(menu: Menu) -> None:
    """A changed code must still be grantable to every role that already holds the menu."""
    for role in Role.objects.filter(menus=menu).order_by("pk"):
        problems = grant_problems(role, [menu])
        if problems:
            message = f"该菜单已授予角色“{role.name}”，修改后违反三员分立：{problems[0]}"
            raise _fail("permission", message)


@transaction.atomic
def save_menu(actor: User, menu: Menu, **fields: Any) -> Menu:
    """Create (``menu.pk`` is None) or update a menu, directory or button."""
    creating = menu.pk is None
    if not creating:
        menu = Menu.objects.select_for_update().get(pk=menu.pk)
    before = None if creating else audit.snapshot(menu, MENU_AUDIT_FIELDS)
    _check_menu_change(menu, fields)
    for name, value in fields.items():
        if name not in MENU_AUDIT_FIELDS:
            raise ValueError(f"save_menu cannot change {name}")
        setattr(menu, name, value)
    if menu.kind == Menu.Kind.DIRECTORY:
        menu.url_name = menu.permission = ""
    if menu.kind == Menu.Kind.BUTTON:
        menu.url_name = menu.icon = ""
    _check_menu_rules(menu)
    if creating:
        menu.key = f"custom.{uuid.uuid4().hex[:12]}"
    menu.full_clean()
    menu.save()
    if not creating:
        _recheck_holders(menu)
    audit.record(
        "menu.create" if creating else "menu.update",
        actor=actor,
        target=menu,
        before=before,
        after=audit.snapshot(menu, MENU_AUDIT_FIELDS),
    )
    return menu


@transaction.atomic
def delete_menu(actor: User, menu: Menu) -> None:
    if menu.builtin:
        raise Conflict("内置菜单不能删除，只能隐藏或停用")
    if menu.children.exists():
        raise Conflict("该菜单下还有子菜单或按钮，请先删除它们")
    before = audit.snapshot(menu, MENU_AUDIT_FIELDS)
    before["roles"] = sorted(menu.roles.values_list("code", flat=True))
    audit.record("menu.delete", actor=actor, target=menu, before=before)
    menu.delete()


# ---------------------------------------------------------------- sessions


@transaction.atomic
def kick_session(actor: User, session: UserSession, *, current_key: str | None = None) -> None:
    """强制退出: end another user's signed-in session; its next request goes to the login page."""
    if session.session_key == current_key:
        raise Conflict("不能强制退出自己当前的会话，请使用“退出登录”")
    target = session.user
    if target.admin_kind and target.pk != actor.pk:
        # Kicking the auditor out again and again would hide the log from them.
        raise PermissionDenied("三员账号的会话只能由本人结束")
    audit.record(
        "session.kick",
        actor=actor,
        target=target,
        before={
            "ip": session.ip,
            "user_agent": session.user_agent,
            "started_at": session.started_at,
            "last_activity": session.last_activity,
        },
        message=f"强制退出 {target} 的会话（IP {session.ip or '未知'}）",
    )
    end_session(session.session_key)
