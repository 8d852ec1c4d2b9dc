"""Writes of the inbox: queue messages with their outbox rows, and mark them read.

``notify`` runs inside the caller's transaction, so a message exists exactly when the step
that caused it committed; the worker sends the email/SMS rows afterwards (see ``delivery``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from policywindow.core.errors import NotFound, ValidationFailed, full_clean_or_fail
from policywindow.system.models import User

from .models import Delivery, Notification

LINK_MESSAGE = "消息链接必须是本站内的路径（以 / 开头）"


def is_internal_link(link: str) -> bool:
    """A path on this site: no scheme, no host, no ``//`` or ``/\\`` that browsers read as one."""
    return (
        link.startswith("/")
        and not link.startswith("//")
        and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    )


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
    fields = {"kind": kind, "subject": subject, "body": body, "link": link}
    _validate(fields, dedupe_key)
    # One order for everybody, so two calls inserting for the same users cannot deadlock.
    users = sorted({user.pk: user for user in recipients}.values(), key=lambda user: user.pk)
    if not users:
        return 0
    # Users who have the key already are skipped without an insert that fails.
    already = set(
        Notification.objects.filter(recipient__in=users, dedupe_key=dedupe_key).values_list(
            "recipient_id", flat=True
        )
    )
    now = timezone.now()
    created = 0
    with transaction.atomic():  # messages and outbox rows land together, or not at all
        for user in users:
            if user.pk not in already:
                created += _queue_one(user, fields, dedupe_key, sms=sms, now=now)
    return created


def _validate(fields: dict[str, str], dedupe_key: str) -> None:
    full_clean_or_fail(Notification(dedupe_key=dedupe_key, **fields), exclude=["recipient"])
    if fields["link"] and not is_internal_link(fields["link"]):
        raise ValidationFailed(LINK_MESSAGE, details={"link": [LINK_MESSAGE]})


def _queue_one(
    user: User, fields: dict[str, str], dedupe_key: str, *, sms: bool, now: dt.datetime
) -> int:
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=user, dedupe_key=dedupe_key, created_at=now, **fields
            )
    except IntegrityError:
        # A concurrent transaction queued the same key for this user first and committed.
        return 0
    Delivery.objects.bulk_create(_deliveries(notification, user, sms=sms))
    return 1


def _deliveries(notification: Notification, user: User, *, sms: bool) -> list[Delivery]:
    # A disabled account keeps its inbox but is not contacted outside the system.
    if not user.is_active:
        return []
    rows = []
    if user.email:
        rows.append(
            Delivery(notification=notification, channel=Delivery.Channel.EMAIL, address=user.email)
        )
    if sms and user.mobile:
        rows.append(
            Delivery(notification=notification, channel=Delivery.Channel.SMS, address=user.mobile)
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
