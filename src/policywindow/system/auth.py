"""Sign-in: password check with per-username lockout, login log and second factor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .models import LoginGuard, LoginLog, User
from .params import get_param


class PolicyWindowBackend(ModelBackend):
    """Django's model backend; disabled users never authenticate."""

    def user_can_authenticate(self, user) -> bool:
        return bool(user.is_active)


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

    username = username.strip()
    now = timezone.now()
    with transaction.atomic():
        guard, _ = LoginGuard.objects.select_for_update().get_or_create(username=username)
        if guard.locked_until and guard.locked_until > now:
            message = gettext("连续登录失败次数过多，账号已锁定，请于 %(time)s 后重试") % {
                "time": _local(guard.locked_until)
            }
            _log(request, username, None, False, message)
            return LoginOutcome(None, message)
        user = authenticate(request, username=username, password=password)
        if user is None:
            message = _register_failure(guard, now)
            _log(request, username, None, False, message)
            return LoginOutcome(None, message)
        guard.failures, guard.locked_until = 0, None
        guard.save(update_fields=["failures", "locked_until"])
    _log(request, username, user, True, "登录成功")
    return LoginOutcome(user, gettext("登录成功"))


def _register_failure(guard: LoginGuard, now: dt.datetime) -> str:
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
            "用户名或密码错误，已连续失败 %(n)s 次，账号锁定 %(m)s 分钟，请于 %(time)s 后重试"
        ) % {
            "n": threshold,
            "m": minutes,
            "time": _local(guard.locked_until),
        }
    else:
        message = gettext("用户名或密码错误，再失败 %(n)s 次账号将被锁定") % {
            "n": threshold - guard.failures
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


def log_login_event(request, user: User, success: bool, message: str) -> None:
    _log(request, user.username, user, success, message)


def totp_required(user: User) -> bool:
    return user.kind == User.Kind.STAFF and bool(get_param("security.totp_required"))


def verify_totp(user: User, code: str) -> bool:
    if not user.totp_secret:
        return False
    return pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1)


def password_expired(user: User) -> bool:
    days = int(get_param("security.password_expiry_days"))
    return days > 0 and timezone.now() - user.password_changed_at > dt.timedelta(days=days)
