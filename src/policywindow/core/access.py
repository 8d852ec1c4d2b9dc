"""Access declarations: the one place where "who may reach this" is decided.

Every URL's view declares its access with one of the decorators below;
``AccessControlMiddleware`` enforces the declaration and denies any view that
declares nothing. API operations declare theirs with ``api.security.require``.
It lives in the kernel because every app, the kernel's own pages too, declares with it; a user
only has to answer ``is_authenticated`` and ``has_permission_code`` (``system.models.User``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from .errors import PermissionDenied

PUBLIC = "public"
AUTHENTICATED = "authenticated"
PERMISSION = "permission"
DELEGATED = "delegated"


@dataclass(frozen=True)
class Access:
    kind: str
    code: str = ""
    # Reachable before the password change / second factor the session still owes.
    during_login: bool = False

    def describe(self) -> str:
        return self.code or self.kind


def _declare(access: Access) -> Callable:
    def decorate(view: Callable) -> Callable:
        view.access = access
        return view

    return decorate


def public(view: Callable) -> Callable:
    """Anyone, signed in or not (public pages, health check, login)."""
    return _declare(Access(PUBLIC))(view)


def authenticated(view: Callable | None = None, *, during_login: bool = False) -> Callable:
    """Any signed-in user (their own profile, password, sessions)."""
    decorate = _declare(Access(AUTHENTICATED, during_login=during_login))
    return decorate(view) if view is not None else decorate


def permission(code: str) -> Callable:
    """A signed-in user whose roles grant the permission code, e.g. ``system:user:create``."""
    return _declare(Access(PERMISSION, code))


def delegated(reason: str) -> Callable:
    """Checked per operation by the layer behind it (the REST API)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            return view(*args, **kwargs)

        wrapper.access = Access(DELEGATED, reason)
        return wrapper

    return decorate


def access_of(view: Callable) -> Access | None:
    view_class = getattr(view, "view_class", None)
    return getattr(view, "access", None) or getattr(view_class, "access", None)


def is_allowed(user: Any, access: Access) -> bool:
    if access.kind in (PUBLIC, DELEGATED):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if access.kind == AUTHENTICATED:
        return True
    if access.kind == PERMISSION:
        return user.has_permission_code(access.code)
    return False


def require_permission(user: Any, code: str) -> None:
    """For services and views that need a second check inside one page (e.g. a button)."""
    if not (getattr(user, "is_authenticated", False) and user.has_permission_code(code)):
        raise PermissionDenied(f"您没有该操作的权限（{code}）")
