"""Drawing a rule's workflow: drafts, versions, publishing (refused with every problem), copying."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.policies.models import RuleVersion
from policywindow.workflow.models import WorkflowDefinition
from policywindow.workflow.services import designer
from tests.applications.test_intake_factories import make_version
from tests.waiting import join_all

Status = WorkflowDefinition.Status
on_postgresql = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
)


def node(key: str, name: str, **extra) -> dict:
    extra.setdefault("limit", {"value": 2, "unit": "days"})
    return {"key": key, "name": name, **extra}


def level(name: str, *nodes: dict, parallel: bool = True) -> dict:
    return {"name": name, "parallel": parallel, "nodes": list(nodes)}


def dept_role(department, role: str = "reviewer") -> dict:
    return {"kind": "dept_role", "department_id": department.pk, "role_code": role}


def bare_rule(department, title: str = "研发费用后补助"):
    """A published rule without any workflow (the factories publish a default one)."""
    rule = make_version(department, title=title).rule
    WorkflowDefinition.objects.filter(rule=rule).delete()
    return rule


@pytest.fixture
def kjt(make_department):
    return make_department("省科技厅")


@pytest.fixture
def czt(make_department):
    return make_department("省财政厅")


@pytest.fixture
def admin(make_user):
    return make_user("zcgl", "policy_admin", real_name="政策管理员")


@pytest.fixture
def rule(kjt):
    return bare_rule(kjt)


@pytest.fixture
def reviewers(kjt, czt, make_user):
    return [
        make_user("kjt_reviewer", "reviewer", dept=kjt, real_name="李审核"),
        make_user("czt_reviewer", "reviewer", dept=czt, real_name="王审核"),
    ]


@pytest.fixture
def runnable(kjt, czt, reviewers) -> dict:
    """Two departments in parallel, then the lead department's chief when the amount is large."""
    return {
        "levels": [
            level(
                "部门并联审核",
                node("n1", "科技厅审核", assignee=dept_role(kjt)),
                node("n2", "财政厅审核", assignee=dept_role(czt)),
            ),
            level(
                "分管领导审批",
                node(
                    "n3",
                    "分管领导审批",
                    assignee={"kind": "lead_dept_role", "role_code": "dept_leader"},
                    condition="requested_amount > 1000000",
                ),
            ),
        ]
    }


# --------------------------------------------------------------------------- drafts
def test_saving_creates_the_first_draft_and_updates_it_in_place(admin, rule, runnable):
    draft = designer.save_draft(admin, rule, runnable, note="初稿")

    assert (draft.version, draft.status, draft.note) == (1, Status.DRAFT, "初稿")
    assert draft.spec["levels"][0]["nodes"][1]["name"] == "财政厅审核"
    runnable["levels"][0]["name"] = "两厅并联审核"
    again = designer.save_draft(admin, rule, runnable)

    assert again.pk == draft.pk and again.version == 1
    assert WorkflowDefinition.objects.get(pk=draft.pk).spec["levels"][0]["name"] == "两厅并联审核"
    saves = AuditEvent.objects.filter(action="workflow.save").order_by("id")
    assert [event.after["version"] for event in saves] == [1, 1]
    assert saves.last().before["spec"]["levels"][0]["name"] == "部门并联审核"


def test_a_draft_may_be_unpublishable_but_not_malformed(admin, rule, kjt):
    # An empty level is kept while drawing (publishing refuses it)…
    draft = designer.save_draft(admin, rule, {"levels": [level("待补充")]})
    assert draft.spec == {"levels": [{"name": "待补充", "parallel": True, "nodes": []}]}

    # …but a drawing the engine cannot read is refused with the parser's reason.
    twice = node("n1", "审核", assignee=dept_role(kjt))
    with pytest.raises(ValidationFailed) as refused:
        designer.save_draft(admin, rule, {"levels": [level("一级", twice, twice)]})
    assert refused.value.message == "节点标识重复：n1"
    assert refused.value.details == {"spec": ["节点标识重复：n1"]}
    no_department = node("n1", "科技厅审核", assignee={"kind": "dept_role", "role_code": "x"})
    with pytest.raises(ValidationFailed, match="节点「科技厅审核」：办理人（部门内角色）缺少部门"):
        designer.save_draft(admin, rule, {"levels": [level("一级", no_department)]})
    assert WorkflowDefinition.objects.get(rule=rule).spec == draft.spec


