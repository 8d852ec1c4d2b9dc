"""The foundation's endpoints: me, departments, users, working days."""

from __future__ import annotations

import pytest

from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Post, Role, User

pytestmark = pytest.mark.django_db

SECRET_FIELDS = {"password", "totp_secret", "token_hash"}


def test_me_lists_roles_and_permission_codes_without_secrets(sysadmin, login):
    sysadmin.totp_secret = "JBSWY3DPEHPK3PXP"
    sysadmin.mobile = "13800000000"
    sysadmin.save()
    body = login(sysadmin).get("/api/v1/me").json()
    assert body["roles"] == [{"code": "sys_admin", "name": "系统管理员"}]
    assert "system:user:create" in body["permissions"]
    assert body["permissions"] == sorted(body["permissions"])
    assert body["mobile"] == "13800000000"
    assert not SECRET_FIELDS & set(body)
    assert "JBSWY3DPEHPK3PXP" not in str(body)


def test_departments_come_as_a_tree(sysadmin, login, department, make_department):
    city = make_department("沈阳市营商局", parent=department)
    make_department("和平区营商局", parent=city)
    other_root = make_department("省财政厅")
    tree = login(sysadmin).get("/api/v1/departments").json()
    assert [node["name"] for node in tree] == ["省营商局", "省财政厅"]
    assert tree[0]["children"][0]["name"] == "沈阳市营商局"
    assert tree[0]["children"][0]["children"][0]["name"] == "和平区营商局"
    assert tree[1]["id"] == other_root.pk and tree[1]["children"] == []


def test_users_are_paged_with_totals(sysadmin, login, make_user):
    for n in range(4):
        make_user(f"clerk{n}", "window_clerk", real_name=f"窗口{n}")
    client = login(sysadmin)
    page = client.get("/api/v1/users?page=2&page_size=2").json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 2, 2)
    assert len(page["items"]) == 2
    assert not SECRET_FIELDS & set(page["items"][0])
    found = client.get("/api/v1/users?q=窗口3").json()
    assert [u["username"] for u in found["items"]] == ["clerk3"] and found["total"] == 1
    assert client.get("/api/v1/users?page_size=101").status_code == 400


def test_user_list_applies_the_data_scope(login, make_user, make_department):
    own, other = make_department("本部门"), make_department("其他部门")
    role = Role.objects.create(code="dept_user_admin", name="部门用户管理员", data_scope="dept")
    role.menus.set(Menu.objects.filter(permission="system:user:list"))
    viewer = make_user("scoped", "dept_user_admin", dept=own)
    make_user("colleague", dept=own)
    make_user("stranger", dept=other)
    names = {u["username"] for u in login(viewer).get("/api/v1/users").json()["items"]}
    assert names == {"scoped", "colleague"}


def test_enterprise_user_cannot_list_users(enterprise_user, login):
    response = login(enterprise_user).get("/api/v1/users")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_create_user_through_the_service(sysadmin, login):
    post = Post.objects.create(code="clerk", name="窗口岗")
    payload = {
        "username": "wangwu",
        "real_name": "王五",
        "password": "Strong#Pass2026",
        "department": sysadmin.department_id,
        "posts": [post.pk],
        "mobile": "13900000000",
    }
    response = login(sysadmin).post("/api/v1/users", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "wangwu" and body["department"]["id"] == sysadmin.department_id
    assert body["must_change_password"] is True and not SECRET_FIELDS & set(body)
    created = User.objects.get(username="wangwu")
    assert created.check_password("Strong#Pass2026")
    assert list(created.posts.all()) == [post]
    assert AuditEvent.objects.filter(action="user.create", object_id=str(created.pk)).exists()


def test_create_user_refuses_unknown_department_and_posts(sysadmin, login):
    payload = {"username": "zhaoliu", "real_name": "赵六", "password": "Strong#Pass2026"}
    client = login(sysadmin)
    response = client.post(
        "/api/v1/users", {**payload, "department": 999999}, content_type="application/json"
    )
    assert response.json()["details"] == {"department": ["所选部门不存在或已停用"]}
    response = client.post(
        "/api/v1/users",
        {**payload, "department": sysadmin.department_id, "posts": [999999]},
        content_type="application/json",
    )
    assert response.json()["details"] == {"posts": ["所选岗位不存在或已停用"]}
    assert not User.objects.filter(username="zhaoliu").exists()


def test_working_days(sysadmin, login):
    response = login(sysadmin).get("/api/v1/calendar/working-days?start=2026-09-25&days=5")
    assert response.json() == {
        "start": "2026-09-25",
        "days": 5,
        "due_date": "2026-10-09",
        "due_provisional": False,
    }


def test_working_days_past_the_table_are_provisional(enterprise_user, login):
    # 2040 is not loaded: Monday 2040-01-02 counts as working by the weekend alone.
    response = login(enterprise_user).get("/api/v1/calendar/working-days?start=2040-01-01&days=1")
    assert response.status_code == 200
    assert response.json()["due_date"] == "2040-01-02"
    assert response.json()["due_provisional"] is True
