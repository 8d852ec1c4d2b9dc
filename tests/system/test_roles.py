"""角色管理: pages for the security administrator, 三员 grant rules, ancestors, audit, data scope."""

import pytest
from django.urls import reverse

from policywindow.core.errors import ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Role, Status, User
from policywindow.system.selectors import sidebar_for, users_visible_to
from policywindow.system.services import rbac

pytestmark = pytest.mark.django_db


def _menus(*keys: str) -> list[Menu]:
    return list(Menu.objects.filter(key__in=keys))


def _role(code: str = "biz_role", **fields) -> Role:
    return Role.objects.create(code=code, name=fields.pop("name", f"角色{code}"), **fields)


def _grant_data(*menus: Menu, scope: str = "dept", departments=()) -> dict:
    return {
        "menus": [m.pk for m in menus],
        "data_scope": scope,
        "departments": [d.pk for d in departments],
    }


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("name", ["role_list", "role_create", "role_update", "role_grant"])
def test_role_pages_belong_to_the_security_administrator(
    name, login, secadmin, sysadmin, auditor, enterprise_user
):
    role = Role.objects.get(code="reviewer")
    url = reverse(f"system:{name}", args=[role.pk] if name in {"role_update", "role_grant"} else [])
    assert login(secadmin).get(url).status_code == 200
    for other in (sysadmin, auditor, enterprise_user):
        assert login(other).get(url).status_code == 403, other.username


def test_role_list_searches_and_shows_admin_kind(login, secadmin):
    page = login(secadmin).get("/system/roles/", {"q": "管理员"}).content.decode()
    assert 'data-role="sec_admin"' in page and 'data-role="audit_admin"' in page
    assert 'data-role="reviewer"' not in page
    assert "安全管理员" in page


def test_role_list_hides_buttons_the_user_lacks(login, make_user):
    lister = _role("role_viewer")
    lister.menus.set(_menus("system", "system.role"))
    page = login(make_user("viewer", "role_viewer")).get("/system/roles/").content.decode()
    assert "分配权限" not in page and "新增角色" not in page


# ---------------------------------------------------------------- create and edit


def test_security_admin_creates_and_edits_a_role_with_audit(login, secadmin):
    client = login(secadmin)
    data = {"code": "fund_checker", "name": "资金复核员", "order": 5, "status": "enabled"}
    assert client.post("/system/roles/new/", data).status_code == 302
    role = Role.objects.get(code="fund_checker")
    assert (role.name, role.order, role.status) == ("资金复核员", 5, "enabled")
    assert AuditEvent.objects.get(action="role.create").after["code"] == "fund_checker"

    data.update(name="资金复核岗", status="disabled", remark="停用测试")
    assert client.post(f"/system/roles/{role.pk}/edit/", data).status_code == 302
    role.refresh_from_db()
    assert (role.name, role.status) == ("资金复核岗", "disabled")
    event = AuditEvent.objects.get(action="role.update")
    assert event.before["name"] == "资金复核员" and event.after["name"] == "资金复核岗"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "Bad Code", "角色编码为 2-32 位小写字母"),
        ("code", "reviewer", "该角色编码已被使用"),
        ("name", "审核科员", "该角色名称已被使用"),
        ("name", "", "请输入角色名称"),
        ("order", "abc", "显示顺序须为整数"),
    ],
)
def test_bad_role_input_is_a_chinese_field_error(login, secadmin, field, value, message):
    data = {"code": "new_role", "name": "新角色", "order": 1, "status": "enabled"}
    data[field] = value
    response = login(secadmin).post("/system/roles/new/", data)
    assert response.status_code == 200
    assert f'data-field-error="{field}"' in response.content.decode()
    assert message in response.content.decode()
    assert not Role.objects.filter(name="新角色").exists()


@pytest.mark.parametrize("code", ["sys_admin", "sec_admin", "audit_admin"])
def test_builtin_admin_roles_cannot_be_disabled_or_recoded(make_user, code):
    role = Role.objects.get(code=code)
    actor = make_user("role_editor")  # holds none of them: the rule is about the role itself
    with pytest.raises(ValidationFailed) as disabled:
        rbac.save_role(actor, role, code=code, name=role.name, status=Status.DISABLED)
    assert disabled.value.details == {"status": ["三员角色不能停用"]}
    with pytest.raises(ValidationFailed) as recoded:
        rbac.save_role(actor, role, code=f"{code}_x", name=role.name)
    assert recoded.value.details == {"code": ["三员角色的角色编码不能修改"]}
    role.refresh_from_db()
    assert role.code == code and role.status == Status.ENABLED


def test_admin_role_form_locks_code_and_status(login, secadmin):
    role = Role.objects.get(code="audit_admin")
    client = login(secadmin)
    posted = {"code": "hacked", "name": "审计管理员", "order": 30, "status": "disabled"}
    assert client.post(f"/system/roles/{role.pk}/edit/", posted).status_code == 302
    role.refresh_from_db()
    assert role.code == "audit_admin" and role.status == "enabled"


