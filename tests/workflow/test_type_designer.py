"""Drawing a subject type's own workflow (no rule): the services, the pages and their
permissions (the subject's ``design_permissions``), the facts a condition may use, and one
draft and one published version per type."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.urls import reverse

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Role
from policywindow.workflow import subjects
from policywindow.workflow.models import WorkflowDefinition
from policywindow.workflow.services import designer

from .test_designer import _at_once, bare_rule, dept_role, level, node, on_postgresql

Status = WorkflowDefinition.Status
TYPE = "test_subject"
# Existing permission codes no policy workflow role holds: the type's pages must ask for these.
LIST, UPDATE, PUBLISH = "reform:programme:view", "reform:programme:import", "reform:report:review"


class ScoredSubject(subjects.Subject):
    type = TYPE
    label = "测试事项"
    design_permissions = (LIST, UPDATE, PUBLISH)

    def fact_labels(self, row=None) -> dict[str, str]:
        return {"score": "得分"}


@pytest.fixture(autouse=True)
def scored_subject():
    subjects.register(ScoredSubject())
    yield
    subjects.unregister(TYPE)


@pytest.fixture
def kjt(make_department):
    return make_department("省科技厅")


def role_with(code: str, *permissions: str) -> str:
    """A role granting exactly the menus of ``permissions``."""
    role = Role.objects.create(code=code, name=code, data_scope=Role.DataScope.ALL)
    menus = Menu.objects.filter(permission__in=permissions)
    assert sorted(menus.values_list("permission", flat=True)) == sorted(permissions)
    role.menus.set(menus)
    return code


@pytest.fixture
def bureau(make_user):
    """Who may see, draw and publish the test subject's workflow."""
    return make_user("bureau", role_with("type_designer", LIST, UPDATE, PUBLISH), real_name="督办")


@pytest.fixture
def looker(make_user):
    return make_user("looker", role_with("type_viewer", LIST))


@pytest.fixture
def policy_designer(make_user):
    """Who draws the rules' workflows (policy:workflow:*), nothing of the subject's."""
    codes = ("policy:workflow:list", "policy:workflow:update", "policy:workflow:publish")
    return make_user("zcgl", role_with("rule_designer", *codes))


@pytest.fixture
def drawing(kjt, make_user) -> dict:
    """Two levels: the department's reviewer, then the case's lead department when scored low."""
    make_user("kjt_reviewer", "reviewer", dept=kjt)
    return {
        "levels": [
            level("部门审核", node("n1", "科技厅审核", assignee=dept_role(kjt))),
            level(
                "督办复核",
                node(
                    "n2",
                    "牵头部门复核",
                    assignee={"kind": "lead_dept_role", "role_code": "reviewer"},
                    condition="score < 60",
                ),
                node(
                    "n3",
                    "属地复核",
                    assignee={"kind": "region_dept_role", "role_code": "reviewer"},
                ),
            ),
        ]
    }


def url(name: str, subject_type: str = TYPE) -> str:
    return reverse(f"workflow:{name}", args=[subject_type])


def type_rows():
    return WorkflowDefinition.objects.filter(subject_type=TYPE, rule__isnull=True)


# --------------------------------------------------------------------------- services
def test_a_types_workflow_is_drafted_published_and_versioned_without_a_rule(bureau, drawing, kjt):
    rule = bare_rule(kjt)
    designer.save_draft(bureau, rule, drawing)  # a rule's draft is another owner's

    draft = designer.save_draft(bureau, TYPE, drawing, note="首版")

    assert (draft.subject_type, draft.rule, draft.version, draft.status) == (
        TYPE,
        None,
        1,
        Status.DRAFT,
    )
    first = designer.publish(bureau, TYPE)
    assert (first.pk, first.status, first.published_by) == (draft.pk, Status.PUBLISHED, bureau)
    drawing["levels"][1]["nodes"][0]["condition"] = "score < 50"
    second = designer.save_draft(bureau, TYPE, drawing)
    assert (second.version, second.status) == (2, Status.DRAFT)
    designer.publish(bureau, TYPE)

    assert dict(type_rows().values_list("version", "status")) == {
        1: Status.RETIRED,
        2: Status.PUBLISHED,
    }
    assert WorkflowDefinition.objects.get(rule=rule).status == Status.DRAFT
    published = AuditEvent.objects.filter(action="workflow.publish").order_by("id")
    assert [(e.before, e.after) for e in published] == [
        ({"published": None}, {"published": 1, "status": "published"}),
        ({"published": 1}, {"published": 2, "status": "published"}),
    ]
    assert AuditEvent.objects.filter(action="workflow.save").count() == 3


