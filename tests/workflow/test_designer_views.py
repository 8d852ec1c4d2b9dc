"""The designer pages: the rule list with workflow states, the editor, preview, publish, copy."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Role
from policywindow.workflow.models import WorkflowDefinition
from policywindow.workflow.services import designer

from .test_designer import bare_rule, dept_role, level, node

pytestmark = pytest.mark.django_db
Status = WorkflowDefinition.Status


@pytest.fixture
def kjt(make_department):
    return make_department("省科技厅")


@pytest.fixture
def admin(make_user):
    return make_user("zcgl", "policy_admin", real_name="政策管理员")


@pytest.fixture
def viewer(make_user):
    """Someone who may look at workflows (policy:workflow:list) but not draw or publish them."""
    role = Role.objects.create(code="wf_viewer", name="流程查看", data_scope=Role.DataScope.ALL)
    role.menus.set(Menu.objects.filter(key__in=["policy", "policy.workflow"]))
    return make_user("chakan", "wf_viewer")


@pytest.fixture
def rule(kjt):
    return bare_rule(kjt)


@pytest.fixture
def drawing(kjt, make_user) -> dict:
    make_user("kjt_reviewer", "reviewer", dept=kjt)
    return {
        "levels": [
            level(
                "部门审核",
                node("n1", "科技厅初审", assignee=dept_role(kjt)),
                node("n2", "科技厅复核", assignee=dept_role(kjt, "section_chief")),
            )
        ]
    }


def url(name: str, rule) -> str:
    return reverse(f"workflow:{name}", args=[rule.pk])


# --------------------------------------------------------------------------- list
def test_the_list_shows_each_rules_workflow_state_and_searches(
    login, admin, rule, kjt, drawing, make_user
):
    make_user("chief", "section_chief", dept=kjt)
    designer.save_draft(admin, rule, drawing)
    designer.publish(admin, rule)
    designer.save_draft(admin, rule, drawing)
    drafted = bare_rule(kjt)
    designer.save_draft(admin, drafted, drawing)
    untouched = bare_rule(kjt, title="高层次人才引进奖励")
    client = login(admin)

    page = client.get(reverse("workflow:designer_list")).content.decode()

    rows = {
        code: page.split(f'data-rule="{code}"')[1].split("</tr>")[0]
        for code in (rule.code, drafted.code, untouched.code)
    }
    assert "第 1 版 · 已发布" in rows[rule.code] and "第 2 版 · 草稿" in rows[rule.code]
    assert "第 1 版 · 草稿" in rows[drafted.code] and "已发布" not in rows[drafted.code]
    assert "未绘制" in rows[untouched.code] and "—" in rows[untouched.code]
    found = client.get(reverse("workflow:designer_list"), {"q": drafted.code}).content.decode()
    assert f'data-rule="{drafted.code}"' in found and f'data-rule="{rule.code}"' not in found
    by_title = client.get(reverse("workflow:designer_list"), {"q": "人才引进"}).content.decode()
    assert by_title.count('data-rule="') == 1 and f'data-rule="{untouched.code}"' in by_title
    unpublished = client.get(reverse("workflow:designer_list"), {"state": "none"}).content.decode()
    assert f'data-rule="{untouched.code}"' in unpublished
    assert f'data-rule="{drafted.code}"' not in unpublished


# --------------------------------------------------------------------------- editor
def test_the_editor_carries_the_draft_choices_and_condition_facts(login, admin, rule, drawing):
    designer.save_draft(admin, rule, drawing)

    response = login(admin).get(url("designer", rule))

    assert response.status_code == 200
    data = response.context["editor"]
    assert data["spec"]["levels"][0]["nodes"][1]["name"] == "科技厅复核"
    assert {"value": "dept_leader", "label": "部门负责人"} in data["choices"]["kinds"]
    page = response.content.decode()
    assert 'id="designer-data"' in page
    assert "requested_amount" in page and "申请金额（元）" in page
    assert "is_high_tech" in page  # a form item of the rule
    assert 'data-testid="save-draft"' in page and 'data-testid="publish"' in page


def test_saving_posts_the_drawing_as_the_draft(login, admin, rule, drawing):
    client = login(admin)
    response = client.post(url("designer", rule), {"spec": json.dumps(drawing), "note": "初稿"})

    assert response.status_code == 302
    draft = WorkflowDefinition.objects.get(rule=rule)
    assert (draft.version, draft.status, draft.note) == (1, Status.DRAFT, "初稿")
    assert draft.spec["levels"][0]["nodes"][0]["name"] == "科技厅初审"
    assert "已保存工作流草稿（第 1 版）" in client.get(url("designer", rule)).content.decode()


def test_a_refused_drawing_is_shown_again_with_the_reason(login, admin, rule, drawing):
    drawing["levels"][0]["nodes"][1]["key"] = "n1"

    response = login(admin).post(url("designer", rule), {"spec": json.dumps(drawing)})

    assert response.status_code == 200
    assert "节点标识重复：n1" in response.content.decode()
    assert response.context["editor"]["spec"] == drawing
    assert response.context["editor"]["unsaved"] is True
    assert not WorkflowDefinition.objects.exists()
    unreadable = login(admin).post(url("designer", rule), {"spec": "{levels"})
    assert "工作流数据无法读取" in unreadable.content.decode()


def test_a_viewer_sees_the_workflow_but_cannot_change_it(login, admin, viewer, rule, drawing):
    designer.save_draft(admin, rule, drawing)
    other = bare_rule(rule.current.lead_department)
    designer.save_draft(admin, other, drawing)
    client = login(viewer)

    page = client.get(url("designer", rule))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="save-draft"' not in html and 'data-testid="publish"' not in html
    assert "<fieldset disabled>" in html

    spec = {"spec": json.dumps(drawing)}
    assert client.post(url("designer", rule), spec).status_code == 403
    assert client.post(url("designer_preview", rule), spec).status_code == 403
    assert client.post(url("designer_publish", rule)).status_code == 403
    assert client.post(url("designer_copy", rule), {"source": other.pk}).status_code == 403
    assert WorkflowDefinition.objects.get(rule=rule).status == Status.DRAFT
    assert not AuditEvent.objects.filter(action__startswith="workflow.", actor=viewer).exists()


# --------------------------------------------------------------------------- preview
def test_the_preview_draws_the_posted_spec_and_lists_its_problems(login, admin, rule, drawing, kjt):
    drawing["levels"].append(level("分管领导审批"))

    response = login(admin).post(url("designer_preview", rule), {"spec": json.dumps(drawing)})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "科技厅初审" in html and "科技厅复核" in html
    assert "节点「科技厅复核」没有可办理的审批人：省科技厅 没有启用的“科长”角色用户" in html
    assert "第 2 级「分管领导审批」没有审批节点" in html
    assert "省科技厅 · 审核科员" in html  # who acts, per node
    assert not WorkflowDefinition.objects.exists()  # nothing saved


def test_the_preview_says_when_the_drawing_is_publishable_or_malformed(
    login, admin, rule, kjt, make_user
):
    make_user("chief", "section_chief", dept=kjt)
    make_user("reviewer", "reviewer", dept=kjt)
    client = login(admin)
    ok = {"levels": [level("审核", node("n1", "科技厅审核", assignee=dept_role(kjt)))]}

    assert (
        'data-testid="preview-ok"'
        in client.post(url("designer_preview", rule), {"spec": json.dumps(ok)}).content.decode()
    )
    ok["levels"][0]["nodes"][0]["limit"] = {"value": 99, "unit": "days"}
    bad = client.post(url("designer_preview", rule), {"spec": json.dumps(ok)}).content.decode()
    assert "节点「科技厅审核」的时限须为 1 至 30 个工作日" in bad and "<svg" not in bad


def test_the_preview_reads_each_condition_in_words(login, admin, rule, kjt, make_user):
    """The node table says what a condition means, never the expression the engine runs."""
    make_user("reviewer", "reviewer", dept=kjt)
    spec = {
        "levels": [
            level(
                "审核",
                node(
                    "n1",
                    "大额复核",
                    assignee=dept_role(kjt),
                    condition="requested_amount > 1000000 # 申请金额超过 100 万元",
                ),
                node("n2", "计算复核", assignee=dept_role(kjt), condition="min([rd_spend]) > 1"),
            )
        ]
    }
    html = login(admin).post(url("designer_preview", rule), {"spec": json.dumps(spec)})
    cells = re.findall(r'data-testid="node-condition">([^<]*)<', html.content.decode())
    assert cells == ["申请金额大于 1,000,000 元", "表达式 min([rd_spend]) &gt; 1"]


def test_the_editor_shows_no_engine_jargon(login, admin, rule, drawing):
    designer.save_draft(admin, rule, drawing)
    page = login(admin).get(url("designer", rule)).content.decode()
    assert "zen" not in page and 'title="节点标识"' not in page
    assert "（且）" in page and "（或）" in page


# --------------------------------------------------------------------------- publish & copy
def test_publishing_is_refused_on_the_page_with_every_problem(login, admin, rule, drawing):
    designer.save_draft(admin, rule, drawing)

    response = login(admin).post(url("designer_publish", rule))

    html = response.content.decode()
    assert response.status_code == 200
    assert "工作流第 1 版尚不能发布，请先解决以下问题" in html
    assert "节点「科技厅复核」没有可办理的审批人" in html
    assert WorkflowDefinition.objects.get(rule=rule).status == Status.DRAFT


def test_publishing_from_the_page_shows_the_published_diagram(
    login, admin, rule, drawing, kjt, make_user
):
    make_user("chief", "section_chief", dept=kjt)
    designer.save_draft(admin, rule, drawing, note="首版")
    client = login(admin)

    response = client.post(url("designer_publish", rule))

    assert response.status_code == 302
    assert WorkflowDefinition.objects.get(rule=rule).status == Status.PUBLISHED
    page = client.get(url("designer", rule)).content.decode()
    assert "已发布工作流第 1 版" in page
    assert 'data-testid="published-diagram"' in page
    history = page.split('data-testid="workflow-history"')[1].split("</table>")[0]
    assert 'data-status="published"' in history and "政策管理员" in history


def test_copying_from_another_rule_makes_a_draft(login, admin, rule, drawing):
    source = bare_rule(rule.current.lead_department)
    designer.save_draft(admin, source, drawing)
    client = login(admin)
    page = client.get(url("designer", rule)).content.decode()
    assert f'<option value="{source.pk}">{source.code}' in page

    response = client.post(url("designer_copy", rule), {"source": source.pk})

    assert response.status_code == 302
    copied = WorkflowDefinition.objects.get(rule=rule)
    assert copied.spec == WorkflowDefinition.objects.get(rule=source).spec
    refused = client.post(url("designer_copy", rule), {"source": ""}, follow=True)
    assert "请选择要复制的细则" in refused.content.decode()
