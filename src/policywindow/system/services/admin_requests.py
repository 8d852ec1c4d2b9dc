"""双人审批: the only way a 三员 account or its credentials change (docs/security.md).

One of the other two 三员 files a request (with a reason); the third — neither the requester
nor the target, and of a third kind — approves or rejects it. A password reset then makes a
one-time password in two halves: the requester sees the first half when filing, the approver
the second when approving, each once and only as a password hash in the database. They hand
their halves to the target in person; the target signs in with both halves joined, must bind
a new authenticator and choose a new password. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

from ..models import AdminAccountRequest, Role, User
from ..sessions import end_sessions
from .users import apply_active, clear_second_factor, generate_password

Action = AdminAccountRequest.Action
State = AdminAccountRequest.State
HALF_LENGTH = 8
# The target must come to collect both halves in person; after this the halves expire.
ONE_TIME_PASSWORD_LIFETIME = dt.timedelta(days=3)
PROCEDURE = "三员管理 › 双人审批"


@dataclass(frozen=True)
class Outcome:
    request: AdminAccountRequest
    # The half of the one-time password this person hands over (shown once), or "".
    half: str = ""


def _admin_kind(user: User | None) -> str:
    if user is None or not user.is_active:
        return ""
    return User.objects.get(pk=user.pk).admin_kind  # fresh: roles may have changed


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def eligible_targets(actor: User) -> QuerySet[User]:
    """The 三员 accounts ``actor`` may file about: those of the other two kinds."""
    kind = _admin_kind(actor)
    if not kind:
        return User.objects.none()
    return (
        User.objects.filter(roles__admin_kind__in=Role.AdminKind.values)
        .exclude(roles__admin_kind=kind)
        .exclude(pk=actor.pk)
        .prefetch_related("roles")
        .distinct()
        .order_by("id")
    )


def _check_requester(actor: User, target: User) -> None:
    kind = _admin_kind(actor)
    if not kind:
        raise PermissionDenied("只有三员（系统管理员、安全管理员、审计管理员）可以提出双人审批申请")
    if actor.pk == target.pk:
        raise PermissionDenied("不能为自己的账号提出申请，须由另外两名三员办理")
    target_kind = target.admin_kind
    if not target_kind:
        raise _fail("target", "双人审批只用于三员账号；其他账号请在“用户管理”中办理")
    if target_kind == kind:
        raise _fail("target", "不能为同类三员账号提出申请，须由另外两类三员办理")


@transaction.atomic
def file_request(actor: User, *, target: User, action: str, reason: str) -> Outcome:
    """File a request; for a password reset also make and return the first half."""
    target = User.objects.select_for_update().get(pk=target.pk)
    _check_requester(actor, target)
    reason = reason.strip()
    if not reason:
        raise _fail("reason", "请填写申请理由")
    if action not in Action.values:
        raise _fail("action", "请选择申请事项")
    if action == Action.DISABLE and not target.is_active:
        raise _fail("action", f"{target} 已是停用状态")
    if action == Action.ENABLE and target.is_active:
        raise _fail("action", f"{target} 已是启用状态")
    half = generate_password(HALF_LENGTH) if action == Action.RESET_PASSWORD else ""
    request = AdminAccountRequest(
        target=target,
        action=action,
        reason=reason[:200],
        requested_by=actor,
        first_half_hash=make_password(half) if half else "",
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:  # uniq_pending_admin_request: one open request per account
        raise _fail("target", f"{target} 已有一项待审批的申请，请先处理该申请") from exc
    audit.record(
        "admin_request.file",
        actor=actor,
        target=request,
        after={"target": target.username, "action": action, "reason": request.reason},
        message=f"申请{request.get_action_display()}：{target}",
    )
    return Outcome(request, half)


def _pending(pk: int) -> AdminAccountRequest:
    request = (
        AdminAccountRequest.objects.select_for_update()
        .select_related("target", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise NotFound("申请不存在")
    if request.state != State.PENDING:
        raise Conflict(f"该申请的状态为“{request.get_state_display()}”，不能再次处理")
    return request


def _approver_problem(actor: User, actor_kind: str, request: AdminAccountRequest) -> str:
    if not actor_kind:
        return "只有三员可以审批双人审批申请"
    if actor.pk in (request.requested_by_id, request.target_id):
        return "申请人和被申请的账号本人不能审批，须由第三名三员审批"
    if actor_kind in (request.requested_by.admin_kind, request.target.admin_kind):
        return "须由与申请人、被申请账号都不同类的第三名三员审批"
    return ""


def _check_approver(actor: User, request: AdminAccountRequest) -> None:
    if problem := _approver_problem(actor, _admin_kind(actor), request):
        raise PermissionDenied(problem)


def may_decide(actor: User, request: AdminAccountRequest) -> bool:
    """For the list's buttons (the service checks again when the button is pressed)."""
    return request.state == State.PENDING and not _approver_problem(
        actor, actor.admin_kind, request
    )


