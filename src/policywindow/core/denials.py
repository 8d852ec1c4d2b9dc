"""Refused requests as security events (等保: 越权访问 must be traceable), without a log flood.

Pages and the API call ``record_denial`` when they refuse a request (403) or answer a signed-in
caller that an object does not exist for them (404). Each user — or, before sign-in, each
client address — gets at most ``LOGGED_PER_WINDOW`` full ``access.denied`` events per window.
The next refusal in that window writes one event saying that the rest are only counted, and
the first refusal of a later window writes one summary with how many were not logged. The
count is the shared rate limiter's, so it holds across all server processes.
"""

from __future__ import annotations

from django.http import HttpRequest

from . import audit, ratelimit
from .models import AuditEvent
from .requestctx import client_ip

ACTION = "access.denied"
LOGGED_PER_WINDOW = 20
WINDOW_SECONDS = 60


def record_denial(request: HttpRequest, message: str) -> None:
    """Log one refused request (``message`` says what was refused), within the subject's quota."""
    user = getattr(request, "user", None)
    signed_in = getattr(user, "is_authenticated", False)
    count = ratelimit.hit(_subject(request, user if signed_in else None), WINDOW_SECONDS)
    if count.before > LOGGED_PER_WINDOW:
        _write(request, user, _summary_message(count.before))
    if count.hits <= LOGGED_PER_WINDOW:
        _write(request, user, f"{request.method} {request.path}：{message}")
    elif count.hits == LOGGED_PER_WINDOW + 1:
        _write(request, user, _flood_message())


def _subject(request: HttpRequest, user) -> str:
    if user is not None:
        return f"denial:user:{user.pk}"
    return f"denial:addr:{ratelimit.address_key(client_ip(request))}"


def _write(request: HttpRequest, user, message: str) -> None:
    audit.record(
        ACTION,
        actor=user,
        object_type="url",
        object_id=request.path[:64],
        object_repr=request.path,
        result=AuditEvent.Result.FAILURE,
        message=message,
    )


def _flood_message() -> str:
    return (
        f"越权访问过于频繁：{WINDOW_SECONDS} 秒内已记录 {LOGGED_PER_WINDOW} 次，"
        "本时段其余拒绝只计数、不逐条记录，汇总在下次记录时写入"
    )


def _summary_message(hits: int) -> str:
    return (
        f"越权访问汇总：上一记录时段（{WINDOW_SECONDS} 秒）内共拒绝 {hits} 次，"
        f"其中 {hits - LOGGED_PER_WINDOW} 次未逐条记录"
    )
