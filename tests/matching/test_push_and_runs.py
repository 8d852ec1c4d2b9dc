"""精准推送 once per (enterprise, rule), the hooks that trigger it, and batch runs."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from policywindow.enterprises import services as enterprise_services
from policywindow.enterprises.models import Enterprise
from policywindow.matching import services, tasks
from policywindow.matching.models import MatchPush, MatchRun
from policywindow.notifications.models import Notification
from policywindow.policies import services as policy_services
from policywindow.policies.models import RuleVersion
from tests.applications.test_filing_factories import RD_AMOUNT, make_enterprise

pytestmark = pytest.mark.django_db


def run_all(**kwargs) -> MatchRun:
    run = services.create_run(None, trigger=MatchRun.Trigger.MANUAL, **kwargs)
    return services.execute_run(run.pk)


def pushes_to(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind=services.PUSH_KIND).values_list(
            "subject", flat=True
        )
    )


def test_a_run_pushes_each_newly_eligible_rule_once_and_never_again(
    rule_for, enterprise_with_agent
):
    rule = rule_for(title="研发费用后补助")
    rule_for("employees > 10000", title="大企业奖励")  # not met: no push
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("3000000"))
    enterprise_with_agent(rd_spend=Decimal("100"))  # not eligible: no push

    first = run_all()
    again = run_all()

    assert pushes_to(agent) == ["政策推送：贵企业符合《研发费用后补助》的申报条件"]
    message = Notification.objects.get(recipient=agent)
    assert "预计可兑现 300,000.00 元" in message.body
    assert message.link == "/portal/calculator/"
    assert MatchPush.objects.filter(rule=rule).count() == 1
    assert (first.status, first.done, first.total, first.rule_count) == ("done", 2, 2, 2)
    assert (first.evaluations, first.eligible, first.pushed) == (4, 1, 1)
    assert (again.eligible, again.pushed) == (1, 0)


def test_data_change_pushes_the_rules_the_enterprise_now_meets(
    rule_for, enterprise_with_agent, make_user
):
    rule_for(title="研发费用后补助")
    enterprise, agent = enterprise_with_agent(rd_spend=Decimal("1000000"))
    assert services.match_enterprise(enterprise.pk).pushed == 0
    clerk = make_user("clerk", "window_clerk")
    enterprise_services.update_enterprise(clerk, enterprise, {"rd_spend": Decimal("3500000")})

    tally = services.match_enterprise(enterprise.pk)
    services.match_enterprise(enterprise.pk)  # once more: nothing new

    assert (tally.evaluations, tally.eligible, tally.pushed) == (1, 1, 1)
    assert len(pushes_to(agent)) == 1


def test_a_new_version_of_a_pushed_rule_is_not_pushed_again(rule_for, enterprise_with_agent):
    rule = rule_for()
    _enterprise, agent = enterprise_with_agent()
    run_all()
    newer = RuleVersion.objects.create(
        rule=rule,
        version=2,
        title="研发费用后补助（修订）",
        eligibility_expression="rd_spend >= 1000000",
        lead_department=rule.current.lead_department,
        status=RuleVersion.Status.PUBLISHED,
    )
    rule.current = newer
    rule.save(update_fields=["current"])
    assert run_all().pushed == 0
    assert len(pushes_to(agent)) == 1


def test_publishing_a_version_enqueues_matching_after_commit(
    rule_for, policy_admin_user, django_capture_on_commit_callbacks
):
    guide = {"beneficiaries": "企业", "conditions_text": "研发投入", "standard_text": "10%"}
    rule = rule_for(items=(RD_AMOUNT,), **guide)
    draft = policy_services.create_new_version(policy_admin_user, rule)
    with django_capture_on_commit_callbacks(execute=True):
        policy_services.publish_version(policy_admin_user, draft)
    queued = DBTaskResult.objects.get(task_path=tasks.match_published_rules.module_path)
    assert queued.args_kwargs["args"] == [[rule.pk]]


def test_publishing_a_policy_again_enqueues_matching_of_its_rules_after_commit(
    rule_for, policy_admin_user, django_capture_on_commit_callbacks
):
    rule = rule_for()
    policy_services.withdraw_policy(policy_admin_user, rule.policy, "文件修订")
    with django_capture_on_commit_callbacks(execute=True):
        policy_services.publish_policy(policy_admin_user, rule.policy)
    queued = DBTaskResult.objects.get(task_path=tasks.match_published_rules.module_path)
    assert queued.args_kwargs["args"] == [[rule.pk]]


def test_changing_an_enterprise_enqueues_matching_after_commit(
    make_user, django_capture_on_commit_callbacks
):
    enterprise = make_enterprise()
    clerk = make_user("clerk", "window_clerk")
    with django_capture_on_commit_callbacks(execute=True):
        enterprise_services.update_enterprise(clerk, enterprise, {"employees": 300})
    queued = DBTaskResult.objects.get(task_path=tasks.match_enterprise.module_path)
    assert queued.args_kwargs["args"] == [enterprise.pk]


def test_the_publish_task_runs_only_the_published_rules(rule_for, enterprise_with_agent):
    wanted = rule_for(title="本次发布")
    rule_for(title="早已发布")
    _enterprise, agent = enterprise_with_agent()
    result = tasks.match_published_rules.call([wanted.pk])
    run = MatchRun.objects.get()
    assert (run.trigger, run.rule_count, result["pushed"]) == ("publish", 1, 1)
    assert pushes_to(agent) == ["政策推送：贵企业符合《本次发布》的申报条件"]


def queries_of_a_run(count: int, rules: int) -> int:
    """Queries of a run over ``count`` more enterprises, none of which meets a rule."""
    for _ in range(count):
        make_enterprise(rd_spend=Decimal("100"))
    run = services.create_run(None, trigger=MatchRun.Trigger.MANUAL)
    with CaptureQueriesContext(connection) as queries:
        run = services.execute_run(run.pk)
    assert run.evaluations == run.total * rules and run.eligible == 0
    return len(queries)


def test_a_run_loads_facts_in_bulk_whatever_the_number_of_enterprises(rule_for):
    for _ in range(3):
        rule_for()
    few = queries_of_a_run(3, rules=3)
    MatchRun.objects.all().delete()
    many = queries_of_a_run(40, rules=3)  # 43 enterprises, still one chunk
    assert many == few


def test_a_run_reads_one_chunk_per_query(rule_for, monkeypatch):
    rule_for()
    monkeypatch.setattr(services, "CHUNK", 10)
    one_chunk = queries_of_a_run(9, rules=1)
    MatchRun.objects.all().delete()
    three_chunks = queries_of_a_run(16, rules=1)  # 25 enterprises: chunks of 10, 10, 5
    # each further chunk: one query for its facts, two for the run's progress (update, re-read)
    assert three_chunks - one_chunk == 2 * 3


def test_a_run_started_twice_runs_once(rule_for, enterprise_with_agent):
    rule_for()
    enterprise_with_agent()
    run = services.create_run(None, trigger=MatchRun.Trigger.MANUAL)
    services.execute_run(run.pk)
    services.execute_run(run.pk)
    assert MatchRun.objects.get(pk=run.pk).done == 1


def test_the_command_prints_progress(rule_for, enterprise_with_agent, monkeypatch):
    rule_for()
    monkeypatch.setattr(services, "CHUNK", 2)
    for _ in range(3):
        enterprise_with_agent()
    out = io.StringIO()
    call_command("match_enterprises", stdout=out)
    text = out.getvalue()
    assert "2 / 3 家企业（66%）" in text
    assert "3 / 3 家企业（100%）" in text
    assert "完成：3 家企业 × 1 项细则，判断 3 次" in text
    assert MatchRun.objects.get().trigger == "command"


def test_the_command_refuses_an_unknown_rule():
    with pytest.raises(Exception, match="细则不存在：NOPE"):
        call_command("match_enterprises", rule=["NOPE"], stdout=io.StringIO())


def test_a_failing_run_says_so_on_its_page(rule_for, monkeypatch):
    rule_for()
    make_enterprise()

    def broken(*_args, **_kwargs):
        raise RuntimeError("数据库连接中断")
        yield  # a generator, as fact_chunks is

    monkeypatch.setattr(services.selectors, "fact_chunks", broken)
    run = services.create_run(None, trigger=MatchRun.Trigger.MANUAL)
    with pytest.raises(RuntimeError):
        services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED and "数据库连接中断" in run.error
    assert run.finished and run.finished_at is not None


def test_a_run_reads_and_decrypts_no_encrypted_column(rule_for, enterprise_with_agent, monkeypatch):
    """Facts come from the attribute columns only: the encrypted bank account and phone are
    neither selected nor decrypted, however many enterprises are matched."""
    from policywindow.core import crypto

    rule_for()
    for rd_spend in (Decimal("3500000"), Decimal("100")):
        enterprise_with_agent(
            rd_spend=rd_spend, bank_account="6222021234567890123", contact_phone="024-23456789"
        )
    decrypted = []
    real = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda *args: decrypted.append(args) or real(*args))
    with CaptureQueriesContext(connection) as queries:
        run = run_all()
    assert (run.done, run.pushed) == (2, 1)
    assert decrypted == []
    enterprise_reads = [q["sql"] for q in queries if 'FROM "enterprises_enterprise"' in q["sql"]]
    assert enterprise_reads
    assert not [sql for sql in enterprise_reads if "bank_account" in sql or "contact_phone" in sql]
    # the spy sees a decryption when one happens
    assert Enterprise.objects.first().bank_account == "6222021234567890123"
    assert len(decrypted) == 1


def test_a_rule_on_a_form_item_is_never_met_by_a_run_and_breaks_nothing(
    rule_for, enterprise_with_agent
):
    """A condition may read one of the rule's own items (the calculator says it is missing):
    the record never holds it, so a run never finds the rule met — and goes on."""
    rule_for("rd_amount >= 1000000", items=(RD_AMOUNT,), title="审计金额细则")
    rule_for(title="研发费用后补助")
    _enterprise, agent = enterprise_with_agent()
    run = run_all()
    assert (run.status, run.eligible, run.pushed) == ("done", 1, 1)
    assert pushes_to(agent) == ["政策推送：贵企业符合《研发费用后补助》的申报条件"]
