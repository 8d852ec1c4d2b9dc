"""Error pages and the health check. Nothing here ever shows a traceback."""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import Resolver404
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache

from .access import public
from .denials import record_denial

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "数据库暂时不可用，请稍后重试。已经提交成功的数据不会丢失。"


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def error_response(
    request: HttpRequest, status: int, code: str, message: str, details: dict | None = None
) -> HttpResponse:
    if wants_json(request):
        body = {"code": code, "message": message, "details": details or {}}
        response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        response = render(
            request,
            "error.html",
            {"status": status, "message": message, "code": code},
            status=status,
        )
    if status == 503:
        response["Retry-After"] = "10"
    return response


def is_connection_error(exc: BaseException | None) -> bool:
    """Whether the database was unreachable: the error itself, or an error it led to (a lost
    connection surfacing as another exception while a transaction was being cleaned up)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if _lost_connection(exc):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _lost_connection(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    markers = (
        "connection",
        "could not connect",
        "server closed",
        "terminating",
        "the database system is",
        "unable to open database",
        "timeout expired",
    )
    return any(m in text for m in markers)


def handler400(request, exception=None):
    return error_response(request, 400, "bad_request", "请求格式不正确。")


def handler403(request, exception=None):
    record_denial(request, f"403 {str(exception or '') or '无权访问'}")
    return error_response(request, 403, "permission_denied", "您没有权限访问该页面或执行该操作。")


def handler404(request, exception=None):
    # An object a signed-in user may not see answers 404 like a missing one: both are logged,
    # as in the API. A URL that matches no page (Resolver404) is not an object guess.
    signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
    if signed_in and not isinstance(exception, Resolver404):
        record_denial(request, "404 对象不存在或不在数据范围内")
    return error_response(request, 404, "not_found", "您访问的页面不存在或已被删除。")


def handler500(request):
    exc = sys.exc_info()[1]
    if is_connection_error(exc):
        log.warning("database unavailable: %s", exc)
        return error_response(request, 503, "service_unavailable", UNAVAILABLE_MESSAGE)
    return error_response(
        request, 500, "server_error", "系统内部错误，已记录日志。请稍后重试或联系系统管理员。"
    )


@public
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("health check: database unreachable: %s", exc)
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable", "message": UNAVAILABLE_MESSAGE},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    return JsonResponse({"status": "ok", "database": "ok"})


@public
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico`` for browsers and tools that ask for it without reading a page's icon
    links: a temporary redirect, so a new icon (a new hashed name in production) is found."""
    response = redirect(static("policywindow/favicon.ico"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response