# ---------------------------------------------------------------- grants


def test_grant_page_shows_every_menu_with_button_codes(login, secadmin):
    role = Role.objects.get(code="reviewer")
    page = login(secadmin).get(f"/system/roles/{role.pk}/grant/").content.decode()
    assert page.count('type="checkbox" name="menus"') == Menu.objects.count()
    assert "system:user:reset-password" in page and "audit:operlog:verify" in page
    assert "全部数据" in page and "本部门及以下" in page and "仅本人" in page


def test_granting_a_button_grants_its_ancestors_and_is_audited(login, secadmin):
    role = _role()
    button = Menu.objects.get(key="policy.rule.create")
    response = login(secadmin).post(f"/system/roles/{role.pk}/grant/", _grant_data(button))
    assert response.status_code == 302
    assert set(role.menus.values_list("key", flat=True)) == {
        "policy",
        "policy.rule",
        "policy.rule.create",
    }
    event = AuditEvent.objects.get(action="role.grant")
    assert event.before["menus"] == [] and "新增细则（policy.rule.create）" in event.after["menus"]
    assert event.after["data_scope"] == "dept"


def test_grant_records_removed_menus(secadmin):
    role = _role()
    rbac.grant_role(secadmin, role, menus=_menus("policy.rule.create"), data_scope="dept")
    rbac.grant_role(secadmin, role, menus=_menus("policy.matching"), data_scope="self")
    event = AuditEvent.objects.filter(action="role.grant").order_by("-id").first()
    assert "新增细则（policy.rule.create）" in event.before["menus"]
    assert event.after["menus"] == ["政策库（policy）", "政策匹配（policy.matching）"]
    assert (event.before["data_scope"], event.after["data_scope"]) == ("dept", "self")


@pytest.mark.parametrize(
    ("role_code", "menu_key", "message"),
    [
        ("reviewer", "audit.operlog", "只能授予审计管理员角色"),
        ("reviewer", "system.online.kick", "只能授予安全管理员角色"),
        ("reviewer", "system.role.grant", "只能授予安全管理员角色"),
        ("sys_admin", "audit.loginlog", "不能授予系统管理员角色"),
        ("sys_admin", "system.param.security", "不能授予系统管理员角色"),
        ("sec_admin", "system.menu.delete", "不能授予安全管理员角色"),
        ("audit_admin", "system.user.create", "不能授予审计管理员角色"),
        ("audit_admin", "system.online", "不能授予审计管理员角色"),
    ],
)
def test_three_administrators_rules_refuse_the_grant(make_user, role_code, menu_key, message):
    role = Role.objects.get(code=role_code)
    before = set(role.menus.values_list("pk", flat=True))
    actor = make_user("granter")  # holds none of the roles (one's own role is refused anyway)
    with pytest.raises(ValidationFailed) as refused:
        rbac.grant_role(actor, role, menus=_menus(menu_key), data_scope=role.data_scope)
    assert "三员分立" in refused.value.message and message in refused.value.message
    assert set(role.menus.values_list("pk", flat=True)) == before
    assert not AuditEvent.objects.filter(action="role.grant").exists()


def test_each_administrator_keeps_its_own_menus_and_no_other(secadmin):
    for code in ("sys_admin", "audit_admin"):
        role = Role.objects.get(code=code)
        rbac.grant_role(secadmin, role, menus=list(role.menus.all()), data_scope="all")
    assert AuditEvent.objects.filter(action="role.grant").count() == 2
    audit_role = Role.objects.get(code="audit_admin")
    kept = list(audit_role.menus.all())
    fewer = [m for m in kept if m.key != "audit.loginlog"]
    with pytest.raises(ValidationFailed, match="不能增删"):
        rbac.grant_role(secadmin, audit_role, menus=fewer, data_scope="all")
    with pytest.raises(ValidationFailed, match="数据范围固定"):
        rbac.grant_role(secadmin, audit_role, menus=kept, data_scope="self")
    assert set(audit_role.menus.all()) == set(kept)


def test_business_role_may_not_receive_system_administration_buttons(secadmin):
    role = Role.objects.get(code="policy_admin")
    with pytest.raises(ValidationFailed) as refused:
        rbac.grant_role(secadmin, role, menus=_menus("system.user.create"), data_scope="all")
    assert (
        "三员分立：新增用户（system:user:create） 只能授予系统管理员角色"
        in (refused.value.details["menus"])
    )
    assert not role.menus.filter(key="system.user.create").exists()


