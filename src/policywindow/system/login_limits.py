"""Sign-in attempts per client address, whatever the username: a defence against password
spraying (one address trying a few passwords on many accounts), beside the per-username lockout.

The count is the shared rate limiter's (Redis or the database), so it holds across all server
processes and the address is the trusted one (``client_ip``), not a header the client chose.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext

from policywindow.core import ratelimit
from policywindow.core.requestctx import client_ip

from .params import get_param

WINDOW_SECONDS = 60


def address_over_login_limit(request: HttpRequest) -> bool:
    """Count one sign-in attempt from the request's address; True once over the limit."""
    limit = int(get_param("security.login_attempts_per_address"))
    key = f"login:addr:{ratelimit.address_key(client_ip(request))}"
    return ratelimit.over_limit(key, limit, WINDOW_SECONDS)


def address_limit_message() -> str:
    return gettext("该地址登录尝试过于频繁，请 1 分钟后再试")
