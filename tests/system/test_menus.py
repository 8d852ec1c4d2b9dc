"""菜单管理: the tree table, create/edit validation with Chinese field errors, delete rules."""

import pytest
from django.urls import reverse

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Role
from policywindow.system.selectors import sidebar_for
from policywindow.system.services import rbac

pytestmark = pytest.mark.django_db


def _menu(key: str) -> Menu:
    return Menu.objects.get(key=key)


def _form(**overrides) -> dict:
    data = {
        "kind": "menu",
        "parent": _menu("system").pk,
        "name": "公告管理",
        "icon": "megaphone",
        "url_name": "system:home",
        "permission": "system:notice:list",
        "order": 90,
        "visible": "on",
        "status": "enabled",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("name", ["menu_list", "menu_create", "menu_update"])
def test_menu_pages_belong_to_the_system_administrator(
    name, login, sysadmin, secadmin, auditor, enterprise_user
):
    args = [_menu("system.user").pk] if name == "menu_update" else []
    url = reverse(f"system:{name}", args=args)
    assert login(sysadmin).get(url).status_code == 200
    for other in (secadmin, auditor, enterprise_user):
        assert login(other).get(url).status_code == 403, other.username


def test_menu_list_is_a_tree_with_codes(login, sysadmin):
    page = login(sysadmin).get("/system/menus/").content.decode()
    keys = ("system", "system.user", "system.user.create", "system.dept", "audit")
    positions = [page.index(f'data-menu-key="{key}"') for key in keys]
    assert positions == sorted(positions)  # parents before their children
    assert "system:user:reset-password" in page and "system:user_list" in page
    assert page.count('data-testid="menu-delete"') == 0  # every built-in menu is kept


def test_sysadmin_creates_a_menu_and_a_button_with_audit(login, sysadmin):
    client = login(sysadmin)
    assert client.post("/system/menus/new/", _form()).status_code == 302
    menu = Menu.objects.get(name="公告管理")
    assert (menu.kind, menu.parent.key, menu.builtin) == ("menu", "system", False)
    assert menu.key.startswith("custom.")
    button = _form(
        kind="button", parent=menu.pk, name="发布公告", permission="system:notice:publish"
    )
    assert client.post("/system/menus/new/", button).status_code == 302
    assert Menu.objects.get(name="发布公告").url_name == ""
    created = AuditEvent.objects.filter(action="menu.create").order_by("id")
    assert [e.after["name"] for e in created] == ["公告管理", "发布公告"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"kind": "button", "parent": "system.user", "permission": ""},
            "permission",
            "按钮必须填写权限标识",
        ),
        (
            {"kind": "button", "parent": "system.user", "permission": "Policy Rule"},
            "permission",
            "权限标识格式不正确",
        ),
        (
            {"kind": "button", "parent": "system.user", "permission": "policy"},
            "permission",
            "权限标识格式不正确",
        ),
        ({"kind": "button", "parent": "system"}, "parent", "按钮的上级必须是菜单"),
        ({"kind": "button", "parent": ""}, "parent", "按钮的上级必须是菜单"),
        ({"parent": "system.user"}, "parent", "菜单的上级必须是目录"),
        ({"kind": "directory", "parent": "system"}, "parent", "目录只能位于顶级"),
        ({"url_name": ""}, "url_name", "菜单必须填写路由名称"),
        ({"url_name": "system:no_such_page"}, "url_name", "不存在或需要参数"),
        ({"url_name": "system:user_update"}, "url_name", "不存在或需要参数"),
        ({"url_name": "no-colon at all"}, "url_name", "不存在或需要参数"),
        ({"icon": "<script>"}, "icon", "bootstrap-icons"),
        ({"name": ""}, "name", "请输入名称"),
        ({"order": "-1"}, "order", "显示顺序不能小于 0"),
    ],
)
def test_bad_menu_input_is_a_chinese_field_error(login, sysadmin, overrides, field, message):
    if overrides.get("parent"):
        overrides["parent"] = _menu(overrides["parent"]).pk
    data = _form(name="坏菜单")
    data.update(overrides)
    response = login(sysadmin).post("/system/menus/new/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-field-error="{field}"' in page and message in page
    assert not Menu.objects.filter(name="坏菜单").exists()
    assert not AuditEvent.objects.filter(action="menu.create").exists()


def test_directory_drops_route_and_permission(sysadmin):
    directory = rbac.save_menu(
        sysadmin,
        Menu(),
        kind="directory",
        parent=None,
        name="统计分析",
        icon="bar-chart",
        url_name="system:home",
        permission="stats:x",
    )
    assert (directory.url_name, directory.permission) == ("", "")


def test_builtin_menu_edits_names_but_not_codes(login, sysadmin):
    menu = _menu("policy.policy")
    data = _form(
        kind="directory",
        parent=_menu("policy").pk,
        name="政策文件管理",
        url_name="system:home",
        permission="policy:file:list",
        visible="",
    )
    assert login(sysadmin).post(f"/system/menus/{menu.pk}/edit/", data).status_code == 302
    menu.refresh_from_db()
    assert (menu.name, menu.visible) == ("政策文件管理", False)
    assert (menu.kind, menu.url_name, menu.permission) == (
        "menu",
        "policies:policy_list",
        "policy:policy:list",
    )
    event = AuditEvent.objects.get(action="menu.update")
    assert (event.before["name"], event.after["name"]) == ("政策管理", "政策文件管理")


def test_service_refuses_to_change_a_builtin_permission_code(sysadmin):
    with pytest.raises(ValidationFailed) as refused:
        rbac.save_menu(sysadmin, _menu("system.user.create"), permission="system:user:make")
    assert refused.value.details == {"permission": ["内置菜单的权限标识不能修改"]}


def test_menu_with_children_cannot_change_kind(sysadmin):
    directory = rbac.save_menu(sysadmin, Menu(), kind="directory", parent=None, name="临时目录")
    rbac.save_menu(
        sysadmin, Menu(), kind="menu", parent=directory, name="首页入口", url_name="system:home"
    )
    with pytest.raises(ValidationFailed) as refused:
        rbac.save_menu(sysadmin, directory, kind="menu", url_name="system:home")
    assert "kind" in refused.value.details


def test_builtin_menus_cannot_be_deleted(login, sysadmin):
    menu = _menu("system.calendar.seed")
    response = login(sysadmin).post(f"/system/menus/{menu.pk}/delete/", follow=True)
    assert "内置菜单不能删除，只能隐藏或停用" in response.content.decode()
    assert Menu.objects.filter(pk=menu.pk).exists()
    with pytest.raises(Conflict):
        rbac.delete_menu(sysadmin, menu)


def test_menu_with_children_is_deleted_only_after_them(login, sysadmin):
    client = login(sysadmin)
    client.post("/system/menus/new/", _form())
    menu = Menu.objects.get(name="公告管理")
    client.post(
        "/system/menus/new/",
        _form(kind="button", parent=menu.pk, name="发布公告", permission="system:notice:publish"),
    )
    button = Menu.objects.get(name="发布公告")
    role = Role.objects.get(code="reviewer")
    role.menus.add(menu, button)

    response = client.post(f"/system/menus/{menu.pk}/delete/", follow=True)
    assert "请先删除它们" in response.content.decode()
    assert Menu.objects.filter(pk=menu.pk).exists()

    assert client.post(f"/system/menus/{button.pk}/delete/").status_code == 302
    assert client.post(f"/system/menus/{menu.pk}/delete/").status_code == 302
    assert not Menu.objects.filter(name__in=["公告管理", "发布公告"]).exists()
    assert not role.menus.filter(pk__in=[menu.pk, button.pk]).exists()
    deleted = AuditEvent.objects.filter(action="menu.delete").order_by("id")
    assert [e.before["name"] for e in deleted] == ["发布公告", "公告管理"]
    assert deleted[0].before["roles"] == ["reviewer"]


def test_delete_needs_its_own_permission(login, secadmin, sysadmin):
    menu = rbac.save_menu(sysadmin, Menu(), kind="directory", parent=None, name="临时目录")
    assert login(secadmin).post(f"/system/menus/{menu.pk}/delete/").status_code == 403
    assert Menu.objects.filter(pk=menu.pk).exists()


def test_disabled_menu_leaves_the_sidebar(login, sysadmin, make_user):
    client = login(sysadmin)
    clerk = make_user("clerk", "window_clerk")
    menu = _menu("window.cases")
    assert "window.cases" in [c.key for item in sidebar_for(clerk) for c in item.children]
    data = _form(parent=menu.parent_id, name=menu.name, icon=menu.icon, status="disabled")
    assert client.post(f"/system/menus/{menu.pk}/edit/", data).status_code == 302
    assert "window.cases" not in [c.key for item in sidebar_for(clerk) for c in item.children]


def test_every_menu_problem_is_reported_at_once(login, sysadmin):
    data = _form(parent=_menu("system.user").pk, permission="Bad Code", icon="x y", url_name="x")
    page = login(sysadmin).post("/system/menus/new/", data).content.decode()
    for field in ("parent", "permission", "icon", "url_name"):
        assert f'data-field-error="{field}"' in page, field
