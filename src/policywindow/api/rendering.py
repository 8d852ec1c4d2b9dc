"""How the API writes JSON: UTF-8 Chinese as is, Django's encoder for dates and decimals, and
every time in Beijing time with ``+08:00`` (the database hands back UTC, which Django's encoder
writes as ``Z``: one response would mix both)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder, Status
from pydantic import BaseModel

BEIJING = ZoneInfo("Asia/Shanghai")


class ApiEncoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = o.astimezone(BEIJING)
        return super().default(o)


class ApiRenderer(JSONRenderer):
    encoder_class = ApiEncoder
    json_dumps_params = {"ensure_ascii": False}


renderer = ApiRenderer()
CONTENT_TYPE = f"{renderer.media_type}; charset={renderer.charset}"


def render_result(request: Any, result: Any) -> HttpResponse:
    """Turn an operation's result (a schema, or ``Status(code, schema)``) into a response."""
    status, value = (
        (result.status_code, result.value) if isinstance(result, Status) else (200, result)
    )
    data = value.model_dump() if isinstance(value, BaseModel) else value
    content = renderer.render(request, data, response_status=status)
    return HttpResponse(content, status=status, content_type=CONTENT_TYPE)
