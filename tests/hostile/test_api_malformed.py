"""Malformed requests the fuzzing found answering 500; each is now a 400 in the error body."""

from __future__ import annotations

import pytest
from django.test import Client

from policywindow.api.pagination import MAX_PAGE
from policywindow.system.models import User

pytestmark = pytest.mark.django_db


def test_a_page_number_beyond_any_offset_is_a_field_error():
    response = Client().get(f"/api/v1/rules?page={2**80}")
    assert response.status_code == 400
    assert response.json()["details"] == {"page": [f"不能大于 {MAX_PAGE}"]}
    assert Client().get(f"/api/v1/rules?page={MAX_PAGE}").json()["items"] == []


def test_multipart_without_a_boundary_is_a_bad_request(make_user, login):
    member = make_user("malformed_ent", "enterprise", kind=User.Kind.ENTERPRISE)
    response = login(member).generic(
        "POST", "/api/v1/applications/1/materials", b"x", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request" and "boundary" in body["message"]


@pytest.mark.parametrize("url", ["/api/v1/policies?q=%00", "/api/v1/rules?q=a%00b"])
def test_a_nul_character_in_a_search_is_a_bad_request_not_a_crash(url):
    """PostgreSQL refuses NUL in text: it is refused before any query, on every database."""
    response = Client().get(url)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request" and "空字符" in body["message"]
