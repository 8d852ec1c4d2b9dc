"""Every API operation declares its access, and the declaration is what is enforced.

EXPECTED is the reviewed statement of access for each operation. A new operation
without an entry fails; each entry is then exercised as anonymous, as roles that
are granted the permission and as roles that are not.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from ninja import Router

from policywindow.api.root import api
from policywindow.api.security import BearerTokenAuth, SessionAuth, require
from policywindow.core.access import PUBLIC, access_of
from policywindow.system.models import Role, User

AUTH = "authenticated"

# (method, path) -> "public" | "authenticated" | permission code
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/me"): AUTH,
    ("GET", "/tokens"): AUTH,
    ("POST", "/tokens"): AUTH,
    ("DELETE", "/tokens/{token_id}"): AUTH,
    ("GET", "/departments"): "system:dept:list",
    ("GET", "/users"): "system:user:list",
    ("POST", "/users"): "system:user:create",
    ("GET", "/calendar/working-days"): AUTH,
    ("GET", "/enterprises"): "enterprise:enterprise:list",
    ("GET", "/enterprises/{enterprise_id}"): "enterprise:enterprise:list",
    ("POST", "/enterprises"): "enterprise:enterprise:create",
    ("PATCH", "/enterprises/{enterprise_id}"): "enterprise:enterprise:update",
    ("GET", "/enterprises/me"): "portal:enterprise:view",
    ("PATCH", "/enterprises/me"): "portal:enterprise:update",
    ("GET", "/intake/queue"): "window:intake:list",
    ("POST", "/applications/{application_id}/accept"): "window:intake:accept",
    ("POST", "/applications/{application_id}/supplement"): "window:intake:supplement",
    ("POST", "/applications/{application_id}/refuse"): "window:intake:refuse",
    ("GET", "/applications/{application_id}/timeline"): AUTH,
    ("GET", "/status"): PUBLIC,
    ("GET", "/tasks"): "approval:task:todo",
    ("GET", "/tasks/done"): "approval:task:done",
    ("POST", "/tasks/{task_id}/decision"): "approval:task:decide",
    ("POST", "/tasks/{task_id}/transfer"): "approval:task:transfer",
    ("POST", "/tasks/{task_id}/withdraw"): "approval:task:decide",
    ("POST", "/applications"): "portal:apply:create",
    ("GET", "/applications"): AUTH,
    ("GET", "/applications/{application_id}"): AUTH,
    ("PATCH", "/applications/{application_id}"): "portal:apply:create",
    ("POST", "/applications/{application_id}/materials"): "portal:apply:create",
    ("POST", "/applications/{application_id}/submit"): "portal:apply:create",
    ("POST", "/applications/submissions"): "portal:apply:create",
    ("GET", "/policies"): PUBLIC,
    ("GET", "/policies/{policy_id}"): PUBLIC,
    ("GET", "/rules"): PUBLIC,
    ("GET", "/rules/{code}"): PUBLIC,
    ("GET", "/finance-submissions"): "finance:submission:list",
    ("POST", "/finance-submissions"): "finance:submission:submit",
    ("POST", "/finance-submissions/{submission_id}/receive"): "finance:submission:receive",
    ("POST", "/finance-submissions/{submission_id}/return"): "finance:submission:receive",
    (
        "GET",
        "/finance-submissions/{submission_id}/payment-instructions",
    ): "finance:submission:export",
    ("POST", "/disbursements"): "finance:disbursement:record",
    ("POST", "/applications/{application_id}/resubmission"): "portal:apply:create",
    ("GET", "/publicity-candidates"): "finance:publicity:publish",
    ("GET", "/publicity-batches"): "finance:publicity:list",
    ("POST", "/publicity-batches"): "finance:publicity:publish",
    ("GET", "/publicity-batches/{batch_id}"): "finance:publicity:list",
    ("GET", "/fund-form-candidates"): "finance:form:list",
    ("POST", "/fund-form-batches"): "finance:form:create",
    ("GET", "/fund-form-batches"): "finance:form:list",
    ("GET", "/fund-form-batches/{batch_id}"): "finance:form:list",
    ("GET", "/fund-form-batches/{batch_id}/pdf"): "finance:form:list",
    ("GET", "/fund-forms"): "finance:form:list",
    ("GET", "/fund-forms/{form_id}/pdf"): "finance:form:list",
    ("GET", "/archive-candidates"): "finance:archive:list",
    ("POST", "/archives"): "finance:archive:archive",
    ("POST", "/archive-batches"): "finance:archive:archive",
    ("GET", "/archive-batches/{batch_id}"): "finance:archive:list",
    ("GET", "/archives"): "finance:archive:list",
    ("GET", "/archives/{archive_id}/download"): "finance:archive:download",
    ("GET", "/matches"): "portal:calculator:view",
}
ROLES_TRIED = ("sys_admin", "sec_admin", "audit_admin", "window_clerk", "reviewer", "enterprise")


def api_operations():
    """(method, path, operation) for every operation the NinjaAPI serves."""
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield method, bound.prefix + path, operation


def test_every_operation_declares_access():
    undeclared = [(m, p) for m, p, op in api_operations() if access_of(op.view_func) is None]
    assert undeclared == []


def test_declarations_are_the_reviewed_ones():
    declared = {(m, p): access_of(op.view_func).describe() for m, p, op in api_operations()}
    assert declared == EXPECTED


def test_non_public_operations_authenticate_with_their_own_declaration():
    for method, path, operation in api_operations():
        access = access_of(operation.view_func)
        if access.kind == PUBLIC:
            assert operation.auth_callbacks == [], (method, path)
            continue
        kinds = {type(callback) for callback in operation.auth_callbacks}
        assert SessionAuth in kinds, (method, path)
        assert all(callback.access == access for callback in operation.auth_callbacks)
        if (method, path) != ("POST", "/tokens"):
            assert BearerTokenAuth in kinds, (method, path)


def test_a_declaration_above_the_route_is_refused():
    router = Router()
    with pytest.raises(ImproperlyConfigured, match="below @router"):

        @require("system:user:list")
        @router.get("/misplaced")
        def misplaced(request):
            return {}


def _concrete(path: str) -> str:
    return "/api/v1" + re.sub(r"\{\w+\}", "999999", path)


def _call(client: Client, method: str, path: str):
    url = _concrete(path)
    if path == "/calendar/working-days":
        url += "?start=2026-11-20&days=5"
    return client.generic(method, url, "{}", content_type="application/json")


def _client_for(role_code: str) -> Client:
    role = Role.objects.get(code=role_code)
    user = User.objects.create(
        username=f"op_{role_code}",
        real_name=role.name,
        kind=User.Kind.ENTERPRISE if role.for_enterprise else User.Kind.STAFF,
        must_change_password=False,
    )
    user.roles.set([role])
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_each_operation_admits_exactly_who_it_declares():
    clients = {code: _client_for(code) for code in ROLES_TRIED}
    anonymous = Client()
    for (method, path), expected in EXPECTED.items():
        response = _call(anonymous, method, path)
        if expected == PUBLIC:
            assert response.status_code not in (401, 403), (method, path)
            continue
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "not_authenticated"
        for code, client in clients.items():
            granted = expected == AUTH or (
                Role.objects.get(code=code).menus.filter(permission=expected).exists()
            )
            response = _call(client, method, path)
            if granted:
                assert response.status_code not in (401, 403), (method, path, code)
            else:
                # Refused before the (empty) input is even validated.
                assert response.status_code == 403, (method, path, code, response.content)
                assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_every_permission_code_is_granted_by_some_builtin_role():
    codes = {code for code in EXPECTED.values() if code not in (PUBLIC, AUTH)}
    granted = set(Role.objects.filter(builtin=True).values_list("menus__permission", flat=True))
    assert sorted(codes - granted) == []
