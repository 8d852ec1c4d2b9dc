"""受理队列 and the case intake page: who may reach them, and the three decisions in the browser."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.models import SupplementNotice

from .test_intake_factories import make_case, make_enterprise, make_version, shanghai

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(make_user):
    return make_user("clerk1", "window_clerk", real_name="张明")


@pytest.fixture
def case(department, make_user):
    applicant = make_user("qiye1", "enterprise", kind="enterprise")
    return make_case(make_version(department), make_enterprise("沈阳精工机床有限公司"), applicant)


@pytest.fixture
def clerk_client(login, clerk):
    return login(clerk)


def _checklist_post(case, **results):
    data = {"revision": case.revision, "note": ""}
    for item in case.form_snapshot:
        data[f"check_{item['key']}"] = results.get(item["key"], ("complete", ""))[0]
        data[f"comment_{item['key']}"] = results.get(item["key"], ("complete", ""))[1]
    return data


@pytest.mark.parametrize(
    ("role", "status"),
    [("window_clerk", 200), ("enterprise", 403), ("sys_admin", 403), ("bureau_leader", 403)],
)
def test_queue_admits_window_clerks_only(make_user, login, case, role, status):
    user = make_user(f"u_{role}", role, kind="enterprise" if role == "enterprise" else "staff")
    response = login(user).get(reverse("applications:intake_queue"))
    assert response.status_code == status
    if status == 200:
        assert case.number in response.content.decode()


def test_queue_lists_number_enterprise_rule_time_channel_and_waiting(clerk_client, case):
    html = clerk_client.get(reverse("applications:intake_queue")).content.decode()
    for text in (case.number, "沈阳精工机床有限公司", "研发费用后补助", "网上申报", "受理审查"):
        assert text in html
    assert timezone.localtime(case.submitted_at).strftime("%Y-%m-%d %H:%M") in html


def test_queue_pages(clerk_client, department, make_user):
    applicant = make_user("qiye2", "enterprise", kind="enterprise")
    version = make_version(department)
    for _ in range(23):
        make_case(version, make_enterprise(), applicant)
    first = clerk_client.get(reverse("applications:intake_queue")).content.decode()
    second = clerk_client.get(reverse("applications:intake_queue") + "?page=2").content.decode()
    assert "共 23 条，第 1 / 2 页" in first
    assert second.count('data-number="') == 3


def test_case_page_shows_the_form_precheck_and_the_three_actions(clerk_client, case):
    html = clerk_client.get(reverse("applications:intake_case", args=[case.pk])).content.decode()
    for text in (
        "高精度数控机床主轴研发",  # text answer
        "3,200,000.00 元",  # money answer
        "人工智能",  # choice label, not its value
        "符合申报条件",  # eligibility pre-check
        "320,000.00 元",  # expected amount
        "申报表单与要件核验",
        'data-testid="accept"',
        'data-testid="supplement"',
        'data-testid="refuse-toggle"',
    ):
        assert text in html, text


def test_case_page_of_another_scope_is_404(login, make_user, make_department, case, narrowed_scope):
    narrowed_scope("window_clerk")
    outsider = make_user("dl_clerk", "window_clerk", dept=make_department("大连市营商局"))
    response = login(outsider).get(reverse("applications:intake_case", args=[case.pk]))
    assert response.status_code == 404


def test_accept_in_the_browser(monkeypatch, clerk_client, case):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 0))
    response = clerk_client.post(
        reverse("applications:intake_accept", args=[case.pk]), _checklist_post(case)
    )
    assert response.status_code == 302
    # Back on the case, where the clerk prints the 受理通知书 to hand over.
    assert response["Location"] == reverse("applications:intake_case", args=[case.pk])
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW


def test_accept_with_an_item_missing_shows_the_error_on_that_row(clerk_client, case):
    data = _checklist_post(case, audit_report=("missing", "未上传审计报告"))
    response = clerk_client.post(reverse("applications:intake_accept", args=[case.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-field-error="check_audit_report"' in html
    assert "核验为“缺失”，不能受理" in html
    assert "未上传审计报告</textarea>" in html  # the clerk's input is kept
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_supplement_in_the_browser_sends_the_items_marked_missing(clerk_client, case):
    data = _checklist_post(
        case,
        audit_report=("missing", "请上传加盖事务所公章的审计报告"),
        rd_spend=("nonconforming", "金额与审计报告不一致"),
    )
    data["note"] = "请一次性补齐"
    response = clerk_client.post(reverse("applications:intake_supplement", args=[case.pk]), data)
    assert response.status_code == 302
    notice = SupplementNotice.objects.get(application=case)
    assert [(i["key"], i["comment"]) for i in notice.items] == [
        ("rd_spend", "金额与审计报告不一致"),
        ("audit_report", "请上传加盖事务所公章的审计报告"),
    ]
    assert notice.comment == "请一次性补齐"


def test_supplement_without_a_comment_points_at_the_row(clerk_client, case):
    data = _checklist_post(case, audit_report=("missing", ""))
    response = clerk_client.post(reverse("applications:intake_supplement", args=[case.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-field-error="comment_audit_report"' in html
    assert "请写明“研发费用专项审计报告”需要如何补正" in html


def test_supplement_with_nothing_marked_is_refused(clerk_client, case):
    response = clerk_client.post(
        reverse("applications:intake_supplement", args=[case.pk]), _checklist_post(case)
    )
    assert "请至少选择一项需要补正的要件" in response.content.decode()


def test_refuse_in_the_browser(clerk_client, case):
    url = reverse("applications:intake_refuse", args=[case.pk])
    empty = clerk_client.post(url, {"revision": 0, "reason": ""})
    assert "请填写不予受理的理由" in empty.content.decode()
    assert 'id="refuse-panel"' in empty.content.decode()
    response = clerk_client.post(url, {"revision": 0, "reason": "企业不在本政策支持地域"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.NOT_ACCEPTED


def test_a_stale_page_goes_back_to_the_case_with_the_reason(clerk_client, login, make_user, case):
    other = login(make_user("clerk2", "window_clerk"))
    other.post(
        reverse("applications:intake_refuse", args=[case.pk]), {"revision": 0, "reason": "x"}
    )
    response = clerk_client.post(
        reverse("applications:intake_accept", args=[case.pk]), _checklist_post(case), follow=True
    )
    html = response.content.decode()
    assert "该申报已被他人处理，请刷新页面后查看最新状态" in html
    assert 'data-testid="not-actionable"' in html
    assert 'data-testid="checklist-form"' not in html
    case.refresh_from_db()
    assert case.status == S.NOT_ACCEPTED


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("intake_accept", "window:intake:accept"),
        ("intake_supplement", "window:intake:supplement"),
        ("intake_refuse", "window:intake:refuse"),
    ],
)
def test_decisions_need_their_own_permission(login, enterprise_user, case, name, code):
    response = login(enterprise_user).post(reverse(f"applications:{name}", args=[case.pk]), {})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_decisions_are_post_only(clerk_client, case):
    assert (
        clerk_client.get(reverse("applications:intake_accept", args=[case.pk])).status_code == 405
    )
