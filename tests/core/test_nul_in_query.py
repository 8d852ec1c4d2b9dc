"""A NUL character in the query string is bad input (400), never a server error — PostgreSQL
cannot hold NUL in text, so a search for it used to fail deep in the query."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_public_search_with_nul_is_a_400_page_in_chinese(client):
    response = client.get("/policies/", {"q": "研发\x00"})
    assert response.status_code == 400
    assert "空字符" in response.content.decode()


def test_the_api_answers_nul_with_the_error_format(client):
    response = client.get("/api/v1/policies", {"q": "\x00"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_an_ordinary_search_is_untouched(client):
    assert client.get("/policies/", {"q": "研发"}).status_code == 200
