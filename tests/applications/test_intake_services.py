"""一口受理 services: accept with the working-day deadline, the one-time 补正 notice, refusal,
and decisions made on a stale page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from policywindow.applications import selectors
from policywindow.applications.models import ApplicationEvent, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.core import audit, calendar, deadlines
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent, ProvisionalDeadline

from .test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_version,
    shanghai,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(make_user):
    return make_user("clerk1", "window_clerk", real_name="张明")


@pytest.fixture
def case(department, make_user):
    applicant = make_user("qiye1", "enterprise", kind="enterprise")
    return make_case(make_version(department), make_enterprise(), applicant)


def at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


# ---------------------------------------------------------------- accept


def test_accept_starts_the_review_with_a_working_day_deadline(monkeypatch, clerk, case):
    # Accepted on Friday 2026-11-20 with 5 working days: due at the end of Friday 2026-11-27.
    at(monkeypatch, shanghai(2026, 11, 20, 10, 30))
    accepted = intake.accept(
        clerk, case, all_complete(case), "材料齐全，予以受理", expected_revision=0
    )

    accepted.refresh_from_db()
    assert accepted.status == S.IN_REVIEW
    assert accepted.revision == 1
    assert accepted.accepted_by == clerk
    assert accepted.accepted_at == shanghai(2026, 11, 20, 10, 30)
    assert accepted.due_at == shanghai(2026, 11, 28, 0, 0)
    assert selectors.due_date(accepted) == dt.date(2026, 11, 27)
    event = ApplicationEvent.objects.get(application=case, action="accept")
    assert (event.from_status, event.to_status, event.note) == (
        S.SUBMITTED,
        S.IN_REVIEW,
        "材料齐全，予以受理",
    )
    assert [c["result"] for c in event.data["checklist"]] == ["complete"] * 5
    assert event.actor_name == "张明"
    assert AuditEvent.objects.filter(action="application.accept", object_id=str(case.pk)).exists()


def test_national_day_pushes_the_deadline(monkeypatch, clerk, case):
    # Friday 2026-09-25 + 5: 9/28, 9/29, 9/30, (国庆 10/1-10/7), 10/8, 10/9.
    at(monkeypatch, shanghai(2026, 9, 25, 16, 0))
    accepted = intake.accept(clerk, case, all_complete(case), expected_revision=0)
    assert accepted.due_at == shanghai(2026, 10, 10, 0, 0)


def test_review_days_come_from_the_rule_version(monkeypatch, clerk, department, make_user):
    version = make_version(department, review_days=10)
    case = make_case(
        version, make_enterprise(), make_user("qiye2", "enterprise", kind="enterprise")
    )
    at(monkeypatch, shanghai(2026, 11, 20, 9, 0))
    accepted = intake.accept(clerk, case, all_complete(case), expected_revision=0)
    assert selectors.due_date(accepted) == dt.date(2026, 12, 4)


def test_a_deadline_past_the_holiday_table_is_provisional_and_remembered(monkeypatch, clerk, case):
    # 2027 is not loaded: the case is accepted all the same, due by the weekend alone.
    at(monkeypatch, shanghai(2026, 12, 28, 10, 0))
    accepted = intake.accept(clerk, case, all_complete(case), expected_revision=0)
    days = accepted.rule_version.review_days
    assert accepted.status == S.IN_REVIEW
    assert accepted.due_at == calendar.deadline(shanghai(2026, 12, 28, 10, 0), days).due_at
    assert selectors.due_date(accepted).year == 2027
    assert deadlines.is_provisional(accepted.due_at)
    row = ProvisionalDeadline.objects.get(target="applications.application.due_at")
    assert (row.object_id, row.days, row.due_at) == (case.pk, days, accepted.due_at)


def test_accept_needs_every_item_checked_complete(clerk, case):
    checklist = all_complete(case)
    checklist[4] = {"key": "audit_report", "result": "missing", "comment": "未上传"}
    del checklist[0]
    checklist.append({"key": "nonsense", "result": "complete"})
    with pytest.raises(ValidationFailed) as caught:
        intake.accept(clerk, case, checklist, expected_revision=0)
    details = caught.value.details
    assert details["checklist.project_name"] == ["请核验“研发项目名称”是否齐全"]
    assert "核验为“缺失”" in details["checklist.audit_report"][0]
    assert details["checklist"] == ["表单中没有要件项“nonsense”"]
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


def test_accept_refuses_an_unknown_result_and_an_overlong_note(clerk, case):
    checklist = all_complete(case)
    checklist[1]["result"] = "maybe"
    with pytest.raises(ValidationFailed) as caught:
        intake.accept(clerk, case, checklist, expected_revision=0)
    assert "checklist.rd_spend" in caught.value.details
    with pytest.raises(ValidationFailed) as caught:
        intake.accept(clerk, case, all_complete(case), "很" * 501, expected_revision=0)
    assert caught.value.details["note"] == ["受理意见不能超过 500 个字"]


def test_application_actions_have_chinese_names_in_the_operation_log():
    assert audit.action_label("application.accept") == "窗口受理"
    assert audit.action_label("application.supplement") == "一次性告知补正"
    assert audit.action_label("application.refuse") == "不予受理"


# ---------------------------------------------------------------- 补正


def test_supplement_notice_lists_every_item_with_its_comment(clerk, case):
    items = [
        {"key": "audit_report", "comment": "审计报告缺少事务所盖章页"},
        {"key": "rd_spend", "comment": "与审计报告金额不一致，请核对"},
    ]
    moved = intake.request_supplement(clerk, case, items, "请在 15 日内补正", expected_revision=0)

    assert moved.status == S.SUPPLEMENT_REQUIRED
    notice = SupplementNotice.objects.get(application=case)
    # In the form's order, each with its label and the clerk's comment.
    assert notice.items == [
        {"key": "rd_spend", "label": "上年研发费用", "comment": "与审计报告金额不一致，请核对"},
        {
            "key": "audit_report",
            "label": "研发费用专项审计报告",
            "comment": "审计报告缺少事务所盖章页",
        },
    ]
    assert notice.comment == "请在 15 日内补正"
    assert notice.issued_by == clerk
    assert selectors.open_supplement_notice(moved) == notice
    event = ApplicationEvent.objects.get(application=case, action="supplement")
    assert event.data["items"] == notice.items
    assert event.note == "请在 15 日内补正"


@pytest.mark.parametrize(
    ("items", "field", "message"),
    [
        ([], "items", "请至少选择一项需要补正的要件，并写明补正要求"),
        (
            [{"key": "rd_spend", "comment": "  "}],
            "items.rd_spend",
            "请写明“上年研发费用”需要如何补正",
        ),
        ([{"key": "ghost", "comment": "x"}], "items", "表单中没有要件项“ghost”"),
        (
            [{"key": "rd_spend", "comment": "a"}, {"key": "rd_spend", "comment": "b"}],
            "items.rd_spend",
            "同一要件只能列出一次",
        ),
    ],
)
def test_supplement_needs_items_each_with_a_comment(clerk, case, items, field, message):
    with pytest.raises(ValidationFailed) as caught:
        intake.request_supplement(clerk, case, items, expected_revision=0)
    assert message in caught.value.details[field]
    case.refresh_from_db()
    assert case.status == S.SUBMITTED
    assert not SupplementNotice.objects.exists()


# ---------------------------------------------------------------- 不予受理


def test_refuse_records_the_reason(clerk, case):
    refused = intake.refuse(clerk, case, "  不属于本政策支持范围  ", expected_revision=0)
    assert refused.status == S.NOT_ACCEPTED
    event = ApplicationEvent.objects.get(application=case, action="refuse")
    assert event.note == "不属于本政策支持范围"
    assert (
        AuditEvent.objects.get(action="application.refuse").after["note"] == "不属于本政策支持范围"
    )


def test_refuse_needs_a_reason(clerk, case):
    with pytest.raises(ValidationFailed) as caught:
        intake.refuse(clerk, case, "   ", expected_revision=0)
    assert caught.value.details == {"reason": ["请填写不予受理的理由"]}
    case.refresh_from_db()
    assert case.status == S.SUBMITTED


# ---------------------------------------------------------------- stale pages and wrong states


def test_second_clerk_on_a_stale_page_gets_a_conflict(monkeypatch, clerk, case, make_user):
    other = make_user("clerk2", "window_clerk")
    page_revision = case.revision  # both clerks opened the case at revision 0
    at(monkeypatch, shanghai(2026, 11, 20, 10, 0))
    intake.accept(clerk, case, all_complete(case), expected_revision=page_revision)

    with pytest.raises(Conflict, match="该申报已被他人处理，请刷新页面后查看最新状态"):
        intake.request_supplement(
            other, case, [{"key": "rd_spend", "comment": "请核对"}], expected_revision=page_revision
        )
    with pytest.raises(Conflict, match="已被他人处理"):
        intake.refuse(other, case, "重复申报", expected_revision=page_revision)
    case.refresh_from_db()
    assert (case.status, case.revision, case.accepted_by) == (S.IN_REVIEW, 1, clerk)
    assert not SupplementNotice.objects.exists()
    actions = ApplicationEvent.objects.filter(application=case).values_list("action", flat=True)
    assert sorted(actions) == ["accept", "review_start", "submit"]  # one accept, one review


def test_intake_acts_only_on_submitted_applications(clerk, department, make_user):
    applicant = make_user("qiye3", "enterprise", kind="enterprise")
    waiting = make_case(
        make_version(department), make_enterprise(), applicant, status=S.SUPPLEMENT_REQUIRED
    )
    with pytest.raises(
        Conflict, match="只有“待受理”的申报可以受理、补正或不予受理，该申报当前为“待补正”"
    ):
        intake.accept(clerk, waiting, all_complete(waiting), expected_revision=waiting.revision)
    refused = make_case(
        make_version(department), make_enterprise(), applicant, status=S.NOT_ACCEPTED
    )
    with pytest.raises(Conflict, match="当前为“不予受理”"):
        intake.refuse(clerk, refused, "再次拒绝", expected_revision=refused.revision)
