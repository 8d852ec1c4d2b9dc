"""How the API writes JSON: UTF-8 Chinese as is, Django's encoder for dates and decimals."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from ninja.renderers import JSONRenderer
from ninja.responses import Status
from pydantic import BaseModel


class ApiRenderer(JSONRenderer):
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
