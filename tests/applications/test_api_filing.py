"""一表申请 API: create, save (JSON), upload (multipart), idempotent submit, read one's own."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from policywindow.applications.models import Application, ApplicationSequence
from policywindow.applications.models import ApplicationStatus as S
from policywindow.system.models import User
from tests.pdfs import minimal

from .test_filing_factories import (
    CONTACT,
    LICENSE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)

pytestmark = pytest.mark.django_db

KEY = "6f1d2f1e-0c44-4a8e-8d7e-4b1c1f0a9b01"


@pytest.fixture
def enterprise():
    return make_enterprise("大连测试软件有限公司")


@pytest.fixture
def member(make_user, enterprise) -> User:
    user = make_user("api_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, enterprise)
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-API", items=(LICENSE, RD_AMOUNT, CONTACT))


@pytest.fixture
def client(login, member) -> Client:
    return login(member)


def _create(client: Client, code: str = "RD-API", query: str = ""):
    return client.post(
        f"/api/v1/applications{query}", {"rule": code}, content_type="application/json"
    )


def _patch(client: Client, pk: int, answers: dict):
    return client.patch(
        f"/api/v1/applications/{pk}", {"answers": answers}, content_type="application/json"
    )


def _upload(client: Client, pk: int, *files, item: str = "license", **headers):
    return client.post(
        f"/api/v1/applications/{pk}/materials", {"item": item, "files": list(files)}, **headers
    )


def _submit(client: Client, pk: int, key: str | None = KEY):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/applications/{pk}/submit", **headers)


def _ready(client: Client) -> int:
    pk = _create(client).json()["id"]
    assert _patch(client, pk, {"rd_amount": "4100000"}).status_code == 200
    assert _upload(client, pk, upload()).status_code == 201
    return pk


def test_create_returns_the_draft_with_its_items_and_prefill(client, rule):
    response = _create(client)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft" and body["number"] is None
    assert [item["key"] for item in body["items"]] == ["license", "rd_amount", "contact"]
    assert body["answers"] == {"contact": "李四"}
    # Slim: the pre-check and the reusable files are computed only when asked.
    assert body["eligibility"] is None and body["reusable_materials"] is None
    reopened = _create(client, query="?expand=eligibility,reusable_materials").json()
    assert reopened["id"] == body["id"]  # the open draft is reopened
    assert reopened["eligibility"]["status"] == "eligible"
    assert reopened["reusable_materials"] == {"license": []}
    assert client.get(f"/api/v1/applications/{body['id']}").json()["eligibility"] == {
        "status": "eligible",
        "failures": [],
        "unknowns": [],
    }


def test_an_unknown_expansion_is_refused(client, rule):
    response = _create(client, query="?expand=everything")
    assert response.status_code == 400
    assert "expand" in response.json()["details"]


def test_create_for_an_unknown_rule_is_404(client, rule):
    response = _create(client, "NOPE-1")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_patch_saves_only_the_given_items_and_names_bad_ones(client, rule):
    pk = _create(client).json()["id"]
    saved = _patch(client, pk, {"rd_amount": "1234.5"})
    assert saved.status_code == 200
    assert saved.json()["answers"] == {"contact": "李四", "rd_amount": "1234.50"}
    refused = _patch(client, pk, {"rd_amount": "很多", "nope": 1})
    assert refused.status_code == 400
    assert refused.json()["details"] == {"nope": ["申报表中没有该项"]}
    refused = _patch(client, pk, {"rd_amount": "很多"})
    assert refused.json()["details"] == {
        "rd_amount": ["研发费用专项审计金额须为金额数字，如 12345.67"]
    }


def test_upload_checks_the_content_and_attaches(client, rule):
    pk = _create(client).json()["id"]
    renamed = upload("假的.pdf", b"this is plain text", "application/pdf")
    refused = _upload(client, pk, renamed)
    assert refused.status_code == 400
    assert "内容不是 PDF" in refused.json()["details"]["license"][0]
    accepted = _upload(client, pk, upload("营业执照.pdf"))
    assert accepted.status_code == 201
    materials = accepted.json()["materials"]
    assert [m["original_name"] for m in materials] == ["营业执照.pdf"]
    assert accepted.json()["answers"]["license"] == [materials[0]["id"]]


def test_a_retried_upload_with_its_key_attaches_the_file_once(client, rule):
    pk = _create(client).json()["id"]
    first = _upload(client, pk, upload("营业执照.pdf"), HTTP_IDEMPOTENCY_KEY=KEY)
    assert first.status_code == 201
    # The retry is encoded afresh (another multipart boundary): the same fields and file.
    retry = _upload(client, pk, upload("营业执照.pdf"), HTTP_IDEMPOTENCY_KEY=KEY)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert len(retry.json()["materials"]) == 1
    assert Application.objects.get(pk=pk).materials.count() == 1
    other = _upload(client, pk, upload("营业执照.pdf", minimal("other")), HTTP_IDEMPOTENCY_KEY=KEY)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


def test_submit_numbers_once_and_a_retry_returns_the_first_result(client, rule):
    pk = _ready(client)
    first = _submit(client, pk)
    assert first.status_code == 200, first.content
    number = first.json()["number"]
    assert number.startswith("ZC") and first.json()["requested_amount"] == "400000.00"
    retry = _submit(client, pk)
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json()["number"] == number
    assert Application.objects.exclude(number=None).count() == 1
    assert ApplicationSequence.objects.get().last == 1


def test_submit_without_a_key_twice_is_a_conflict_naming_the_number(client, rule):
    pk = _ready(client)
    number = _submit(client, pk, key=None).json()["number"]
    again = _submit(client, pk, key=None)
    assert again.status_code == 409 and number in again.json()["message"]


def test_submit_refusal_is_not_stored_and_a_corrected_retry_runs(client, rule):
    pk = _create(client).json()["id"]
    refused = _submit(client, pk)
    assert refused.status_code == 400
    assert refused.json()["details"]["license"] == ["请上传营业执照"]
    _patch(client, pk, {"rd_amount": "4000000"})
    _upload(client, pk, upload())
    assert _submit(client, pk).json()["status"] == S.SUBMITTED


def test_list_shows_only_the_own_enterprise(client, rule, make_user, login):
    mine = _ready(client)
    other_user = make_user("api_qiye2", "enterprise", kind=User.Kind.ENTERPRISE)
    link(other_user, make_enterprise("另一家企业"))
    other = login(other_user)
    theirs = _create(other).json()["id"]
    listed = client.get("/api/v1/applications").json()
    assert [item["id"] for item in listed["items"]] == [mine] and listed["total"] == 1
    assert other.get("/api/v1/applications").json()["total"] == 1
    assert client.get(f"/api/v1/applications/{theirs}").status_code == 404


def test_another_enterprise_cannot_read_or_change_or_submit(client, rule, make_user, login):
    pk = _ready(client)
    stranger = make_user("api_qiye3", "enterprise", kind=User.Kind.ENTERPRISE)
    link(stranger, make_enterprise("第三家企业"))
    other = login(stranger)
    assert other.get(f"/api/v1/applications/{pk}").status_code == 404
    assert _patch(other, pk, {"rd_amount": "1"}).status_code == 404
    assert _upload(other, pk, upload()).status_code == 404
    assert _submit(other, pk).status_code == 404
    assert Application.objects.get(pk=pk).status == S.DRAFT


def test_staff_see_filed_cases_in_scope_not_drafts(client, rule, make_user, login, department):
    pk = _ready(client)
    clerk = login(make_user("api_clerk", "window_clerk", dept=department))
    assert clerk.get(f"/api/v1/applications/{pk}").status_code == 404  # a draft
    _submit(client, pk)
    assert clerk.get(f"/api/v1/applications/{pk}").json()["number"].startswith("ZC")
    assert (
        login(make_user("api_admin", "sys_admin")).get("/api/v1/applications").json()["total"] == 0
    )


def test_the_operations_are_in_the_openapi_document():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    submit = paths["/api/v1/applications/{application_id}/submit"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in submit["parameters"]]
    assert (
        "multipart/form-data"
        in paths["/api/v1/applications/{application_id}/materials"]["post"]["requestBody"][
            "content"
        ]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL")
def test_concurrent_retries_of_one_submit_give_one_number(member, rule):
    client = Client()
    client.force_login(member)
    pk = _ready(client)
    barrier = threading.Barrier(4)
    responses = []

    def call() -> None:
        own = Client()
        own.force_login(member)
        barrier.wait()
        try:
            responses.append(_submit(own, pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.json()["number"] for r in responses}) == 1
    assert ApplicationSequence.objects.get().last == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL")
def test_concurrent_uploads_with_one_key_attach_once(member, rule):
    """Nothing in the upload itself refuses the second: its key, recorded at the end, does —
    it waits for the first to commit, finds the key taken, rolls back and replays."""
    client = Client()
    client.force_login(member)
    pk = _create(client).json()["id"]
    barrier = threading.Barrier(2)
    responses = []

    def call() -> None:
        own = Client()
        own.force_login(member)
        barrier.wait()
        try:
            responses.append(_upload(own, pk, upload("营业执照.pdf"), HTTP_IDEMPOTENCY_KEY=KEY))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201, 201]
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert responses[0].content == responses[1].content
    assert Application.objects.get(pk=pk).materials.count() == 1
