"""Sign-in, second factor, password change, sign-out."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from policywindow.core.access import authenticated, public
from policywindow.core.errors import ValidationFailed

from ..auth import attempt_login, second_factor_due, verify_second_factor
from ..forms import LoginForm, PasswordChangeForm, TotpForm
from ..models import User
from ..services import users as services
from ..sessions import forget_session, record_session

PENDING_USER_KEY = "pw_pending_user"
PENDING_NEXT_KEY = "pw_pending_next"


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}):
        return candidate
    return "/"


def _sign_in(request, user: User) -> None:
    login(request, user, backend="policywindow.system.auth.PolicyWindowBackend")
    record_session(request, user)


def _complete_login(request, user: User, next_url: str):
    _sign_in(request, user)
    return redirect(next_url)


@public
def login_view(request):
    if request.user.is_authenticated:
        return redirect("system:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = attempt_login(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if not outcome.ok:
            form.add_error(None, outcome.message)
        else:
            next_url = _safe_next(request, request.GET.get("next"))
            user = outcome.user
            if second_factor_due(user):
                request.session.cycle_key()
                request.session[PENDING_USER_KEY] = user.pk
                request.session[PENDING_NEXT_KEY] = next_url
                return redirect("system:login_totp")
            return _complete_login(request, user, next_url)
    return render(request, "system/login.html", {"form": form})


def _pending_user(request) -> User | None:
    user_id = request.session.get(PENDING_USER_KEY)
    return User.objects.filter(pk=user_id, is_active=True).first() if user_id else None


def enrolment_context(user: User) -> dict:
    """The QR code and the secret an authenticator app is set up from."""
    import pyotp

    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name="政策兑现单一窗口"
    )
    return {"qr_svg": segno.make(uri, error="m").svg_inline(scale=4), "secret": user.totp_secret}


@public
def login_totp(request):
    """Second step: a TOTP code or a recovery code, or binding an authenticator first."""
    user = _pending_user(request)
    if user is None:
        return redirect("system:login")
    enrolling = not user.totp_confirmed
    if enrolling and not user.totp_secret:
        services.start_totp_enrolment(user)
    form = TotpForm(request.POST or None, recovery=not enrolling)
    if request.method == "POST" and form.is_valid():
        outcome = verify_second_factor(
            request, user, form.cleaned_data["code"], accept_recovery_code=not enrolling
        )
        if not outcome.ok:
            form.add_error("code", outcome.message)
        else:
            next_url = request.session.pop(PENDING_NEXT_KEY, "/")
            request.session.pop(PENDING_USER_KEY, None)
            if not enrolling:
                return _complete_login(request, user, next_url)
            codes = services.confirm_totp(user)
            _sign_in(request, user)  # the codes are shown once, on this signed-in page
            return render(
                request,
                "system/recovery_codes.html",
                {"codes": codes, "next_url": next_url, "just_bound": True},
            )
    context = {"form": form, "enrolling": enrolling, "pending": user}
    if enrolling:
        context.update(enrolment_context(user))
    return render(request, "system/login_totp.html", context)


@require_POST
@authenticated(during_login=True)
def logout_view(request):
    forget_session(request.session.session_key)
    logout(request)
    messages.success(request, "您已安全退出")
    return redirect("system:login")


@authenticated(during_login=True)
def password_change(request):
    user = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_own_password(
                user,
                form.cleaned_data["old_password"],
                form.cleaned_data["new_password"],
                keep_session=request.session.session_key,
            )
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request, user)
            messages.success(request, "密码已修改，其他设备上的登录已全部退出")
            return redirect("system:home")
    from ..auth import password_expired

    reason = ""
    if user.must_change_password:
        reason = "首次登录或密码被重置，请先设置新密码后再继续使用系统。"
    elif password_expired(user):
        reason = "您的密码已过期，请设置新密码后再继续使用系统。"
    return render(request, "system/password_change.html", {"form": form, "reason": reason})


urlpatterns = [
    path("login/", login_view, name="login"),
    path("login/totp/", login_totp, name="login_totp"),
    path("logout/", logout_view, name="logout"),
    path("account/password/", password_change, name="password_change"),
]
