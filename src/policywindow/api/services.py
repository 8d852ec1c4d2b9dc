"""Writes of the API module: issuing, revoking and checking personal access tokens.

A token is shown in plain text exactly once, when it is issued; the database
keeps only its SHA-256 hash and a short prefix so the owner can tell tokens apart.

The token rule (docs/security.md): a token works only while it is unrevoked and unexpired,
its owner is active, the owner's password and roles are what they were when it was issued
(any password change or reset, any role change ends it), and the owner's password has not
expired or been reset (then it answers as a session would: change the password first).
The rule is decided on every request from one statement (the token, its owner's row and the
password expiry parameter, read now); only what follows from the owner's roles is cached
(``system.identity``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from policywindow.core import audit
from policywindow.core.errors import NotFound, PermissionDenied
from policywindow.system import identity
from policywindow.system.auth import (
    MUST_CHANGE_CODE,
    MUST_CHANGE_MESSAGE,
    password_change_owed,
)
from policywindow.system.models import SystemParameter, User
from policywindow.system.params import value_of

from .models import ApiToken

TOKEN_PREFIX = "pw_"  # noqa: S105 - marks our tokens in logs and secret scanners
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# Recording every use would write on every request; once a minute is enough to see activity.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
EXPIRY_PARAM = "security.password_expiry_days"
TOKEN_COLUMNS = identity.Columns(ApiToken, ("id", "last_used_at", "credential_fingerprint"))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def credential_fingerprint(user: User) -> str:
    """Changes whenever the password changes (by any path, as its hash does) or the roles do."""
    roles_stamp = user.roles_changed_at.isoformat() if user.roles_changed_at else ""
    return salted_hmac(
        "policywindow.api.token-credentials", f"{user.password}|{roles_stamp}", algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def issue_token(actor: User, *, name: str, lifetime: dt.timedelta) -> IssuedToken:
    """A new token for ``actor`` itself; the plain text is returned here and never again."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:PREFIX_LENGTH],
        expires_at=timezone.now() + lifetime,
        credential_fingerprint=credential_fingerprint(actor),
    )
    audit.record(
        "api_token.issue",
        actor=actor,
        target=token,
        after={"name": name, "prefix": token.prefix, "expires_at": token.expires_at},
    )
    return IssuedToken(token, plaintext)


@transaction.atomic
def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of ``actor``'s own tokens; other people's tokens do not exist for them."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound("令牌不存在或不属于当前用户")
    if not token.revoked:
        token.revoked = True
        token.save(update_fields=["revoked"])
        audit.record(
            "api_token.revoke",
            actor=actor,
            target=token,
            before={"revoked": False},
            after={"revoked": True},
        )
    return token


def user_for_token(plaintext: str) -> User | None:
    """The owner of a token valid under the token rule, or None; the whole rule is here.

    Raises ``PermissionDenied`` (``password_change_required``) when the owner must change
    the password first, exactly as the session API answers.
    """
    now = timezone.now()
    row = identity.fetch_one(
        _token_sql(connection.vendor),
        [
            EXPIRY_PARAM,
            hash_token(plaintext),
            False,
            connection.ops.adapt_datetimefield_value(now),
            True,
        ],
    )
    if row is None:
        return None
    user, version, rest = identity.user_from_row(row)
    token_id, last_used_at, fingerprint = TOKEN_COLUMNS.convert(rest[:3])
    if not constant_time_compare(fingerprint, credential_fingerprint(user)):
        return None
    if password_change_owed(user, value_of(EXPIRY_PARAM, rest[3])):
        raise PermissionDenied(MUST_CHANGE_MESSAGE, code=MUST_CHANGE_CODE)
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return identity.attach(user, version)


@cache
def _token_sql(vendor: str) -> str:
    """The token rule's statement, written by hand: it runs on every request of every
    integration, and the ORM would spend more CPU compiling it than a fixed-JSON response
    costs. Parameters: the expiry parameter's key, the token's hash, False, now, True."""
    qn = connection.ops.quote_name
    owner_columns, owners = identity.user_statement(vendor)
    token, owner = qn(ApiToken._meta.db_table), qn(User._meta.db_table)
    param = qn(SystemParameter._meta.db_table)
    return (
        f"SELECT {owner_columns}, {TOKEN_COLUMNS.sql()}, "  # noqa: S608 - names from the models
        f"(SELECT {qn('value')} FROM {param} WHERE {qn('key')} = %s) "
        f"FROM {owners} INNER JOIN {token} ON {token}.{qn('user_id')} = {owner}.{qn('id')} "
        f"WHERE {token}.{qn('token_hash')} = %s AND {token}.{qn('revoked')} = %s "
        f"AND {token}.{qn('expires_at')} > %s AND {owner}.{qn('is_active')} = %s"
    )
