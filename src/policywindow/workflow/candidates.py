"""Who may act on a workflow node: an ``Assignee`` as stored in a definition, resolved to user ids.

The pure core (``definition.py``) takes candidates as opaque ids; this module turns the stored
"who acts" of a node into the ids of active government staff, in one or two queries, and says in
Chinese why a node resolves to nobody (the editor refuses to publish such a definition), and
who among them cannot decide (an approver needs both ``DECIDE_PERMISSIONS`` to see and act).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.db.models import Exists, OuterRef, Q, QuerySet

from policywindow.enterprises.models import Region
from policywindow.system.models import Department, Menu, Post, Role, Status, User
from policywindow.workflow.definition import DefinitionError

if TYPE_CHECKING:
    from policywindow.workflow.subjects import CaseContext

Kind = Literal["dept_role", "dept_leader", "post", "users", "lead_dept_role", "region_dept_role"]

# Which fields each kind requires ("post" and "region_dept_role" take an optional department).
_REQUIRED: dict[str, frozenset[str]] = {
    "dept_role": frozenset({"department_id", "role_code"}),
    "dept_leader": frozenset({"department_id"}),
    "post": frozenset({"post_code"}),
    "users": frozenset({"user_ids"}),
    "lead_dept_role": frozenset({"role_code"}),
    "region_dept_role": frozenset({"role_code"}),
}
_OPTIONAL: dict[str, frozenset[str]] = {
    "post": frozenset({"department_id"}),
    "region_dept_role": frozenset({"department_id"}),
}
KINDS: tuple[str, ...] = tuple(_REQUIRED)
KIND_LABELS: dict[str, str] = {
    "dept_role": "部门内角色",
    "dept_leader": "部门负责人",
    "post": "岗位",
    "users": "指定人员",
    "lead_dept_role": "牵头部门内角色",
    "region_dept_role": "申请企业所在地部门内角色",
}
_FIELDS = ("department_id", "role_code", "post_code", "user_ids")
# What an approver needs: 我的待办 to see a task, 审批 to decide it.
DECIDE_PERMISSIONS: dict[str, str] = {
    "approval:task:todo": "我的待办",
    "approval:task:decide": "审批",
}


@dataclass(frozen=True)
class Assignee:
    """Who acts on a node. ``region_dept_role`` with a department looks only below that department
    (e.g. 省营商局 → 沈阳市营商局), since several departments of a city share its region code."""

    kind: Kind
    department_id: int | None = None
    role_code: str = ""
    post_code: str = ""
    user_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in _REQUIRED:
            raise DefinitionError(f"未知的办理人类型：{self.kind}")
        ids = [self.department_id] if self.department_id is not None else []
        if not all(_is_id(i) for i in [*ids, *self.user_ids]):
            raise DefinitionError("办理人的部门或人员编号无效")
        object.__setattr__(self, "user_ids", tuple(sorted(set(self.user_ids))))
        allowed = _REQUIRED[self.kind] | _OPTIONAL.get(self.kind, frozenset())
        present = {name for name in _FIELDS if getattr(self, name) not in (None, "", ())}
        if missing := _REQUIRED[self.kind] - present:
            raise DefinitionError(f"办理人（{KIND_LABELS[self.kind]}）缺少{_field_labels(missing)}")
        if extra := present - allowed:
            raise DefinitionError(
                f"办理人（{KIND_LABELS[self.kind]}）不应设置{_field_labels(extra)}"
            )

    @property
    def needs_application(self) -> bool:
        """Resolved per case (lead department, applicant's region), not when publishing."""
        return self.kind in ("lead_dept_role", "region_dept_role")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in _FIELDS:
            value = getattr(self, name)
            if value not in (None, "", ()):
                data[name] = list(value) if name == "user_ids" else value
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Assignee:
        if not isinstance(data, dict):
            raise DefinitionError("办理人设置格式无效")
        if unknown := set(data) - {"kind", *_FIELDS}:
            raise DefinitionError(f"办理人设置含未知项：{'、'.join(sorted(unknown))}")
        user_ids = data.get("user_ids", ())
        if not isinstance(data.get("kind"), str):
            raise DefinitionError("办理人类型无效")
        if not isinstance(user_ids, list | tuple):
            raise DefinitionError("办理人的部门或人员编号无效")
        for name in ("role_code", "post_code"):
            if not isinstance(data.get(name, ""), str):
                raise DefinitionError("办理人的角色或岗位编码无效")
        return cls(
            kind=data.get("kind", ""),
            department_id=data.get("department_id"),
            role_code=data.get("role_code", ""),
            post_code=data.get("post_code", ""),
            user_ids=tuple(user_ids),
        )


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _field_labels(names: set[str] | frozenset[str]) -> str:
    labels = {"department_id": "部门", "role_code": "角色", "post_code": "岗位", "user_ids": "人员"}
    return "、".join(labels[name] for name in _FIELDS if name in names)


# --- resolving -----------------------------------------------------------------------------


def resolve(assignee: Assignee, *, context: CaseContext | None = None) -> list[int]:
    """Ids of the active government staff who may act, ascending; at most two queries.
    ``context`` is the case's (``subjects.CaseContext``), needed by per-case kinds."""
    return list(_candidates(assignee, context).values_list("id", flat=True))


def _staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, kind=User.Kind.STAFF).order_by("id")


