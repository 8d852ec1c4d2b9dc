"""在线用户: signed-in sessions within the viewer's data scope; 强制退出 ends one."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError

from ..models import UserSession
from ..selectors_logs import describe_user_agent, online_sessions
from ..services import rbac

PAGE_SIZE = 20


def session_ref(session_key: str) -> str:
    """What pages show instead of the session key, which would let its reader take the session over."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


@permission("security:online:list")
def online_list(request):
    q = request.GET.get("q", "").strip()
    sessions = online_sessions(request.user, q=q)
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.ref = session_ref(row.session_key)
        row.is_current = row.session_key == request.session.session_key
        row.browser = describe_user_agent(row.user_agent)
    context = {
        "page": page,
        "filters": request.GET,
        "querystring": urlencode({"q": q}) if q else "",
    }
    return render(request, "system/online_list.html", context)


def _find_session(request, user_id: int, ref: str) -> UserSession:
    for session in online_sessions(request.user).filter(user_id=user_id):
        if session_ref(session.session_key) == ref:
            return session
    raise Http404("会话不存在或已结束")


@require_POST
@permission("security:online:kick")
def online_kick(request, user_id: int, ref: str):
    session = _find_session(request, user_id, ref)
    try:
        rbac.kick_session(request.user, session, current_key=request.session.session_key)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已强制退出 {session.user} 的会话")
    return redirect("system:online_list")


urlpatterns = [
    path("system/online/", online_list, name="online_list"),
    path("system/online/<int:user_id>/<str:ref>/kick/", online_kick, name="online_kick"),
]
