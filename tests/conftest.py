"""Shared fixtures: departments, users with roles, and signed-in clients."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from policywindow.system.models import Department, Role, User

PASSWORD = "Test@Pass2026"
_seq = itertools.count(1)


@pytest.fixture
def make_department(db):
    def make(name: str | None = None, parent: Department | None = None, **fields) -> Department:
        n = next(_seq)
        dept = Department(
            name=name or f"测试部门{n}",
            code=fields.pop("code", f"T{n:04d}"),
            parent=parent,
            **fields,
        )
        dept.save()
        dept.path = (parent.path if parent else "/") + f"{dept.pk}/"
        dept.save(update_fields=["path"])
        return dept

    return make


@pytest.fixture
def department(make_department) -> Department:
    return make_department("省营商局")


@pytest.fixture
def make_user(db, department):
    def make(
        username: str | None = None,
        *roles: str,
        kind: str = User.Kind.STAFF,
        dept: Department | None = None,
        **fields,
    ) -> User:
        username = username or f"user{next(_seq)}"
        user = User(
            username=username,
            real_name=fields.pop("real_name", f"用户{username}"),
            kind=kind,
            department=None if kind == User.Kind.ENTERPRISE else (dept or department),
            must_change_password=fields.pop("must_change_password", False),
            **fields,
        )
        user.set_password(PASSWORD)
        user.save()
        user.roles.set(Role.objects.filter(code__in=roles))
        return user

    return make


@pytest.fixture
def login():
    """A test client signed in as ``user`` (no second factor: demo/test parameters)."""

    def sign_in(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def sysadmin(make_user) -> User:
    return make_user("sysadmin", "sys_admin")


@pytest.fixture
def secadmin(make_user) -> User:
    return make_user("secadmin", "sec_admin")


@pytest.fixture
def auditor(make_user) -> User:
    return make_user("auditor", "audit_admin")


@pytest.fixture
def enterprise_user(make_user) -> User:
    return make_user("qiye", "enterprise", kind=User.Kind.ENTERPRISE)


def empty_caches() -> None:
    """Forget what earlier tests cached. Cached identities and published items are keyed by
    row ids, and a rolled-back test hands the next one its ids: a module's data fixture calls
    this too, since it runs before the per-test fixture below."""
    from django.core.cache import cache

    from policywindow.system import identity

    cache.clear()
    identity.clear_process_copies()


@pytest.fixture(autouse=True)
def _empty_cache():
    empty_caches()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's production work factor makes every test login cost ~0.3 s; tests don't need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def narrowed_scope(db):
    """Give a built-in role a department-limited data scope, to test scope enforcement.

    The province-level window and policy roles see everything by default (一口受理).
    """

    def narrow(role_code: str, scope: str = Role.DataScope.DEPARTMENT_AND_BELOW) -> None:
        Role.objects.filter(code=role_code).update(data_scope=scope)

    return narrow


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, tmp_path):
    # Tests must never write into the demo's upload directory.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_a_temporary_directory(settings, tmp_path):
    # Each test's chain has its own checkpoint file, never the demo's (core/auditmac.py).
    settings.POLICYWINDOW_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