def _with_role(users: QuerySet[User], code: str) -> QuerySet[User]:
    return users.filter(roles__code=code, roles__status=Status.ENABLED)


def _candidates(assignee: Assignee, context: CaseContext | None) -> QuerySet[User]:
    staff = _staff()
    kind = assignee.kind
    if kind == "dept_role":
        return _with_role(staff.filter(department_id=assignee.department_id), assignee.role_code)
    if kind == "dept_leader":
        leaders = Department.objects.filter(pk=assignee.department_id).values("leader_id")
        return staff.filter(pk__in=leaders)
    if kind == "post":
        users = staff.filter(posts__code=assignee.post_code, posts__status=Status.ENABLED)
        if assignee.department_id is not None:
            users = users.filter(department_id=assignee.department_id)
        return users
    if kind == "users":
        return staff.filter(pk__in=assignee.user_ids)
    context = _required(assignee, context)
    if kind == "lead_dept_role":
        users = staff.filter(department_id=context.lead_department_id)
        return _with_role(users, assignee.role_code)
    city = city_code(context.region_code or "")
    if city is None:
        return staff.none()
    return _with_role(
        staff.filter(department__in=_region_departments(assignee, city)), assignee.role_code
    )


def _required(assignee: Assignee, context: CaseContext | None) -> CaseContext:
    if context is None:
        raise ValueError(f"办理人（{KIND_LABELS[assignee.kind]}）须结合具体案件确定")
    return context


def city_code(region_code: str) -> str | None:
    """The city (地市) of a region code: "210102" → "210100"; None for a province-level code."""
    if len(region_code) != 6 or region_code[2:4] == "00":
        return None
    return region_code[:4] + "00"


def _region_departments(assignee: Assignee, city: str) -> QuerySet[Department]:
    departments = Department.objects.filter(region_code=city)
    if assignee.department_id is not None:
        # Materialised paths ("/1/5/"): strictly below the given department.
        departments = departments.filter(path__contains=f"/{assignee.department_id}/").exclude(
            pk=assignee.department_id
        )
    return departments


# --- describing ----------------------------------------------------------------------------


def describe(assignee: Assignee) -> str:
    """Chinese text for the editor and the diagram, e.g. "省科技厅 · 科长"."""
    kind = assignee.kind
    if kind == "dept_role":
        return f"{_department_name(assignee.department_id)} · {_role_name(assignee.role_code)}"
    if kind == "dept_leader":
        return f"{_department_name(assignee.department_id)} 负责人"
    if kind == "post":
        post = f"{_post_name(assignee.post_code)}岗位"
        if assignee.department_id is None:
            return post
        return f"{_department_name(assignee.department_id)} · {post}"
    if kind == "users":
        return f"指定人员：{_user_names(assignee.user_ids)}"
    if kind == "lead_dept_role":
        return f"牵头部门 · {_role_name(assignee.role_code)}"
    return f"{_region_label(assignee)} · {_role_name(assignee.role_code)}"


def _region_label(assignee: Assignee) -> str:
    if assignee.department_id is None:
        return "申请企业所在地部门"
    return f"申请企业所在地部门（{_department_name(assignee.department_id)}下属）"


def _department_name(pk: int | None) -> str:
    name = Department.objects.filter(pk=pk).values_list("name", flat=True).first()
    return name or f"部门 #{pk}（不存在）"


def _role_name(code: str) -> str:
    name = Role.objects.filter(code=code).values_list("name", flat=True).first()
    return name or f"角色 {code}（不存在）"


def _post_name(code: str) -> str:
    name = Post.objects.filter(code=code).values_list("name", flat=True).first()
    return name or f"{code}（不存在）"


def _user_names(ids: tuple[int, ...]) -> str:
    names = dict(User.objects.filter(pk__in=ids).values_list("id", "real_name"))
    return "、".join(names.get(pk) or f"#{pk}（不存在）" for pk in ids)


