"""Who may call each API operation — declared once per operation, denied by default.

Every operation carries exactly one declaration, written under the route::

    @router.get("/users", response=...)
    @require("system:user:list")        # roles must grant this permission code
    def list_users(request): ...

    @authenticated                      # any signed-in user or valid token
    @public                             # anyone

The declaration is the same ``Access`` the pages use (``policywindow.core.access``)
and is decided by the same ``is_allowed``. It also chooses the operation's
authentication: a browser session (CSRF checked on unsafe methods) or a personal
access token (``Authorization: Bearer <token>``). An operation that declares
nothing is refused by ``deny_undeclared``, which ``root.py`` installs API-wide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from ninja.operation import Operation
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf, contribute_operation_callback

from policywindow.core import access as page_access
from policywindow.core.access import PUBLIC, Access, access_of, is_allowed
from policywindow.core.errors import PermissionDenied

from .errors import NotAuthenticated
from .services import user_for_token

log = logging.getLogger(__name__)


class _AccessCheck:
    """After authentication: the operation's declaration decides, as for pages."""

    access: Access

    def admit(self, request: HttpRequest, user: Any) -> Any:
        request.user = user  # also when refused: the security event names who was refused
        if not is_allowed(user, self.access):
            raise PermissionDenied(f"您没有该操作的权限（需要权限：{self.access.describe()}）")
        return user


class BearerTokenAuth(_AccessCheck, HttpBearer):
    """``Authorization: Bearer <token>`` with a personal access token (integrations)."""

    def __init__(self, access: Access) -> None:
        self.access = access
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            # A presented but unusable token is an answer, not a reason to try the session.
            raise NotAuthenticated("访问令牌无效、已过期或已被撤销")
        return self.admit(request, user)


class SessionAuth(_AccessCheck, APIKeyCookie):
    """The browser's signed-in session; unsafe methods must carry the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, access: Access) -> None:
        self.access = access
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in ``authenticate`` once we know there is a session to protect.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise PermissionDenied(
                "CSRF 校验失败，请刷新页面后重试（请求头须携带 X-CSRFToken）",
                code="csrf_failed",
            )
        return self.admit(request, user)


def _bind_auth(operation: Operation, *, access: Access, session_only: bool) -> None:
    """Called by django-ninja when the operation is built: pick its authentication."""
    if access.kind == PUBLIC:
        callbacks: list = []
    elif session_only:
        callbacks = [SessionAuth(access)]
    else:
        callbacks = [BearerTokenAuth(access), SessionAuth(access)]
    operation.auth_param = callbacks or None
    operation.auth_callbacks = callbacks


def _declared(view: Callable, *, session_only: bool = False) -> Callable:
    if hasattr(view, "_ninja_operation"):
        # Above the route decorator the operation is already built and would skip authentication.
        raise ImproperlyConfigured(
            f"{view.__name__}: write the access declaration below @router.<method>"
        )
    access = access_of(view)
    contribute_operation_callback(
        view, partial(_bind_auth, access=access, session_only=session_only)
    )
    return view


def require(code: str) -> Callable[[Callable], Callable]:
    """Signed in (session or token) and granted the permission code by a role."""

    def decorate(view: Callable) -> Callable:
        return _declared(page_access.permission(code)(view))

    return decorate


def authenticated(
    view: Callable | None = None, *, session_only: bool = False
) -> Callable[[Callable], Callable] | Callable:
    """Any signed-in user; ``session_only`` refuses access tokens (e.g. to mint new tokens)."""

    def decorate(target: Callable) -> Callable:
        return _declared(page_access.authenticated(target), session_only=session_only)

    return decorate(view) if view is not None else decorate


def public(view: Callable) -> Callable:
    """Anyone, without signing in."""
    return _declared(page_access.public(view))


def deny_undeclared(view: Callable) -> Callable:
    """API-wide decorator: an operation without a declaration always answers 403."""
    if access_of(view) is not None:
        return view

    @wraps(view)
    def denied(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        log.error("API operation %s declares no access; denied", view.__name__)
        raise PermissionDenied("该接口未声明访问权限，已拒绝访问")

    return denied
