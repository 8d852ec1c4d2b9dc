"""The REST API of 报送财政 and 拨付: the same rules as the pages, in the API's error body."""

from __future__ import annotations

import pytest

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.models import AuditEvent
from policywindow.finance.models import Disbursement, FinanceSubmission
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def batch(people):
    version = make_rule(people)
    make_budget(version, "1000000")
    return issued(people, [passed(people, version, "300000.00")])


def test_submit_receive_pay_and_read_instructions(people, batch, login):
    admin, finance = login(people.admin), login(people.finance)
    created = admin.post(
        "/api/v1/finance-submissions",
        {"batch_id": batch.pk},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="submit-1",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["batch_number"], body["status"], body["forms"], body["total"]) == (
        batch.number,
        "submitted",
        1,
        "300000.00",
    )
    replay = admin.post(
        "/api/v1/finance-submissions",
        {"batch_id": batch.pk},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="submit-1",
    )
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    again = admin.post("/api/v1/finance-submissions", {"batch_id": batch.pk}, content_type=JSON)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    listed = finance.get("/api/v1/finance-submissions").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]

    received = finance.post(f"/api/v1/finance-submissions/{body['id']}/receive")
    assert received.status_code == 200 and received.json()["status"] == "received"

    form = batch.forms.get()
    wrong = finance.post(
        "/api/v1/disbursements",
        {"fund_form_id": form.pk, "amount": "1.00", "paid_on": "2026-11-20", "voucher": "GK-1"},
        content_type=JSON,
    )
    assert wrong.status_code == 400
    assert "核定金额 300,000.00 元" in wrong.json()["details"]["amount"][0]
    paid = finance.post(
        "/api/v1/disbursements",
        {
            "fund_form_id": form.pk,
            "amount": "300000.00",
            "paid_on": "2026-11-20",
            "voucher": "GK-1",
        },
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="pay-1",
    )
    assert paid.status_code == 201, paid.content
    assert (paid.json()["amount"], paid.json()["form_number"]) == ("300000.00", form.number)
    twice = finance.post(
        "/api/v1/disbursements",
        {
            "fund_form_id": form.pk,
            "amount": "300000.00",
            "paid_on": "2026-11-20",
            "voucher": "GK-2",
        },
        content_type=JSON,
    )
    assert twice.status_code == 409 and "不能重复拨付" in twice.json()["message"]
    assert Disbursement.objects.count() == 1
    assert form.application.__class__.objects.get(pk=form.application_id).status == S.DISBURSED

    instructions = finance.get(f"/api/v1/finance-submissions/{body['id']}/payment-instructions")
    assert instructions.status_code == 200
    row = instructions.json()["instructions"][0]
    enterprise = form.content["enterprise"]
    assert row["account"] == enterprise["bank_account"] and row["amount"] == "300000.00"
    assert AuditEvent.objects.filter(action="finance.instructions").count() == 1


def test_return_needs_a_reason_and_refuses_out_of_order_steps(people, batch, login):
    admin, finance = login(people.admin), login(people.finance)
    submission_id = admin.post(
        "/api/v1/finance-submissions", {"batch_id": batch.pk}, content_type=JSON
    ).json()["id"]
    empty = finance.post(
        f"/api/v1/finance-submissions/{submission_id}/return", {"reason": ""}, content_type=JSON
    )
    assert empty.status_code == 400 and "reason" in empty.json()["details"]
    back = finance.post(
        f"/api/v1/finance-submissions/{submission_id}/return",
        {"reason": "账号与开户行不符"},
        content_type=JSON,
    )
    assert back.json()["status"] == "returned"
    late = finance.post(f"/api/v1/finance-submissions/{submission_id}/receive")
    assert late.status_code == 409
    blocked = finance.get(f"/api/v1/finance-submissions/{submission_id}/payment-instructions")
    assert blocked.status_code == 409 and "报送财政后才能导出支付指令" in blocked.json()["message"]
    assert FinanceSubmission.objects.get().status == FinanceSubmission.Status.RETURNED


def test_who_may_call_what(people, batch, login):
    assert (
        login(people.finance)
        .post("/api/v1/finance-submissions", {"batch_id": batch.pk}, content_type=JSON)
        .status_code
        == 403
    )
    assert login(people.reviewer).get("/api/v1/finance-submissions").status_code == 403
    assert login(people.bureau).get("/api/v1/finance-submissions").status_code == 200
    missing = login(people.finance).post("/api/v1/finance-submissions/999999/receive")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
