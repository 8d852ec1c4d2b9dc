"""Who is signed in: the user's row read fresh on every request, what derives from it cached.

Every request with a session or an access token reads its user's row, and that user's
``IdentityVersion``, in one hand-written statement (``user_statement``; for a token the same
statement also checks the token, ``api.services``). What the row does not hold but every
request needs — the permission codes, the 三员 kind, the enabled roles with their data scopes,
the department, the sidebar — is kept in Django's cache (Redis when ``REDIS_URL`` is set, else
each process's memory) under a key made of the user's id, version, department and kind, all
read from the database in that statement.

Invalidation needs no message between processes: every write that changes what is cached
(roles assigned; a role's menus, data scope, status, name or deletion; a menu; a department)
raises the version of the users it concerns, in its own transaction (the receivers below,
connected for the models, so services, bootstrap, console commands and tests are all
covered). The next request of those users, in any process, reads the new version and misses
the cache. What must end at once — a disabled account, a changed or reset or expired
password, a revoked or expired token, changed roles for tokens — is never cached: it is
decided on the row read by that request. Entries live ``IDENTITY_SECONDS``, which also bounds
how long a write that bypasses the models (SQL by hand, ``QuerySet.update`` on roles) is unseen.

Hand-written SQL, because this runs on every request: the ORM spends about a millisecond of
CPU compiling each query, as much as a whole fixed-JSON response.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.core.cache import cache as shared_cache
from django.db import InterfaceError, OperationalError, connection, models
from django.db.models import Q, QuerySet
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.utils import translation
from redis.exceptions import RedisError

from .models import Department, IdentityVersion, Menu, Role, Status, User

log = logging.getLogger(__name__)

IDENTITY_SECONDS = 60
LOCAL_ENTRIES = 5000  # identities kept in each process's memory, in front of the cache
CACHE_RETRY_SECONDS = 30  # after the cache failed to answer, requests go without it this long
_IDENTITY = "_identity"
_KEY = "_identity_key"
T = TypeVar("T")


@dataclass(frozen=True)
class RoleGrant:
    id: int
    code: str
    name: str
    data_scope: str
    scope_department_ids: tuple[int, ...]


@dataclass(frozen=True)
class Identity:
    """Immutable, so one copy serves every thread of a process."""

    permission_codes: frozenset[str]
    granted_menu_ids: frozenset[int]
    admin_kind: str  # of any role held, enabled or not, as ``User.admin_kind``
    roles: tuple[RoleGrant, ...]  # the enabled ones, in display order
    department: tuple[Any, ...] | None  # its field values; each request gets its own instance
    built_at: float  # time.time(): entries older than IDENTITY_SECONDS are built again


# ---------------------------------------------------------------- rows read by hand


class Columns:
    """A model's columns for a statement written by hand, and their values converted exactly
    as the ORM converts them (booleans and datetimes on SQLite, encrypted fields' envelopes)."""

    def __init__(self, model: type[models.Model], names: Sequence[str] = ()) -> None:
        opts = model._meta
        self.table = opts.db_table
        self.fields = [opts.get_field(n) for n in names] if names else list(opts.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list[tuple[list, Any]]] = {}

    def sql(self) -> str:
        qn = connection.ops.quote_name
        return ", ".join(f"{qn(self.table)}.{qn(f.column)}" for f in self.fields)

    def convert(self, values: Sequence[Any]) -> list[Any]:
        converters = self._converters.get(connection.alias)
        if converters is None:
            converters = self._converters[connection.alias] = [
                self._converters_of(f) for f in self.fields
            ]
        row = list(values)
        for i, (functions, column) in enumerate(converters):
            for function in functions:
                row[i] = function(row[i], column, connection)
        return row

    def _converters_of(self, field: models.Field) -> tuple[list, Any]:
        column = field.get_col(self.table)
        backend = connection.ops.get_db_converters(column)
        return backend + column.get_db_converters(connection), column


USER_COLUMNS = Columns(User)
DEPARTMENT_FIELDS = [f.attname for f in Department._meta.concrete_fields]


@cache
def user_statement(vendor: str) -> tuple[str, str]:
    """(the user's columns and version, the FROM part joining the version) for a SELECT on
    the ``vendor`` of the current connection."""
    qn = connection.ops.quote_name
    user, version = qn(User._meta.db_table), qn(IdentityVersion._meta.db_table)
    columns = f"{USER_COLUMNS.sql()}, COALESCE({version}.{qn('version')}, 0)"
    joined = f"{user} LEFT JOIN {version} ON {version}.{qn('user_id')} = {user}.{qn('id')}"
    return columns, joined


@cache
def _signed_in_sql(vendor: str) -> str:
    columns, joined = user_statement(vendor)
    qn = connection.ops.quote_name
    return f"SELECT {columns} FROM {joined} WHERE {qn(User._meta.db_table)}.{qn('id')} = %s"  # noqa: S608 - names from the models, the id a parameter


def user_from_row(values: Sequence[Any]) -> tuple[User, int, Sequence[Any]]:
    """(the user, the version, the columns after them) of a row selected with the columns of
    ``user_statement`` first."""
    n = len(USER_COLUMNS.fields)
    user = User.from_db(connection.alias, USER_COLUMNS.attnames, USER_COLUMNS.convert(values[:n]))
    return user, int(values[n]), values[n + 1 :]


def signed_in_user(user_id: int) -> User | None:
    """The session's user read now, with the identity attached; None when gone or disabled."""
    row = fetch_one(_signed_in_sql(connection.vendor), [user_id])
    if row is None:
        return None
    user, version, _ = user_from_row(row)
    return attach(user, version) if user.is_active else None


# Per PostgreSQL session, the statements prepared there (they outlive rollbacks; nothing in
# the product deallocates them, and a new connection is a new key).
_prepared: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()


def fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    """The first row of a statement run on every request.

    On PostgreSQL it is prepared once per connection and executed by name: no planning on
    each request (most of the statement's time), half the client's CPU. As a request's first
    statement on a reused connection it also stands in for the health check
    (``CONN_HEALTH_CHECKS``): a connection the server dropped fails it, is closed and the
    statement runs once more on a new one, as after a failed check — without a ``SELECT 1``
    before it on every request. Only outside a transaction, where nothing is lost by that.
    """
    checking = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if not checking:
        return _fetch_one(sql, params)
    connection.health_check_done = True
    try:
        return _fetch_one(sql, params)
    except (OperationalError, InterfaceError):
        connection.close()
        return _fetch_one(sql, params)


def _fetch_one(sql: str, params: Sequence[Any]) -> tuple | None:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchone()
        name = "pw_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
        known = _prepared.setdefault(connection.connection, set())
        if name not in known:
            first, *rest = sql.split("%s")
            numbered = first + "".join(f"${n}{part}" for n, part in enumerate(rest, start=1))
            cursor.execute(f"PREPARE {name} AS {numbered}")
            known.add(name)
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
        return cursor.fetchone()


# ---------------------------------------------------------------- the cached identity


def attach(user: User, version: int) -> User:
    """Give a user read this request its identity: permission checks, ``admin_kind``, the
    department, data scope and sidebar then ask the database nothing more."""
    key = f"pw:identity:{user.pk}:{version}:{user.department_id or 0}:{user.kind}"
    identity = _identity(key, user)
    user.__dict__.update(
        {
            _IDENTITY: identity,
            _KEY: key,
            # ``User``'s cached properties, filled as they would compute themselves.
            "permission_codes": identity.permission_codes if user.is_active else frozenset(),
            "admin_kind": identity.admin_kind,
        }
    )
    if identity.department is not None:
        department = Department.from_db(connection.alias, DEPARTMENT_FIELDS, identity.department)
        User.department.field.set_cached_value(user, department)
    return user


def _identity(key: str, user: User) -> Identity:
    """From this process's memory, else the shared cache, else the database. A key names one
    version, so whichever copy is found is right; only its age is checked."""
    now = time.time()
    found = _local.get(key)
    if found is None or now - found.built_at > IDENTITY_SECONDS:
        found = _cache_get(key)
        if found is None or now - found.built_at > IDENTITY_SECONDS:
            found = _build(user)
            _cache_set(key, found)
        if len(_local) >= LOCAL_ENTRIES:
            _local.clear()  # rare: more users than entries within a minute; start over
        _local[key] = found
    return found


def attached(user: Any) -> Identity | None:
    """The identity of a user authenticated this request; None for any other user object.
    (``getattr``, not ``__dict__``: ``request.user`` is a lazy proxy of the user.)"""
    return getattr(user, _IDENTITY, None)


def enabled_roles(user: User) -> tuple[RoleGrant, ...]:
    """The user's enabled roles with their data scopes (from the identity when attached)."""
    identity = attached(user)
    return identity.roles if identity is not None else _role_grants(user)[1]


def chrome(user: Any, part: str, compute: Callable[[], T]) -> T:
    """A piece of page chrome (e.g. the sidebar) of this identity in the current language:
    cached with it, so it changes when the identity does."""
    key = getattr(user, _KEY, None)
    if key is None:
        return compute()
    key = f"{key}:{part}:{translation.get_language()}"
    found = _cache_get(key)
    if found is None:
        found = compute()
        _cache_set(key, found)
    return found


def _role_grants(user: User) -> tuple[str, tuple[RoleGrant, ...]]:
    """(the 三员 kind, the enabled roles with their data scopes), read now."""
    roles = list(user.roles.values_list("pk", "code", "name", "status", "data_scope", "admin_kind"))
    admin_kind = next((kind for *_, kind in roles if kind), "")
    enabled = [r for r in roles if r[3] == Status.ENABLED]
    custom = [r[0] for r in enabled if r[4] == Role.DataScope.CUSTOM]
    scopes: dict[int, list[int]] = {}
    if custom:
        through = Role.scope_departments.through.objects.filter(role_id__in=custom)
        for role_id, department_id in through.values_list("role_id", "department_id"):
            scopes.setdefault(role_id, []).append(department_id)
    grants = tuple(
        RoleGrant(pk, code, name, scope, tuple(sorted(scopes.get(pk, ()))))
        for pk, code, name, _, scope, _ in enabled
    )
    return admin_kind, grants


def _build(user: User) -> Identity:
    admin_kind, roles = _role_grants(user)
    menus = (
        Menu.objects.filter(roles__in=[r.id for r in roles], status=Status.ENABLED)
        .values_list("pk", "permission")
        .distinct()
        if roles
        else []
    )
    menus = list(menus)
    department = (
        Department.objects.filter(pk=user.department_id).values_list(*DEPARTMENT_FIELDS).first()
        if user.department_id
        else None
    )
    return Identity(
        permission_codes=frozenset(code for _, code in menus if code),
        granted_menu_ids=frozenset(pk for pk, _ in menus),
        admin_kind=admin_kind,
        roles=roles,
        department=department,
        built_at=time.time(),
    )


_local: dict[str, Identity] = {}


def clear_process_copies() -> None:
    """Forget this process's copies (tests: a rolled-back row's id is given out again)."""
    _local.clear()


# A cache that does not answer (Redis down) costs its timeout once, then is left alone for a
# while; the identity is read from the database meanwhile, which is always correct.
_cache_down_until = 0.0


def _cache_get(key: str) -> Any:
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return shared_cache.get(key)
    except RedisError as exc:
        _cache_failed(exc)
        return None


def _cache_set(key: str, value: Any) -> None:
    if time.monotonic() < _cache_down_until:
        return
    try:
        shared_cache.set(key, value, IDENTITY_SECONDS)
    except RedisError as exc:
        _cache_failed(exc)


def _cache_failed(exc: Exception) -> None:
    global _cache_down_until
    _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
    log.warning(
        "identity cache unavailable (%s); reading identities from the database for %s s",
        exc,
        CACHE_RETRY_SECONDS,
    )


# ---------------------------------------------------------------- invalidation


def bump(users: QuerySet[User]) -> None:
    """Every cached identity of ``users`` is stale from now on, in every process: their version
    goes up by one in the current transaction (a user without a row starts at 1)."""
    inner, params = users.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        head, tail = _bump_sql(connection.vendor)
        cursor.execute(f"{head}{inner}{tail}", params)


@cache
def _bump_sql(vendor: str) -> tuple[str, str]:
    """One statement, so two writers never both start a missing row at 1. The WHERE keeps
    SQLite's parser from reading ON CONFLICT as part of the SELECT."""
    qn = connection.ops.quote_name
    version, user = qn(IdentityVersion._meta.db_table), qn(User._meta.db_table)
    head = (
        f"INSERT INTO {version} ({qn('user_id')}, {qn('version')}) "  # noqa: S608 - names from the models
        f"SELECT {qn('id')}, 1 FROM {user} WHERE {qn('id')} IN ("
    )
    tail = (
        f") ON CONFLICT ({qn('user_id')}) "
        f"DO UPDATE SET {qn('version')} = {version}.{qn('version')} + 1"
    )
    return head, tail


def _holders(role_ids: Any) -> QuerySet[User]:
    return User.objects.filter(roles__in=role_ids)


def _assignment_changed(instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any) -> None:
    """``user.roles`` or ``role.users`` changed. Bumped before a clear, while its rows exist;
    Django runs the signals and the change in one transaction."""
    if action in ("post_add", "post_remove"):
        bump(User.objects.filter(pk__in=pk_set) if reverse else User.objects.filter(pk=instance.pk))
    elif action == "pre_clear":
        bump(
            User.objects.filter(roles=instance) if reverse else User.objects.filter(pk=instance.pk)
        )


def _menus_granted(instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any) -> None:
    """``role.menus`` or ``menu.roles`` changed."""
    _grants_changed("menus", instance, action, reverse, pk_set)


def _scopes_granted(instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any) -> None:
    """``role.scope_departments`` or the department's side changed."""
    _grants_changed("scope_departments", instance, action, reverse, pk_set)


def _grants_changed(relation: str, instance: Any, action: str, reverse: bool, pk_set: Any) -> None:
    # Forward, ``instance`` is the role; reversed, ``pk_set`` holds roles' ids.
    if action in ("post_add", "post_remove"):
        bump(_holders(pk_set if reverse else [instance.pk]))
    elif action == "pre_clear":
        roles = Role.objects.filter(**{relation: instance}) if reverse else [instance.pk]
        bump(_holders(roles))


def _role_changed(instance: Role, created: bool = False, **_: Any) -> None:
    if not created:  # a new role has no holders yet
        bump(_holders([instance.pk]))


def _menu_changed(instance: Menu, created: bool = False, **_: Any) -> None:
    """Holders of the menu or of anything below it: a directory is drawn for its children."""
    if not created:
        below = Q(pk=instance.pk) | Q(parent=instance.pk) | Q(parent__parent=instance.pk)
        bump(User.objects.filter(roles__menus__in=Menu.objects.filter(below)))


def _department_changed(instance: Department, created: bool = False, **_: Any) -> None:
    if not created:  # name in the header, path in the data scope
        bump(User.objects.filter(department=instance))


def connect_invalidation() -> None:
    """Called once from ``SystemConfig.ready``."""
    m2m_changed.connect(
        _assignment_changed, sender=User.roles.through, dispatch_uid="identity.roles"
    )
    m2m_changed.connect(_menus_granted, sender=Role.menus.through, dispatch_uid="identity.menus")
    m2m_changed.connect(
        _scopes_granted, sender=Role.scope_departments.through, dispatch_uid="identity.scopes"
    )
    post_save.connect(_role_changed, sender=Role, dispatch_uid="identity.role")
    pre_delete.connect(_role_changed, sender=Role, dispatch_uid="identity.role_delete")
    post_save.connect(_menu_changed, sender=Menu, dispatch_uid="identity.menu")
    pre_delete.connect(_menu_changed, sender=Menu, dispatch_uid="identity.menu_delete")
    post_save.connect(_department_changed, sender=Department, dispatch_uid="identity.department")
