"""Who and where the current request comes from, for audit events written deep in services."""

from __future__ import annotations

from contextvars import ContextVar

_ip: ContextVar[str] = ContextVar("policywindow_request_ip", default="")


def client_ip(request) -> str:
    # Behind a trusted proxy the first X-Forwarded-For hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


def set_current_ip(ip: str):
    return _ip.set(ip)


def reset_current_ip(token) -> None:
    _ip.reset(token)


def current_ip() -> str:
    return _ip.get()
