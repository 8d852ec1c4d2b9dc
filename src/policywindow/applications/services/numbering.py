"""Gap-free application numbers: ``ZC`` + year + six-digit sequence, e.g. ``ZC2026000123``.

The year's ``ApplicationSequence`` row is the one row every submission writes, so it is written
in the **last statement before COMMIT** (DESIGN.md §7), together with the application's own
update: it is locked from that statement to the commit, never while a request validates, checks
eligibility or writes its timeline, notices and audit event. Concurrent submissions still queue
on the row, and a submission that fails — before the number or at COMMIT — rolls the number
back with everything else, so the sequence never has a gap.

What the transaction writes before the number exists names it ``PENDING``: the timeline event's
``data["number"]`` and the enterprise's inbox message of that event. The same last statement puts
the number in their place. The audit event names the application as it was before the change
(``草稿 #id``), with its id, so nothing signed by the audit MAC waits for the number.

On PostgreSQL the last statement is written by hand (one ``WITH … UPDATE`` over the sequence,
the application, the event and the messages), prepared once per connection (``fetch_one``): the
ORM cannot write data-modifying CTEs. SQLite locks the whole database for a writer anyway; there
the same writes are plain ORM updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Replace

from policywindow.notifications.models import Notification
from policywindow.system.identity import fetch_one

from .. import notices
from ..models import Application, ApplicationEvent, ApplicationSequence

PREFIX = "ZC"
DIGITS = 6
# Stands for the number in rows written before it is taken; at least as long as a number, so a
# message cut to its column's length still fits once the number replaces it.
PENDING = "〔申报编号提交时由系统分配〕"


def format_number(year: int, sequence: int) -> str:
    return f"{PREFIX}{year:04d}{sequence:0{DIGITS}d}"


def save_numbered(
    application: Application, fields: Iterable[str], event: ApplicationEvent | None = None
) -> str:
    """Write ``fields`` of the application with the next number of its year; returns the number.

    Must be the last write of the caller's transaction (``transitions.move(persist=...)`` calls it
    after the timeline and audit events). ``event`` is the timeline line written with ``PENDING``
    for the number; it and its inbox messages get the number in the same statement.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("save_numbered() must run inside the caller's transaction")
    names = [name for name in dict.fromkeys(fields) if name != "number"]
    write = _postgres if connection.vendor == "postgresql" else _orm
    number = write(application, names, event)
    if number is None:  # the year's first number: its row is created, then taken as usual
        ApplicationSequence.objects.bulk_create(
            [ApplicationSequence(year=application.year)], ignore_conflicts=True
        )
        number = write(application, names, event)
    application.number = number
    if event is not None and "number" in event.data:
        event.data["number"] = number
    return number


# ---------------------------------------------------------------- PostgreSQL: one statement


def _postgres(application: Application, names: list[str], event: ApplicationEvent | None) -> str:
    values = _column_values(application, names)
    event_id = event.pk if event is not None else None
    key = notices.dedupe_key(event) if event is not None else ""
    row = fetch_one(
        _numbering_sql(tuple(column for column, _ in values)),
        [
            application.year,
            f"{PREFIX}{application.year:04d}",
            *(value for _, value in values),
            application.pk,
            event_id,
            PENDING,
            PENDING,
            key,
        ],
    )
    return row[0] if row else None


def _column_values(application: Application, names: list[str]) -> list[tuple[str, object]]:
    """(column, database value) of each field, as ``save(update_fields=...)`` would write it."""
    values = []
    for name in names:
        field = Application._meta.get_field(name)
        value = field.pre_save(application, add=False)  # auto_now fields take the time here
        values.append((field.column, field.get_db_prep_save(value, connection)))
    return values


@cache
def _numbering_sql(columns: tuple[str, ...]) -> str:
    """The last statement of a submission. Parameters: the year, the number's prefix, the
    application's column values, its id, the event's id, PENDING twice, the messages' key."""
    qn = connection.ops.quote_name
    sequence, application = ApplicationSequence._meta, Application._meta
    event, message = ApplicationEvent._meta.db_table, Notification._meta.db_table
    width = f"greatest({DIGITS}, length(last::text))"
    assignments = "".join(f", {qn(column)} = %s" for column in columns)
    return (
        f"WITH n AS (UPDATE {qn(sequence.db_table)} SET last = last + 1 WHERE year = %s"  # noqa: S608 - names from the models
        f" RETURNING %s || lpad(last::text, {width}, '0') AS number),"
        f" a AS (UPDATE {qn(application.db_table)} SET number = n.number{assignments}"
        " FROM n WHERE id = %s RETURNING n.number),"
        f" e AS (UPDATE {qn(event)} SET data = jsonb_set(data, '{{number}}', to_jsonb(n.number))"
        " FROM n WHERE id = %s AND data ? 'number'),"
        f" m AS (UPDATE {qn(message)} SET subject = replace(subject, %s, n.number),"
        " body = replace(body, %s, n.number) FROM n WHERE dedupe_key = %s)"
        " SELECT number FROM a"
    )


# ---------------------------------------------------------------- SQLite: the same writes


def _orm(application: Application, names: list[str], event: ApplicationEvent | None) -> str | None:
    taken = ApplicationSequence.objects.filter(year=application.year)
    if not taken.update(last=F("last") + 1):
        return None
    number = format_number(application.year, taken.values_list("last", flat=True).get())
    application.number = number
    application.save(update_fields=["number", *names])
    if event is not None and "number" in event.data:
        ApplicationEvent.objects.filter(pk=event.pk).update(data={**event.data, "number": number})
        Notification.objects.filter(dedupe_key=notices.dedupe_key(event)).update(
            subject=Replace("subject", Value(PENDING), Value(number)),
            body=Replace("body", Value(PENDING), Value(number)),
        )
    return number
