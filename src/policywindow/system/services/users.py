"""User accounts: create, edit, roles, status, passwords and the second factor."""

from __future__ import annotations

import secrets
import string
from typing import Any

import pyotp
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.errors import Conflict, ValidationFailed, full_clean_or_fail

from ..models import Department, Post, Role, User
from ..sessions import end_sessions

USER_AUDIT_FIELDS = [
    "username",
    "real_name",
    "kind",
    "mobile",
    "email",
    "department",
    "is_active",
    "remark",
]


def _check_password(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed("密码不符合安全要求", details={field: list(exc.messages)}) from exc


def _user_snapshot(user: User) -> dict[str, Any]:
    data = audit.snapshot(user, USER_AUDIT_FIELDS)
    if user.pk:
        data["roles"] = sorted(user.roles.values_list("code", flat=True))
        data["posts"] = sorted(user.posts.values_list("code", flat=True))
    return data


# ---------------------------------------------------------------- users


def check_admin_separation(roles: list[Role]) -> None:
    """三员分立: one person never holds two of the three administrator roles."""
    kinds = {r.admin_kind for r in roles if r.admin_kind}
    if len(kinds) > 1:
        names = "、".join(sorted(r.name for r in roles if r.admin_kind))
        raise ValidationFailed(
            f"三员分立：{names} 不能由同一用户同时担任",
            details={
                "roles": [f"系统管理员、安全管理员、审计管理员三者互斥，不能同时分配（{names}）"]
            },
        )


def _check_role_kinds(user: User, roles: list[Role]) -> None:
    wrong = [r.name for r in roles if r.for_enterprise != (user.kind == User.Kind.ENTERPRISE)]
    if wrong:
        who = "企业用户" if user.kind == User.Kind.ENTERPRISE else "政府工作人员"
        raise ValidationFailed(
            f"角色与用户类型不符：{'、'.join(wrong)} 不能分配给{who}",
            details={"roles": [f"{'、'.join(wrong)} 不能分配给{who}"]},
        )


@transaction.atomic
def create_user(
    actor: User,
    *,
    username: str,
    real_name: str,
    password: str,
    kind: str = User.Kind.STAFF,
    mobile: str = "",
    email: str = "",
    department: Department | None = None,
    posts: list[Post] | None = None,
    roles: list[Role] | None = None,
    remark: str = "",
    must_change_password: bool = True,
) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed("用户名已存在", details={"username": ["该用户名已被使用"]})
    if kind == User.Kind.STAFF and department is None:
        raise ValidationFailed(
            "请选择所属部门", details={"department": ["政府工作人员必须选择所属部门"]}
        )
    user = User(
        username=username,
        real_name=real_name,
        kind=kind,
        mobile=mobile,
        email=email,
        department=department,
        remark=remark,
        must_change_password=must_change_password,
    )
    _check_password(password, user)
    roles = list(roles or [])
    check_admin_separation(roles)
    _check_role_kinds(user, roles)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    full_clean_or_fail(user, exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Another request created the same username between the check above and this insert.
        raise ValidationFailed("用户名已存在", details={"username": ["该用户名已被使用"]}) from exc
    user.posts.set(posts or [])
    user.roles.set(roles)
    audit.record("user.create", actor=actor, target=user, after=_user_snapshot(user))
    return user


@transaction.atomic
def update_user(actor: User, user: User, **changes: Any) -> User:
    before = _user_snapshot(user)
    posts = changes.pop("posts", None)
    for name, value in changes.items():
        if name not in {"real_name", "mobile", "email", "department", "remark"}:
            raise ValueError(f"update_user cannot change {name}")
        setattr(user, name, value)
    if user.kind == User.Kind.STAFF and user.department is None:
        raise ValidationFailed(
            "请选择所属部门", details={"department": ["政府工作人员必须选择所属部门"]}
        )
    full_clean_or_fail(user, exclude=["password"])
    user.save()
    if posts is not None:
        user.posts.set(posts)
    audit.record("user.update", actor=actor, target=user, before=before, after=_user_snapshot(user))
    return user


@transaction.atomic
def assign_roles(actor: User, user: User, roles: list[Role]) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    check_admin_separation(roles)
    _check_role_kinds(locked, roles)
    before = sorted(locked.roles.values_list("code", flat=True))
    locked.roles.set(roles)
    audit.record(
        "user.assign_roles",
        actor=actor,
        target=locked,
        before={"roles": before},
        after={"roles": sorted(r.code for r in roles)},
    )
    return locked


@transaction.atomic
def set_user_active(actor: User, user: User, active: bool) -> User:
    if user.pk == actor.pk and not active:
        raise Conflict("不能停用当前登录的账号")
    before = {"is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        end_sessions(user)
    audit.record(
        "user.enable" if active else "user.disable",
        actor=actor,
        target=user,
        before=before,
        after={"is_active": active},
    )
    return user


def generate_password(length: int = 12) -> str:
    """A random password that satisfies the complexity rules."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in "!@#$%^&*" for c in candidate)
        ):
            return candidate


@transaction.atomic
def reset_password(actor: User, user: User, new_password: str | None = None) -> str:
    """Administrator reset: the user must choose a new password at next sign-in."""
    password = new_password or generate_password()
    _check_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    end_sessions(user)
    audit.record("user.reset_password", actor=actor, target=user, message="管理员重置密码")
    return password


@transaction.atomic
def change_own_password(
    user: User, old_password: str, new_password: str, *, keep_session: str | None
) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed("原密码不正确", details={"old_password": ["原密码不正确"]})
    if old_password == new_password:
        raise ValidationFailed(
            "新密码不能与原密码相同", details={"new_password": ["新密码不能与原密码相同"]}
        )
    _check_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    end_sessions(user, keep=keep_session)
    audit.record("user.change_password", actor=user, target=user, message="用户修改本人密码")


# ---------------------------------------------------------------- second factor


@transaction.atomic
def start_totp_enrolment(user: User) -> str:
    """A fresh secret, not yet trusted until the user proves a code from it."""
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed = False
    user.save(update_fields=["totp_secret", "totp_confirmed"])
    return user.totp_secret


@transaction.atomic
def confirm_totp(user: User, code: str) -> None:
    if not user.totp_secret or not pyotp.TOTP(user.totp_secret).verify(
        code.strip(), valid_window=1
    ):
        raise ValidationFailed(
            "动态口令不正确", details={"code": ["动态口令不正确或已过期，请重新输入"]}
        )
    user.totp_confirmed = True
    user.save(update_fields=["totp_confirmed"])
    audit.record("user.totp_bind", actor=user, target=user, message="绑定动态口令")
