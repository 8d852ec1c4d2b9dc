"""Second factor, recovery codes, access tokens and common passwords held against an attacker
(issue 14): guessing codes, replaying one in a second session, keeping a token alive after
the password, the account or the roles it stood on changed, and choosing ``Password1``."""

from __future__ import annotations

import datetime as dt
import threading

import pyotp
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from policywindow.api.services import issue_token
from policywindow.core.models import AuditEvent
from policywindow.system.auth import verify_second_factor
from policywindow.system.demo import DEMO_PASSWORD
from policywindow.system.models import LoginLog, RecoveryCode, Role, User
from policywindow.system.params import get_param
from policywindow.system.services import users as user_services
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_TOTP = reverse("system:login_totp")


@pytest.fixture
def bound(make_user) -> User:
    """A staff member with an authenticator bound and ten recovery codes (``user.codes``)."""
    user = make_user("bound2fa", "window_clerk")
    user_services.start_totp_enrolment(user)
    user.codes = user_services.confirm_totp(user)
    return user


def _code(user: User, when: dt.datetime | None = None) -> str:
    user.refresh_from_db()
    return pyotp.TOTP(user.totp_secret).at(when or timezone.now())


def _past_password(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response["Location"] == LOGIN_TOTP
    return client


def _signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


# ---------------------------------------------------------------- attempts and lockout


def test_wrong_codes_lock_the_account_like_wrong_passwords(bound):
    client = _past_password(bound.username)
    for left in (4, 3, 2, 1):
        page = client.post(LOGIN_TOTP, {"code": "000000"}).content.decode()
        assert f"动态口令不正确，再失败 {left} 次账号将被锁定" in page
    page = client.post(LOGIN_TOTP, {"code": "000001"}).content.decode()
    assert "账号锁定 30 分钟" in page
    # Locked: neither the right code nor the right password gets in.
    assert "账号已锁定" in client.post(LOGIN_TOTP, {"code": _code(bound)}).content.decode()
    assert not _signed_in(client)
    again = Client().post("/login/", {"username": bound.username, "password": PASSWORD})
    assert "账号已锁定" in again.content.decode()
    failures = LoginLog.objects.filter(username=bound.username, success=False)
    assert failures.count() == 7
    assert (
        AuditEvent.objects.filter(
            action="login.second_factor_failed", object_id=str(bound.pk), result="failure"
        ).count()
        == 6
    )
    assert AuditEvent.objects.filter(action="login.locked", object_repr=bound.username).exists()


def test_password_and_code_failures_share_one_count(bound):
    for _ in range(4):
        Client().post("/login/", {"username": bound.username, "password": "Wrong#Pass1"})
    client = _past_password(bound.username)  # the right password starts a fresh count
    for _ in range(4):
        client.post(LOGIN_TOTP, {"code": "000000"})
    Client().post("/login/", {"username": bound.username, "password": "Wrong#Pass1"})
    page = client.post(LOGIN_TOTP, {"code": _code(bound)}).content.decode()
    assert "账号已锁定" in page and not _signed_in(client)


# ---------------------------------------------------------------- each code once


def test_a_code_is_accepted_once_even_in_another_session(bound):
    code = _code(bound)
    first, second = _past_password(bound.username), _past_password(bound.username)
    assert first.post(LOGIN_TOTP, {"code": code}).status_code == 302
    replay = second.post(LOGIN_TOTP, {"code": code}).content.decode()
    assert "动态口令不正确" in replay and not _signed_in(second)


def test_an_older_code_is_refused_after_a_newer_one(bound):
    now = timezone.now()
    newer, older = _code(bound, now), _code(bound, now - dt.timedelta(seconds=30))
    factory = RequestFactory()
    assert verify_second_factor(factory.post("/"), bound, newer).ok
    assert not verify_second_factor(factory.post("/"), bound, older).ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL")
def test_one_code_sent_by_two_sessions_at_once_is_accepted_once(make_user):
    user = make_user("race2fa")
    user_services.start_totp_enrolment(user)
    user_services.confirm_totp(user)
    code = _code(user)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def verify() -> None:
        barrier.wait()
        try:
            fresh = User.objects.get(pk=user.pk)
            results.append(verify_second_factor(RequestFactory().post("/"), fresh, code).ok)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=verify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]


# ---------------------------------------------------------------- recovery codes


def test_recovery_codes_are_stored_hashed_and_each_works_once(bound):
    assert len(bound.codes) == 10 and len(set(bound.codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=bound).values_list("code_hash", flat=True))
    assert not {c.replace("-", "") for c in bound.codes} & stored
    client = _past_password(bound.username)
    assert client.post(LOGIN_TOTP, {"code": bound.codes[0].upper()}).status_code == 302
    assert _signed_in(client)
    again = _past_password(bound.username)
    assert "动态口令不正确" in again.post(LOGIN_TOTP, {"code": bound.codes[0]}).content.decode()
    assert AuditEvent.objects.filter(action="user.recovery_code_used", actor=bound).count() == 1


