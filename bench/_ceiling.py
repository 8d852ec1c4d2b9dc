"""Two ceilings served exactly like the product (issue 8): same gunicorn, settings, middleware.

``GET /bench/ceiling/json`` answers a fixed JSON body without touching the database;
``POST /bench/ceiling/insert`` inserts one row in a transaction (PostgreSQL commit included).
The product's own URLs are included unchanged; every benchmark server uses this URLconf
(``bench._server_settings``), so the ceilings are always on the same set-up as the product.
Nothing here is part of the product.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from policywindow.core.access import public

TABLE = "bench_ceiling"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)"
)
JSON_PATH = "/bench/ceiling/json"
INSERT_PATH = "/bench/ceiling/insert"


@public
@require_GET
def fixed_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "items": [], "total": 0})


@public
@csrf_exempt  # a bench endpoint without a session; the API's writes use tokens, not CSRF
@require_POST
def one_insert(request: HttpRequest) -> JsonResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (note) VALUES (%s) RETURNING id", ["ceiling"])  # noqa: S608
        (pk,) = cursor.fetchone()
    return JsonResponse({"id": pk}, status=201)


urlpatterns = [
    path(JSON_PATH.lstrip("/"), fixed_json),
    path(INSERT_PATH.lstrip("/"), one_insert),
    path("", include("policywindow.urls")),
]
