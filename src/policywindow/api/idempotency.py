"""``Idempotency-Key`` for creating POSTs (DESIGN.md §7): a retry returns the first result.

A request with a key runs its operation in one durable transaction and, at its end, records the
response with one ``INSERT … ON CONFLICT DO NOTHING`` on the unique (user, key): a first request
costs that one statement. When the key is taken already — by an earlier request, or by a
concurrent one that commits while this INSERT waits for it — nothing of this run is kept (it
rolls back) and the stored response is replayed. An operation that fails on a retry (a draft
submitted already cannot be submitted again; a concurrent duplicate's unique row committed
first) replays the stored response in the same way; a failure with no stored response is the
answer (one SELECT, on failures only). A key reused with a different request is a 409
``idempotency_key_reused``. Errors are not stored: they roll back with the operation, so
retrying a refused request asks again.

A request that carries files looks its key up first (one SELECT more): its files are stored
outside the database, where a replay's rollback could not take them back. (Two such requests at
the same instant may still both store theirs; the second's rows roll back and its files are left
unreferenced.) An operation declared with ``prepares=True`` does what needs no transaction —
checking and storing uploaded files — before the transaction opens, and returns the operation
to run inside it.

Only for operations that require a signed-in user, and never for responses that carry a secret
(the stored body is kept in the database).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import cache, partial, wraps
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.system.identity import fetch_one

from .models import IdempotencyRecord
from .rendering import CONTENT_TYPE, render_result

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
PATH_LENGTH = 500
STORED_GONE = "该幂等键的首次结果已过保存期限，新的请求请使用新的幂等键"


class _KeyTaken(Exception):
    """The key was recorded by another request: roll this run back and replay that one."""


def idempotent(view: Callable | None = None, *, prepares: bool = False) -> Callable:
    """Decorate an operation (below its access declaration) that creates something.

    ``prepares``: the view runs first, outside the transaction, and returns a function that
    does the rest inside it (and returns the operation's result)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = _key_of(request)
            fingerprint = request_fingerprint(request) if key is not None else ""
            if key is not None and request.FILES and (stored := _stored(request, key)):
                return _replay(request, stored, fingerprint)
            run = (
                view(request, *args, **kwargs)
                if prepares
                else partial(view, request, *args, **kwargs)
            )

            def produce() -> HttpResponse:
                return render_result(request, run())

            return produce() if key is None else _run_once(request, key, fingerprint, produce)

        contribute_operation_callback(wrapper, _document_key_header)
        return wrapper

    return decorate(view) if view is not None else decorate


def _key_of(request: HttpRequest) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key is not None and not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed(
            "幂等键格式不正确",
            details={KEY_HEADER: ["幂等键须为 1 至 255 个可见 ASCII 字符（建议使用 UUID）"]},
        )
    return key


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


def _run_once(
    request: HttpRequest, key: str, fingerprint: str, produce: Callable[[], HttpResponse]
) -> HttpResponse:
    try:
        # Durable: the request's whole transaction; services join it without savepoints.
        with transaction.atomic(durable=True):
            response = produce()
            if not _record(request, key, fingerprint, response):
                raise _KeyTaken
            return response
    except _KeyTaken:
        stored = _stored(request, key)
        if stored is None:  # the first request's record was swept (api.tasks) in between
            raise Conflict(STORED_GONE, code="idempotency_key_expired") from None
    except Exception:
        # A retry of a request that succeeded may fail for that very reason: then it replays.
        if (stored := _stored(request, key)) is None:
            raise
    return _replay(request, stored, fingerprint)


def _record(request: HttpRequest, key: str, fingerprint: str, response: HttpResponse) -> bool:
    """Store the response under the key; False when the key is taken (one statement)."""
    row = fetch_one(
        _record_sql(connection.vendor),
        [
            request.auth.pk,
            key,
            request.method,
            request.get_full_path()[:PATH_LENGTH],
            fingerprint,
            response.status_code,
            response.content.decode("utf-8"),
            connection.ops.adapt_datetimefield_value(timezone.now()),
        ],
    )
    return row is not None


@cache
def _record_sql(vendor: str) -> str:
    """Hand-written: the ORM's ``bulk_create(ignore_conflicts=True)`` does not say whether the
    row went in, and ``create()`` would need a savepoint to survive the conflict."""
    qn = connection.ops.quote_name
    meta = IdempotencyRecord._meta
    names = ("user", "key", "method", "path", "request_hash", "response_status")
    columns = [meta.get_field(name).column for name in (*names, "response_body", "created_at")]
    unique = ", ".join(qn(meta.get_field(name).column) for name in ("user", "key"))
    return (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in columns)})"  # noqa: S608 - names from the model
        f" VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({unique}) DO NOTHING RETURNING {qn(meta.pk.column)}"
    )


def _stored(request: HttpRequest, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(user=request.auth, key=key).first()


def _replay(request: HttpRequest, record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    same_request = (record.method, record.path, record.request_hash) == (
        request.method,
        request.get_full_path()[:PATH_LENGTH],
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
