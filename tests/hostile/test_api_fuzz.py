"""Schemathesis against /api/v1/openapi.json: generated requests for every operation, sent as
enterprise A, a window clerk, a reviewer and anonymous.

Every answer must be a non-5xx that conforms to the documented schema and content type, and
nothing enterprise A receives may name enterprise B (credit code, name, application number,
file name). A second test aims B's ids at every operation as A (object-level authorisation).
Examples per operation are bounded so the whole file runs in about a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from ninja import Schema
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from policywindow.api import services as api_services
from policywindow.api.root import api
from policywindow.applications.models import Application
from policywindow.applications.services import filing, intake
from policywindow.system.models import User
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_filing_factories import (
    LICENSE,
    link,
    make_enterprise,
    make_rule,
    upload,
)
from tests.applications.test_intake_factories import all_complete

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 10
BASE_URL = "http://testserver"
ACTORS = ("enterprise_a", "clerk", "reviewer", "anonymous")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = get_wsgi_application()  # every request, probes included, goes to the app in-process


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    b_markers: tuple[str, ...]
    b_ids: dict[str, int]
    b_application: Application


def _filed(department, username: str, company: str, material: str) -> tuple[User, Application]:
    user = User.objects.create(
        username=username, real_name=company, kind=User.Kind.ENTERPRISE, must_change_password=False
    )
    user.roles.set(_roles("enterprise"))
    enterprise = make_enterprise(company)
    link(user, enterprise)
    application = filing.start_application(
        user, enterprise, make_rule(department, items=(LICENSE,))
    )
    filing.save_answers(user, application, {}, {"license": [upload(material)]})
    return user, filing.submit(user, application)


def _roles(*codes: str):
    from policywindow.system.models import Role

    return Role.objects.filter(code__in=codes)


def _token(user: User) -> dict[str, str]:
    issued = api_services.issue_token(user, name="模糊测试", lifetime=dt.timedelta(days=1))
    return {"Authorization": f"Bearer {issued.plaintext}"}


@pytest.fixture
def world(department, make_user) -> World:
    """Enterprise A and enterprise B, each with a submitted application; B's is accepted."""
    a_user, _ = _filed(department, "fuzz_ent_a", "甲方测试科技有限公司", "甲方营业执照.pdf")
    b_user, b_application = _filed(
        department, "fuzz_ent_b", "乙方保密制造有限公司", "乙方机密材料.pdf"
    )
    clerk = make_user("fuzz_clerk", "window_clerk")
    reviewer = make_user("fuzz_reviewer", "reviewer")
    b_application = intake.accept(
        clerk, b_application, all_complete(b_application), expected_revision=b_application.revision
    )
    b_token = api_services.issue_token(b_user, name="乙方令牌", lifetime=dt.timedelta(days=1))
    return World(
        headers={
            "enterprise_a": _token(a_user),
            "clerk": _token(clerk),
            "reviewer": _token(reviewer),
            "anonymous": {},
        },
        b_markers=(
            b_application.enterprise.credit_code,
            "乙方保密制造有限公司",
            b_application.number,
            "乙方机密材料",
        ),
        b_ids={
            "application_id": b_application.pk,
            "enterprise_id": b_application.enterprise_id,
            "task_id": WorkflowTask.objects.get(application=b_application).pk,
            "token_id": b_token.token.pk,
        },
        b_application=b_application,
    )


@pytest.fixture
def wsgi_in_the_test_transaction():
    """Requests through the WSGI app keep the test's connection open (as Django's test client
    does), so every request sees and is rolled back with the test's data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _leaks(text: str, markers: tuple[str, ...]) -> list[str]:
    decoded = json.loads(text) if text.startswith(("{", "[")) else text
    flat = json.dumps(decoded, ensure_ascii=False)
    return [marker for marker in markers if marker in flat]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_never_fail_and_match_the_schema(
    case, world, wsgi_in_the_test_transaction
):
    for actor in ACTORS:
        response = case.call(base_url=BASE_URL, headers=world.headers[actor])
        case.validate_response(response, checks=CHECKS)
        if actor == "enterprise_a":
            assert _leaks(response.text, world.b_markers) == [], (case.method, case.path)


def _operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]


def test_enterprise_a_never_reaches_enterprise_b_through_any_operation(world):
    """B's ids in every path parameter, as A: refused or empty, never B's data, nothing changed."""
    client = Client(HTTP_AUTHORIZATION=world.headers["enterprise_a"]["Authorization"])
    before = Application.objects.values().get(pk=world.b_application.pk)
    reached = []
    for method, path in _operations():
        names = re.findall(r"\{(\w+)\}", path)
        if not names or any(name not in world.b_ids for name in names):
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(world.b_ids[m.group(1)]), path)
        response = client.generic(method, url, "{}", content_type="application/json")
        assert response.status_code in (400, 403, 404), (method, url, response.status_code)
        assert _leaks(response.content.decode(), world.b_markers) == [], (method, url)
        reached.append((method, path))
    assert ("GET", "/api/v1/applications/{application_id}") in reached
    assert ("POST", "/api/v1/tasks/{task_id}/decision") in reached
    assert Application.objects.values().get(pk=world.b_application.pk) == before
    for method, path in _operations():
        if method == "GET" and "{" not in path:
            response = client.get(path)
            assert response.status_code < 500, path
            assert _leaks(response.content.decode(), world.b_markers) == [], path


def _schema_classes(base: type = Schema) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        if sub.__module__.startswith("policywindow."):
            found.append(sub)
        found += _schema_classes(sub)
    return found


def test_schema_component_names_are_unique():
    modules: dict[str, set[str]] = {}
    for cls in _schema_classes():
        modules.setdefault(cls.__name__, set()).add(cls.__module__)
    assert {name: found for name, found in modules.items() if len(found) > 1} == {}
