"""部门管理: tree page, create and edit through the pages, moving a subtree, enable/disable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import Department, Status
from policywindow.system.services import departments as services
from policywindow.system.views.departments import tree_rows

pytestmark = pytest.mark.django_db

LIST = reverse("system:dept_list")
CREATE = reverse("system:dept_create")


def form_data(**overrides) -> dict:
    data = {
        "parent": "",
        "name": "省大数据局",
        "short_name": "",
        "code": "DSJ",
        "kind": Department.Kind.PROVINCE,
        "region_code": "210000",
        "leader": "",
        "phone": "024-12345678",
        "email": "",
        "order": "10",
    }
    data.update(overrides)
    return data


@pytest.fixture
def tree(make_department, department):
    """省营商局 > 政务服务处 > 窗口科, and a second root 省财政厅."""
    office = make_department("政务服务处", department, code="YSJ-ZWFW")
    window = make_department("窗口科", office, code="YSJ-CK")
    finance = make_department("省财政厅", code="CZT")
    return {"root": department, "office": office, "window": window, "finance": finance}


def test_system_admin_sees_the_tree_indented_by_depth(login, sysadmin, tree):
    response = login(sysadmin).get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert "窗口科" in body and "YSJ-CK" in body
    assert 'data-depth="2"' in body  # app.js sets --pw-depth (no style attribute under the CSP)


@pytest.mark.parametrize("who", ["enterprise_user", "auditor", "secadmin"])
def test_other_roles_are_refused(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.post(CREATE, form_data()).status_code == 403
    assert not Department.objects.filter(code="DSJ").exists()


def test_search_keeps_the_ancestors_of_a_match(tree):
    rows = tree_rows(list(Department.objects.all()), "窗口")
    assert [r.dept.name for r in rows] == ["省营商局", "政务服务处", "窗口科"]
    assert [r.matched for r in rows] == [False, False, True]
    assert [r.depth for r in rows] == [0, 1, 2]


def test_search_page_leaves_out_unrelated_departments(login, sysadmin, tree):
    body = login(sysadmin).get(LIST, {"q": "窗口"}).content.decode()
    assert "窗口科" in body
    assert "省财政厅" not in body


def test_create_under_a_parent_sets_the_path_and_audits(login, sysadmin, tree, make_user):
    leader = make_user("leader1", real_name="李处长")
    response = login(sysadmin).post(
        CREATE, form_data(parent=tree["root"].pk, leader=leader.pk, name="法规处", code="YSJ-FGC")
    )
    assert response.status_code == 302
    dept = Department.objects.get(code="YSJ-FGC")
    assert dept.path == f"{tree['root'].path}{dept.pk}/"
    assert dept.leader == leader
    event = AuditEvent.objects.get(action="department.create", object_id=str(dept.pk))
    assert event.after["code"] == "YSJ-FGC"
    assert event.actor == sysadmin
    assert "李处长" in login(sysadmin).get(LIST).content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "CZT"}, "code", "部门编码已存在"),
        ({"name": "", "code": "NEW1"}, "name", "请输入部门名称"),
        ({"region_code": "21000"}, "region_code", "行政区划代码为 6 位数字"),
        ({"code": "编码"}, "code", "部门编码只能包含字母、数字、下划线和短横线"),
        ({"phone": "电话"}, "phone", "请输入正确的联系电话"),
    ],
)
def test_invalid_input_is_a_chinese_field_error(login, sysadmin, tree, overrides, field, message):
    before = Department.objects.count()
    response = login(sysadmin).post(CREATE, form_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Department.objects.count() == before


def test_sibling_with_the_same_name_is_refused(login, sysadmin, tree):
    response = login(sysadmin).post(
        CREATE, form_data(parent=tree["root"].pk, name="政务服务处", code="OTHER")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["同一上级部门下已有同名部门"]


def test_leader_must_be_staff(login, sysadmin, tree, enterprise_user):
    response = login(sysadmin).post(CREATE, form_data(leader=enterprise_user.pk))
    assert response.status_code == 200
    assert response.context["form"].errors["leader"] == ["负责人须为启用的政府工作人员"]
    with pytest.raises(ValidationFailed, match="负责人必须是政府工作人员"):
        services.save_department(
            sysadmin, Department(), name="某部门", code="X1", leader=enterprise_user
        )


def test_moving_a_department_moves_its_descendants(login, sysadmin, tree):
    office, window, finance = tree["office"], tree["window"], tree["finance"]
    response = login(sysadmin).post(
        reverse("system:dept_update", args=[office.pk]),
        form_data(parent=finance.pk, name=office.name, code=office.code),
    )
    assert response.status_code == 302
    office.refresh_from_db()
    window.refresh_from_db()
    assert office.path == f"/{finance.pk}/{office.pk}/"
    assert window.path == f"/{finance.pk}/{office.pk}/{window.pk}/"
    event = AuditEvent.objects.get(action="department.update", object_id=str(office.pk))
    assert event.before["parent"] == tree["root"].pk
    assert event.after["parent"] == finance.pk


@pytest.mark.parametrize("key", ["office", "window"])
def test_cannot_pick_itself_or_a_descendant_as_parent(login, sysadmin, tree, key):
    office = tree["office"]
    url = reverse("system:dept_update", args=[office.pk])
    page = login(sysadmin).get(url)
    choices = [pk for pk, _ in page.context["form"].fields["parent"].choices if pk]
    assert tree[key].pk not in [int(str(pk)) for pk in choices]
    response = login(sysadmin).post(
        url, form_data(parent=tree[key].pk, name=office.name, code=office.code)
    )
    assert response.status_code == 200
    assert "不能选择本部门或其下级部门" in response.context["form"].errors["parent"][0]
    office.refresh_from_db()
    assert office.parent == tree["root"]


def test_disabling_is_refused_while_enabled_children_exist(login, sysadmin, tree):
    client = login(sysadmin)
    response = client.post(reverse("system:dept_toggle", args=[tree["office"].pk]), follow=True)
    assert "该部门还有启用的下级部门" in response.content.decode()
    tree["office"].refresh_from_db()
    assert tree["office"].status == Status.ENABLED


def test_disable_then_enable_a_leaf_is_audited(login, sysadmin, tree):
    client = login(sysadmin)
    url = reverse("system:dept_toggle", args=[tree["window"].pk])
    client.post(url)
    tree["window"].refresh_from_db()
    assert tree["window"].status == Status.DISABLED
    client.post(url)
    tree["window"].refresh_from_db()
    assert tree["window"].status == Status.ENABLED
    actions = AuditEvent.objects.filter(
        action="department.status", object_id=str(tree["window"].pk)
    ).order_by("id")
    assert [e.after["status"] for e in actions] == ["disabled", "enabled"]


def test_enabling_under_a_disabled_parent_is_refused(sysadmin, tree):
    services.set_department_status(sysadmin, tree["window"], Status.DISABLED)
    services.set_department_status(sysadmin, tree["office"], Status.DISABLED)
    window = Department.objects.get(pk=tree["window"].pk)
    with pytest.raises(Conflict, match="上级部门“政务服务处”已停用"):
        services.set_department_status(sysadmin, window, Status.ENABLED)
