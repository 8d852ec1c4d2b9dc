"""The cached identity (system/identity.py): warm caches never outlive a change.

Each test first makes the cache warm (a request whose permissions, roles and menus are read
from it, not from the database), then changes something, and the very next request must
see the change: by session and by access token, with the in-process cache, with Redis, and
when the change is made by another process that could not have told this one anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys

import psycopg
import pytest
import redis
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.api.services import issue_token, revoke_token, user_for_token
from policywindow.system import identity
from policywindow.system.models import Menu, Role, Status, User
from policywindow.system.services import departments, rbac
from policywindow.system.services import users as user_services
from tests.conftest import PASSWORD
from tests.waiting import HANG_GUARD_S

pytestmark = pytest.mark.django_db

INTAKE = "window:intake:list"
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clerk(make_user) -> User:
    return make_user("cache_clerk", "window_clerk")


def _token(user: User) -> str:
    return issue_token(user, name="缓存测试", lifetime=dt.timedelta(days=1)).plaintext


def _me(token: str):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _warm(call) -> object:
    """Call twice; the second call must read no role, menu or department row (cache warm).
    ``call`` reaches ``/api/v1/me``, which shows roles, permissions and the department."""
    call()
    with CaptureQueriesContext(connection) as captured:
        answer = call()
    read = " ".join(q["sql"] for q in captured.captured_queries)
    for table in ("system_role", "system_menu", "system_department"):
        assert table not in read, f"{table} read although the identity is cached"
    return answer


def _intake(client: Client):
    return client.get(reverse("applications:intake_queue"))


def _warm_session(session: Client):
    """The session's identity cached (the pages share it with the session's API calls)."""
    _warm(lambda: session.get("/api/v1/me"))
    return _intake(session)


# ---------------------------------------------------------------- tokens


def test_a_revoked_token_is_refused_on_the_next_request(clerk):
    token = _token(clerk)
    assert _warm(lambda: _me(token)).status_code == 200
    revoke_token(clerk, clerk.api_tokens.get().pk)
    assert _me(token).status_code == 401


def test_a_disabled_owner_is_refused_on_the_next_request(clerk, sysadmin, login):
    token, session = _token(clerk), login(clerk)
    _warm(lambda: _me(token))
    _warm_session(session)
    user_services.set_user_active(sysadmin, clerk, False)
    assert _me(token).status_code == 401
    assert _intake(session).status_code == 302  # signed out: to the login page


def test_a_password_change_ends_the_token_on_the_next_request(clerk):
    token = _token(clerk)
    _warm(lambda: _me(token))
    user_services.change_own_password(clerk, PASSWORD, "Fresh#Pass2027", keep_session=None)
    assert _me(token).status_code == 401


def test_a_role_change_applies_on_the_next_request(clerk, secadmin, login):
    token, session = _token(clerk), login(clerk)
    assert INTAKE in _warm(lambda: _me(token)).json()["permissions"]
    assert _warm_session(session).status_code == 200
    user_services.assign_roles(secadmin, clerk, [Role.objects.get(code="reviewer")])
    assert _me(token).status_code == 401  # the token rule: roles changed
    assert _intake(session).status_code == 403
    fresh = _token(User.objects.get(pk=clerk.pk))
    assert _me(fresh).json()["roles"] == [{"code": "reviewer", "name": "审核科员"}]


# ---------------------------------------------------------------- grants, roles, menus


def test_a_withdrawn_grant_applies_on_the_next_request(clerk, sysadmin, login):
    token, session = _token(clerk), login(clerk)
    _warm(lambda: _me(token))
    assert 'data-menu="window.intake"' in _warm_session(session).content.decode()
    role = Role.objects.get(code="window_clerk")
    kept = role.menus.exclude(key__startswith="window.intake")
    rbac.grant_role(sysadmin, role, menus=kept, data_scope=role.data_scope)
    assert INTAKE not in _me(token).json()["permissions"]
    assert _intake(session).status_code == 403
    home = session.get(reverse("enterprises:enterprise_list")).content.decode()
    assert 'data-menu="window.intake"' not in home  # the cached sidebar went with it


def test_a_disabled_role_or_menu_applies_on_the_next_request(clerk, sysadmin, login):
    session = login(clerk)
    _warm_session(session)
    menu = Menu.objects.get(key="window.intake")
    rbac.save_menu(sysadmin, menu, status=Status.DISABLED)
    assert _intake(session).status_code == 403
    rbac.save_menu(sysadmin, menu, status=Status.ENABLED)
    assert _warm_session(session).status_code == 200
    role = Role.objects.get(code="window_clerk")
    rbac.save_role(sysadmin, role, code=role.code, name=role.name, status=Status.DISABLED)
    assert _intake(session).status_code == 403


def test_a_narrowed_data_scope_applies_on_the_next_request(make_user, make_department, department):
    viewer = make_user("scope_viewer", "sys_admin", dept=department)
    make_user("elsewhere", dept=make_department("省科技厅"))
    other = Client()
    other.force_login(viewer)
    _warm(lambda: other.get("/api/v1/me"))
    assert "elsewhere" in other.get("/system/users/").content.decode()
    # The 三员 roles keep their scope under the services; a grant by hand stands for any
    # write of a role's scope.
    role = Role.objects.get(code="sys_admin")
    role.data_scope = Role.DataScope.DEPARTMENT
    role.save()
    assert "elsewhere" not in other.get("/system/users/").content.decode()


def test_roles_given_from_the_role_side_apply_on_the_next_request(make_user, login):
    clerk = make_user("plain_user")
    session = login(clerk)
    assert _warm_session(session).status_code == 403
    Role.objects.get(code="window_clerk").users.add(clerk)
    assert _intake(session).status_code == 200
    Role.objects.get(code="window_clerk").users.clear()
    assert _intake(session).status_code == 403


def test_a_renamed_department_shows_on_the_next_request(clerk, sysadmin, department):
    token = _token(clerk)
    assert _warm(lambda: _me(token)).json()["department"]["name"] == department.name
    departments.save_department(sysadmin, department, name="省营商环境建设局")
    assert _me(token).json()["department"]["name"] == "省营商环境建设局"


def test_saving_an_old_copy_of_the_user_does_not_bring_old_roles_back(clerk, secadmin, login):
    stale = User.objects.get(pk=clerk.pk)  # read before the change, saved after it
    session = login(clerk)
    _warm_session(session)
    user_services.assign_roles(secadmin, clerk, [Role.objects.get(code="reviewer")])
    stale.real_name = "改名"
    stale.save()
    assert _intake(session).status_code == 403


def test_an_identity_is_read_again_after_its_lifetime(clerk, login, monkeypatch):
    session = login(clerk)
    _warm_session(session)
    # A write that bypasses the models tells nobody; the lifetime bounds how long it is unseen.
    Role.objects.filter(code="window_clerk").update(status=Status.DISABLED)
    assert _intake(session).status_code == 200
    later = identity.time.time() + identity.IDENTITY_SECONDS + 1
    monkeypatch.setattr(identity.time, "time", lambda: later)
    assert _intake(session).status_code == 403


# ---------------------------------------------------------------- other processes, Redis

CHANGING_PROCESS = """
import sys
import django
django.setup()
from policywindow.system.models import Menu, Role, Status, User
user = User.objects.get(pk=int(sys.argv[1]))
user.roles.set(Role.objects.filter(code="reviewer"))
"""


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_change_made_by_another_process_applies_on_the_next_request(clerk, login):
    if connection.vendor != "postgresql":
        pytest.skip("two processes need a shared test database: run on PostgreSQL")
    session = login(clerk)
    assert _warm_session(session).status_code == 200
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "policywindow.settings"}
    env["DATABASE_URL"] = _database_url()
    done = subprocess.run(
        [sys.executable, "-c", CHANGING_PROCESS, str(clerk.pk)],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr
    assert _intake(session).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_token_request_on_a_connection_the_server_dropped_is_answered(clerk):
    """The token statement stands in for the connection's health check: on a connection the
    server ended it is run again on a new one, as after a failed ``SELECT 1``."""
    if connection.vendor != "postgresql":
        pytest.skip("a server-side session to end: run on PostgreSQL")
    token = _token(clerk)
    assert user_for_token(token).pk == clerk.pk  # the statement is prepared on this connection
    with psycopg.connect(_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    connection.close_if_unusable_or_obsolete()  # what Django does as the next request starts
    assert user_for_token(token).pk == clerk.pk


@pytest.fixture
def redis_cache(settings):
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    client.flushdb()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
        }
    }
    yield client
    client.flushdb()


def test_with_redis_a_role_change_applies_on_the_next_request(clerk, secadmin, login, redis_cache):
    session = login(clerk)
    _warm_session(session)
    assert any(key.startswith(b":1:pw:identity:") for key in redis_cache.scan_iter())
    identity.clear_process_copies()  # as another server process: only Redis is warm
    _warm_session(session)
    user_services.assign_roles(secadmin, clerk, [Role.objects.get(code="reviewer")])
    assert _intake(session).status_code == 403


def test_when_the_cache_does_not_answer_identities_come_from_the_database(
    clerk, login, settings, caplog, monkeypatch
):
    monkeypatch.setattr(identity, "_cache_down_until", 0.0)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    session = login(clerk)
    with caplog.at_level(logging.WARNING, logger="policywindow.system.identity"):
        assert [_intake(session).status_code for _ in range(3)] == [200, 200, 200]
    warnings = [r for r in caplog.records if "identity cache unavailable" in r.getMessage()]
    assert len(warnings) == 1  # then the database answers without asking the cache each time
