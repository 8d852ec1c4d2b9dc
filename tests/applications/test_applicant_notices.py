"""The enterprise is told of every status change that matters to it — its users, by inbox and
SMS — and nobody else is: not the clerk who filed at the counter, not the staff who decided.

``WHO_GETS_WHAT`` is the reviewed statement, independent of ``applications.notices``: for every
move of ``transitions.ALLOWED``, the kind of message the enterprise's users receive, or None
where the move deliberately tells nobody (``notices.SILENT`` says why).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import notices, transitions
from policywindow.applications.models import Application, ApplicationEvent, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.notifications.models import Delivery, Notification
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime

from .test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
    shanghai,
)

pytestmark = pytest.mark.django_db

ALLOWED = [(src, dst) for src in S.values for dst in sorted(transitions.ALLOWED[src])]

WHO_GETS_WHAT: dict[tuple[str, str], str | None] = {
    (S.DRAFT, S.SUBMITTED): "case_submitted",
    (S.DRAFT, S.WITHDRAWN): None,
    (S.SUBMITTED, S.IN_REVIEW): "case_accepted",
    (S.SUBMITTED, S.SUPPLEMENT_REQUIRED): "supplement_requested",
    (S.SUBMITTED, S.NOT_ACCEPTED): "case_not_accepted",
    (S.SUBMITTED, S.WITHDRAWN): "case_withdrawn",
    (S.SUPPLEMENT_REQUIRED, S.SUBMITTED): "supplement_received",
    (S.SUPPLEMENT_REQUIRED, S.IN_REVIEW): "supplement_received",
    (S.SUPPLEMENT_REQUIRED, S.WITHDRAWN): "case_withdrawn",
    (S.IN_REVIEW, S.APPROVED): "case_decided",
    (S.IN_REVIEW, S.REJECTED): "case_decided",
    (S.IN_REVIEW, S.SUPPLEMENT_REQUIRED): "supplement_requested",
    (S.IN_REVIEW, S.WITHDRAWN): "case_withdrawn",
    (S.APPROVED, S.IN_PUBLICITY): "case_publicity",
    (S.APPROVED, S.IN_FINANCE): "case_in_finance",
    (S.IN_PUBLICITY, S.PUBLICITY_PASSED): "case_publicity",
    (S.IN_PUBLICITY, S.OBJECTION): None,
    (S.OBJECTION, S.IN_PUBLICITY): None,
    (S.OBJECTION, S.PUBLICITY_PASSED): "case_publicity",
    (S.OBJECTION, S.IN_REVIEW): "objection_upheld",
    (S.PUBLICITY_PASSED, S.IN_FINANCE): "case_in_finance",
    (S.IN_FINANCE, S.DISBURSED): "disbursed",
    (S.IN_FINANCE, S.PUBLICITY_PASSED): None,
    (S.DISBURSED, S.ARCHIVED): "case_archived",
}
# What the services pass along with the move, and what the message must then say.
MOVES: dict[tuple[str, str], dict] = {
    (S.SUBMITTED, S.SUPPLEMENT_REQUIRED): {
        "note": "请一次性补齐",
        "data": {
            "items": [
                {"key": "audit_report", "label": "研发费用专项审计报告", "comment": "请盖章"}
            ],
            "respond_by": "2026-12-05T00:00:00+08:00",
        },
        "says": ("研发费用专项审计报告：请盖章", "2026年12月4日"),
    },
    (S.SUBMITTED, S.NOT_ACCEPTED): {
        "note": "不属于本政策支持范围",
        "says": ("不属于本政策支持范围", "六十日内依法申请行政复议"),
    },
    (S.IN_REVIEW, S.APPROVED): {
        "data": {
            "requested_amount": "320000.00",
            "approved_amount": "250000.00",
            "reductions": [{"node": "审核", "amount": "250000.00", "reason": "境外研发不计入"}],
        },
        "says": ("250,000.00 元", "核减 70,000.00 元", "核减理由：境外研发不计入"),
    },
    (S.IN_FINANCE, S.DISBURSED): {
        "data": {"amount": "250000.00", "paid_on": "2026-12-01"},
        "says": ("250,000.00 元", "2026年12月1日"),
    },
    (S.OBJECTION, S.IN_REVIEW): {"note": "公示异议成立：证书已撤销", "says": ("证书已撤销",)},
}


@pytest.fixture
def cast(make_user):
    """An enterprise with two users (one with a mobile), a clerk and an unrelated enterprise user."""
    enterprise = make_enterprise("营口消息测试机械有限公司")
    first = make_user("nt_first", "enterprise", kind="enterprise", mobile="13800001111")
    second = make_user("nt_second", "enterprise", kind="enterprise")
    stranger = make_user("nt_other", "enterprise", kind="enterprise", mobile="13800002222")
    make_member(first, enterprise)
    make_member(second, enterprise)
    make_member(stranger, make_enterprise("另一家企业有限公司"))
    return {
        "enterprise": enterprise,
        "users": [first, second],
        "stranger": stranger,
        "clerk": make_user("nt_clerk", "window_clerk", real_name="窗口周敏", mobile="13900003333"),
    }


@pytest.fixture
def counter_case(department, cast) -> Application:
    """Filed at the counter by the clerk for the enterprise (窗口代办): the clerk is its 经办人."""
    return make_case(
        make_version(department),
        cast["enterprise"],
        cast["clerk"],
        channel=Application.Channel.WINDOW,
    )


def test_every_allowed_move_is_either_announced_or_silent_with_a_reason():
    announced, silent = set(notices.MESSAGES), set(notices.SILENT)
    assert announced.isdisjoint(silent)
    assert announced | silent == set(ALLOWED)
    assert set(WHO_GETS_WHAT) == set(ALLOWED)
    assert all(len(reason) > 10 for reason in notices.SILENT.values())
    assert set(notices.AUTO_GRANT_QUIET) <= announced
    assert {pair for pair, kind in WHO_GETS_WHAT.items() if kind is None} == silent


@pytest.mark.parametrize(("src", "dst"), ALLOWED)
def test_each_move_tells_the_enterprise_users_and_nobody_else(cast, counter_case, src, dst):
    Application.objects.filter(pk=counter_case.pk).update(status=src)
    move = MOVES.get((src, dst), {})
    with transaction.atomic():
        transitions.move(
            transitions.lock(counter_case.pk),
            dst,
            actor=cast["clerk"],
            action="test",
            note=move.get("note", ""),
            data=move.get("data"),
        )
    expected = WHO_GETS_WHAT[(src, dst)]
    got = list(Notification.objects.values_list("recipient__username", "kind"))
    if expected is None:
        assert got == [], notices.SILENT[(src, dst)]
        return
    assert sorted(got) == [("nt_first", expected), ("nt_second", expected)]
    for message in Notification.objects.all():
        assert counter_case.number in message.subject
        assert message.link == reverse("applications:my_detail", args=[counter_case.pk])
        for words in move.get("says", ()):
            assert words in message.body, words
    # SMS through the outbox, to the enterprise user with a mobile; never to the clerk.
    assert list(
        Delivery.objects.filter(channel=Delivery.Channel.SMS).values_list(
            "notification__recipient__username", flat=True
        )
    ) == ["nt_first"]


def test_a_timeline_line_is_announced_once(cast, counter_case):
    with transaction.atomic():
        event = transitions.record_event(counter_case, actor=None, action="fund_form", note="X")
    assert notices.announce(event) == 0  # already told when the line was written
    assert Notification.objects.filter(kind="fund_form_issued").count() == 2


def test_steps_without_a_status_change_stay_quiet_unless_listed(cast, counter_case):
    with transaction.atomic():
        for action in ("save_draft", "finance_receive", "review_approve", "objection"):
            transitions.record_event(counter_case, actor=None, action=action, note="内部")
    assert not Notification.objects.exists()


# ---------------------------------------------------------------- through the services


def test_the_window_decisions_reach_the_enterprise_not_the_clerk(
    monkeypatch, cast, counter_case, department
):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 30))
    clerk = cast["clerk"]
    intake.request_supplement(
        clerk,
        counter_case,
        [{"key": "audit_report", "comment": "请上传盖章版"}],
        "请一次性补齐",
        expected_revision=0,
    )
    notice = SupplementNotice.objects.get(application=counter_case)
    assert notice.last_day == dt.date(2026, 12, 4)  # 10 working days (系统参数“补正期限”)
    refused = make_case(make_version(department), cast["enterprise"], clerk)
    intake.refuse(clerk, refused, "申报年度与政策执行期不符", expected_revision=0)
    accepted = make_case(make_version(department), cast["enterprise"], clerk)
    intake.accept(clerk, accepted, all_complete(accepted), expected_revision=0)

    assert not Notification.objects.filter(recipient=clerk).exists()
    assert not Notification.objects.filter(recipient=cast["stranger"]).exists()
    first = cast["users"][0]
    told = {n.kind: n for n in Notification.objects.filter(recipient=first)}
    assert set(told) == {"supplement_requested", "case_not_accepted", "case_accepted"}
    assert "研发费用专项审计报告：请上传盖章版" in told["supplement_requested"].body
    assert "2026年12月4日" in told["supplement_requested"].body
    assert "申报年度与政策执行期不符" in told["case_not_accepted"].body
    assert "2026年11月27日" in told["case_accepted"].body
    assert Notification.objects.filter(recipient=cast["users"][1]).count() == 3


def test_a_lowered_amount_is_explained_in_the_approval_message(monkeypatch, cast, counter_case):
    monkeypatch.setattr(timezone, "now", lambda: shanghai(2026, 11, 20, 10, 30))
    intake.accept(cast["clerk"], counter_case, all_complete(counter_case), expected_revision=0)
    task = WorkflowTask.objects.get(application=counter_case, status="open")
    runtime.decide(
        task.assignee,
        task.pk,
        runtime.Decision(
            "approve", "同意", approved_amount="300000.00", amount_reason="扣除不合规发票"
        ),
    )
    decided = Notification.objects.get(recipient=cast["users"][0], kind="case_decided")
    assert "审核通过" in decided.subject
    assert "核定金额 300,000.00 元" in decided.body and "核减理由：扣除不合规发票" in decided.body
    assert not Notification.objects.filter(recipient=task.assignee, kind="case_decided")
    line = ApplicationEvent.objects.get(application=counter_case, action="review_approved")
    assert line.data["reductions"][0]["reason"] == "扣除不合规发票"


def test_a_free_grant_case_is_told_once_by_its_own_message(cast, counter_case):
    """免申即享: opened and accepted by the system, announced by matching's message only."""
    Application.objects.filter(pk=counter_case.pk).update(
        status=S.DRAFT, eligibility={"status": "eligible", "auto_grant": True}
    )
    counter_case.refresh_from_db()
    for src, dst in notices.AUTO_GRANT_QUIET:
        Application.objects.filter(pk=counter_case.pk).update(status=src)
        with transaction.atomic():
            transitions.move(transitions.lock(counter_case.pk), dst, actor=None, action="test")
    assert not Notification.objects.exists()