def test_a_types_conditions_may_use_its_facts_and_not_the_applications(bureau, drawing):
    assert designer.condition_labels(TYPE) == {"score": "得分"}
    drawing["levels"][1]["nodes"][0]["condition"] = "requested_amount > 1000000"
    designer.save_draft(bureau, TYPE, drawing)

    with pytest.raises(ValidationFailed) as refused:
        designer.publish(bureau, TYPE)

    assert refused.value.details["problems"] == [
        "节点「牵头部门复核」的适用条件：第 1 行使用了未定义的属性：requested_amount"
    ]
    assert type_rows().get().status == Status.DRAFT


def test_only_registered_types_with_their_own_workflow_are_owners(bureau, drawing, kjt):
    with pytest.raises(ValidationFailed, match="未注册的审批对象类型：nothing"):
        designer.save_draft(bureau, "nothing", drawing)
    with pytest.raises(ValidationFailed, match="政策兑现申请的工作流按细则绘制"):
        designer.publish(bureau, subjects.APPLICATION)
    designer.save_draft(bureau, TYPE, drawing)
    with pytest.raises(ValidationFailed, match="只能在细则之间复制工作流"):
        designer.copy_from(bureau, bare_rule(kjt), TYPE)
    assert not WorkflowDefinition.objects.filter(rule__isnull=False).exists()


def test_publishing_a_type_without_a_draft_is_a_conflict(bureau):
    with pytest.raises(Conflict, match="“测试事项” 没有待发布的工作流草稿"):
        designer.publish(bureau, TYPE)
    assert not type_rows().exists()


