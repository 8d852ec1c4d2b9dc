"""Budgets, caps and mutual exclusion, enforced when the last approver approves."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from policywindow.applications import transitions
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import ValidationFailed
from policywindow.finance.models import Budget, Commitment
from policywindow.finance.services import budgets
from policywindow.workflow.services import runtime
from policywindow.workflow.subjects import APPLICATION
from tests.applications.test_intake_factories import make_enterprise
from tests.finance.factories import approved, decide, filed, make_budget, make_rule, open_task

pytestmark = pytest.mark.django_db


def test_an_approval_takes_its_amount_from_the_budget(people):
    version = make_rule(people)
    budget = make_budget(version, "500000")
    case = approved(people, version)
    assert (case.status, case.approved_amount) == (S.APPROVED, Decimal("320000.00"))
    budget.refresh_from_db()
    assert (budget.committed, budget.left) == (Decimal("320000.00"), Decimal("180000.00"))
    commitment = Commitment.objects.get(application=case)
    assert (commitment.budget, commitment.amount, commitment.released_at) == (
        budget,
        Decimal("320000.00"),
        None,
    )


def test_an_approval_over_what_is_left_is_refused_with_both_amounts_and_rolls_back(people):
    version = make_rule(people)
    budget = make_budget(version, "500000")
    approved(people, version)
    second = filed(people, version)
    decide(second, people.reviewer)
    with pytest.raises(ValidationFailed) as refused:
        decide(second, people.leader)
    message = "预算余额不足：本年度剩余 180,000.00 元，本次核定 320,000.00 元"
    assert message in refused.value.message
    assert refused.value.details == {"approved_amount": [refused.value.message]}
    # The whole decision rolled back: the task is still open, nothing was recorded.
    second.refresh_from_db()
    assert (second.status, second.approved_amount) == (S.IN_REVIEW, None)
    assert open_task(second, people.leader).opinion == ""
    assert not second.events.filter(action="review_approve", data__node="分管领导审批").exists()
    budget.refresh_from_db()
    assert budget.committed == Decimal("320000.00")
    # Lowered to what is left (with a reason), the same approval passes and empties it.
    decide(second, people.leader, approved_amount="180000", amount_reason="预算余额核减")
    budget.refresh_from_db()
    assert (budget.committed, budget.left) == (Decimal("500000.00"), Decimal("0.00"))


def test_the_approval_page_shows_the_budget_message_on_the_amount_field(people, login):
    version = make_rule(people)
    make_budget(version, "100000")
    case = filed(people, version)
    decide(case, people.reviewer)
    task = open_task(case, people.leader)
    page = login(people.leader).post(
        reverse("applications:review_decide", args=[task.pk]),
        {"action": "approve", "opinion": "同意", "approved_amount": "320000.00"},
    )
    assert page.status_code == 200
    html = page.content.decode()
    error = html[html.index('data-field-error="approved_amount"') :]
    assert "本年度剩余 100,000.00 元，本次核定 320,000.00 元" in error[: error.index("</div>")]
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW


def test_a_rule_without_a_budget_is_not_limited_and_is_counted_when_one_is_created(people):
    version = make_rule(people)
    case = approved(people, version)
    assert Commitment.objects.get(application=case).budget is None
    with pytest.raises(ValidationFailed, match=re.escape("不能低于本年度已核定的 320,000.00 元")):
        budgets.create_budget(people.admin, version.rule, 2026, "300000")
    assert not Budget.objects.exists()
    budget = budgets.create_budget(people.admin, version.rule, 2026, "1000000")
    assert (budget.total, budget.committed) == (Decimal("1000000.00"), Decimal("320000.00"))
    assert Commitment.objects.get(application=case).budget == budget
    with pytest.raises(ValidationFailed, match="2026 年度预算已存在"):
        budgets.create_budget(people.admin, version.rule, 2026, "1")
    # Another year's budget is a separate row and does not count 2026's approvals.
    assert budgets.create_budget(people.admin, version.rule, 2027, "5").committed == 0


def test_a_budget_total_cannot_drop_below_what_is_committed(people):
    version = make_rule(people)
    budget = make_budget(version, "500000")
    approved(people, version)
    with pytest.raises(ValidationFailed, match=re.escape("不能低于已核定的 320,000.00 元")):
        budgets.update_budget(people.admin, budget.pk, "300000.00")
    updated = budgets.update_budget(people.admin, budget.pk, "320000", "追加后核减")
    assert (updated.total, updated.left, updated.note) == (
        Decimal("320000.00"),
        Decimal("0.00"),
        "追加后核减",
    )
    for bad in ("0", "-5", "abc"):
        with pytest.raises(ValidationFailed):
            budgets.update_budget(people.admin, budget.pk, bad)


def test_the_per_enterprise_cap_counts_the_enterprise_s_earlier_approvals(people):
    version = make_rule(people, cap="300000")
    over = filed(people, version, "320000.00")
    decide(over, people.reviewer)
    with pytest.raises(
        ValidationFailed, match=re.escape("每个企业每年度最多 300,000.00 元")
    ) as refused:
        decide(over, people.leader)
    assert "approved_amount" in refused.value.details
    enterprise = make_enterprise()
    approved(people, version, "200000.00", enterprise=enterprise)
    again = filed(people, version, "150000.00", enterprise=enterprise)
    decide(again, people.reviewer)
    with pytest.raises(ValidationFailed, match=re.escape("该企业本年度已核定 200,000.00 元")):
        decide(again, people.leader)
    # Within the cap together: passes.
    decide(again, people.leader, approved_amount="100000", amount_reason="按上限核减")
    again.refresh_from_db()
    assert again.status == S.APPROVED


def test_mutual_exclusion_refuses_a_second_rule_of_the_group_naming_the_first(people):
    first_rule = make_rule(people, group="gqjl", title="首次认定高新技术企业奖励")
    second_rule = make_rule(people, group="gqjl", title="重新认定高新技术企业奖励")
    enterprise = make_enterprise()
    first = approved(people, first_rule, "300000.00", enterprise=enterprise)
    second = filed(people, second_rule, "100000.00", enterprise=enterprise)
    decide(second, people.reviewer)
    with pytest.raises(ValidationFailed) as refused:
        decide(second, people.leader)
    assert "首次认定高新技术企业奖励" in refused.value.message
    assert first.number in refused.value.message
    assert list(refused.value.details) == ["action"]
    # Another enterprise, or a rule outside the group, is not affected.
    assert approved(people, second_rule, "100000.00").status == S.APPROVED
    free_rule = make_rule(people, title="研发投入后补助")
    assert approved(people, free_rule, "100000.00", enterprise=enterprise).status == S.APPROVED


def test_a_case_approved_again_replaces_what_its_first_approval_took(people):
    version = make_rule(people)
    budget = make_budget(version, "500000")
    case = approved(people, version)
    with transaction.atomic():  # reopened by someone who did not release (e.g. a future path)
        locked = transitions.lock(case.pk)
        transitions.move(locked, S.IN_PUBLICITY, actor=people.admin, action="publicize")
        transitions.move(locked, S.OBJECTION, actor=None, action="objection")
        runtime.reopen(people.admin, APPLICATION, locked, "复核", action="objection_upheld")
    decide(case, people.leader, approved_amount="200000", amount_reason="复核后核减")
    budget.refresh_from_db()
    assert budget.committed == Decimal("200000.00")
    open_commitments = Commitment.objects.filter(application=case, released_at__isnull=True)
    assert list(open_commitments.values_list("amount", flat=True)) == [Decimal("200000.00")]
