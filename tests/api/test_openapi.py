"""The OpenAPI document and the self-hosted interactive docs."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from .test_operations import EXPECTED

pytestmark = pytest.mark.django_db


def _docs_html() -> str:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    return response.content.decode()


def test_openapi_document_lists_every_operation():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "政策兑现单一窗口 API"
    listed = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert listed == set(EXPECTED)
    assert set(document["components"]["securitySchemes"]) == {"BearerTokenAuth", "SessionAuth"}
    assert document["components"]["securitySchemes"]["BearerTokenAuth"]["scheme"] == "bearer"


def test_paged_operation_documents_its_totals():
    document = Client().get("/api/v1/openapi.json").json()
    users = document["paths"]["/api/v1/users"]["get"]
    params = {p["name"] for p in users["parameters"]}
    assert {"page", "page_size", "q", "department_id"} <= params
    ref = users["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    paged = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(paged["properties"]) == {"items", "total", "page", "page_size"}


def test_docs_page_references_no_external_host():
    html = _docs_html()
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "cdn" not in html.lower()


def test_docs_assets_are_served_from_our_static_files():
    assets = re.findall(r"""(?:src|href)="/static/([^"]+)\"""", _docs_html())
    # Swagger UI's stylesheet and two scripts, and the product's icons (includes/favicon.html).
    assert {a.split("?")[0] for a in assets} >= {
        "ninja/swagger-ui.css",
        "ninja/swagger-ui-bundle.js",
        "ninja/swagger-ui-init.js",
        "policywindow/favicon.svg",
    }
    missing = [asset for asset in assets if finders.find(asset) is None]
    assert missing == []
