"""三员分立 held against the administrators themselves (issue 14).

The attacks: sysadmin resets or disables the auditor or the security administrator and signs
in as them; secadmin gives himself business roles or, through a new role, the system
administrator's menus; sysadmin hides the operation log from the auditor or changes a menu's
code after it was granted. Each class is tried through the pages and the services, and the
only way left — 双人审批 — is walked end to end.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading

import pyotp
import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from policywindow.api.services import issue_token
from policywindow.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.system.models import AdminAccountRequest, Menu, Role, User, UserSession
from policywindow.system.services import admin_requests, rbac
from policywindow.system.services import users as user_services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HALF = re.compile(r'data-testid="one-time-half">([^<]+)<')


def _menus(*keys: str) -> list[Menu]:
    return list(Menu.objects.filter(key__in=keys))


def _unchanged(user: User) -> None:
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and user.is_active


# ---------------------------------------------------------------- 1. no direct route


@pytest.mark.parametrize("target_name", ["auditor", "secadmin", "sysadmin"])
def test_user_pages_refuse_every_direct_change_to_an_admin_account(
    request, login, sysadmin, secadmin, auditor, target_name
):
    target = request.getfixturevalue(target_name)
    by_sys, by_sec = login(sysadmin), login(secadmin)
    attempts = [
        by_sys.post(f"/system/users/{target.pk}/reset-password/", follow=True),
        by_sys.post(f"/system/users/{target.pk}/toggle-active/", follow=True),
        by_sys.get(f"/system/users/{target.pk}/edit/", follow=True),
        by_sys.post(f"/system/users/{target.pk}/edit/", {"real_name": "改名"}, follow=True),
        by_sec.get(f"/system/users/{target.pk}/roles/", follow=True),
        by_sec.post(f"/system/users/{target.pk}/roles/", {"roles": []}, follow=True),
    ]
    for response in attempts:
        page = response.content.decode()
        # Disabling oneself has its own message; everything else names the procedure.
        assert ("是三员账号，不能直接" in page and "双人审批" in page) or (
            "不能停用当前登录的账号" in page
        )
        assert "新密码：" not in page
    _unchanged(target)
    assert target.real_name != "改名" and target.admin_kind
    assert not AuditEvent.objects.filter(
        action__in=["user.reset_password", "user.disable", "user.update", "user.assign_roles"]
    ).exists()


def test_the_user_list_offers_no_direct_action_on_admin_accounts(login, sysadmin, auditor):
    page = login(sysadmin).get("/system/users/", {"q": "auditor"}).content.decode()
    row = page.split('data-username="auditor"')[1].split("</tr>")[0]
    assert 'data-testid="admin-account"' in row
    assert "reset-password" not in row and "toggle-active" not in row


@pytest.mark.parametrize("actor_name", ["sysadmin", "secadmin", None])
def test_services_refuse_admin_accounts_whoever_asks(request, actor_name, auditor):
    actor = request.getfixturevalue(actor_name) if actor_name else None
    calls = [
        lambda: user_services.reset_password(actor, auditor),
        lambda: user_services.update_user(actor, auditor, real_name="改名"),
        lambda: user_services.assign_roles(actor, auditor, []),
    ]
    if actor is not None:
        calls.append(lambda: user_services.set_user_active(actor, auditor, False))
    for call in calls:
        with pytest.raises(PermissionDenied, match="双人审批"):
            call()
    _unchanged(auditor)
    assert list(auditor.roles.values_list("code", flat=True)) == ["audit_admin"]


# ---------------------------------------------------------------- 2. exactly one role


def test_secadmin_cannot_take_business_roles_nor_give_them_to_admins(login, secadmin, sysadmin):
    business = Role.objects.filter(code__in=["finance_officer", "policy_admin"])
    for target in (secadmin, sysadmin):
        with pytest.raises(PermissionDenied):
            user_services.assign_roles(secadmin, target, [*business, *target.roles.all()])
        response = login(secadmin).post(
            f"/system/users/{target.pk}/roles/",
            {"roles": list(business.values_list("pk", flat=True))},
            follow=True,
        )
        assert "是三员账号，不能直接分配角色" in response.content.decode()
        assert target.roles.count() == 1


def test_nobody_changes_their_own_roles(make_user):
    officer = make_user("officer", "window_clerk")
    with pytest.raises(PermissionDenied, match="自己的账号"):
        user_services.assign_roles(officer, officer, [Role.objects.get(code="finance_officer")])


@pytest.mark.parametrize("code", ["sys_admin", "sec_admin", "audit_admin"])
def test_admin_roles_are_never_assigned_in_the_system(secadmin, make_user, code):
    newcomer = make_user("newcomer")
    with pytest.raises(ValidationFailed, match="create-admins"):
        user_services.assign_roles(secadmin, newcomer, [Role.objects.get(code=code)])
    with pytest.raises(ValidationFailed, match="create-admins"):
        user_services.create_user(
            secadmin,
            username="another_admin",
            real_name="另一名管理员",
            password="Another#Admin2026",
            department=newcomer.department,
            roles=[Role.objects.get(code=code)],
        )
    assert not newcomer.roles.exists() and not User.objects.filter(username="another_admin")


@pytest.mark.parametrize(
    "menu_key",
    [
        "system.user.create",
        "system.user.reset-password",
        "system.user.status",
        "system.menu.update",
        "system.role.grant",
        "system.online.kick",
        "system.param.security",
        "audit.operlog",
        "audit.loginlog",
        "admin.requests",
    ],
)
def test_no_power_of_the_three_reaches_another_role(login, secadmin, menu_key):
    client = login(secadmin)
    client.post(
        "/system/roles/new/", {"code": "helper", "name": "帮手", "order": 1, "status": "enabled"}
    )
    role = Role.objects.get(code="helper")
    response = client.post(
        f"/system/roles/{role.pk}/grant/",
        {"menus": [m.pk for m in _menus(menu_key)], "data_scope": "all"},
    )
    assert "三员分立" in response.content.decode()
    assert not role.menus.exists()
    for admin_role in Role.objects.exclude(admin_kind="").exclude(code="sec_admin"):
        before = set(admin_role.menus.all())
        with pytest.raises(ValidationFailed):
            rbac.grant_role(
                secadmin, admin_role, menus=[*before, *_menus("policy.policy")], data_scope="all"
            )
        assert set(admin_role.menus.all()) == before


def test_nobody_changes_a_role_they_hold(login, secadmin):
    own = Role.objects.get(code="sec_admin")
    with pytest.raises(PermissionDenied, match="自己持有的角色"):
        rbac.grant_role(secadmin, own, menus=list(own.menus.all()), data_scope="all")
    with pytest.raises(PermissionDenied, match="自己持有的角色"):
        rbac.save_role(secadmin, own, code=own.code, name="改名")
    response = login(secadmin).post(
        f"/system/roles/{own.pk}/grant/", {"menus": [], "data_scope": "all"}
    )
    assert "自己持有的角色" in response.content.decode()
    assert own.menus.filter(key="system.role.grant").exists()


def test_a_role_holding_powers_of_the_three_cannot_be_assigned(secadmin, make_user):
    """A grant written before the rule (or straight into the database) does not spread."""
    smuggled = Role.objects.create(code="smuggled", name="夹带角色")
    smuggled.menus.set(_menus("system", "system.user", "system.user.reset-password"))
    clerk = make_user("clerk2")
    with pytest.raises(ValidationFailed, match="三员分立"):
        user_services.assign_roles(secadmin, clerk, [smuggled])
    assert not clerk.roles.exists()


# ---------------------------------------------------------------- 3. menus keep their meaning


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("audit.operlog", {"status": "disabled"}),
        ("audit.operlog", {"visible": False}),
        ("audit.operlog.verify", {"status": "disabled"}),
        ("audit", {"status": "disabled"}),
        ("audit.loginlog", {"parent": "policy"}),
        ("system.role.grant", {"status": "disabled"}),
        ("admin.requests", {"status": "disabled"}),
    ],
)
def test_builtin_menus_of_the_three_cannot_be_hidden_or_moved(sysadmin, key, change):
    menu = Menu.objects.get(key=key)
    if "parent" in change:
        change = {"parent": Menu.objects.get(key=change["parent"])}
    with pytest.raises(ValidationFailed, match="三员分立"):
        rbac.save_menu(sysadmin, menu, **change)
    fresh = Menu.objects.get(pk=menu.pk)
    assert (fresh.status, fresh.visible, fresh.parent_id) == (
        menu.status,
        menu.visible,
        menu.parent_id,
    )


def test_sysadmin_cannot_lock_the_auditor_out_of_the_log_from_the_page(login, sysadmin, auditor):
    menu = Menu.objects.get(key="audit.operlog")
    data = {
        "kind": "menu",
        "parent": menu.parent_id,
        "name": menu.name,
        "icon": menu.icon,
        "order": menu.order,
        "status": "disabled",
    }  # "visible" left out: unticked
    login(sysadmin).post(f"/system/menus/{menu.pk}/edit/", data)
    menu.refresh_from_db()
    assert menu.status == "enabled" and menu.visible
    assert login(auditor).get(reverse("system:operlog_list")).status_code == 200


def test_changing_a_granted_menus_code_is_checked_again(sysadmin, secadmin):
    parent = Menu.objects.get(key="policy.policy")
    button = rbac.save_menu(
        sysadmin,
        Menu(),
        kind="button",
        parent=parent,
        name="导出政策",
        permission="policy:policy:export",
    )
    role = Role.objects.get(code="policy_admin")
    rbac.grant_role(secadmin, role, menus=[*role.menus.all(), button], data_scope="all")
    for stolen in ("system:user:reset-password", "audit:operlog:list", "security:online:kick"):
        with pytest.raises(ValidationFailed, match="三员分立") as refused:
            rbac.save_menu(sysadmin, button, permission=stolen)
        assert "permission" in refused.value.details
        button.refresh_from_db()
        assert button.permission == "policy:policy:export"


def test_a_hand_made_menu_with_an_administrators_code_belongs_to_that_administrator(
    sysadmin, secadmin
):
    parent = Menu.objects.get(key="window.cases")
    twin = rbac.save_menu(
        sysadmin, Menu(), kind="button", parent=parent, name="重置", permission="system:user:x"
    )
    copy = rbac.save_menu(
        sysadmin,
        Menu(),
        kind="button",
        parent=parent,
        name="看日志",
        permission="audit:operlog:list",
    )
    role = Role.objects.get(code="window_clerk")
    for menu in (twin, copy):
        with pytest.raises(ValidationFailed, match="三员分立"):
            rbac.grant_role(secadmin, role, menus=[*role.menus.all(), menu], data_scope="all")
        assert not role.menus.filter(pk=menu.pk).exists()


def test_secadmin_cannot_keep_the_auditor_signed_out(login, secadmin, auditor):
    other = Client()
    other.post("/login/", {"username": "auditor", "password": PASSWORD})
    session = UserSession.objects.get(user=auditor)
    with pytest.raises(PermissionDenied, match="本人"):
        rbac.kick_session(secadmin, session)
    assert other.get(reverse("system:operlog_list")).status_code == 200


# ---------------------------------------------------------------- 4. 双人审批


def _file(client: Client, target: User, action: str, reason: str = "遗失手机") -> str:
    response = client.post(
        reverse("system:admin_request_file"),
        {"target": target.pk, "action": action, "reason": reason},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def _half(page: str) -> str:
    found = HALF.search(page)
    assert found, "the page shows one half of the one-time password"
    return html.unescape(found.group(1))


def _pending(target: User) -> AdminAccountRequest:
    return AdminAccountRequest.objects.get(target=target, state="pending")


def test_reset_goes_through_a_second_and_a_third_administrator(login, sysadmin, secadmin, auditor):
    auditor.totp_secret, auditor.totp_confirmed = pyotp.random_base32(), True
    auditor.save()
    old_token = issue_token(auditor, name="旧令牌", lifetime=dt.timedelta(days=1))
    first = _half(_file(login(sysadmin), auditor, "reset_password"))
    request = _pending(auditor)
    assert first not in (request.first_half_hash, request.reason) and request.first_half_hash
    _unchanged(auditor)  # nothing happens before the third person approves

    for wrong in (sysadmin, auditor):  # the requester and the target never approve
        page = login(wrong).post(
            reverse("system:admin_request_approve", args=[request.pk]), follow=True
        )
        assert "不能审批" in page.content.decode()
    approved = login(secadmin).post(reverse("system:admin_request_approve", args=[request.pk]))
    second = _half(approved.content.decode())
    assert first != second

    auditor.refresh_from_db()
    assert not auditor.has_usable_password() and auditor.must_change_password
    assert not auditor.totp_confirmed and auditor.must_bind_totp
    anonymous = Client()
    for guess in (PASSWORD, first, second, second + first):  # four: the fifth would lock
        page = anonymous.post("/login/", {"username": "auditor", "password": guess})
        assert page.status_code == 200, guess  # refused
    assert (
        Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {old_token.plaintext}").status_code
        == 401
    )

    # The target, with both halves in hand: bind a new authenticator, then a new password.
    target = Client()
    signed = target.post("/login/", {"username": "auditor", "password": first + second})
    assert signed["Location"] == reverse("system:login_totp")
    assert "绑定动态口令" in target.get(reverse("system:login_totp")).content.decode()
    auditor.refresh_from_db()
    code = pyotp.TOTP(auditor.totp_secret).now()
    assert (
        "recovery-codes"
        in target.post(reverse("system:login_totp"), {"code": code}).content.decode()
    )
    assert target.get("/")["Location"] == reverse("system:password_change")
    changed = target.post(
        reverse("system:password_change"),
        {
            "old_password": first + second,
            "new_password": "Audit#Fresh2027",
            "confirm_password": "Audit#Fresh2027",
        },
    )
    assert changed.status_code == 302
    assert target.get(reverse("system:operlog_list")).status_code == 200
    # Spent: the halves do not work a second time.
    assert (
        Client().post("/login/", {"username": "auditor", "password": first + second}).status_code
        == 200
    )
    actions = list(
        AuditEvent.objects.filter(action__startswith="admin_request.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["admin_request.file", "admin_request.approve", "admin_request.redeem"]
    reset = AuditEvent.objects.get(action="user.reset_password")
    assert reset.actor == secadmin and "双人审批" in reset.message


def test_disable_needs_the_third_administrator_and_ends_everything(
    login, sysadmin, secadmin, auditor
):
    signed_in = Client()
    signed_in.post("/login/", {"username": "sysadmin", "password": PASSWORD})
    token = issue_token(sysadmin, name="令牌", lifetime=dt.timedelta(days=1))
    _file(login(secadmin), sysadmin, "disable", reason="离岗")
    request = _pending(sysadmin)
    with pytest.raises(PermissionDenied):
        admin_requests.approve_request(secadmin, request.pk)
    admin_requests.approve_request(auditor, request.pk, note="同意")
    sysadmin.refresh_from_db()
    assert not sysadmin.is_active
    assert signed_in.get("/").status_code == 302
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token.plaintext}"}
    assert Client().get("/api/v1/me", **bearer).status_code == 401
    event = AuditEvent.objects.get(action="user.disable")
    assert event.actor == auditor and "secadmin" in event.message


def test_nobody_files_about_their_own_kind_or_account(make_user, sysadmin, secadmin, auditor):
    deputy = make_user("sysadmin2", "sys_admin")  # a second system administrator
    with pytest.raises(PermissionDenied, match="自己的账号"):
        admin_requests.file_request(auditor, target=auditor, action="reset_password", reason="x")
    with pytest.raises(ValidationFailed, match="同类"):
        admin_requests.file_request(deputy, target=sysadmin, action="disable", reason="x")
    with pytest.raises(ValidationFailed, match="只用于三员账号"):
        admin_requests.file_request(
            sysadmin, target=make_user("plain"), action="disable", reason="x"
        )
    with pytest.raises(PermissionDenied, match="只有三员"):
        admin_requests.file_request(
            make_user("clerk9", "window_clerk"), target=auditor, action="disable", reason="x"
        )
    with pytest.raises(ValidationFailed, match="申请理由"):
        admin_requests.file_request(sysadmin, target=auditor, action="disable", reason="  ")
    # Requester and approver of the same kind are one person in two accounts: refused.
    filed = admin_requests.file_request(deputy, target=auditor, action="disable", reason="x")
    with pytest.raises(PermissionDenied, match="不同类"):
        admin_requests.approve_request(sysadmin, filed.request.pk)
    with pytest.raises(ValidationFailed, match="待审批"):
        admin_requests.file_request(secadmin, target=auditor, action="disable", reason="再来")
    auditor.refresh_from_db()
    assert auditor.is_active


def test_only_the_requester_withdraws_and_a_decided_request_stays_decided(
    sysadmin, secadmin, auditor
):
    filed = admin_requests.file_request(sysadmin, target=auditor, action="disable", reason="x")
    with pytest.raises(PermissionDenied):
        admin_requests.cancel_request(secadmin, filed.request.pk)
    admin_requests.reject_request(secadmin, filed.request.pk, note="理由不足")
    with pytest.raises(Conflict):
        admin_requests.approve_request(secadmin, filed.request.pk)
    auditor.refresh_from_db()
    assert auditor.is_active
    assert AuditEvent.objects.filter(action="admin_request.reject", actor=secadmin).exists()


def test_the_procedure_is_closed_to_everyone_else(login, make_user, sysadmin, auditor):
    filed = admin_requests.file_request(sysadmin, target=auditor, action="disable", reason="x")
    outsider = login(make_user("outsider", "policy_admin"))
    for url in (
        reverse("system:admin_request_list"),
        reverse("system:admin_request_approve", args=[filed.request.pk]),
    ):
        assert outsider.post(url).status_code == 403
    assert AdminAccountRequest.objects.get(pk=filed.request.pk).state == "pending"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL")
def test_two_simultaneous_approvals_carry_out_the_request_once(sysadmin, secadmin, auditor):
    filed = admin_requests.file_request(
        sysadmin, target=auditor, action="reset_password", reason="x"
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve() -> None:
        barrier.wait()
        try:
            outcomes.append(admin_requests.approve_request(secadmin, filed.request.pk).half)
        except DomainError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(o) if o != "Conflict" else 0 for o in outcomes) == [0, 8]
    assert AuditEvent.objects.filter(action="user.reset_password").count() == 1
