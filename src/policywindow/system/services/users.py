"""User accounts: create, edit, roles, status, passwords and the second factor.

三员 accounts (holding a role with ``admin_kind``) are refused here: their changes go
through 双人审批 (``services.admin_requests``), and their roles only come from
``policywindow create-admins``.
"""

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
from policywindow.core.errors import (
    Conflict,
    PermissionDenied,
    ValidationFailed,
    full_clean_or_fail,
)

from ..models import Department, Post, RecoveryCode, Role, User
from ..sessions import end_sessions
from .rbac import check_grant_separation

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


def ensure_manageable(actor: User | None, target: User, what: str) -> None:
    """The administration pages never change a 三员 account, nor the actor's own."""
    if target.admin_kind:
        raise PermissionDenied(
            f"{target} 是三员账号，不能直接{what}：须由另一名三员在“三员管理 › 双人审批”"
            "中提出申请，并经第三名三员批准"
        )
    if actor is not None and actor.pk == target.pk:
        raise PermissionDenied(f"不能在用户管理中{what}自己的账号")


def _check_admin_roles(roles: list[Role], *, deploying: bool) -> None:
    """三员分立: a 三员 role is held alone, by an account `policywindow create-admins` made."""
    admin_roles = [r for r in roles if r.admin_kind]
    if not admin_roles or (deploying and len(roles) == 1):
        return
    names = "、".join(sorted(r.name for r in admin_roles))
    message = (
        f"三员分立：三员角色（{names}）只能由部署命令 policywindow create-admins "
        "创建的账号单独持有，不能在系统中分配"
    )
    raise ValidationFailed(message, details={"roles": [message]})


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
    # ``actor`` is None only for console commands run by whoever deploys the product.
    _check_admin_roles(roles, deploying=actor is None)
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
    ensure_manageable(actor, user, "修改")
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
    ensure_manageable(actor, locked, "分配角色")
    _check_admin_roles(roles, deploying=False)
    _check_role_kinds(locked, roles)
    for role in roles:
        # A grant made before a rule tightened must not reach a new holder.
        check_grant_separation(role, role.menus.all())
    before = sorted(locked.roles.values_list("code", flat=True))
    locked.roles.set(roles)
    if before != sorted(r.code for r in roles):
        locked.roles_changed_at = timezone.now()  # access tokens issued before it stop working
        locked.save(update_fields=["roles_changed_at"])
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
    ensure_manageable(actor, user, "启用" if active else "停用")
    return apply_active(actor, user, active)


def apply_active(actor: User, user: User, active: bool, *, message: str = "") -> User:
    """Enable or disable; disabling ends the sessions (and, by the token rule, the tokens)."""
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
        message=message,
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
    ensure_manageable(actor, user, "重置密码")
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

RECOVERY_CODE_COUNT = 10
# Ten characters without look-alikes (no 0/o, 1/l/i): about 50 bits each.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


def normalize_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_hash(user: User, code: str) -> str:
    """Keyed with the SECRET_KEY, so a copy of the database does not reveal the codes."""
    from django.utils.crypto import salted_hmac

    return salted_hmac(
        "policywindow.system.recovery-code", f"{user.pk}:{code}", algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def start_totp_enrolment(user: User) -> str:
    """A fresh secret, not yet trusted until the user proves a code from it."""
    if user.totp_confirmed:
        raise Conflict("已绑定动态口令；更换手机请联系管理员")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_last_step"])
    return user.totp_secret


@transaction.atomic
def confirm_totp(user: User) -> list[str]:
    """Trust the secret once a code from it was accepted; returns the first recovery codes."""
    user.totp_confirmed = True
    user.must_bind_totp = False
    user.save(update_fields=["totp_confirmed", "must_bind_totp"])
    audit.record("user.totp_bind", actor=user, target=user, message="绑定动态口令")
    return issue_recovery_codes(user)


@transaction.atomic
def issue_recovery_codes(user: User) -> list[str]:
    """Ten new one-time codes (the old ones stop working); the plain text is shown once."""
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=recovery_code_hash(user, code)) for code in codes
    )
    audit.record(
        "user.recovery_codes",
        actor=user,
        target=user,
        message=f"生成 {len(codes)} 个新的恢复码（旧恢复码作废）",
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def clear_second_factor(user: User) -> None:
    """Forget the authenticator and the recovery codes (the caller saves and audits)."""
    user.totp_secret = ""
    user.totp_confirmed = False
    user.totp_last_step = None
    RecoveryCode.objects.filter(user=user).delete()