def test_refused_grant_shows_a_chinese_error_on_the_page(login, secadmin):
    role = Role.objects.get(code="reviewer")
    granted = set(role.menus.values_list("key", flat=True))
    response = login(secadmin).post(
        f"/system/roles/{role.pk}/grant/", _grant_data(*_menus("audit.operlog.verify"))
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="menus"' in page and "只能授予审计管理员角色" in page
    assert set(role.menus.values_list("key", flat=True)) == granted


def test_custom_scope_needs_departments(login, secadmin, make_department):
    role = _role()
    client = login(secadmin)
    response = client.post(f"/system/roles/{role.pk}/grant/", _grant_data(scope="custom"))
    assert 'data-field-error="departments"' in response.content.decode()
    assert "请至少选择一个部门" in response.content.decode()
    dept = make_department("沈阳市营商局")
    response = client.post(
        f"/system/roles/{role.pk}/grant/", _grant_data(scope="custom", departments=[dept])
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.data_scope == "custom" and list(role.scope_departments.all()) == [dept]


def test_leaving_custom_scope_clears_the_departments(secadmin, department):
    role = _role(data_scope="custom")
    role.scope_departments.set([department])
    rbac.grant_role(secadmin, role, menus=[], data_scope="dept")
    assert not role.scope_departments.exists()


def test_granting_a_menu_makes_the_sidebar_show_it(login, secadmin, make_user):
    role = _role()
    clerk = make_user("clerk", role.code)
    assert sidebar_for(clerk) == []
    login(secadmin).post(f"/system/roles/{role.pk}/grant/", _grant_data(*_menus("window.cases")))
    sidebar = sidebar_for(clerk)
    assert [item.key for item in sidebar] == ["window"]
    assert [child.key for child in sidebar[0].children] == ["window.cases"]
    assert 'data-menu="window.cases"' in login(clerk).get("/").content.decode()


def test_disabled_role_grants_nothing(secadmin, make_user):
    role = _role()
    rbac.grant_role(secadmin, role, menus=_menus("window.cases"), data_scope="dept")
    user = make_user("poster", role.code)
    assert "window:case:list" in user.permission_codes
    rbac.save_role(secadmin, role, code=role.code, name=role.name, status=Status.DISABLED)
    del user.permission_codes
    assert "window:case:list" not in user.permission_codes


# ---------------------------------------------------------------- data scope (union of roles)


@pytest.fixture
def scoped(make_department, make_user):
    """Two branches: 大连 (with 金州 below) and 鞍山; one user in each."""
    dalian = make_department("大连市营商局")
    jinzhou = make_department("金州区营商局", parent=dalian)
    anshan = make_department("鞍山市营商局")
    people = {
        "dalian": make_user("dl_user", dept=dalian),
        "jinzhou": make_user("jz_user", dept=jinzhou),
        "anshan": make_user("as_user", dept=anshan),
    }
    return {"dalian": dalian, "jinzhou": jinzhou, "anshan": anshan, "people": people}


def _viewer(make_user, dept, **scopes) -> object:
    roles = []
    for code, (scope, departments) in scopes.items():
        role = _role(code, data_scope=scope)
        role.scope_departments.set(departments)
        roles.append(role.code)
    return make_user("viewer", *roles, dept=dept)


def _visible(viewer) -> set[str]:
    return set(users_visible_to(viewer).values_list("username", flat=True))


def test_own_department_and_chosen_department_combine_as_a_union(make_user, scoped):
    viewer = _viewer(
        make_user,
        scoped["dalian"],
        own_dept=("dept", []),
        chosen=("custom", [scoped["anshan"]]),
    )
    assert _visible(viewer) == {"viewer", "dl_user", "as_user"}


def test_department_and_below_includes_children(make_user, scoped):
    viewer = _viewer(make_user, scoped["dalian"], below=("dept_below", []))
    assert _visible(viewer) == {"viewer", "dl_user", "jz_user"}


def test_own_department_excludes_children(make_user, scoped):
    viewer = _viewer(make_user, scoped["dalian"], own_dept=("dept", []))
    assert _visible(viewer) == {"viewer", "dl_user"}


def test_self_scope_sees_only_self(make_user, scoped):
    viewer = _viewer(make_user, scoped["dalian"], only_me=("self", []))
    assert _visible(viewer) == {"viewer"}


def test_all_scope_sees_everyone_even_beside_narrower_roles(make_user, scoped):
    viewer = _viewer(make_user, scoped["anshan"], only_me=("self", []), everything=("all", []))
    assert {"dl_user", "jz_user", "as_user", "viewer"} <= _visible(viewer)
    assert _visible(viewer) == set(User.objects.values_list("username", flat=True))


def test_disabled_role_adds_no_scope(make_user, scoped):
    viewer = _viewer(make_user, scoped["dalian"], only_me=("self", []), everything=("all", []))
    Role.objects.filter(code="everything").update(status=Status.DISABLED)
    assert _visible(viewer) == {"viewer"}
