"""Reads of the RBAC and security pages: menu tree, roles, online sessions and the logs.

Data scope is applied here (online sessions follow the viewer's scope over the
signed-in user's department); the operation log is read whole by its only
reader, the audit administrator.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from policywindow.core.audit import ACTION_LABELS, VERB_LABELS, object_type_label
from policywindow.core.models import AuditEvent

from .datascope import scope_filter
from .models import LoginLog, Menu, Role, UserSession
from .params import get_param

# ---------------------------------------------------------------- menus


@dataclass
class MenuNode:
    menu: Menu
    depth: int = 0
    children: list[MenuNode] = field(default_factory=list)


def menu_tree() -> list[MenuNode]:
    """Every menu, enabled or not, as a tree in display order."""
    menus = list(Menu.objects.order_by("order", "id"))
    by_parent: dict[int | None, list[Menu]] = {}
    for menu in menus:
        by_parent.setdefault(menu.parent_id, []).append(menu)

    def build(parent_id: int | None, depth: int) -> list[MenuNode]:
        return [
            MenuNode(menu, depth, build(menu.pk, depth + 1))
            for menu in by_parent.get(parent_id, [])
        ]

    return build(None, 0)


def flatten(nodes: list[MenuNode]) -> list[MenuNode]:
    """The tree in reading order, parents before their children."""
    rows: list[MenuNode] = []
    for node in nodes:
        rows.append(node)
        rows.extend(flatten(node.children))
    return rows


def menu_parent_choices() -> list[Menu]:
    """Directories and menus, in tree order (buttons never have children)."""
    return [n.menu for n in flatten(menu_tree()) if n.menu.kind != Menu.Kind.BUTTON]


# ---------------------------------------------------------------- roles


def search_roles(*, q: str = "", status: str = "") -> QuerySet[Role]:
    qs = Role.objects.annotate(user_count=Count("users", distinct=True))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("order", "id")


# ---------------------------------------------------------------- online users


def online_sessions(viewer, *, q: str = "") -> QuerySet[UserSession]:
    """Sessions active within the idle limit, for users the viewer's data scope reaches."""
    idle = datetime.timedelta(minutes=int(get_param("security.session_idle_minutes")))
    qs = UserSession.objects.select_related("user", "user__department").filter(
        last_activity__gte=timezone.now() - idle
    )
    if q:
        qs = qs.filter(Q(user__username__icontains=q) | Q(user__real_name__icontains=q))
    qs = scope_filter(qs, viewer, dept_field="user__department", owner_field="user")
    return qs.order_by("-last_activity")


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str) -> str:
    """A short "Chrome 126 · Windows" for tables; the full string goes in the tooltip."""
    browser = next(
        (
            f"{name} {m.group(1)}"
            for marker, name in _BROWSERS
            if (m := re.search(re.escape(marker) + r"(\d+)", user_agent))
        ),
        "",
    )
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    return " · ".join(p for p in (browser, system) if p) or (user_agent[:40] or "未知")


# ---------------------------------------------------------------- operation log


def search_audit_events(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    result: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    if actor:
        qs = qs.filter(actor_name__icontains=actor)
    if action:
        qs = qs.filter(Q(action__icontains=action) | actions_named(action))
    if object_type:
        qs = qs.filter(object_type=object_type)
    if result:
        qs = qs.filter(result=result)
    # Newest first by id: unsealed events (no seq yet) belong at the top too.
    return _in_date_range(qs, "occurred_at", date_from, date_to).order_by("-id")


def actions_named(text: str) -> Q:
    """Events whose action's Chinese name (``audit.action_label``) contains ``text``: the
    named actions, and verb + model (“新增企业”) for the others."""
    named = Q(action__in=[code for code, label in ACTION_LABELS.items() if text in label])
    for model in apps.get_models():
        for verb_code, verb in VERB_LABELS.items():
            if text in f"{verb}{model._meta.verbose_name}":
                named |= Q(action__endswith=f".{verb_code}", object_type=model._meta.label_lower)
    return named


def audit_object_types() -> list[tuple[str, str]]:
    """The object types present in the log, by their Chinese names (申报, 企业, 页面地址)."""
    types = (
        AuditEvent.objects.exclude(object_type="")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
    return sorted(((t, object_type_label(t)) for t in types), key=lambda choice: choice[1])


def _model_of(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


@dataclass(frozen=True)
class DiffCell:
    text: str
    state: str = ""  # "", "removed" or "added"


@dataclass(frozen=True)
class DiffRow:
    key: str
    label: str
    before: list[DiffCell]
    after: list[DiffCell]
    changed: bool


_MISSING = object()


def audit_diff(event: AuditEvent) -> list[DiffRow]:
    """Before/after of an event as rows a person can read; list values show items added/removed."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        before, after = {"value": event.before}, {"value": event.after}
    model = _model_of(event.object_type)
    keys = list(before) + [k for k in after if k not in before]
    return [
        _diff_row(model, key, before.get(key, _MISSING), after.get(key, _MISSING)) for key in keys
    ]


# Keys of events that are no model field: an export's (core/exports.py record_export).
EVENT_KEY_LABELS = {"filters": "查询条件", "rows": "导出条数"}


def _diff_row(model, key: str, old: Any, new: Any) -> DiffRow:
    model_field = _model_field(model, key)
    label = str(model_field.verbose_name) if model_field else EVENT_KEY_LABELS.get(key, key)
    both = old is not _MISSING and new is not _MISSING
    if isinstance(old, list) or isinstance(new, list):
        old_items, new_items = _as_list(old), _as_list(new)
        return DiffRow(
            key,
            label,
            [
                DiffCell(_text(v), "removed" if both and v not in new_items else "")
                for v in old_items
            ],
            [DiffCell(_text(v), "added" if both and v not in old_items else "") for v in new_items],
            both and sorted(map(_text, old_items)) != sorted(map(_text, new_items)),
        )
    return DiffRow(
        key,
        label,
        _scalar_cells(model_field, old),
        _scalar_cells(model_field, new),
        both and old != new,
    )


def _as_list(value: Any) -> list:
    if value is _MISSING:
        return []
    return value if isinstance(value, list) else [value]


def _model_field(model, key: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


def _scalar_cells(model_field, value: Any) -> list[DiffCell]:
    if value is _MISSING:
        return []
    choices = dict(model_field.flatchoices) if model_field and model_field.choices else {}
    return [DiffCell(str(choices.get(value, _text(value))))]


def _text(value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------- login log


def search_login_logs(
    *,
    username: str = "",
    success: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[LoginLog]:
    qs = LoginLog.objects.select_related("user")
    if username:
        qs = qs.filter(username__icontains=username)
    if success in {"1", "0"}:
        qs = qs.filter(success=success == "1")
    return _in_date_range(qs, "occurred_at", date_from, date_to).order_by("-occurred_at", "-id")


def _in_date_range(
    qs: QuerySet, field_name: str, date_from: datetime.date | None, date_to: datetime.date | None
) -> QuerySet:
    if date_from:
        qs = qs.filter(**{f"{field_name}__date__gte": date_from})
    if date_to:
        qs = qs.filter(**{f"{field_name}__date__lte": date_to})
    return qs
