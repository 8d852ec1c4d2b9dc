"""The whole chain through the API alone, as a held-out integrator would run it: file, 补正,
accept, decide every level, publicise, issue fund forms, submit to finance, pay, archive.

The people, the rule and the tokens are set up as the other API tests do (there is no
password sign-in operation: tokens are minted for a signed-in browser session only, so they
are issued here through the token service). Only the passing of the 公示 period is not a
request: the worker's sweep (``publicity.close_due``) is run with a moment after the period,
as the finance tests do. Every request is checked to go to ``/api/``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.services import publicity
from tests.applications.test_filing_factories import (
    LICENSE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    upload,
)
from tests.workflow.factories import level, node, publish, users

from .conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(autouse=True)
def _signing_key_in_scratch(settings, signing_dir):
    # As tests/fundforms: the fund forms are signed for real with a scratch key.
    settings.POLICYWINDOW_SIGNING_DIR = signing_dir
    settings.POLICYWINDOW_SIGNING_PKCS12 = ""
    settings.POLICYWINDOW_SIGNING_TRUSTED_CERTS = []


class ApiClient:
    """A token holder's HTTP client that refuses to go anywhere but the API."""

    def __init__(self, token: str, visited: list[str]) -> None:
        self._client = Client(**bearer(token))
        self._visited = visited

    def _url(self, path: str) -> str:
        url = f"/api/v1{path}"
        self._visited.append(url)
        return url

    def get(self, path: str, **params: Any):
        return self._client.get(self._url(path), params)

    def post(self, path: str, body: dict[str, Any], *, multipart: bool = False):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        if multipart:
            return self._client.post(self._url(path), body, headers=key)
        return self._client.post(
            self._url(path), json.dumps(body), content_type="application/json", headers=key
        )


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()[:500]
    return response.json() if response["Content-Type"].startswith("application/json") else None


@pytest.fixture
def chain(make_department, make_user, token_for):
    tech, finance = make_department("省科学技术厅"), make_department("省财政厅")
    people = {
        "enterprise": make_user("chain_ent", "enterprise", kind="enterprise"),
        "clerk": make_user("chain_clerk", "window_clerk"),
        "a": make_user("chain_rev_a", "reviewer", dept=tech, real_name="科技审核员"),
        "b": make_user("chain_rev_b", "reviewer", dept=finance, real_name="财政审核员"),
        "c": make_user("chain_leader", "dept_leader", dept=tech, real_name="分管领导"),
        "admin": make_user("chain_admin", "policy_admin", real_name="政策管理员"),
        "finance": make_user("chain_fin", "finance_officer", real_name="财政经办人"),
    }
    enterprise = make_enterprise(
        "辽宁链路测试科技有限公司",
        bank_name="中国工商银行沈阳浑南支行",
        bank_account="6222020200112233445",
    )
    link(people["enterprise"], enterprise)
    rule = make_rule(tech, items=(LICENSE, RD_AMOUNT))
    publish(
        rule,
        level(
            node("tech", "科技厅审核", users(people["a"])),
            node("finance", "财政厅审核", users(people["b"])),
        ),
        level(node("leader", "分管领导审批", users(people["c"]))),
    )
    visited: list[str] = []
    clients = {key: ApiClient(token_for(user), visited) for key, user in people.items()}
    return clients, rule, visited


def decide_my_task(client: ApiClient, number: str, opinion: str, **fields: str) -> None:
    todo = ok(client.get("/tasks"))
    (task,) = [item for item in todo["items"] if item["number"] == number]
    decision = {"action": "approve", "opinion": opinion, **fields}
    ok(client.post(f"/tasks/{task['id']}/decision", decision))


