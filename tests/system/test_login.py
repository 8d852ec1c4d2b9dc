"""Sign-in: lockout, login log, password rules, forced change, expiry, idle timeout, TOTP."""

import datetime as dt

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from policywindow.system.models import LoginLog, SystemParameter, UserSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = "/login/"


def post_login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_successful_login_is_logged_and_session_recorded(make_user):
    user = make_user("zhangsan", "window_clerk")
    client = Client()
    response = post_login(client, "zhangsan", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    log = LoginLog.objects.get()
    assert log.success and log.user == user and log.message == "登录成功"
    assert UserSession.objects.filter(user=user).count() == 1
    assert client.get("/").status_code == 200


def test_five_failures_lock_the_username_for_thirty_minutes(make_user):
    make_user("lisi")
    client = Client()
    for attempt in range(1, 5):
        response = post_login(client, "lisi", "wrong-Pass1")
        assert f"再失败 {5 - attempt} 次账号将被锁定" in response.content.decode()
    response = post_login(client, "lisi", "wrong-Pass1")
    text = response.content.decode()
    assert "账号锁定 30 分钟" in text and "后重试" in text
    # Even the right password is refused while locked, and the refusal is logged.
    response = post_login(client, "lisi", PASSWORD)
    assert "账号已锁定" in response.content.decode()
    assert LoginLog.objects.filter(username="lisi", success=False).count() == 6
    assert not LoginLog.objects.filter(username="lisi", success=True).exists()


def test_lock_expires_after_the_window(make_user):
    make_user("wangwu")
    client = Client()
    for _ in range(5):
        post_login(client, "wangwu", "wrong-Pass1")
    from policywindow.system.models import LoginGuard

    LoginGuard.objects.filter(username="wangwu").update(
        locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert post_login(client, "wangwu", PASSWORD).status_code == 302


def test_lockout_parameters_are_honoured(make_user):
    SystemParameter.objects.filter(key="security.lockout_threshold").update(value="3")
    SystemParameter.objects.filter(key="security.lockout_minutes").update(value="10")
    make_user("zhaoliu")
    client = Client()
    for _ in range(2):
        post_login(client, "zhaoliu", "wrong-Pass1")
    text = post_login(client, "zhaoliu", "wrong-Pass1").content.decode()
    assert "已连续失败 3 次，账号锁定 10 分钟" in text


def test_unknown_user_and_disabled_user_get_the_same_message(make_user):
    make_user("disabled", is_active=False)
    unknown = post_login(Client(), "nobody", PASSWORD).content.decode()
    disabled = post_login(Client(), "disabled", PASSWORD).content.decode()
    assert "用户名或密码错误" in unknown and "用户名或密码错误" in disabled


def test_first_login_forces_a_password_change(make_user):
    make_user("newbie", must_change_password=True)
    client = Client()
    post_login(client, "newbie", PASSWORD)
    response = client.get("/system/users/")
    assert response.status_code == 302 and response["Location"] == reverse("system:password_change")
    page = client.get(reverse("system:password_change")).content.decode()
    assert "首次登录或密码被重置" in page


def test_password_change_validates_and_ends_other_sessions(make_user):
    user = make_user("changer")
    first, second = Client(), Client()
    post_login(first, "changer", PASSWORD)
    post_login(second, "changer", PASSWORD)
    url = reverse("system:password_change")
    weak = first.post(
        url, {"old_password": PASSWORD, "new_password": "abcdefgh", "confirm_password": "abcdefgh"}
    )
    assert "至少三类" in weak.content.decode()
    with_name = first.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password": "Changer@2026",
            "confirm_password": "Changer@2026",
        },
    )
    assert "密码不能包含用户名" in with_name.content.decode()
    ok = first.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password": "Brand#New2026",
            "confirm_password": "Brand#New2026",
        },
    )
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Brand#New2026") and not user.must_change_password
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302  # the other session has ended
    assert UserSession.objects.filter(user=user).count() == 1


