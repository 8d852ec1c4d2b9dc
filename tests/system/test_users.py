"""用户管理: list with search/filters/paging and data scope, create, edit, roles, status, password reset."""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policywindow.core.errors import ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import Role, User, UserSession
from policywindow.system.selectors import sidebar_for
from policywindow.system.services import users as user_services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _new_user_form(dept, **overrides):
    data = {
        "username": "chenjing",
        "real_name": "陈静",
        "kind": "staff",
        "department": dept.pk,
        "mobile": "13912345678",
        "email": "chenjing@example.gov.cn",
        "password": "Chen#Jing2026",
        "remark": "",
    }
    data.update(overrides)
    return data


def test_sysadmin_creates_a_user_with_audit(login, sysadmin, department):
    client = login(sysadmin)
    response = client.post("/system/users/new/", _new_user_form(department))
    assert response.status_code == 302
    user = User.objects.get(username="chenjing")
    assert (
        user.real_name == "陈静"
        and user.must_change_password
        and user.check_password("Chen#Jing2026")
    )
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor == sysadmin and event.after["username"] == "chenjing"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mobile", "12345", "请输入正确的11位手机号码"),
        ("username", "1abc", "须以字母开头"),
        ("password", "abcdefgh1", "至少三类"),
        ("password", "chenjing#A1", "不能包含用户名"),
        ("real_name", "", "请输入姓名"),
        ("email", "not-an-email", "请输入正确的邮箱地址"),
    ],
)
def test_bad_input_gets_a_field_error_and_keeps_the_other_fields(
    login, sysadmin, department, field, value, message
):
    client = login(sysadmin)
    response = client.post("/system/users/new/", _new_user_form(department, **{field: value}))
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert 'value="13912345678"' in page or field == "mobile"  # what was typed is not lost
    assert not User.objects.filter(username="chenjing").exists()


def test_staff_user_needs_a_department(login, sysadmin, department):
    response = login(sysadmin).post("/system/users/new/", _new_user_form(department, department=""))
    assert "政府工作人员必须选择所属部门" in response.content.decode()


def test_duplicate_username_is_a_field_error(login, sysadmin, department, make_user):
    make_user("chenjing")
    response = login(sysadmin).post("/system/users/new/", _new_user_form(department))
    assert "该用户名已被使用" in response.content.decode()


def test_generated_password_is_shown_once_and_valid(login, sysadmin, department):
    client = login(sysadmin)
    response = client.post(
        "/system/users/new/", _new_user_form(department, password=""), follow=True
    )
    text = response.content.decode()
    assert "初始密码：" in text
    shown = html.unescape(text.split("初始密码：")[1].split("（")[0])
    assert User.objects.get(username="chenjing").check_password(shown)


def test_three_administrators_are_mutually_exclusive(secadmin, make_user):
    target = make_user("target")
    roles = list(Role.objects.filter(code__in=["sys_admin", "audit_admin"]))
    with pytest.raises(ValidationFailed, match="三员分立"):
        user_services.assign_roles(secadmin, target, roles)
    assert not target.roles.exists()


def test_role_page_neither_offers_nor_accepts_admin_roles(login, secadmin, make_user):
    target = make_user("target")
    admin_roles = Role.objects.filter(code__in=["sys_admin", "sec_admin"])
    client = login(secadmin)
    page = client.get(f"/system/users/{target.pk}/roles/").content.decode()
    assert all(f'value="{role.pk}"' not in page for role in admin_roles)
    forged = {"roles": list(admin_roles.values_list("pk", flat=True))}
    response = client.post(f"/system/users/{target.pk}/roles/", forged)
    assert response.status_code == 200
    assert "三员角色只能由部署命令" in response.content.decode()
    assert not target.roles.exists()


def test_enterprise_roles_only_for_enterprise_users(secadmin, make_user):
    staff = make_user("staffer")
    with pytest.raises(ValidationFailed, match="角色与用户类型不符"):
        user_services.assign_roles(secadmin, staff, [Role.objects.get(code="enterprise")])


