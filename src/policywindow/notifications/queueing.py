"""The statements ``notify`` writes with: every message of a call in one INSERT, and their
outbox rows in one more.

Hand-written SQL, because ``notify`` runs inside most write requests (every decision, every
step the enterprise is told of) and the ORM cannot say it in as few statements:

- ``bulk_create(ignore_conflicts=True)`` inserts the messages in one statement but does not say
  which rows it inserted, and only those get outbox rows. ``INSERT … ON CONFLICT DO NOTHING
  RETURNING`` (PostgreSQL, and SQLite since 3.35) does: a key already used for a recipient, even
  by a concurrent transaction, is skipped without an error, a savepoint or a read before it.
- An outbox address is encrypted bound to its row's id (``core.encrypted``), so the ORM inserts
  such rows empty and then UPDATEs each. On PostgreSQL the ids are drawn from the table's
  sequence first, so the rows go in whole with one INSERT; SQLite has no sequence to draw from
  and keeps the ORM's way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

from django.db import connection

from .models import Delivery, Notification

MESSAGE_FIELDS = ("recipient", "kind", "subject", "body", "link", "dedupe_key", "created_at")
BATCH = 500  # messages per statement, well inside SQLite's limit on parameters


@cache
def _insert_sql(rows: int, vendor: str) -> str:
    """The INSERT of ``rows`` messages (one statement text per row count and database)."""
    qn = connection.ops.quote_name
    fields = [Notification._meta.get_field(name) for name in MESSAGE_FIELDS]
    columns = ", ".join(qn(field.column) for field in fields)
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)
    returning = ", ".join(qn(name) for name in ("id", "recipient_id", "dedupe_key"))
    return (
        f"INSERT INTO {qn(Notification._meta.db_table)} ({columns}) VALUES {values} "  # noqa: S608 - names from the model
        # notification_once_per_key
        f"ON CONFLICT ({qn('recipient_id')}, {qn('dedupe_key')}) DO NOTHING RETURNING {returning}"
    )


def insert_messages(
    rows: Sequence[tuple[int, str, str, str, str, str]], now: dt.datetime
) -> dict[tuple[int, str], int]:
    """Insert messages given as (recipient id, kind, subject, body, link, dedupe key), in the
    given order; (recipient id, dedupe key) -> new message id for each one inserted (not for
    a key its recipient had already)."""
    created_at = Notification._meta.get_field("created_at").get_db_prep_save(now, connection)
    created: dict[tuple[int, str], int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            params = [value for row in batch for value in (*row, created_at)]
            cursor.execute(_insert_sql(len(batch), connection.vendor), params)
            created.update(((recipient, key), pk) for pk, recipient, key in cursor.fetchall())
    return created


def insert_deliveries(rows: list[Delivery]) -> None:
    """Insert outbox rows (their addresses encrypted with their ids) in one statement on
    PostgreSQL."""
    if connection.vendor == "postgresql":
        for row, pk in zip(rows, _next_ids(len(rows)), strict=True):
            row.pk = pk
    Delivery.objects.bulk_create(rows)


def _next_ids(count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [Delivery._meta.db_table, Delivery._meta.pk.column, count],
        )
        return [pk for (pk,) in cursor.fetchall()]