def test_a_too_long_note_is_refused(admin, rule, runnable):
    with pytest.raises(ValidationFailed, match="版本说明不能超过 200 个字"):
        designer.save_draft(admin, rule, runnable, note="说" * 201)
    assert not WorkflowDefinition.objects.exists()


# --------------------------------------------------------------------------- publishing
def test_publishing_freezes_the_draft_and_editing_afterwards_starts_a_new_version(
    admin, rule, runnable
):
    designer.save_draft(admin, rule, runnable, note="首版")
    first = designer.publish(admin, rule)

    assert (first.version, first.status, first.published_by) == (1, Status.PUBLISHED, admin)
    assert first.published_at is not None
    event = AuditEvent.objects.get(action="workflow.publish")
    assert (event.before, event.after) == (
        {"published": None},
        {"published": 1, "status": "published"},
    )

    runnable["levels"][1]["nodes"][0]["condition"] = "requested_amount > 2000000"
    second = designer.save_draft(admin, rule, runnable)
    assert (second.version, second.status) == (2, Status.DRAFT)
    first.refresh_from_db()
    assert first.status == Status.PUBLISHED
    assert first.spec["levels"][1]["nodes"][0]["condition"] == "requested_amount > 1000000"

    designer.publish(admin, rule)
    statuses = dict(WorkflowDefinition.objects.filter(rule=rule).values_list("version", "status"))
    assert statuses == {1: Status.RETIRED, 2: Status.PUBLISHED}
    # The retired version is kept as it was: cases started on it keep running on it.
    first.refresh_from_db()
    assert first.spec["levels"][1]["nodes"][0]["condition"] == "requested_amount > 1000000"
    assert designer.save_draft(admin, rule, runnable).version == 3


def test_publishing_is_refused_with_every_problem_named(admin, rule, kjt, czt, make_user):
    make_user("kjt_reviewer", "reviewer", dept=kjt)
    spec = {
        "levels": [
            level(
                "部门并联审核",
                node("n1", "科技厅审核", assignee=dept_role(kjt)),
                node("n2", "财政厅审核", assignee=dept_role(czt)),
            ),
            level("复核"),
            level(
                "分管领导审批",
                node(
                    "n3",
                    "分管领导审批",
                    assignee={"kind": "dept_leader", "department_id": kjt.pk},
                    condition="grant_total > 1000000",
                ),
            ),
        ]
    }
    designer.save_draft(admin, rule, spec)

    with pytest.raises(ValidationFailed) as refused:
        designer.publish(admin, rule)

    assert refused.value.message == "工作流第 1 版尚不能发布，请先解决以下问题"
    assert refused.value.details["problems"] == [
        "节点「财政厅审核」没有可办理的审批人：省财政厅 没有启用的“审核科员”角色用户",
        "第 2 级「复核」没有审批节点",
        "节点「分管领导审批」的适用条件：第 1 行使用了未定义的属性：grant_total",
        "节点「分管领导审批」没有可办理的审批人：部门 省科技厅 未设置负责人",
    ]
    assert WorkflowDefinition.objects.get(rule=rule).status == Status.DRAFT
    assert not AuditEvent.objects.filter(action="workflow.publish").exists()


def test_conditions_may_use_the_rules_form_items(admin, rule, kjt, reviewers):
    # is_high_tech is an item of the rule's form, not an enterprise fact.
    conditional = node(
        "n1", "科技厅审核", assignee=dept_role(kjt), condition="is_high_tech == true"
    )
    designer.save_draft(admin, rule, {"levels": [level("审核", conditional)]})

    assert designer.publish(admin, rule).status == Status.PUBLISHED
    assert designer.form_facts(rule)["is_high_tech"] == "是否高新技术企业"


def test_form_facts_come_from_the_newest_version_while_none_is_published(rule):
    version = rule.current
    rule.current = None
    rule.save(update_fields=["current"])
    RuleVersion.objects.filter(pk=version.pk).update(status=RuleVersion.Status.DRAFT)

    assert designer.form_facts(rule)["rd_spend"] == "上年研发费用"