# --- explaining an empty result ------------------------------------------------------------


def explain_empty(assignee: Assignee, context: CaseContext | None = None) -> str:
    """Why ``resolve`` finds nobody, in Chinese; shown when refusing to publish or to start."""
    kind = assignee.kind
    if kind == "dept_role":
        return _explain_role(_department_name(assignee.department_id), assignee.role_code)
    if kind == "dept_leader":
        return _explain_leader(assignee.department_id)
    if kind == "post":
        return _explain_post(assignee)
    if kind == "users":
        return "指定人员均不存在、已停用或不是政府工作人员"
    context = _required(assignee, context)
    if kind == "lead_dept_role":
        lead = _department_name(context.lead_department_id)
        return _explain_role(f"牵头部门 {lead}", assignee.role_code)
    return _explain_region(assignee, context)


def _explain_role(where: str, code: str) -> str:
    role = Role.objects.filter(code=code).first()
    if role is None:
        return f"角色 {code} 不存在"
    if role.status != Status.ENABLED:
        return f"角色“{role.name}”已停用"
    return f"{where} 没有启用的“{role.name}”角色用户"


def _explain_leader(department_id: int | None) -> str:
    dept = Department.objects.select_related("leader").filter(pk=department_id).first()
    if dept is None:
        return f"部门 #{department_id} 不存在"
    if dept.leader is None:
        return f"部门 {dept.name} 未设置负责人"
    return f"部门 {dept.name} 的负责人 {dept.leader.real_name} 已停用或不是政府工作人员"


def _explain_post(assignee: Assignee) -> str:
    post = Post.objects.filter(code=assignee.post_code).first()
    if post is None:
        return f"岗位 {assignee.post_code} 不存在"
    if post.status != Status.ENABLED:
        return f"岗位“{post.name}”已停用"
    if assignee.department_id is None:
        return f"没有启用的“{post.name}”岗位用户"
    return f"{_department_name(assignee.department_id)} 没有启用的“{post.name}”岗位用户"


def _explain_region(assignee: Assignee, context: CaseContext) -> str:
    code = context.region_code or ""
    city = city_code(code)
    if city is None:
        region = Region.objects.filter(code=code).values_list("name", flat=True).first()
        return f"申请企业所在地 {region or code or '（未填写）'} 不属于任何地市"
    city_name = Region.objects.filter(code=city).values_list("name", flat=True).first() or city
    names = list(_region_departments(assignee, city).values_list("name", flat=True))
    if not names:
        return f"申请企业所在地 {city_name} 没有对应部门"
    return _explain_role(f"申请企业所在地 {city_name} 的{'、'.join(names)}", assignee.role_code)


# --- who can decide ------------------------------------------------------------------------


def decider_q(user: str = "") -> Q:
    """Active users whose enabled roles grant every ``DECIDE_PERMISSIONS`` code.

    ``user`` names the relation from the rows filtered (``"assignee"`` on tasks); empty for users.
    """
    prefix = f"{user}__" if user else ""
    q = Q(**{f"{prefix}is_active": True})
    for code in DECIDE_PERMISSIONS:
        grants = Menu.objects.filter(
            permission=code,
            status=Status.ENABLED,
            roles__status=Status.ENABLED,
            roles__users=OuterRef(user or "pk"),
        )
        q &= Q(Exists(grants))
    return q


def cannot_decide(user_ids: list[int]) -> list[User]:
    """The users among ``user_ids`` who could not see or decide a task, by id (one query)."""
    return list(User.objects.filter(pk__in=user_ids).exclude(decider_q()).order_by("id"))


def missing_permissions_text() -> str:
    return "".join(f"“{label}”" for label in DECIDE_PERMISSIONS.values())


def undecidable(assignee: Assignee, ids: list[int]) -> str:
    """Who among a node's approvers could not see or decide a task, and why; empty when all can.

    A node resolved per case names a role: that role itself must grant the permissions.
    """
    lacking = f"没有{missing_permissions_text()}权限"
    if assignee.needs_application:
        role = Role.objects.filter(code=assignee.role_code).first()
        if role is None or _role_decides(role):
            return ""
        return f"角色“{role.name}”{lacking}"
    names = "、".join(person.real_name or person.username for person in cannot_decide(ids))
    return f"{names} {lacking}" if names else ""


def _role_decides(role: Role) -> bool:
    granted = set(
        role.menus.filter(status=Status.ENABLED, permission__in=DECIDE_PERMISSIONS).values_list(
            "permission", flat=True
        )
    )
    return role.status == Status.ENABLED and granted == set(DECIDE_PERMISSIONS)
