"""免申即享: cases opened by matching, straight into review; idempotent runs; the enterprise declines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import Conflict
from policywindow.matching import grants, services
from policywindow.matching.models import AutoGrant, MatchPush, MatchRun
from policywindow.notifications.models import Notification
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime

pytestmark = pytest.mark.django_db


def run_all() -> MatchRun:
    run = services.create_run(None, trigger=MatchRun.Trigger.MANUAL)
    return services.execute_run(run.pk)


@pytest.fixture
def auto_rule(rule_for):
    return rule_for(title="高新技术企业认定奖励", auto_grant=True)


def test_an_eligible_enterprise_gets_a_case_in_review_with_its_proof(
    auto_rule, enterprise_with_agent
):
    enterprise, agent = enterprise_with_agent(rd_spend=Decimal("3000000"))
    enterprise_with_agent(rd_spend=Decimal("10"))  # not eligible: no case

    run = run_all()

    application = Application.objects.get()
    assert (run.granted, run.pushed) == (1, 0)
    assert (application.enterprise, application.status) == (enterprise, S.IN_REVIEW)
    assert application.number and application.accepted_at and application.due_at
    assert application.requested_amount == Decimal("300000.00")
    assert application.eligibility["auto_grant"] is True
    assert application.eligibility["facts"]["rd_spend"] == "3000000.00"
    assert AutoGrant.objects.get().facts == application.eligibility["facts"]
    assert not MatchPush.objects.exists()  # the case notice replaces the push
    notice = Notification.objects.get(recipient=agent, kind=grants.GRANT_KIND)
    assert application.number in notice.body
    assert notice.link == f"/portal/auto-grants/{AutoGrant.objects.get().pk}/"


def test_the_case_waits_in_the_lead_departments_to_do_list_and_batch_approval_confirms_it(
    auto_rule, enterprise_with_agent
):
    enterprise_with_agent()
    run_all()
    task = WorkflowTask.objects.get(status="open")
    assert task.application.status == S.IN_REVIEW
    assert task.department_id == auto_rule.current.lead_department_id
    results = runtime.approve_many(task.assignee, [task.pk], "数据核验无误，同意兑现")
    assert results == {task.pk: ""}
    assert Application.objects.get().status == S.APPROVED


def test_runs_are_idempotent_one_case_per_enterprise_and_version(auto_rule, enterprise_with_agent):
    enterprise_with_agent()
    first, second = run_all(), run_all()
    assert (first.granted, second.granted) == (1, 0)
    assert Application.objects.count() == 1


def test_an_enterprise_without_an_agent_gets_no_case(auto_rule):
    from tests.applications.test_filing_factories import make_enterprise

    make_enterprise()
    assert run_all().granted == 0
    assert not Application.objects.exists()


def test_the_enterprise_declines_and_the_review_tasks_go(auto_rule, enterprise_with_agent):
    _enterprise, agent = enterprise_with_agent()
    run_all()
    grant = AutoGrant.objects.get()

    grants.decline(agent, grant.pk, "本年度不申请")

    application = Application.objects.get()
    assert application.status == S.WITHDRAWN
    assert not WorkflowTask.objects.filter(status="open").exists()
    assert set(WorkflowTask.objects.values_list("status", flat=True)) == {"cancelled"}
    instance = application.workflow
    assert instance.status == "withdrawn" and instance.finished_at is not None
    assert instance.state["status"] == "withdrawn"
    assert application.events.last().note == "企业放弃享受免申即享；本年度不申请"
    grant.refresh_from_db()
    assert grant.declined_at is not None
    with pytest.raises(Conflict):
        grants.decline(agent, grant.pk)
    assert run_all().granted == 0  # declined: never opened again for this version


def test_another_enterprise_cannot_decline(auto_rule, enterprise_with_agent):
    from django.http import Http404

    owner, _agent = enterprise_with_agent()
    _stranger_enterprise, stranger = enterprise_with_agent(rd_spend=Decimal("10"))
    run_all()
    grant = AutoGrant.objects.get(enterprise=owner)
    with pytest.raises(Http404):
        grants.decline(stranger, grant.pk)
    assert Application.objects.get().status == S.IN_REVIEW


def test_decline_page(auto_rule, enterprise_with_agent, login):
    _enterprise, agent = enterprise_with_agent()
    run_all()
    grant = AutoGrant.objects.get()
    client = login(agent)
    page = client.get(f"/portal/auto-grants/{grant.pk}/").content.decode()
    assert "上年研发费用" in page and "放弃享受" in page
    response = client.post(f"/portal/auto-grants/{grant.pk}/decline/", {"reason": ""})
    assert response.status_code == 302
    assert Application.objects.get().status == S.WITHDRAWN
    assert "放弃享受，案件已撤回" in client.get(f"/portal/auto-grants/{grant.pk}/").content.decode()