def test_granting_a_role_changes_the_sidebar(secadmin, make_user):
    user = make_user("plain")
    assert sidebar_for(user) == []
    user_services.assign_roles(secadmin, user, [Role.objects.get(code="window_clerk")])
    user = User.objects.get(pk=user.pk)
    names = [child.name for item in sidebar_for(user) for child in item.children]
    assert "受理队列" in names and "用户管理" not in names
    event = AuditEvent.objects.get(action="user.assign_roles")
    assert event.before == {"roles": []} and event.after == {"roles": ["window_clerk"]}


def test_disabling_a_user_ends_their_sessions_and_blocks_login(login, sysadmin, make_user):
    from django.test import Client

    target = make_user("target")
    other = Client()
    other.post("/login/", {"username": "target", "password": PASSWORD})
    assert UserSession.objects.filter(user=target).exists()
    login(sysadmin).post(f"/system/users/{target.pk}/toggle-active/")
    target.refresh_from_db()
    assert not target.is_active and not UserSession.objects.filter(user=target).exists()
    assert other.get("/").status_code == 302
    assert (
        "用户名或密码错误"
        in Client().post("/login/", {"username": "target", "password": PASSWORD}).content.decode()
    )


def test_cannot_disable_yourself(login, sysadmin):
    response = login(sysadmin).post(f"/system/users/{sysadmin.pk}/toggle-active/", follow=True)
    assert "不能停用当前登录的账号" in response.content.decode()
    sysadmin.refresh_from_db()
    assert sysadmin.is_active


def test_reset_password_forces_a_change(login, sysadmin, make_user):
    target = make_user("target")
    response = login(sysadmin).post(f"/system/users/{target.pk}/reset-password/", follow=True)
    new_password = html.unescape(response.content.decode().split("新密码：")[1].split("（")[0])
    target.refresh_from_db()
    assert target.check_password(new_password) and target.must_change_password
    assert AuditEvent.objects.filter(
        action="user.reset_password", object_id=str(target.pk)
    ).exists()


def test_list_search_filter_and_paging(login, sysadmin, make_user, make_department, department):
    child = make_department("沈阳市营商局", parent=department)
    for i in range(25):
        make_user(f"bulk{i:02d}", dept=child, real_name=f"批量{i:02d}")
    client = login(sysadmin)
    page1 = client.get("/system/users/", {"department": department.pk}).content.decode()
    assert "共 26 条" in page1 and "第 1 / 2 页" in page1  # 25 in the child department + sysadmin
    assert "共 1 条" in client.get("/system/users/", {"q": "批量07"}).content.decode()
    assert "共 25 条" in client.get("/system/users/", {"department": child.pk}).content.decode()
    role = Role.objects.get(code="sys_admin")
    assert "共 1 条" in client.get("/system/users/", {"role": role.pk}).content.decode()


def test_list_query_count_does_not_grow_with_rows(login, sysadmin, make_user):
    client = login(sysadmin)
    client.get("/system/users/")
    with CaptureQueriesContext(connection) as few:
        client.get("/system/users/")
    for i in range(15):
        make_user(f"more{i}", "window_clerk")
    with CaptureQueriesContext(connection) as many:
        client.get("/system/users/")
    assert len(many) == len(few)


def test_data_scope_limits_the_user_list(login, make_user, make_department, department):
    other = make_department("省科技厅")
    own_dept_admin = make_user("deptadmin", dept=department)
    own_dept_admin.roles.set([Role.objects.get(code="sys_admin")])
    Role.objects.filter(code="sys_admin").update(data_scope=Role.DataScope.DEPARTMENT)
    make_user("inside", dept=department)
    make_user("outside", dept=other)
    page = login(own_dept_admin).get("/system/users/").content.decode()
    assert "inside" in page and "outside" not in page
    assert (
        login(own_dept_admin)
        .get(f"/system/users/{User.objects.get(username='outside').pk}/edit/")
        .status_code
        == 404
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent inserts are tested on PostgreSQL"
)
def test_concurrent_creates_of_one_username_give_one_user_and_one_field_error(department):
    import threading

    from django.db import connections

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create():
        barrier.wait()
        try:
            user_services.create_user(
                None,
                username="same",
                real_name="同名",
                password="Pass#Word2026",
                department=department,
            )
            outcomes.append("created")
        except ValidationFailed as exc:
            outcomes.append(exc.details["username"][0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "该用户名已被使用"]
    assert User.objects.filter(username="same").count() == 1
