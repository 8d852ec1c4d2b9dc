"""REST API of 一口受理 and 办理信息查询: the same services as the pages, JSON errors, 409 on a
stale revision, an enterprise never reads another enterprise's timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.models import SupplementNotice
from policywindow.core.models import CalendarDay

from .test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
    shanghai,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def applicant(make_user):
    return make_user("qiye1", "enterprise", kind="enterprise")


@pytest.fixture
def case(department, applicant):
    enterprise = make_enterprise("沈阳精工机床有限公司")
    make_member(applicant, enterprise)
    return make_case(make_version(department), enterprise, applicant)


@pytest.fixture
def api(login, make_user):
    return login(make_user("clerk1", "window_clerk", real_name="张明"))


def _post(client: Client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


def test_queue_is_paged_with_totals(api, case):
    body = api.get("/api/v1/intake/queue").json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["number"] == case.number
    assert item["enterprise_name"] == "沈阳精工机床有限公司"
    assert item["rule_title"] == "研发费用后补助"
    assert item["revision"] == 0


def test_accept(monkeypatch, api, case):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 0))
    response = _post(
        api,
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": all_complete(case), "note": "齐全", "expected_revision": 0},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["status_label"], body["revision"]) == (S.IN_REVIEW, "审核中", 1)
    assert body["due_at"].startswith("2026-11-28T00:00:00")
    assert body["due_provisional"] is False


def test_accept_into_an_unloaded_month_gives_a_provisional_deadline(monkeypatch, api, case):
    CalendarDay.objects.filter(date__gte=dt.date(2026, 11, 23)).delete()  # as if not loaded
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 0))
    body = _post(
        api,
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": all_complete(case), "note": "齐全", "expected_revision": 0},
    ).json()
    assert body["due_at"].startswith("2026-11-28") and body["due_provisional"] is True
    public = Client().get(
        "/api/v1/status", {"number": case.number, "credit_code": case.enterprise.credit_code}
    )
    assert public.json()["due_provisional"] is True


def test_accept_with_a_missing_item_names_it(api, case):
    checklist = all_complete(case)
    checklist[0]["result"] = "missing"
    response = _post(
        api,
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": checklist, "expected_revision": 0},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "checklist.project_name" in response.json()["details"]


def test_an_unknown_result_is_refused_by_the_schema(api, case):
    checklist = all_complete(case)
    checklist[0]["result"] = "perhaps"
    response = _post(
        api,
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": checklist, "expected_revision": 0},
    )
    assert response.status_code == 400
    assert "取值无效" in response.json()["details"]["checklist.0.result"][0]


def test_supplement_then_a_stale_accept_is_409(api, case):
    response = _post(
        api,
        f"/api/v1/applications/{case.pk}/supplement",
        {
            "items": [{"key": "audit_report", "comment": "缺盖章页"}],
            "comment": "请补正",
            "expected_revision": 0,
        },
    )
    assert response.status_code == 200
    assert response.json()["status"] == S.SUPPLEMENT_REQUIRED
    assert SupplementNotice.objects.get(application=case).items[0]["comment"] == "缺盖章页"
    stale = _post(
        api,
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": all_complete(case), "expected_revision": 0},
    )
    assert stale.status_code == 409
    assert stale.json() == {
        "code": "conflict",
        "message": "该申报已被他人处理，请刷新页面后查看最新状态",
        "details": {"revision": 1},
    }


def test_refuse(api, case):
    response = _post(
        api, f"/api/v1/applications/{case.pk}/refuse", {"reason": "", "expected_revision": 0}
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"reason": ["请填写不予受理的理由"]}
    response = _post(
        api,
        f"/api/v1/applications/{case.pk}/refuse",
        {"reason": "不属于支持范围", "expected_revision": 0},
    )
    assert response.json()["status"] == S.NOT_ACCEPTED


def test_a_case_outside_the_clerks_scope_is_404(
    login, make_user, make_department, case, narrowed_scope
):
    narrowed_scope("window_clerk")
    outsider = login(make_user("dl", "window_clerk", dept=make_department("大连市营商局")))
    response = _post(
        outsider,
        f"/api/v1/applications/{case.pk}/refuse",
        {"reason": "x", "expected_revision": 0},
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_enterprise_cannot_decide(login, applicant, case):
    response = _post(
        login(applicant),
        f"/api/v1/applications/{case.pk}/accept",
        {"checklist": all_complete(case), "expected_revision": 0},
    )
    assert response.status_code == 403


def test_timeline_for_the_enterprise_and_the_clerk(api, login, applicant, case):
    _post(
        api,
        f"/api/v1/applications/{case.pk}/refuse",
        {"reason": "不属于支持范围", "expected_revision": 0},
    )
    own = login(applicant).get(f"/api/v1/applications/{case.pk}/timeline")
    assert own.status_code == 200
    entries = own.json()
    assert [(e["action_label"], e["to_status"]) for e in entries] == [
        ("提交申报", "待受理"),
        ("不予受理", "不予受理"),
    ]
    assert entries[1]["actor"] == "张明" and entries[1]["note"] == "不属于支持范围"
    assert api.get(f"/api/v1/applications/{case.pk}/timeline").status_code == 200


def test_an_enterprise_never_reads_another_enterprises_timeline(login, make_user, case):
    stranger = make_user("qiye2", "enterprise", kind="enterprise")
    make_member(stranger, make_enterprise())
    response = login(stranger).get(f"/api/v1/applications/{case.pk}/timeline")
    assert response.status_code == 404
    assert "张明" not in response.content.decode()


def test_public_status_by_number_and_credit_code(case):
    client = Client()
    response = client.get(
        "/api/v1/status", {"number": case.number, "credit_code": case.enterprise.credit_code}
    )
    assert response.status_code == 200
    assert response.json() == {
        "number": case.number,
        "status": "submitted",
        "status_label": "待受理",
        "submitted_on": timezone.localdate(case.submitted_at).isoformat(),
        "accepted_on": None,
        "due_on": None,
        "due_provisional": False,
    }
    wrong = client.get("/api/v1/status", {"number": case.number, "credit_code": "9" * 18})
    assert wrong.status_code == 404
    assert wrong.json()["message"] == selectors.PUBLIC_NOT_FOUND


def test_public_status_is_rate_limited(case):
    client = Client()
    query = {"number": case.number, "credit_code": case.enterprise.credit_code}
    for _ in range(selectors.PUBLIC_LOOKUP_LIMIT):
        assert client.get("/api/v1/status", query).status_code == 200
    limited = client.get("/api/v1/status", query)
    assert limited.status_code == 429
    assert limited.json()["code"] == "too_many_requests"