def test_new_recovery_codes_need_a_current_code_and_void_the_old(bound, login):
    client = login(bound)
    page = client.get(reverse("system:account_totp")).content.decode()
    assert 'data-testid="codes-left">10<' in page and "totp-secret" not in page
    refused = client.post(reverse("system:account_totp"), {"code": bound.codes[1]})
    assert "动态口令为 6 位数字" in refused.content.decode()  # a recovery code is not enough
    made = client.post(reverse("system:account_totp"), {"code": _code(bound)}).content.decode()
    assert made.count("<li><code>") == 10
    signing_in = _past_password(bound.username)
    old = signing_in.post(LOGIN_TOTP, {"code": bound.codes[1]}).content.decode()
    assert "动态口令不正确" in old
    assert AuditEvent.objects.filter(action="user.recovery_codes", actor=bound).count() == 2


# ---------------------------------------------------------------- 个人中心 enrolment


def test_staff_bind_an_authenticator_themselves_when_it_is_optional(make_user, login):
    assert get_param("security.totp_required") is False
    user = make_user("selfbind", "window_clerk")
    client = login(user)
    assert "绑定" in client.get(reverse("system:profile")).content.decode()
    page = client.get(reverse("system:account_totp")).content.decode()
    assert "<svg" in page and 'data-testid="totp-secret"' in page
    wrong = client.post(reverse("system:account_totp"), {"code": "000000"}).content.decode()
    assert "动态口令不正确" in wrong
    done = client.post(reverse("system:account_totp"), {"code": _code(user)}).content.decode()
    assert done.count("<li><code>") == 10
    user.refresh_from_db()
    assert user.totp_confirmed
    assert AuditEvent.objects.filter(action="user.totp_bind", actor=user).exists()
    # From now on signing in asks for a code.
    _past_password(user.username)


# ---------------------------------------------------------------- tokens


def _me(token: str):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _token(user: User) -> str:
    return issue_token(user, name="对接", lifetime=dt.timedelta(days=30)).plaintext


def _expire_password(user: User) -> None:
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - dt.timedelta(days=91)
    )


def test_a_token_dies_with_an_administrators_reset(make_user, sysadmin):
    clerk = make_user("tok_reset", "window_clerk")
    token = _token(clerk)
    assert _me(token).status_code == 200
    user_services.reset_password(sysadmin, clerk)
    assert _me(token).status_code == 401


def test_a_token_dies_with_the_owners_password_change(make_user):
    clerk = make_user("tok_change", "window_clerk")
    token = _token(clerk)
    user_services.change_own_password(clerk, PASSWORD, "Fresh#Pass2027", keep_session=None)
    assert _me(token).status_code == 401
    assert _me(_token(clerk)).status_code == 200  # a token issued afterwards works


def test_a_token_dies_with_a_password_set_by_any_other_path(make_user):
    clerk = make_user("tok_other", "window_clerk")
    token = _token(clerk)
    clerk.set_password("Console#Set2027")  # e.g. `policywindow changepassword`
    clerk.save()
    assert _me(token).status_code == 401


def test_an_expired_password_gets_the_same_answer_by_token_as_by_session(make_user):
    clerk = make_user("tok_expired", "window_clerk")
    token = _token(clerk)
    _expire_password(clerk)
    session = Client()
    session.force_login(clerk)
    by_session, by_token = session.get("/api/v1/me"), _me(token)
    assert by_token.status_code == by_session.status_code == 403
    assert by_token.json() == by_session.json()
    assert by_token.json()["code"] == "password_change_required"


def test_a_token_dies_when_the_account_is_disabled(make_user, sysadmin):
    clerk = make_user("tok_disabled", "window_clerk")
    token = _token(clerk)
    user_services.set_user_active(sysadmin, clerk, False)
    assert _me(token).status_code == 401
    user_services.set_user_active(sysadmin, clerk, True)
    assert _me(token).status_code == 200  # the account, not the token, was stopped


def test_a_token_dies_when_the_roles_change(make_user, secadmin):
    clerk = make_user("tok_roles", "window_clerk")
    token, other = _token(clerk), _token(make_user("bystander", "window_clerk"))
    user_services.assign_roles(secadmin, clerk, [Role.objects.get(code="reviewer")])
    assert _me(token).status_code == 401
    assert _me(other).status_code == 200
    assert _me(_token(User.objects.get(pk=clerk.pk))).json()["roles"][0]["code"] == "reviewer"


# ---------------------------------------------------------------- common passwords


@pytest.mark.parametrize(
    "password",
    ["Password1", "PASSWORD1", "P@ssw0rd", "Aa123456", "Abc@1234", "Admin@123", "Qwer1234"],
)
def test_common_passwords_are_refused_with_a_chinese_message(make_user, password, login):
    user = make_user("weakling")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert "常见弱口令" in " ".join(refused.value.messages)
    page = login(user).post(
        reverse("system:password_change"),
        {"old_password": PASSWORD, "new_password": password, "confirm_password": password},
    )
    assert 'data-field-error="new_password"' in page.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_shipped_passwords_still_pass(make_user):
    user = make_user("rightful")
    for password in (
        DEMO_PASSWORD,
        PASSWORD,
        *(user_services.generate_password() for _ in range(200)),
    ):
        validate_password(password, user)
