"""``Idempotency-Key`` for creating POSTs (DESIGN.md §7): a retry returns the first result.

The first request with a key inserts an ``IdempotencyRecord`` and runs the
operation in the same transaction, then stores the response in that row. A
concurrent duplicate blocks on the row's unique (user, key) constraint until the
first commits, then replays the stored response; if the first failed and rolled
back, the duplicate runs instead. A key reused with a different request is a
409 ``idempotency_key_reused``. Errors are not stored: they roll back with the
operation, so retrying a refused request asks again.

Only for operations that require a signed-in user, and never for responses that
carry a secret (the stored body is kept in the database).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback

from policywindow.core.errors import Conflict, ValidationFailed

from .models import IdempotencyRecord
from .rendering import CONTENT_TYPE, render_result

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


def idempotent(view: Callable) -> Callable:
    """Decorate an operation (below its access declaration) that creates something."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        def produce() -> HttpResponse:
            return render_result(request, view(request, *args, **kwargs))

        key = request.headers.get(KEY_HEADER)
        if key is None:
            return produce()
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationFailed(
                "幂等键格式不正确",
                details={KEY_HEADER: ["幂等键须为 1 至 255 个可见 ASCII 字符（建议使用 UUID）"]},
            )
        return _run_once(request, key, produce)

    contribute_operation_callback(wrapper, _document_key_header)
    return wrapper


def _document_key_header(operation: Operation) -> None:
    """List the header in the OpenAPI document of the operation."""
    header = {
        "in": "header",
        "name": KEY_HEADER,
        "required": False,
        "schema": {"type": "string", "maxLength": 255},
        "description": "幂等键（建议 UUID）。相同键与相同请求重试时返回首次结果，"
        f"响应头 {REPLAYED_HEADER}: true；相同键用于不同请求返回 409。",
    }
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), header]
    operation.openapi_extra = extra


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 of the body; JSON is canonicalised so key order and spacing do not matter, and
    multipart by its fields and files (a retry's boundary differs: its content does not)."""
    if request.content_type == "multipart/form-data":
        return _multipart_fingerprint(request)
    try:
        canonical = json.dumps(
            json.loads(request.body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except ValueError:
        canonical = request.body
    return hashlib.sha256(canonical).hexdigest()


def _multipart_fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for name, values in sorted(request.POST.lists()):
        digest.update(json.dumps([name, values], ensure_ascii=False).encode("utf-8"))
    for field, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            content = hashlib.sha256()
            for chunk in upload.chunks():
                content.update(chunk)
            upload.seek(0)
            digest.update(json.dumps([field, upload.name, content.hexdigest()]).encode("utf-8"))
    return digest.hexdigest()


def _run_once(request: HttpRequest, key: str, produce: Callable[[], HttpResponse]) -> HttpResponse:
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        record = _claim(request, key, fingerprint)
        if record.response_status is not None:
            return _replay(request, record, fingerprint)
        response = produce()
        record.response_status = response.status_code
        record.response_body = response.content.decode("utf-8")
        record.save(update_fields=["response_status", "response_body"])
        return response


def _claim(request: HttpRequest, key: str, fingerprint: str) -> IdempotencyRecord:
    """Insert the key's row, or — once a concurrent holder has committed — read theirs."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=request.auth,
                key=key,
                method=request.method,
                path=request.get_full_path()[:500],
                request_hash=fingerprint,
            )
    except IntegrityError:
        return IdempotencyRecord.objects.get(user=request.auth, key=key)


def _replay(request: HttpRequest, record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    same_request = (record.method, record.path, record.request_hash) == (
        request.method,
        request.get_full_path()[:500],
        fingerprint,
    )
    if not same_request:
        raise Conflict(
            "该幂等键已用于另一个内容不同的请求，新的请求请使用新的幂等键",
            code="idempotency_key_reused",
            details={KEY_HEADER: record.key},
        )
    response = HttpResponse(
        record.response_body, status=record.response_status, content_type=CONTENT_TYPE
    )
    response[REPLAYED_HEADER] = "true"
    return response
