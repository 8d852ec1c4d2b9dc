"""One error body for the whole API: ``{"code", "message", "details"}`` in Chinese.

``install`` replaces django-ninja's default handlers. Every kind of failure —
bad input, domain rules, authentication, permission, missing objects, wrong
method, an unreachable database, a bug — leaves the API in this one shape,
through the same ``error_response`` the pages use. Refusals (403, and 404 to a signed-in
caller) are logged as ``access.denied`` security events like the pages' (core/denials.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from policywindow.core.denials import record_denial
from policywindow.core.errors import DomainError
from policywindow.core.views import UNAVAILABLE_MESSAGE, error_response, is_connection_error

log = logging.getLogger(__name__)

VALIDATION_MESSAGE = "提交的数据有误，请按提示修改"
MALFORMED_UPLOAD_MESSAGE = (
    "上传请求格式不正确：multipart/form-data 请求须带有效的 boundary，文件放在 files 字段中"
)
TOO_LARGE_MESSAGE = "请求内容过大，请减少提交的数据或分批上传"
NUL_MESSAGE = "提交的内容含有空字符（\\u0000），请删除后重试"
NOT_AUTHENTICATED_MESSAGE = "请先登录，或在请求头 Authorization 中提供有效的访问令牌"
SERVER_ERROR_MESSAGE = "系统内部错误，已记录日志。请稍后重试或联系系统管理员。"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    http_status = 401


# HTTP status -> (code, message) for errors django-ninja raises itself.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确，请求体须为有效的 JSON"),
    401: ("not_authenticated", NOT_AUTHENTICATED_MESSAGE),
    403: ("permission_denied", "您没有权限执行该操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}

# pydantic error type -> Chinese message; ``{name}`` placeholders come from the error's ctx.
FIELD_MESSAGES: dict[str, str] = {
    "missing": "此项为必填项",
    "string_type": "请输入文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "请输入整数",
    "int_parsing": "请输入整数",
    "int_from_float": "请输入整数",
    "float_type": "请输入数字",
    "float_parsing": "请输入数字",
    "decimal_parsing": "请输入数字",
    "bool_type": "请输入 true 或 false",
    "bool_parsing": "请输入 true 或 false",
    "date_type": "请输入正确的日期，格式为 YYYY-MM-DD",
    "date_parsing": "请输入正确的日期，格式为 YYYY-MM-DD",
    "date_from_datetime_parsing": "请输入正确的日期，格式为 YYYY-MM-DD",
    "date_from_datetime_inexact": "请输入正确的日期，格式为 YYYY-MM-DD",
    "datetime_type": "请输入正确的时间（ISO 8601 格式）",
    "datetime_parsing": "请输入正确的时间（ISO 8601 格式）",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效，可选值：{expected}",
    "enum": "取值无效，可选值：{expected}",
    "list_type": "应为列表",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
}
FALLBACK_FIELD_MESSAGE = "输入不正确"


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "payload", "username")`` -> ``"username"``; ``("query", "days")`` -> ``"days"``."""
    source, *rest = loc
    if source == "body" and len(rest) > 1:
        rest = rest[1:]  # the operation's parameter that holds the whole body
    return ".".join(str(part) for part in rest) or str(source)


def field_message(error: dict[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our own validators raise ValueError with a Chinese message
    template = FIELD_MESSAGES.get(error["type"], FALLBACK_FIELD_MESSAGE)
    if "expected" in ctx:  # pydantic lists choices as "'a' or 'b'"
        ctx = {**ctx, "expected": str(ctx["expected"]).replace(" or ", "、")}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return FALLBACK_FIELD_MESSAGE


def validation_details(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for error in errors:
        details.setdefault(_field_name(tuple(error["loc"])), []).append(field_message(error))
    return details


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        request, 400, "validation_error", VALIDATION_MESSAGE, validation_details(exc.errors)
    )


def _model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A model's ``full_clean`` inside a service: same shape as any other bad input."""
    details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return error_response(request, 400, "validation_error", VALIDATION_MESSAGE, details)


def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    _log_refusal(request, exc.http_status, exc.message)
    return error_response(request, exc.http_status, exc.code, exc.message, exc.details)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message = HTTP_ERRORS.get(exc.status_code, ("error", str(exc)))
    _log_refusal(request, exc.status_code, message)
    return error_response(request, exc.status_code, code, message)


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    _log_refusal(request, 404, HTTP_ERRORS[404][1])
    return error_response(request, 404, *HTTP_ERRORS[404])


def _log_refusal(request: HttpRequest, status: int, message: str) -> None:
    """A 403, or a 404 to a signed-in caller (an object outside their scope, or a guess), is a
    security event as on the pages; an anonymous 404 (a wrong public status query) is not."""
    signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
    if status == 403 or (status == 404 and signed_in):
        record_denial(request, f"{status} {message}")


def _malformed_request(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A body Django cannot parse (multipart without boundary, too many fields): the client's
    mistake, not ours."""
    log.warning("malformed request body in %s %s: %s", request.method, request.path, exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(request, 413, "request_too_large", TOO_LARGE_MESSAGE)
    message = MALFORMED_UPLOAD_MESSAGE if isinstance(exc, MultiPartParserError) else None
    return error_response(request, 400, "bad_request", message or HTTP_ERRORS[400][1])


def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """PostgreSQL refuses NUL in text: a query or body carrying one is bad input, not a bug."""
    if "NUL" in str(exc):
        return error_response(request, 400, "bad_request", NUL_MESSAGE)
    return _unexpected(request, exc)


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if is_connection_error(exc):
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        return error_response(request, 503, "service_unavailable", UNAVAILABLE_MESSAGE)
    log.error("unexpected error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, "server_error", SERVER_ERROR_MESSAGE)


def install(api: NinjaAPI) -> None:
    """Replace django-ninja's default handlers (English text, 422, tracebacks in DEBUG)."""
    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        ValidationError: _validation_error,
        DjangoValidationError: _model_validation_error,
        DomainError: _domain_error,
        HttpError: _http_error,
        Http404: _not_found,
        MultiPartParserError: _malformed_request,
        SuspiciousOperation: _malformed_request,
        DataError: _data_error,
        Exception: _unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)


def json_method_not_allowed(view: Callable) -> Callable:
    """URL-level wrapper: django-ninja answers a wrong method with plain text; use our body."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(
                request, 405, *HTTP_ERRORS[405], details={"allowed_methods": allowed.split(", ")}
            )
            response["Allow"] = allowed
        return response

    return wrapper