@transaction.atomic
def approve_request(actor: User, pk: int, *, note: str = "") -> Outcome:
    """Approve and carry out; for a password reset return the second half."""
    request = _pending(pk)
    _check_approver(actor, request)
    now = timezone.now()
    request.state, request.decided_by, request.decided_at = State.APPROVED, actor, now
    request.decision_note = note.strip()[:200]
    half = ""
    if request.action == Action.RESET_PASSWORD:
        half = generate_password(HALF_LENGTH)
        request.second_half_hash = make_password(half)
        request.redeem_before = now + ONE_TIME_PASSWORD_LIFETIME
        _reset_credentials(actor, request)
    else:
        apply_active(
            actor,
            User.objects.select_for_update().get(pk=request.target_id),
            request.action == Action.ENABLE,
            message=f"双人审批：{request.requested_by} 申请，{actor} 批准",
        )
    request.save()
    audit.record(
        "admin_request.approve",
        actor=actor,
        target=request,
        before={"state": State.PENDING},
        after={"state": State.APPROVED, "note": request.decision_note},
        message=f"批准{request.get_action_display()}：{request.target}",
    )
    return Outcome(request, half)


def _reset_credentials(actor: User, request: AdminAccountRequest) -> None:
    """The old password, authenticator, recovery codes, sessions and tokens stop working."""
    target = User.objects.select_for_update().get(pk=request.target_id)
    target.set_unusable_password()  # until the target signs in with both halves
    target.must_change_password = True
    target.must_bind_totp = True
    target.password_changed_at = timezone.now()
    clear_second_factor(target)
    target.save(
        update_fields=[
            "password",
            "must_change_password",
            "must_bind_totp",
            "password_changed_at",
            "totp_secret",
            "totp_confirmed",
            "totp_last_step",
        ]
    )
    end_sessions(target)
    audit.record(
        "user.reset_password",
        actor=actor,
        target=target,
        message=(
            f"双人审批重置三员密码与动态口令：{request.requested_by} 申请，{actor} 批准；"
            "一次性密码分两段当面交付"
        ),
    )


@transaction.atomic
def reject_request(actor: User, pk: int, *, note: str = "") -> AdminAccountRequest:
    request = _pending(pk)
    _check_approver(actor, request)
    request.state, request.decided_by, request.decided_at = State.REJECTED, actor, timezone.now()
    request.decision_note = note.strip()[:200]
    request.first_half_hash = ""
    request.save()
    audit.record(
        "admin_request.reject",
        actor=actor,
        target=request,
        before={"state": State.PENDING},
        after={"state": State.REJECTED, "note": request.decision_note},
    )
    return request


@transaction.atomic
def cancel_request(actor: User, pk: int) -> AdminAccountRequest:
    request = _pending(pk)
    if request.requested_by_id != actor.pk:
        raise PermissionDenied("只有申请人可以撤回申请")
    request.state, request.decided_at = State.CANCELLED, timezone.now()
    request.first_half_hash = ""
    request.save()
    audit.record(
        "admin_request.cancel",
        actor=actor,
        target=request,
        before={"state": State.PENDING},
        after={"state": State.CANCELLED},
    )
    return request


def redeem_one_time_password(username: str, password: str) -> User | None:
    """Sign-in with the two halves joined: the account's only password after a reset.

    Called under the username's login lock. On success the joined password becomes the
    account's password (so the forced change can ask for it) and the request is spent.
    """
    if len(password) != 2 * HALF_LENGTH:
        return None
    request = (
        AdminAccountRequest.objects.select_for_update()
        .select_related("target")
        .filter(
            target__username=username,
            target__is_active=True,
            action=Action.RESET_PASSWORD,
            state=State.APPROVED,
            redeemed_at=None,
            redeem_before__gt=timezone.now(),
        )
        .order_by("-decided_at")
        .first()
    )
    if request is None:
        return None
    first, second = password[:HALF_LENGTH], password[HALF_LENGTH:]
    if not (
        check_password(first, request.first_half_hash)
        and check_password(second, request.second_half_hash)
    ):
        return None
    user = request.target
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    request.redeemed_at = timezone.now()
    request.first_half_hash = request.second_half_hash = ""
    request.save(update_fields=["redeemed_at", "first_half_hash", "second_half_hash"])
    audit.record(
        "admin_request.redeem",
        actor=user,
        target=request,
        message=f"{user} 使用双人审批发放的一次性密码登录",
    )
    return user
