"""Idempotency-Key on creating POSTs: a retry returns the first result, never a second user."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from policywindow.api.models import IdempotencyRecord
from policywindow.system.models import User
from policywindow.system.services import users as user_services

from .conftest import bearer

pytestmark = pytest.mark.django_db

KEY = "2f1c7a0e-7d1b-4c55-9a53-0b8a2c1f9e01"


@pytest.fixture
def payload(sysadmin) -> dict:
    return {
        "username": "sunqi",
        "real_name": "孙七",
        "password": "Strong#Pass2026",
        "department": sysadmin.department_id,
    }


def _create(client: Client, body, key: str | None = KEY, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/users", body, content_type="application/json", **headers, **extra)


def test_retry_returns_the_first_result(sysadmin, login, payload):
    client = login(sysadmin)
    first = _create(client, payload)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    retry = _create(client, payload)
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    assert User.objects.filter(username="sunqi").count() == 1


def test_same_json_with_other_key_order_is_the_same_request(sysadmin, login, payload):
    client = login(sysadmin)
    _create(client, payload)
    reordered = dict(reversed(list(payload.items())))
    assert _create(client, reordered)["Idempotent-Replayed"] == "true"


def test_same_key_with_a_different_body_is_a_conflict(sysadmin, login, payload):
    client = login(sysadmin)
    _create(client, payload)
    response = _create(client, {**payload, "real_name": "孙八"})
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert User.objects.get(username="sunqi").real_name == "孙七"


def test_keys_belong_to_their_user(sysadmin, login, make_user, payload):
    _create(login(sysadmin), payload)
    other_admin = make_user("admin2", "sys_admin")
    response = _create(login(other_admin), {**payload, "username": "zhouba"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response


def test_failures_are_not_stored_so_a_corrected_retry_runs(sysadmin, login, payload):
    client = login(sysadmin)
    refused = _create(client, {**payload, "password": "weak"})
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert _create(client, payload).status_code == 201


def test_without_a_key_every_post_runs(sysadmin, login, payload):
    client = login(sysadmin)
    assert _create(client, payload, key=None).status_code == 201
    second = _create(client, payload, key=None)
    assert second.status_code == 400 and "username" in second.json()["details"]
    assert not IdempotencyRecord.objects.exists()


def test_key_must_be_printable_ascii(sysadmin, login, payload):
    response = _create(login(sysadmin), payload, key="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["details"]


def test_token_clients_get_the_same_protection(sysadmin, token_for, payload):
    token = token_for(sysadmin)
    first = _create(Client(), payload, **bearer(token))
    retry = _create(Client(), payload, **bearer(token))
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"


def test_a_first_request_costs_one_statement_for_its_key(sysadmin, login, payload):
    """No look-up before: the response is recorded by one INSERT at the end."""
    client = login(sysadmin)
    _create(client, {**payload, "username": "warm_up"}, key="warm-up-key")  # prepares it
    with CaptureQueriesContext(connection) as captured:
        response = _create(client, payload)
    assert response.status_code == 201
    keyed = [
        query["sql"]
        for query in captured.captured_queries
        if "api_idempotencyrecord" in query["sql"] or KEY in query["sql"]
    ]
    assert len(keyed) == 1 and keyed[0].startswith(("INSERT", "EXECUTE")), keyed
    assert IdempotencyRecord.objects.get(key=KEY).response_status == 201


def test_the_header_is_documented():
    document = Client().get("/api/v1/openapi.json").json()
    params = document["paths"]["/api/v1/users"]["post"]["parameters"]
    assert [p["name"] for p in params if p["in"] == "header"] == ["Idempotency-Key"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-lock concurrency is tested on PostgreSQL"
)
def test_concurrent_duplicates_run_once(sysadmin, payload, monkeypatch):
    original = user_services.create_user

    def slow_create_user(*args, **kwargs):
        time.sleep(0.5)  # hold the first request's transaction open while the second arrives
        return original(*args, **kwargs)

    monkeypatch.setattr(user_services, "create_user", slow_create_user)
    barrier = threading.Barrier(2)
    responses = []

    def call() -> None:
        client = Client()
        client.force_login(sysadmin)
        barrier.wait()
        try:
            responses.append(_create(client, payload))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.status_code for r in responses) == [201, 201]
    assert responses[0].content == responses[1].content
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert User.objects.filter(username="sunqi").count() == 1
