"""Session auth (CSRF on unsafe methods) and personal access tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from policywindow.api.models import ApiToken
from policywindow.api.services import hash_token, revoke_token
from policywindow.core.models import AuditEvent
from policywindow.system.models import User

from .conftest import bearer

pytestmark = pytest.mark.django_db

NEW_USER = {"username": "lisi", "real_name": "李四", "password": "Strong#Pass2026"}


def test_valid_token_authenticates_and_records_use(sysadmin, token_for):
    token = token_for(sysadmin)
    response = Client().get("/api/v1/me", **bearer(token))
    assert response.status_code == 200
    assert response.json()["username"] == "sysadmin"
    assert ApiToken.objects.get(user=sysadmin).last_used_at is not None


def test_only_the_hash_is_stored(sysadmin, token_for):
    token = token_for(sysadmin)
    stored = ApiToken.objects.get(user=sysadmin)
    assert stored.token_hash == hash_token(token) != token
    assert token.startswith(stored.prefix) and len(stored.prefix) < len(token)


@pytest.mark.parametrize("spoil", ["revoke", "expire", "deactivate", "garble"])
def test_unusable_tokens_are_refused(spoil, sysadmin, token_for):
    token = token_for(sysadmin)
    if spoil == "revoke":
        revoke_token(sysadmin, ApiToken.objects.get(user=sysadmin).pk)
    elif spoil == "expire":
        ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif spoil == "deactivate":
        sysadmin.is_active = False
        sysadmin.save(update_fields=["is_active"])
    else:
        token += "x"
    response = Client().get("/api/v1/me", **bearer(token))
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "访问令牌无效、已过期或已被撤销",
        "details": {},
    }


def test_token_permissions_follow_the_owners_roles(auditor, token_for):
    response = Client().get("/api/v1/users", **bearer(token_for(auditor)))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_session_post_without_csrf_token_is_refused(sysadmin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sysadmin)
    payload = {**NEW_USER, "department": sysadmin.department_id}
    response = client.post("/api/v1/users", payload, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not User.objects.filter(username="lisi").exists()

    client.get("/api/v1/docs")  # any page that renders the token sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/users", payload, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201, response.content


def test_session_get_needs_no_csrf_token(sysadmin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sysadmin)
    assert client.get("/api/v1/me").status_code == 200


def test_token_post_needs_no_csrf_token(sysadmin, token_for):
    client = Client(enforce_csrf_checks=True)
    payload = {**NEW_USER, "department": sysadmin.department_id}
    response = client.post(
        "/api/v1/users", payload, content_type="application/json", **bearer(token_for(sysadmin))
    )
    assert response.status_code == 201, response.content


def test_issue_token_returns_plaintext_once_and_audits(enterprise_user, login):
    client = login(enterprise_user)
    response = client.post(
        "/api/v1/tokens", {"name": "对接", "expires_in_days": 7}, content_type="application/json"
    )
    assert response.status_code == 201
    issued = response.json()
    assert issued["token"].startswith(issued["prefix"])
    assert Client().get("/api/v1/me", **bearer(issued["token"])).json()["username"] == "qiye"
    listed = client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed] == [issued["id"]]
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    assert AuditEvent.objects.filter(action="api_token.issue", actor=enterprise_user).exists()


def test_token_lifetime_is_bounded(sysadmin, login):
    response = login(sysadmin).post(
        "/api/v1/tokens", {"name": "永久", "expires_in_days": 3650}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"expires_in_days": ["不能大于 365"]}


def test_a_token_cannot_mint_tokens(sysadmin, token_for):
    response = Client().post(
        "/api/v1/tokens",
        {"name": "再来一个"},
        content_type="application/json",
        **bearer(token_for(sysadmin)),
    )
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1


def test_revoke_own_token_only(sysadmin, secadmin, login, token_for):
    mine, theirs = token_for(sysadmin), token_for(secadmin)
    their_id = ApiToken.objects.get(user=secadmin).pk
    client = login(sysadmin)
    assert client.delete(f"/api/v1/tokens/{their_id}").status_code == 404
    assert Client().get("/api/v1/me", **bearer(theirs)).status_code == 200

    my_id = ApiToken.objects.get(user=sysadmin).pk
    assert client.delete(f"/api/v1/tokens/{my_id}").status_code == 204
    assert Client().get("/api/v1/me", **bearer(mine)).status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(my_id)).exists()
