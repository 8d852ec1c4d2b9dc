"""One error body ``{"code", "message", "details"}`` for every kind of failure."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"] and not body["message"].isascii(), "message must be Chinese"
    return body


def test_invalid_input_names_each_field_in_chinese(sysadmin, login):
    response = login(sysadmin).post(
        "/api/v1/users",
        {"username": "1x", "kind": "boss", "posts": ["a"], "mobile": "123"},
        content_type="application/json",
    )
    details = assert_error(response, 400, "validation_error")["details"]
    assert details["username"] == ["用户名为 3-30 位字母、数字、下划线、点或连字符，须以字母开头"]
    assert details["real_name"] == ["此项为必填项"]
    assert details["password"] == ["此项为必填项"]
    assert details["kind"] == ["取值无效，可选值：'staff'、'enterprise'"]
    assert details["posts.0"] == ["请输入整数"]
    assert details["mobile"] == ["请输入正确的11位手机号码"]


def test_invalid_query_parameters(sysadmin, login):
    response = login(sysadmin).get("/api/v1/calendar/working-days?start=2026-13-01&days=-1")
    details = assert_error(response, 400, "validation_error")["details"]
    assert details == {"start": ["请输入正确的日期，格式为 YYYY-MM-DD"], "days": ["不能小于 0"]}


def test_body_that_is_not_json(sysadmin, login):
    response = login(sysadmin).post("/api/v1/users", "{oops", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_domain_error_keeps_its_code_and_details(sysadmin, login):
    client = login(sysadmin)
    user = {
        "username": "sunqi",
        "real_name": "孙七",
        "password": "Strong#Pass2026",
        "department": sysadmin.department_id,
    }
    key = {"HTTP_IDEMPOTENCY_KEY": "k-domain-error"}
    client.post("/api/v1/users", user, content_type="application/json", **key)
    response = client.post(
        "/api/v1/users", {**user, "real_name": "孙八"}, content_type="application/json", **key
    )
    body = assert_error(response, 409, "idempotency_key_reused")
    assert body["details"] == {"Idempotency-Key": "k-domain-error"}


def test_service_validation_failure_maps_to_fields(sysadmin, login):
    payload = {"username": "zhangsan", "real_name": "张三", "password": "weak"}
    response = login(sysadmin).post("/api/v1/users", payload, content_type="application/json")
    body = assert_error(response, 400, "validation_error")
    assert set(body["details"]) == {"department"}  # staff needs a department
    payload["department"] = sysadmin.department_id
    response = login(sysadmin).post("/api/v1/users", payload, content_type="application/json")
    body = assert_error(response, 400, "validation_error")
    assert body["message"] == "密码不符合安全要求"
    assert body["details"]["password"]


def test_not_authenticated():
    assert_error(Client().get("/api/v1/me"), 401, "not_authenticated")


def test_permission_denied(auditor, login):
    body = assert_error(login(auditor).get("/api/v1/users"), 403, "permission_denied")
    assert "system:user:list" in body["message"]


def test_not_found(sysadmin, login):
    client = login(sysadmin)
    assert_error(client.delete("/api/v1/tokens/999999"), 404, "not_found")
    assert_error(client.get("/api/v1/no-such-resource"), 404, "not_found")


def test_method_not_allowed(sysadmin, login):
    response = login(sysadmin).put("/api/v1/users", {}, content_type="application/json")
    body = assert_error(response, 405, "method_not_allowed")
    assert sorted(body["details"]["allowed_methods"]) == ["GET", "POST"]
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.urls("tests.api.probe")
def test_undeclared_operation_is_denied_at_runtime():
    assert Client().get("/api/probe/declared").json() == {"reached": True}
    assert_error(Client().get("/api/probe/undeclared"), 403, "permission_denied")


@pytest.mark.urls("tests.api.probe")
def test_unexpected_error_is_logged_not_shown(caplog):
    with caplog.at_level(logging.ERROR, logger="policywindow.api.errors"):
        response = Client().get("/api/probe/boom")
    assert_error(response, 500, "server_error")
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content
    assert any(record.exc_info for record in caplog.records), "the traceback goes to the log"


@pytest.mark.urls("tests.api.probe")
def test_database_connection_error_is_503():
    response = Client().get("/api/probe/db-down")
    assert_error(response, 503, "service_unavailable")


@pytest.mark.urls("tests.api.probe")
def test_an_error_raised_while_handling_a_lost_connection_is_503_too():
    response = Client().get("/api/probe/db-down-then-error")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "10"


@pytest.mark.urls("tests.api.probe")
def test_model_validation_error_from_a_service_is_400():
    body = assert_error(Client().get("/api/probe/model-invalid"), 400, "validation_error")
    assert body["details"] == {"mobile": ["请输入正确的11位手机号码"]}