def test_expired_password_must_be_changed(make_user):
    user = make_user("old")
    user.password_changed_at = timezone.now() - dt.timedelta(days=91)
    user.save()
    client = Client()
    post_login(client, "old", PASSWORD)
    response = client.get("/")
    assert response["Location"] == reverse("system:password_change")
    assert "密码已过期" in client.get(response["Location"]).content.decode()


def test_idle_session_ends(make_user, monkeypatch):
    make_user("idle")
    client = Client()
    post_login(client, "idle", PASSWORD)
    assert client.get("/").status_code == 200
    import time

    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 31 * 60)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logout_ends_the_session(make_user):
    user = make_user("leaver")
    client = Client()
    post_login(client, "leaver", PASSWORD)
    assert client.post(reverse("system:logout")).status_code == 302
    assert client.get("/").status_code == 302
    assert not UserSession.objects.filter(user=user).exists()


def test_staff_must_bind_and_use_totp_when_required(make_user):
    SystemParameter.objects.filter(key="security.totp_required").update(value="true")
    user = make_user("staff2fa")
    client = Client()
    response = post_login(client, "staff2fa", PASSWORD)
    assert response["Location"] == reverse("system:login_totp")
    assert client.get("/").status_code == 302  # not signed in yet
    page = client.get(reverse("system:login_totp")).content.decode()
    assert "绑定动态口令" in page and "<svg" in page
    user.refresh_from_db()
    wrong = client.post(reverse("system:login_totp"), {"code": "000000"})
    assert "动态口令不正确" in wrong.content.decode()
    code = pyotp.TOTP(user.totp_secret).now()
    bound = client.post(reverse("system:login_totp"), {"code": code}).content.decode()
    assert 'data-testid="recovery-codes"' in bound  # shown once, right after binding
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert user.totp_confirmed
    # Next time: a code is asked for, and a wrong one does not sign in.
    again = Client()
    post_login(again, "staff2fa", PASSWORD)
    page = again.get(reverse("system:login_totp")).content.decode()
    assert "输入动态口令" in page and "<svg" not in page


def test_enterprise_users_are_not_asked_for_totp(make_user):
    from policywindow.system.models import User

    SystemParameter.objects.filter(key="security.totp_required").update(value="true")
    make_user("qiye2", "enterprise", kind=User.Kind.ENTERPRISE)
    response = post_login(Client(), "qiye2", PASSWORD)
    assert response["Location"] == "/"


def test_open_redirect_after_login_is_refused(make_user):
    make_user("redir")
    response = Client().post(
        LOGIN + "?next=https://evil.example.com/", {"username": "redir", "password": PASSWORD}
    )
    assert response["Location"] == "/"


def test_api_answers_json_while_a_password_change_is_owed(make_user):
    make_user("apiuser", must_change_password=True)
    client = Client()
    post_login(client, "apiuser", PASSWORD)
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"


def test_forbidden_page_names_the_missing_permission_in_words(make_user):
    client = Client()
    client.force_login(make_user("nobody2", "window_clerk"))
    response = client.get("/system/users/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "需要“用户管理”权限" in text and "system:user:list" not in text


def test_refused_access_is_an_audited_security_event(make_user):
    from policywindow.core.models import AuditEvent

    client = Client()
    intruder = make_user("intruder", "window_clerk")
    client.force_login(intruder)
    assert client.get("/system/roles/").status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert event.actor == intruder and event.result == "failure"
    assert "/system/roles/" in event.message and "角色管理" in event.message


def test_the_sign_in_page_leads_to_every_public_page():
    """Someone without an account (or not yet signed in) finds the public face from here."""
    page = Client().get(LOGIN).content.decode()
    links = page.split('data-testid="login-public-links"')[1].split("</nav>")[0]
    public = ["policies:public_list", "matching:public_calculator"]
    public += ["applications:public_status", "finance:public_publicity"]
    for name in public:
        url = reverse(name)
        assert f'href="{url}"' in links, name
        assert Client().get(url).status_code == 200, name
