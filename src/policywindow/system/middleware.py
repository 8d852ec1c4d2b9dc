"""Session security and access control, applied to every request."""

from __future__ import annotations

import logging
import time

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from policywindow.core.access import AUTHENTICATED, PERMISSION, access_of, is_allowed
from policywindow.core.denials import record_denial
from policywindow.core.views import error_response

from .auth import MUST_CHANGE_CODE, MUST_CHANGE_MESSAGE, password_change_owed
from .params import get_param, read_once_per_request
from .sessions import forget_session, touch_session

log = logging.getLogger(__name__)

LAST_SEEN_KEY = "pw_last_seen"
TOUCH_EVERY_SECONDS = 60


class SessionSecurityMiddleware:
    """Ends idle sessions and sessions an administrator ended; records activity. The system
    parameters are read once for everything from here on (``params.read_once_per_request``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with read_once_per_request():
            return self._handle(request)

    def _handle(self, request):
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            idle_limit = int(get_param("security.session_idle_minutes")) * 60
            if now - last_seen > idle_limit:
                forget_session(request.session.session_key)
                logout(request)
                messages.info(request, "长时间未操作，会话已结束，请重新登录")
            elif now - last_seen >= TOUCH_EVERY_SECONDS or LAST_SEEN_KEY not in request.session:
                request.session[LAST_SEEN_KEY] = now
                touch_session(request)
        return self.get_response(request)


class AccessControlMiddleware:
    """Deny by default: a view must declare who may reach it (see ``access.py``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        access = access_of(view_func)
        if access is None:
            log.error(
                "view %s declares no access; denied", getattr(view_func, "__name__", view_func)
            )
            return error_response(
                request, 403, "permission_denied", "该页面未声明访问权限，已拒绝访问。"
            )
        user = request.user
        if access.kind in (AUTHENTICATED, PERMISSION) and not user.is_authenticated:
            if request.path.startswith("/api/"):
                return error_response(request, 401, "not_authenticated", "请先登录")
            return redirect(f"{reverse('system:login')}?next={request.get_full_path()}")
        owes_password = user.is_authenticated and password_change_owed(user)
        if owes_password and not access.during_login:
            if request.path.startswith("/api/"):
                return error_response(request, 403, MUST_CHANGE_CODE, MUST_CHANGE_MESSAGE)
            return redirect("system:password_change")
        if not is_allowed(user, access):
            name = _permission_name(access.code)
            record_denial(request, f"需要“{name}”权限（{access.code}）")
            return error_response(
                request, 403, "permission_denied", f"您没有权限访问该页面（需要“{name}”权限）"
            )
        return None


def _permission_name(code: str) -> str:
    """The menu or button name users know, instead of the code."""
    from .models import Menu

    name = Menu.objects.filter(permission=code).values_list("name", flat=True).first()
    return name or code
