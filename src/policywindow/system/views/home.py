"""The workbench home and the user's own pages (profile, sessions)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from policywindow.core import calendar, heartbeat
from policywindow.core.access import authenticated

from ..models import UserSession
from ..params import get_param
from ..sessions import end_session


@authenticated
def home(request):
    if request.user.is_enterprise and request.user.has_permission_code("portal:space:view"):
        return redirect("space:index")  # an enterprise user's home is its 法人空间
    context = {
        "notice": get_param("general.site_notice"),
        "calendar_warning": ""
        if request.user.is_enterprise
        else calendar.coverage_warning(timezone.localdate()),
        "worker_warning": heartbeat.stale_warning()
        if request.user.has_permission_code(heartbeat.PERMISSION)
        else "",
        "roles": request.user.roles.all(),
        "session_count": UserSession.objects.filter(user=request.user).count(),
    }
    return render(request, "system/home.html", context)


@authenticated
def profile(request):
    return render(
        request,
        "system/profile.html",
        {"roles": request.user.roles.all(), "posts": request.user.posts.all()},
    )


@authenticated(during_login=True)
def my_sessions(request):
    sessions = UserSession.objects.filter(user=request.user)
    return render(
        request,
        "system/my_sessions.html",
        {"sessions": sessions, "current": request.session.session_key},
    )


@require_POST
@authenticated(during_login=True)
def end_my_session(request, session_key: str):
    if not UserSession.objects.filter(user=request.user, session_key=session_key).exists():
        messages.error(request, "会话不存在或已结束")
    elif session_key == request.session.session_key:
        messages.error(request, "当前会话请使用“退出登录”结束")
    else:
        end_session(session_key)
        messages.success(request, "已结束该会话")
    return redirect("system:my_sessions")


urlpatterns = [
    path("", home, name="home"),
    path("account/profile/", profile, name="profile"),
    path("account/sessions/", my_sessions, name="my_sessions"),
    path("account/sessions/<str:session_key>/end/", end_my_session, name="end_my_session"),
]
