"""Cross-cutting middleware of the shared kernel."""

from __future__ import annotations

from .requestctx import client_ip, reset_current_ip, set_current_ip


class RequestContextMiddleware:
    """Remember the client address so audit events written deep in services carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_current_ip(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            reset_current_ip(token)
