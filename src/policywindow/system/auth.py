"""Sign-in: password and second factor under one per-username lockout, and the login log.

Both factors count failures on the same ``LoginGuard`` row, locked ``FOR UPDATE``, so
parallel guesses at either factor cannot slip past the threshold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from pyotp.utils import strings_equal

from policywindow.core import audit
from policywindow.core.models import AuditEvent

from .login_limits import address_limit_message, address_over_login_limit
from .models import LoginGuard, LoginLog, RecoveryCode, User
from .params import get_param

# The same answer for a session and an access token whose password must be changed first.
MUST_CHANGE_CODE = "password_change_required"
MUST_CHANGE_MESSAGE = "请先在系统页面修改密码后再使用接口"


class PolicyWindowBackend(ModelBackend):
    """Django's model backend; disabled users never authenticate."""

    def user_can_authenticate(self, user) -> bool:
        return bool(user.is_active)

    def get_user(self, user_id) -> User | None:
        """The session's user, read fresh each request with its cached identity
        (``system.identity``); None once disabled, so the session ends at once."""
        from .identity import signed_in_user

        return signed_in_user(user_id)


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    message: str

    @property
    def ok(self) -> bool:
        return self.user is not None


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def attempt_login(request, username: str, password: str) -> LoginOutcome:
    """Check the password under the username's lock; log the attempt either way."""
    from django.contrib.auth import authenticate

    from .services.admin_requests import redeem_one_time_password

    username = username.strip()
    if address_over_login_limit(request):  # counted before the transaction, which may roll back
        message = address_limit_message()
        _log(request, username, None, False, message)
        return LoginOutcome(None, message)
    now = timezone.now()
    with transaction.atomic():
        guard = _locked_guard(username)
        if message := _lock_message(guard, now):
            _log(request, username, None, False, message)
            return LoginOutcome(None, message)
        user = authenticate(request, username=username, password=password)
        user = user or redeem_one_time_password(username, password)
        if user is None:
            message = _register_failure(guard, now, gettext("用户名或密码错误"))
            _log(request, username, None, False, message)
            return LoginOutcome(None, message)
        _clear_failures(guard)
    _log(request, username, user, True, "登录成功")
    return LoginOutcome(user, gettext("登录成功"))


def _locked_guard(username: str) -> LoginGuard:
    guard, _ = LoginGuard.objects.select_for_update().get_or_create(username=username)
    return guard


def _lock_message(guard: LoginGuard, now: dt.datetime) -> str:
    if guard.locked_until and guard.locked_until > now:
        return gettext("连续登录失败次数过多，账号已锁定，请于 %(time)s 后重试") % {
            "time": _local(guard.locked_until)
        }
    return ""


def _clear_failures(guard: LoginGuard) -> None:
    guard.failures, guard.locked_until = 0, None
    guard.save(update_fields=["failures", "locked_until"])


def _register_failure(guard: LoginGuard, now: dt.datetime, what: str) -> str:
    """Count one failure of either factor; ``what`` says which one failed."""
    threshold = int(get_param("security.lockout_threshold"))
    minutes = int(get_param("security.lockout_minutes"))
    # A streak older than the lock window starts over.
    if guard.last_failure_at and now - guard.last_failure_at > dt.timedelta(minutes=minutes):
        guard.failures = 0
    guard.failures += 1
    guard.last_failure_at = now
    if guard.failures >= threshold:
        guard.locked_until = now + dt.timedelta(minutes=minutes)
        guard.failures = 0
        message = gettext(
            "%(what)s，已连续失败 %(n)s 次，账号锁定 %(m)s 分钟，请于 %(time)s 后重试"
        ) % {
            "what": what,
            "n": threshold,
            "m": minutes,
            "time": _local(guard.locked_until),
        }
        audit.record(
            "login.locked",
            object_type="system.user",
            object_repr=guard.username,
            result=AuditEvent.Result.FAILURE,
            message=message,
        )
    else:
        message = gettext("%(what)s，再失败 %(n)s 次账号将被锁定") % {
            "what": what,
            "n": threshold - guard.failures,
        }
    guard.save()
    return message


def _log(request, username: str, user: User | None, success: bool, message: str) -> None:
    from policywindow.core.requestctx import client_ip

    LoginLog.objects.create(
        username=username[:150],
        user=user,
        success=success,
        message=message[:200],
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:300],
    )


def totp_required(user: User) -> bool:
    return user.kind == User.Kind.STAFF and bool(get_param("security.totp_required"))


def second_factor_due(user: User) -> bool:
    """Whether sign-in continues to the authenticator step (a code, or binding one)."""
    return user.totp_confirmed or user.must_bind_totp or totp_required(user)


def verify_second_factor(
    request, user: User, code: str, *, accept_recovery_code: bool = True
) -> LoginOutcome:
    """One authenticator code (each accepted once) or one unused recovery code, counted
    against the same per-username lockout as the password and logged either way."""
    now = timezone.now()
    with transaction.atomic():
        guard = _locked_guard(user.username)
        message = _lock_message(guard, now)
        used = "" if message else _accept_totp(user, code, now)
        if not (message or used) and accept_recovery_code:
            used = _accept_recovery_code(user, code, now)
        if not used:
            message = message or _register_failure(guard, now, gettext("动态口令不正确"))
            _log(request, user.username, user, False, message)
            audit.record(
                "login.second_factor_failed",
                target=user,
                result=AuditEvent.Result.FAILURE,
                message=message,
            )
            return LoginOutcome(None, message)
        _clear_failures(guard)
    _log(request, user.username, user, True, used)
    return LoginOutcome(user, used)


def _accept_totp(user: User, code: str, now: dt.datetime) -> str:
    """Accept a code of the current step or one step either side, once: the step is stored
    by a conditional UPDATE, so the same code in a second session finds it taken."""
    code = code.strip()
    if not (user.totp_secret and code.isdigit() and len(code) == 6):
        return ""
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    steps = (current - 1, current, current + 1)
    step = next((s for s in steps if strings_equal(code, totp.generate_otp(s))), None)
    if step is None:
        return ""
    fresh = Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)
    if not User.objects.filter(fresh, pk=user.pk).update(totp_last_step=step):
        return ""  # replayed, or older than a code already used
    return "动态口令验证通过"


def _accept_recovery_code(user: User, code: str, now: dt.datetime) -> str:
    from .services.users import normalize_recovery_code, recovery_code_hash

    code = normalize_recovery_code(code)
    if not code.isalnum():
        return ""
    spent = RecoveryCode.objects.filter(
        user=user, code_hash=recovery_code_hash(user, code), used_at=None
    ).update(used_at=now)
    if not spent:
        return ""
    left = RecoveryCode.objects.filter(user=user, used_at=None).count()
    audit.record(
        "user.recovery_code_used", actor=user, target=user, message=f"使用恢复码，剩余 {left} 个"
    )
    return f"使用恢复码通过验证（剩余 {left} 个）"


def password_expired(user: User, expiry_days: object = None) -> bool:
    """``expiry_days``: the parameter's value when the caller read it already."""
    if expiry_days is None:
        expiry_days = get_param("security.password_expiry_days")
    days = int(expiry_days)
    return days > 0 and timezone.now() - user.password_changed_at > dt.timedelta(days=days)


def password_change_owed(user: User, expiry_days: object = None) -> bool:
    """First sign-in, an administrator's reset or an expired password: change it first."""
    return user.must_change_password or password_expired(user, expiry_days)
