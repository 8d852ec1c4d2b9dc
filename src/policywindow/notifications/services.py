"""Writes of the inbox: queue messages with their outbox rows, and mark them read.

``notify`` runs inside the caller's transaction, so a message exists exactly when the step
that caused it committed; the worker sends the email/SMS rows afterwards (see ``delivery``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from policywindow.core.errors import NotFound, ValidationFailed, full_clean_or_fail
from policywindow.system.models import User

from . import queueing
from .models import Delivery, Notification

LINK_MESSAGE = "消息链接必须是本站内的路径（以 / 开头）"


def is_internal_link(link: str) -> bool:
    """A path on this site: no scheme, no host, no ``//`` or ``/\\`` that browsers read as one."""
    return (
        link.startswith("/")
        and not link.startswith("//")
        and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    )


@dataclass(frozen=True)
class Message:
    """One inbox message to one user, as ``notify_each`` queues it."""

    recipient: User
    kind: str
    subject: str
    dedupe_key: str
    body: str = ""
    link: str = ""


def notify(
    recipients: Iterable[User],
    *,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    dedupe_key: str,
    sms: bool = False,
) -> int:
    """Queue one inbox message per recipient (+ email if the user has an email, + SMS if
    ``sms`` and the user has a mobile).

    (recipient, dedupe_key) is unique: calling again with the same key adds nothing, even
    from a concurrent transaction. Returns how many inbox messages were created.
    """
    return notify_each(
        [Message(user, kind, subject, dedupe_key, body, link) for user in recipients], sms=sms
    )


def notify_each(messages: Iterable[Message], *, sms: bool = False) -> int:
    """Queue messages that differ in recipient, text or key (as ``notify``) with one INSERT,
    and their outbox rows with one more on PostgreSQL (``queueing``)."""
    unique = {(message.recipient.pk, message.dedupe_key): message for message in messages}
    if not unique:
        return 0
    # One order for everybody, so two calls inserting for the same users cannot deadlock.
    ordered = [unique[pair] for pair in sorted(unique)]
    rows = [_row(message) for message in ordered]
    for row in set(row[1:] for row in rows):
        _validate(*row)
    # Messages and outbox rows land together, or not at all; no savepoint in a caller's
    # transaction (nothing here is retried: a used key is skipped by the INSERT itself).
    with transaction.atomic(savepoint=False):
        created = queueing.insert_messages(rows, timezone.now())
        outbox = [
            delivery
            for message in ordered
            if (pk := created.get((message.recipient.pk, message.dedupe_key)))
            for delivery in _deliveries(pk, message.recipient, sms=sms)
        ]
        if outbox:
            queueing.insert_deliveries(outbox)
    return len(created)


def _row(message: Message) -> tuple[int, str, str, str, str, str]:
    return (
        message.recipient.pk,
        message.kind,
        message.subject,
        message.body,
        message.link,
        message.dedupe_key,
    )


def _validate(kind: str, subject: str, body: str, link: str, dedupe_key: str) -> None:
    fields = {"kind": kind, "subject": subject, "body": body, "link": link}
    full_clean_or_fail(Notification(dedupe_key=dedupe_key, **fields), exclude=["recipient"])
    if link and not is_internal_link(link):
        raise ValidationFailed(LINK_MESSAGE, details={"link": [LINK_MESSAGE]})


def _deliveries(notification_id: int, user: User, *, sms: bool) -> list[Delivery]:
    # A disabled account keeps its inbox but is not contacted outside the system.
    if not user.is_active:
        return []
    rows = []
    if user.email:
        rows.append(
            Delivery(
                notification_id=notification_id,
                channel=Delivery.Channel.EMAIL,
                address=user.email,
            )
        )
    if sms and user.mobile:
        rows.append(
            Delivery(
                notification_id=notification_id, channel=Delivery.Channel.SMS, address=user.mobile
            )
        )
    return rows


def mark_read(user: User, pk: int) -> Notification:
    """Mark one of the user's own messages read (once); another user's is not found."""
    notification = Notification.objects.filter(recipient=user, pk=pk).first()
    if notification is None:
        raise NotFound("消息不存在或已被删除")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def mark_all_read(user: User) -> int:
    """Mark every unread message of the user read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