# --------------------------------------------------------------------------- pages
def test_the_type_page_offers_the_types_facts_and_no_copying(login, bureau, drawing):
    designer.save_draft(bureau, TYPE, drawing)

    response = login(bureau).get(url("type_designer"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>审批流程配置 · 测试事项" in page
    facts = page.split('data-testid="condition-facts"')[1].split("</dl>")[0]
    assert "测试事项信息" in facts and "score" in facts and "得分" in facts
    assert "requested_amount" not in page
    assert 'data-testid="copy-source"' not in page and "从其他细则复制" not in page
    assert f'data-preview-url="{url("type_designer_preview")}"' in page
    assert f'action="{url("type_designer_publish")}"' in page
    assert response.context["editor"]["spec"]["levels"][1]["nodes"][1]["name"] == "属地复核"
    # Nodes resolved per case are counted per case, as the subject calls its cases.
    assert "按测试事项确定" in page


def test_saving_previewing_and_publishing_through_the_pages(login, bureau, drawing):
    client = login(bureau)

    saved = client.post(url("type_designer"), {"spec": json.dumps(drawing), "note": "初稿"})
    assert saved.status_code == 302 and saved["Location"] == url("type_designer")
    assert (type_rows().get().version, type_rows().get().note) == (1, "初稿")

    bad = json.loads(json.dumps(drawing))
    bad["levels"][1]["nodes"][0]["condition"] = "requested_amount > 1"
    preview = client.post(url("type_designer_preview"), {"spec": json.dumps(bad)}).content.decode()
    assert "<svg" in preview
    assert "节点「牵头部门复核」的适用条件：第 1 行使用了未定义的属性：requested_amount" in preview
    good = client.post(url("type_designer_preview"), {"spec": json.dumps(drawing)})
    assert 'data-testid="preview-ok"' in good.content.decode()

    published = client.post(url("type_designer_publish"))
    assert published.status_code == 302 and published["Location"] == url("type_designer")
    assert type_rows().get().status == Status.PUBLISHED
    page = client.get(url("type_designer")).content.decode()
    assert "已发布工作流第 1 版：此后受理的测试事项按此版本审批" in page
    assert 'data-testid="published-diagram"' in page


def test_a_refused_publish_is_shown_on_the_type_page(login, bureau, drawing):
    drawing["levels"][0]["nodes"][0]["condition"] = "is_high_tech == true"
    designer.save_draft(bureau, TYPE, drawing)

    response = login(bureau).post(url("type_designer_publish"))

    assert response.status_code == 200
    assert "节点「科技厅审核」的适用条件：第 1 行使用了未定义的属性：is_high_tech" in (
        response.content.decode()
    )
    assert type_rows().get().status == Status.DRAFT


def test_the_types_permissions_guard_its_pages(
    login, bureau, looker, policy_designer, drawing, make_user
):
    designer.save_draft(bureau, TYPE, drawing)
    spec = {"spec": json.dumps(drawing)}

    viewing = login(looker)
    page = viewing.get(url("type_designer"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="save-draft"' not in html and 'data-testid="publish"' not in html
    assert "<fieldset disabled>" in html
    assert viewing.post(url("type_designer"), spec).status_code == 403
    assert viewing.post(url("type_designer_preview"), spec).status_code == 403
    assert viewing.post(url("type_designer_publish")).status_code == 403

    # Drawing the rules' workflows grants nothing on the subject type's.
    rules_only = login(policy_designer)
    assert rules_only.get(url("type_designer")).status_code == 403
    assert rules_only.post(url("type_designer"), spec).status_code == 403
    assert rules_only.post(url("type_designer_preview"), spec).status_code == 403
    assert rules_only.post(url("type_designer_publish")).status_code == 403
    assert login(make_user("nobody")).get(url("type_designer")).status_code == 403

    assert type_rows().get().status == Status.DRAFT
    actors = [looker, policy_designer]
    assert not AuditEvent.objects.filter(action__startswith="workflow.", actor__in=actors).exists()


def test_unknown_types_and_applications_have_no_type_page(login, bureau):
    client = login(bureau)
    assert client.get(url("type_designer", "nothing")).status_code == 404
    assert client.get(url("type_designer", subjects.APPLICATION)).status_code == 404
    assert client.post(url("type_designer_publish", "nothing")).status_code == 404


# --------------------------------------------------------------------------- concurrency
@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_publishers_of_a_type_at_once_publish_exactly_one_version(
    monkeypatch, bureau, drawing, make_user
):
    other = make_user("bureau2", "type_designer")
    designer.save_draft(bureau, TYPE, drawing)
    # Widen the race: each publish lingers after reading the draft, before writing.
    problems = designer.specs.problems

    def slow_problems(*args, **kwargs):
        time.sleep(0.3)
        return problems(*args, **kwargs)

    monkeypatch.setattr(designer.specs, "problems", slow_problems)
    actors = iter([bureau, other])
    lock = threading.Lock()

    def publish() -> str:
        with lock:
            actor = next(actors)
        return f"v{designer.publish(actor, TYPE).version}"

    outcomes = _at_once(2, publish)

    assert sorted(outcomes) == ["v1", "“测试事项” 没有待发布的工作流草稿（可能已被他人发布）"]
    assert list(type_rows().values_list("version", "status")) == [(1, Status.PUBLISHED)]
    assert AuditEvent.objects.filter(action="workflow.publish").count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_first_saves_of_a_type_at_once_make_one_draft(monkeypatch, bureau, drawing):
    # Widen the race: each save lingers after taking the lock, before looking for the draft.
    # Without the lock both would insert version 1 and one would fail on the constraint.
    checked_note = designer._checked_note

    def slow_note(note: str) -> str:
        time.sleep(0.3)
        return checked_note(note)

    monkeypatch.setattr(designer, "_checked_note", slow_note)
    outcomes = _at_once(2, lambda: f"v{designer.save_draft(bureau, TYPE, drawing).version}")

    assert outcomes == ["v1", "v1"]
    assert type_rows().count() == 1