def test_the_whole_chain_runs_through_the_api_alone(chain):
    api, rule, visited = chain
    ent, clerk, admin, fin = api["enterprise"], api["clerk"], api["admin"], api["finance"]

    # 1. The enterprise files in one request.
    filed = ok(
        ent.post(
            "/applications/submissions",
            {
                "rule": rule.code,
                "answers": json.dumps({"rd_amount": "320000.00"}),
                "license": upload("营业执照.pdf"),
            },
            multipart=True,
        ),
        201,
    )
    case_id, number = filed["id"], filed["number"]
    assert filed["status"] == S.SUBMITTED

    # 2. The window asks for 补正 once, naming the item.
    (queued,) = [item for item in ok(clerk.get("/intake/queue"))["items"] if item["id"] == case_id]
    asked = ok(
        clerk.post(
            f"/applications/{case_id}/supplement",
            {
                "items": [{"key": "license", "comment": "营业执照不清晰，请重新上传"}],
                "expected_revision": queued["revision"],
            },
        )
    )
    assert asked["status"] == S.SUPPLEMENT_REQUIRED

    # 3. The enterprise resubmits the named item; anything else is refused.
    outside = ent.post(
        f"/applications/{case_id}/resubmission",
        {"answers": json.dumps({"rd_amount": "1.00"})},
        multipart=True,
    )
    assert outside.status_code == 400
    assert list(outside.json()["details"]) == ["rd_amount"]
    fixed = ok(
        ent.post(
            f"/applications/{case_id}/resubmission",
            {"license": upload("营业执照（清晰）.pdf")},
            multipart=True,
        )
    )
    assert fixed["status"] == S.SUBMITTED
    assert [m["original_name"] for m in fixed["materials"]] == ["营业执照（清晰）.pdf"]
    again = ent.post(f"/applications/{case_id}/resubmission", {"license": upload()}, multipart=True)
    assert again.status_code == 409

    # 4. The window accepts.
    (queued,) = [item for item in ok(clerk.get("/intake/queue"))["items"] if item["id"] == case_id]
    checklist = [{"key": key, "result": "complete"} for key in ("license", "rd_amount")]
    accepted = ok(
        clerk.post(
            f"/applications/{case_id}/accept",
            {"checklist": checklist, "expected_revision": queued["revision"]},
        )
    )
    assert accepted["status"] == S.IN_REVIEW

    # 5. Both departments, then the leader, approve (the first lowering the amount).
    cut = {"approved_amount": "300000.00", "amount_reason": "部分费用不属于研发费用归集范围"}
    decide_my_task(api["a"], number, "研发费用专项审计报告真实有效，同意。", **cut)
    decide_my_task(api["b"], number, "资金来源已落实，同意。")
    decide_my_task(api["c"], number, "同意拨付。")
    assert ok(admin.get(f"/applications/{case_id}"))["status"] == S.APPROVED

    # 6. 公示: the policy office publishes the approved case; the period then ends.
    candidates = ok(admin.get("/publicity-candidates"))["items"]
    assert [c["id"] for c in candidates] == [case_id]
    assert candidates[0]["approved_amount"] == "300000.00"
    published = ok(
        admin.post(
            "/publicity-batches",
            {"application_ids": [case_id], "title": "2026年政策兑现审核结果公示", "days": 5},
        ),
        201,
    )
    assert [e["application_id"] for e in published["entries"]] == [case_id]
    assert published["running"] is True
    read = ok(admin.get(f"/publicity-batches/{published['id']}"))
    assert read["cases"] == 1 and read["entries"][0]["amount"] == "300000.00"
    assert ok(admin.get(f"/applications/{case_id}"))["status"] == S.IN_PUBLICITY
    assert publicity.close_due(timezone.now() + dt.timedelta(days=60)) == 1
    assert ok(admin.get(f"/applications/{case_id}"))["status"] == S.PUBLICITY_PASSED

    # 7. 经费审批表: issued, its progress read, the signed PDF downloaded.
    pending = ok(admin.get("/fund-form-candidates"))["items"]
    assert [c["id"] for c in pending] == [case_id] and pending[0]["fund_form_id"] is None
    batch = ok(
        admin.post("/fund-form-batches", {"application_ids": [case_id], "label": "第一批"}), 201
    )
    (form,) = batch["items"]
    assert (form["application_id"], form["approved_amount"]) == (case_id, "300000.00")
    progress = ok(admin.get(f"/fund-form-batches/{batch['id']}"))["progress"]
    assert progress["total"] == 2 and progress["state"] in ("queued", "running", "ready")
    pdf = admin.get(f"/fund-forms/{form['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    # 8. Submitted to finance, received, and paid on the form finance finds by the case.
    submitted = ok(admin.post("/finance-submissions", {"batch_id": batch["id"]}), 201)
    assert submitted["status"] == "submitted"
    received = ok(fin.post(f"/finance-submissions/{submitted['id']}/receive", {}))
    assert received["status"] == "received"
    (found,) = ok(fin.get("/fund-forms", application_id=case_id))["items"]
    assert (found["id"], found["status"]) == (form["id"], S.IN_FINANCE)
    paid = ok(
        fin.post(
            "/disbursements",
            {
                "fund_form_id": found["id"],
                "amount": found["approved_amount"],
                "paid_on": timezone.localdate().isoformat(),
                "voucher": "GK-2026-0001",
            },
        ),
        201,
    )
    assert paid["application_number"] == number
    assert ok(admin.get(f"/applications/{case_id}"))["status"] == S.DISBURSED

    # 9. Archived, listed and downloaded.
    waiting = ok(admin.get("/archive-candidates"))["items"]
    assert [c["id"] for c in waiting] == [case_id]
    archive = ok(admin.post("/archives", {"application_id": case_id}), 201)
    assert archive["application_number"] == number and archive["file_count"] > 0
    listed = ok(admin.get("/archives", number=number))["items"]
    assert [a["id"] for a in listed] == [archive["id"]]
    zipped = admin.get(f"/archives/{archive['id']}/download")
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    body = b"".join(zipped.streaming_content) if zipped.streaming else zipped.content
    assert zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert ok(admin.get(f"/applications/{case_id}"))["status"] == S.ARCHIVED

    assert visited and all(url.startswith("/api/") for url in visited)


def test_steps_out_of_order_are_conflicts_and_bad_choices_name_the_field(chain):
    api, rule, _ = chain
    ent, admin = api["enterprise"], api["admin"]
    filed = ent.post(
        "/applications/submissions",
        {
            "rule": rule.code,
            "answers": json.dumps({"rd_amount": "320000.00"}),
            "license": upload(),
        },
        multipart=True,
    )
    case_id = ok(filed, 201)["id"]
    # A submitted case is not waiting for 补正, not approved, not paid: 409 with the reason.
    resubmitted = ent.post(
        f"/applications/{case_id}/resubmission", {"license": upload()}, multipart=True
    )
    assert resubmitted.status_code == 409
    assert "无需补正" in resubmitted.json()["message"]
    body = {"application_ids": [case_id], "title": "公示", "days": 5}
    assert admin.post("/publicity-batches", body).status_code == 409
    for path, archive_body in (
        ("/archives", {"application_id": case_id}),
        ("/archive-batches", {"application_ids": [case_id]}),
    ):
        refused = admin.post(path, archive_body)
        assert refused.status_code == 409
        assert "只有已拨付的办件可以归档" in refused.json()["message"]
    # A case nobody can see is not found; an empty choice is a 400 on the field.
    assert admin.post("/archive-batches", {"application_ids": [999999]}).status_code == 404
    empty = admin.post("/fund-form-batches", {"application_ids": []})
    assert empty.status_code == 400 and "application_ids" in empty.json()["details"]
    assert ok(admin.get("/fund-forms", application_id=case_id))["items"] == []
