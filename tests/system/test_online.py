"""在线用户: the security administrator lists signed-in sessions and ends them."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from policywindow.core.models import AuditEvent
from policywindow.system.models import UserSession
from policywindow.system.views.online import session_ref

pytestmark = pytest.mark.django_db

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _signed_in(login, user, ip: str = "10.1.2.3", **fields):
    """A client signed in as ``user`` with its UserSession row, as the login page records it."""
    client = login(user)
    key = client.session.session_key
    UserSession.objects.create(session_key=key, user=user, ip=ip, user_agent=CHROME, **fields)
    return client, key


def _kick_url(user, key: str) -> str:
    return f"/system/online/{user.pk}/{session_ref(key)}/kick/"


def test_online_page_belongs_to_the_security_administrator(
    login, secadmin, sysadmin, auditor, enterprise_user
):
    assert login(secadmin).get("/system/online/").status_code == 200
    for other in (sysadmin, auditor, enterprise_user):
        assert login(other).get("/system/online/").status_code == 403, other.username


def test_online_list_shows_sessions_and_searches(login, secadmin, make_user, department):
    zhang = make_user("zhangwei", real_name="张伟")
    li = make_user("lina", real_name="李娜")
    _, zhang_key = _signed_in(login, zhang, ip="10.8.0.7")
    _signed_in(login, li)
    client = login(secadmin)
    page = client.get("/system/online/").content.decode()
    assert 'data-username="zhangwei"' in page and 'data-username="lina"' in page
    assert "10.8.0.7" in page and "Chrome 126 · Windows" in page and department.name in page
    assert zhang_key not in page  # a session key on screen would let its reader take it over

    page = client.get("/system/online/", {"q": "张伟"}).content.decode()
    assert 'data-username="zhangwei"' in page and 'data-username="lina"' not in page


def test_idle_sessions_are_not_listed(login, secadmin, make_user):
    stale = timezone.now() - datetime.timedelta(hours=3)
    _signed_in(login, make_user("sleeper"), last_activity=stale)
    page = login(secadmin).get("/system/online/").content.decode()
    assert 'data-username="sleeper"' not in page


def test_kicked_client_is_sent_to_the_login_page(login, secadmin, make_user):
    victim = make_user("victim")
    victim_client, key = _signed_in(login, victim, ip="10.9.9.9")
    assert victim_client.get("/").status_code == 200

    response = login(secadmin).post(_kick_url(victim, key), follow=True)
    assert "已强制退出" in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()

    after = victim_client.get("/")
    assert after.status_code == 302 and after["Location"].startswith("/login/")
    event = AuditEvent.objects.get(action="session.kick")
    assert event.actor == secadmin and event.object_id == str(victim.pk)
    assert event.before["ip"] == "10.9.9.9"


def test_kick_leaves_the_users_other_sessions(login, secadmin, make_user):
    victim = make_user("victim")
    first, first_key = _signed_in(login, victim)
    second, _ = _signed_in(login, victim)
    login(secadmin).post(_kick_url(victim, first_key))
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 200


def test_kick_needs_the_kick_permission(login, sysadmin, make_user):
    victim = make_user("victim")
    victim_client, key = _signed_in(login, victim)
    assert login(sysadmin).post(_kick_url(victim, key)).status_code == 403
    assert victim_client.get("/").status_code == 200


def test_kick_with_a_wrong_reference_is_not_found(login, secadmin, make_user):
    victim = make_user("victim")
    _, key = _signed_in(login, victim)
    response = login(secadmin).post(f"/system/online/{victim.pk}/{'0' * 32}/kick/")
    assert response.status_code == 404
    assert UserSession.objects.filter(session_key=key).exists()


def test_security_administrator_cannot_kick_the_current_session(login, secadmin):
    client, key = _signed_in(login, secadmin)
    page = client.get("/system/online/").content.decode()
    assert "当前会话" in page
    response = client.post(_kick_url(secadmin, key), follow=True)
    assert "不能强制退出自己当前的会话" in response.content.decode()
    assert UserSession.objects.filter(session_key=key).exists()
    assert not AuditEvent.objects.filter(action="session.kick").exists()
