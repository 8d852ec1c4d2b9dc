"""一次提交: the whole filing in one request — answers, files, submit — for integrators."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from policywindow.applications.models import Application, ApplicationSequence, Material
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import filing, numbering
from policywindow.applications.services.numbering import format_number
from policywindow.system.models import User
from tests import pdfs
from tests.hostile.payloads import raw_multipart
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

URL = "/api/v1/applications/submissions"
ANSWERS = {"rd_amount": "4100000", "contact": "李四"}


@pytest.fixture
def enterprise():
    return make_enterprise("一次提交测试有限公司")


@pytest.fixture
def member(make_user, enterprise) -> User:
    user = make_user("whole_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, enterprise)
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-ONE", items=(LICENSE, RD_AMOUNT, CONTACT))


@pytest.fixture
def client(login, member) -> Client:
    return login(member)


def _submit(client: Client, *, key: str | None = "k-1", answers=ANSWERS, rule="RD-ONE", **files):
    body = {"rule": rule, "answers": answers if isinstance(answers, str) else json.dumps(answers)}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, {**body, **files}, **headers)


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _nothing_created() -> None:
    assert not Application.objects.exists()
    assert not Material.objects.exists()
    assert _stored_files() == []


def test_one_request_files_numbers_and_answers_the_application(client, rule):
    response = _submit(client, license=[upload("营业执照.pdf")])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == S.SUBMITTED and body["number"].startswith("ZC")
    assert body["requested_amount"] == "400000.00"  # 10% of the enterprise's R&D spending
    assert body["eligibility"]["status"] == "eligible"
    [material] = body["materials"]
    assert material["original_name"] == "营业执照.pdf" and len(material["sha256"]) == 64
    assert body["answers"] == {
        "rd_amount": "4100000.00",
        "contact": "李四",
        "license": [material["id"]],
    }
    stored = Application.objects.get(pk=body["id"])
    assert stored.number == body["number"] and stored.answers == body["answers"]
    assert list(stored.events.values_list("action", flat=True)) == ["submit"]
    assert stored.events.get().data == {"number": body["number"]}
    assert len(_stored_files()) == 1


def test_a_retry_with_its_key_returns_the_first_result(client, rule):
    first = _submit(client, license=[upload()])
    retry = _submit(client, license=[upload()])
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert Application.objects.count() == 1 and len(_stored_files()) == 1


def test_the_key_is_required(client, rule):
    response = _submit(client, key=None, license=[upload()])
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["details"]
    _nothing_created()


def test_bad_files_are_refused_per_item_and_nothing_is_created(client, rule):
    renamed = upload("营业执照.pdf", b"this is plain text", "application/pdf")
    response = _submit(client, license=[renamed])
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "内容不是 PDF" in response.json()["details"]["license"][0]
    _nothing_created()


def test_the_uploads_checks_apply_active_pdfs_and_climbing_names(client, rule):
    scripted = pdfs.document({1: pdfs.catalog_with(b"/OpenAction << /S /JavaScript /JS (x) >>")})
    active = _submit(client, license=[upload("营业执照.pdf", scripted)])
    assert active.status_code == 400
    assert "活动内容" in active.json()["details"]["license"][0]
    fields = {"rule": "RD-ONE", "answers": json.dumps(ANSWERS)}
    body, content_type = raw_multipart(fields, [("license", "../../etc/营业执照.pdf", minimal())])
    climbing = client.generic("POST", URL, body, content_type, HTTP_IDEMPOTENCY_KEY="k-2")
    assert climbing.status_code == 400 and "路径跳转" in climbing.json()["message"]
    _nothing_created()


def test_missing_and_unknown_items_are_named(client, rule):
    missing = _submit(client, answers={"contact": "李四"})
    assert missing.status_code == 400
    details = missing.json()["details"]
    assert details["license"] == ["请上传营业执照"] and details["rd_amount"] == [
        "请填写研发费用专项审计金额"
    ]
    unknown = _submit(client, key="k-2", license=[upload()], photo=[upload("x.pdf")])
    assert unknown.status_code == 400
    assert unknown.json()["details"] == {"photo": ["申报表中没有该附件项"]}
    not_json = _submit(client, key="k-3", answers="[1, 2]", license=[upload()])
    assert not_json.status_code == 400 and "answers" in not_json.json()["details"]
    _nothing_created()


def test_an_ineligible_filing_leaves_no_row_and_no_file(client, rule, enterprise):
    enterprise.rd_spend = Decimal("100")
    enterprise.save(update_fields=["rd_spend"])
    response = _submit(client, license=[upload()])
    assert response.status_code == 400 and response.json()["code"] == "ineligible"
    _nothing_created()
    assert not ApplicationSequence.objects.filter(last__gt=0).exists()


def test_a_second_filing_of_the_year_is_a_conflict_and_its_files_are_removed(client, rule):
    number = _submit(client, license=[upload()]).json()["number"]
    again = _submit(client, key="k-2", license=[upload("营业执照.pdf", minimal("another"))])
    assert again.status_code == 409 and again.json()["code"] == "duplicate_application"
    assert number in again.json()["message"]
    assert Application.objects.count() == 1 and len(_stored_files()) == 1


def test_an_open_draft_of_the_rule_is_named(client, rule, member, enterprise):
    draft = filing.start_application(member, enterprise, rule)
    response = _submit(client, license=[upload()])
    assert response.status_code == 409 and response.json()["code"] == "draft_exists"
    assert response.json()["details"] == {"draft": draft.pk}
    assert Application.objects.get().pk == draft.pk and _stored_files() == []


def test_the_operation_is_documented_as_multipart_with_its_key():
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"][URL]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["rule", "answers"]
    assert schema["additionalProperties"]["items"]["format"] == "binary"
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]


# ---------------------------------------------------------------- PostgreSQL: concurrency

concurrent = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL"
)


def _members(make_user, count: int, prefix: str) -> list[User]:
    users = []
    for n in range(count):
        user = make_user(f"{prefix}{n}", "enterprise", kind=User.Kind.ENTERPRISE)
        link(user, make_enterprise(f"并发提交企业{prefix}{n}"))
        users.append(user)
    return users


def _in_threads(calls) -> None:
    barrier = threading.Barrier(len(calls))

    def run(call) -> None:
        barrier.wait()
        try:
            call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
@concurrent
def test_concurrent_one_request_and_draft_submits_number_without_gaps(
    make_user, department, monkeypatch
):
    """Ten one-request submissions and five draft submits at once; every third of each fails
    right after its number was written: the numbers that stand are 1..N, no gap, no repeat."""
    rule = make_rule(department, code="RD-ONE", items=(LICENSE, RD_AMOUNT, CONTACT))
    whole, drafting = _members(make_user, 10, "whole"), _members(make_user, 5, "draft")
    drafts = [
        filing.save_answers(
            user, filing.start_application(user, None, rule), ANSWERS, {"license": [upload()]}
        )
        for user in drafting
    ]
    failing = {user.pk for user in [*whole, *drafting][::3]}
    save_numbered = numbering.save_numbered

    def then_fail(application, fields, event=None):
        number = save_numbered(application, fields, event)
        if application.applicant_id in failing:
            raise RuntimeError("模拟编号之后的故障")
        return number

    monkeypatch.setattr(numbering, "save_numbered", then_fail)
    answered: list[tuple[int, int]] = []

    def one_request(user: User):
        def call() -> None:
            own = Client(raise_request_exception=False)
            own.force_login(user)
            response = _submit(own, key=str(uuid.uuid4()), license=[upload()])
            answered.append((user.pk, response.status_code))

        return call

    def draft_submit(user: User, draft: Application):
        def call() -> None:
            try:
                filing.submit(user, draft.pk)
                answered.append((user.pk, 200))
            except RuntimeError:
                answered.append((user.pk, 500))

        return call

    _in_threads(
        [one_request(user) for user in whole]
        + [draft_submit(user, draft) for user, draft in zip(drafting, drafts, strict=True)]
    )
    ok = sorted(pk for pk, status in answered if status in (200, 201))
    assert sorted(pk for pk, status in answered if status == 500) == sorted(failing)
    year = Application.objects.first().year
    stored = sorted(Application.objects.exclude(number=None).values_list("number", flat=True))
    assert stored == [format_number(year, n) for n in range(1, len(ok) + 1)]
    assert ApplicationSequence.objects.get(year=year).last == len(ok) == 15 - len(failing)
    # The drafts' files, and the one-request submissions' that stand: the failed ones took
    # their stored files away again.
    filed_whole = [user for user in whole if user.pk not in failing]
    assert len(_stored_files()) == Material.objects.count() == len(drafts) + len(filed_whole)


@pytest.mark.django_db(transaction=True)
@concurrent
def test_concurrent_retries_of_one_request_file_once(member, rule):
    responses = []

    def call() -> None:
        own = Client()
        own.force_login(member)
        responses.append(_submit(own, key="same-key", license=[upload()]))

    _in_threads([call] * 3)
    assert [r.status_code for r in responses] == [201] * 3
    assert len({r.json()["number"] for r in responses}) == 1
    assert Application.objects.count() == 1 and Material.objects.count() == 1
    assert len(_stored_files()) == 1
