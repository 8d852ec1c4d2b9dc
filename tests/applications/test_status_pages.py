"""办理信息查询: 办件查询 for staff, the enterprise's own application with its timeline and
补正 notice, and the public status page (status only, no enumeration, rate-limited)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake

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
    return make_user("qiye1", "enterprise", kind="enterprise", real_name="李经办")


@pytest.fixture
def case(department, applicant):
    enterprise = make_enterprise("沈阳精工机床有限公司")
    make_member(applicant, enterprise)
    return make_case(make_version(department), enterprise, applicant)


@pytest.fixture
def clerk(make_user):
    return make_user("clerk1", "window_clerk", real_name="张明")


# ---------------------------------------------------------------- 办件查询


@pytest.mark.parametrize(
    ("role", "status"),
    [("window_clerk", 200), ("bureau_leader", 200), ("enterprise", 403), ("sys_admin", 403)],
)
def test_case_list_and_detail_access(make_user, login, case, role, status):
    user = make_user(f"u_{role}", role, kind="enterprise" if role == "enterprise" else "staff")
    client = login(user)
    assert client.get(reverse("applications:case_list")).status_code == status
    assert client.get(reverse("applications:case_detail", args=[case.pk])).status_code == status


def test_case_list_filters_and_keeps_a_bad_date_out(login, clerk, case, department, applicant):
    other = make_case(make_version(department), make_enterprise("大连远洋渔业公司"), applicant)
    client = login(clerk)
    html = client.get(reverse("applications:case_list"), {"enterprise": "远洋"}).content.decode()
    assert other.number in html and case.number not in html
    html = client.get(
        reverse("applications:case_list"), {"submitted_from": "2026-02-30"}
    ).content.decode()
    assert "请输入正确的日期" in html
    assert other.number in html and case.number in html


def test_case_detail_shows_timeline_form_and_notices(login, clerk, case):
    intake.request_supplement(
        clerk, case, [{"key": "audit_report", "comment": "缺盖章页"}], expected_revision=0
    )
    html = login(clerk).get(reverse("applications:case_detail", args=[case.pk])).content.decode()
    for text in ("一次性告知补正", "张明", "待补正", "缺盖章页", "高精度数控机床主轴研发"):
        assert text in html, text


# ---------------------------------------------------------------- the enterprise's own case


def test_enterprise_sees_its_application_with_the_timeline(
    monkeypatch, login, clerk, case, applicant
):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 5))
    intake.accept(clerk, case, all_complete(case), "材料齐全", expected_revision=0)
    monkeypatch.undo()
    html = login(applicant).get(reverse("applications:my_detail", args=[case.pk])).content.decode()
    timeline = html[html.index('data-testid="timeline"') :]
    for text in ("提交申报", "窗口受理", "张明", "2026-11-20 10:05", "材料齐全", "审核中"):
        assert text in timeline, text
    assert "2026-11-27" in html  # the due date: end of the 5th working day
    assert 'data-testid="supplement-notice"' not in html


def test_enterprise_sees_exactly_the_items_to_fix(login, clerk, case, applicant):
    intake.request_supplement(
        clerk,
        case,
        [
            {"key": "audit_report", "comment": "请上传加盖公章的审计报告"},
            {"key": "project_name", "comment": "项目名称与立项书不一致"},
        ],
        "请于 10 个工作日内补正",
        expected_revision=0,
    )
    html = login(applicant).get(reverse("applications:my_detail", args=[case.pk])).content.decode()
    notice = html[html.index('data-testid="supplement-notice"') : html.index('class="row g-3"')]
    assert notice.count("<tr data-item=") == 2
    assert 'data-item="project_name"' in notice and 'data-item="audit_report"' in notice
    assert "请上传加盖公章的审计报告" in notice and "项目名称与立项书不一致" in notice
    assert "请于 10 个工作日内补正" in notice
    assert reverse("applications:apply_supplement", args=[case.pk]) in notice


def test_another_enterprises_application_is_404(make_user, login, case):
    stranger = make_user("qiye2", "enterprise", kind="enterprise")
    make_member(stranger, make_enterprise())
    response = login(stranger).get(reverse("applications:my_detail", args=[case.pk]))
    assert response.status_code == 404


def test_staff_cannot_use_the_enterprise_page(login, clerk, case):
    assert login(clerk).get(reverse("applications:my_detail", args=[case.pk])).status_code == 403


# ---------------------------------------------------------------- public status


def _lookup(client: Client, number: str, credit_code: str, **extra):
    return client.get(
        reverse("applications:public_status"),
        {"number": number, "credit_code": credit_code},
        **extra,
    )


def test_public_status_shows_the_status_and_dates_only(monkeypatch, clerk, case):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 0))
    intake.accept(clerk, case, all_complete(case), "材料齐全", expected_revision=0)
    monkeypatch.undo()
    response = _lookup(Client(), case.number.lower(), f" {case.enterprise.credit_code.lower()} ")
    assert response.status_code == 200
    html = response.content.decode()
    result = html[html.index('data-testid="status-result"') :]
    assert "审核中" in result
    assert "2026年11月20日" in result  # accepted
    assert "2026年11月27日" in result  # due
    for private in (
        "320,000",
        "3,200,000",
        "沈阳精工机床有限公司",
        "李经办",
        "张明",
        "高精度数控机床主轴研发",
        "材料齐全",
        "6222",
    ):
        assert private not in html, private


def test_wrong_pair_and_unknown_number_answer_alike(case):
    client = Client()
    wrong_pair = _lookup(client, case.number, "91210100MA0000001X").content.decode()
    unknown = _lookup(client, "ZC2026999999", case.enterprise.credit_code).content.decode()
    for html in (wrong_pair, unknown):
        assert selectors.PUBLIC_NOT_FOUND in html
        assert 'data-testid="status-result"' not in html


def test_a_draft_is_not_found_publicly(department, applicant):
    draft = make_case(make_version(department), make_enterprise(), applicant, status=S.DRAFT)
    html = _lookup(Client(), draft.number, draft.enterprise.credit_code).content.decode()
    assert selectors.PUBLIC_NOT_FOUND in html


def test_public_lookups_are_rate_limited_per_ip(case):
    client = Client()
    for _ in range(selectors.PUBLIC_LOOKUP_LIMIT):
        assert _lookup(client, case.number, "x" * 18, REMOTE_ADDR="10.0.0.1").status_code == 200
    limited = _lookup(client, case.number, case.enterprise.credit_code, REMOTE_ADDR="10.0.0.1")
    assert limited.status_code == 429
    assert "查询过于频繁：每 10 分钟最多查询 20 次" in limited.content.decode()
    assert 'data-testid="status-result"' not in limited.content.decode()
    other_ip = _lookup(client, case.number, case.enterprise.credit_code, REMOTE_ADDR="10.0.0.2")
    assert 'data-testid="status-result"' in other_ip.content.decode()


def test_public_form_needs_both_fields(db):
    html = _lookup(Client(), "", "123").content.decode()
    assert "请输入申报编号" in html
    assert "统一社会信用代码为 18 位" in html
    blank = Client().get(reverse("applications:public_status"))
    assert blank.status_code == 200 and "请输入申报编号" not in blank.content.decode()