def test_publishing_without_a_draft_is_a_conflict(admin, rule, runnable):
    with pytest.raises(Conflict, match="没有待发布的工作流草稿"):
        designer.publish(admin, rule)
    designer.save_draft(admin, rule, runnable)
    designer.publish(admin, rule)
    with pytest.raises(Conflict, match="没有待发布的工作流草稿"):
        designer.publish(admin, rule)


# --------------------------------------------------------------------------- copying
def test_copying_takes_the_sources_published_version_over_its_draft(admin, rule, kjt, runnable):
    source = bare_rule(kjt)
    designer.save_draft(admin, source, runnable)
    designer.publish(admin, source)
    designer.save_draft(admin, source, {"levels": [level("仅草稿")]})

    copied = designer.copy_from(admin, rule, source)

    assert (copied.rule, copied.version, copied.status) == (rule, 1, Status.DRAFT)
    assert copied.spec == WorkflowDefinition.objects.get(rule=source, version=1).spec
    assert copied.note == f"复制自 {source.code} 第 1 版"
    event = AuditEvent.objects.get(action="workflow.copy")
    assert event.after["source"] == {"rule": source.pk, "version": 1}


def test_copying_a_draft_only_source_replaces_the_existing_draft(admin, rule, kjt, runnable):
    source = bare_rule(kjt)
    designer.save_draft(admin, source, runnable)
    mine = designer.save_draft(admin, rule, {"levels": [level("本细则草稿")]})

    copied = designer.copy_from(admin, rule, source)

    assert copied.pk == mine.pk and copied.version == 1
    assert copied.spec == WorkflowDefinition.objects.get(rule=source).spec


def test_copying_needs_another_rule_with_a_workflow(admin, rule, kjt, runnable):
    source = bare_rule(kjt)
    with pytest.raises(ValidationFailed, match=f"细则 {source.code} 还没有工作流，无法复制"):
        designer.copy_from(admin, rule, source)
    designer.save_draft(admin, rule, runnable)
    with pytest.raises(ValidationFailed, match="不能从本细则复制工作流"):
        designer.copy_from(admin, rule, rule)


# --------------------------------------------------------------------------- concurrency
def _at_once(count: int, work) -> list[str]:
    """Run ``work`` in ``count`` threads released together; each outcome or error message."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            outcomes.append(work())
        except (Conflict, ValidationFailed) as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    join_all(threads)
    return outcomes


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_publishers_at_once_publish_exactly_one_version(
    monkeypatch, admin, rule, runnable, make_user
):
    other = make_user("zcgl2", "policy_admin")
    designer.save_draft(admin, rule, runnable)
    # Widen the race: each publish lingers after reading the draft, before writing.
    problems = designer.specs.problems

    def slow_problems(*args, **kwargs):
        time.sleep(0.3)
        return problems(*args, **kwargs)

    monkeypatch.setattr(designer.specs, "problems", slow_problems)
    actors = iter([admin, other])
    lock = threading.Lock()

    def publish() -> str:
        with lock:
            actor = next(actors)
        return f"v{designer.publish(actor, rule).version}"

    outcomes = _at_once(2, publish)

    assert sorted(outcomes) == [
        "v1",
        f"细则 {rule.code} 没有待发布的工作流草稿（可能已被他人发布）",
    ]
    assert list(WorkflowDefinition.objects.values_list("version", "status")) == [
        (1, Status.PUBLISHED)
    ]
    assert AuditEvent.objects.filter(action="workflow.publish").count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_first_saves_at_once_make_one_draft(monkeypatch, admin, rule, runnable):
    # Widen the race: each save lingers after taking the lock, before looking for the draft.
    checked_note = designer._checked_note

    def slow_note(note: str) -> str:
        time.sleep(0.3)
        return checked_note(note)

    monkeypatch.setattr(designer, "_checked_note", slow_note)
    outcomes = _at_once(2, lambda: f"v{designer.save_draft(admin, rule, runnable).version}")

    assert outcomes == ["v1", "v1"]
    assert WorkflowDefinition.objects.filter(rule=rule).count() == 1
