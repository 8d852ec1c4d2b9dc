"""Draining the outbox: claim one due row, send it, record the outcome.

Nothing is sent twice. A row is marked ``sending`` and committed *before* the message leaves,
and only ``pending`` rows are ever claimed, so a message is sent at most once:

- the backend raised: the message did not go out; the row goes back to ``pending`` with
  backoff (1, 4, 16, 64 minutes) and is ``failed`` after ``MAX_ATTEMPTS`` attempts;
- the worker died between claiming and recording: whether the message left is unknown. Such a
  row is *not* resent: once it has been ``sending`` for ``STALE_AFTER`` it is marked ``failed``
  with that reason. Rows are claimed one at a time, so a crash strands at most one message per
  worker, and the inbox copy of it is always there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import sms
from .models import Delivery, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY_DELAY = dt.timedelta(hours=6)
STALE_AFTER = dt.timedelta(minutes=30)
BATCH_LIMIT = 200
SITE_NAME = "政策兑现单一窗口"
ABANDONED = "发送过程中断（发送进程退出），无法确认是否已送达；为避免重复发送，不再重试"

S = Delivery.Status


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    abandoned: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failed ones."""
    return min(FIRST_RETRY * 4 ** (attempts - 1), MAX_RETRY_DELAY)


def deliver_due(now: dt.datetime | None = None, limit: int = BATCH_LIMIT) -> Outcome:
    """Send up to ``limit`` due messages. ``now`` fixes the clock (tests); default: real time.

    Must run outside a transaction: each claim commits before its message is sent.
    """
    clock = (lambda: now) if now else timezone.now
    outcome = Outcome(abandoned=give_up_abandoned(clock()))
    for _ in range(limit):
        delivery = claim_next(clock())
        if delivery is None:
            break
        _attempt(delivery, clock, outcome)
    return outcome


def give_up_abandoned(now: dt.datetime) -> int:
    """Mark rows left ``sending`` by a worker that died as failed, without resending them."""
    count = Delivery.objects.filter(status=S.SENDING, claimed_at__lt=now - STALE_AFTER).update(
        status=S.FAILED, last_error=ABANDONED
    )
    if count:
        log.warning("%d 条消息投递中断，结果未知，已标记为发送失败", count)
    return count


def claim_next(now: dt.datetime) -> Delivery | None:
    """Take the oldest due row; concurrent workers skip each other's locked rows."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__recipient")
            .filter(status=S.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if delivery is None:
            return None
        delivery.status = S.SENDING
        delivery.attempts += 1
        delivery.claimed_at = now
        delivery.save(update_fields=["status", "attempts", "claimed_at"])
    return delivery


def _attempt(delivery: Delivery, clock: Callable[[], dt.datetime], outcome: Outcome) -> None:
    try:
        provider_id = send(delivery)
    except Exception as exc:  # any provider error means the message did not go out
        _record_failure(delivery, exc, clock())
        if delivery.status == S.FAILED:
            outcome.failed += 1
        else:
            outcome.retried += 1
    else:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=S.SENT, sent_at=clock(), provider_id=provider_id[:200], last_error=""
        )
        outcome.sent += 1


def _record_failure(delivery: Delivery, exc: Exception, now: dt.datetime) -> None:
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = S.FAILED
    else:
        delivery.status = S.PENDING
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
    log.warning(
        "消息投递失败 delivery=%s channel=%s attempt=%s/%s: %s",
        delivery.pk,
        delivery.channel,
        delivery.attempts,
        MAX_ATTEMPTS,
        delivery.last_error,
    )


def send(delivery: Delivery) -> str:
    """Hand the message to the channel; returns the provider's message id."""
    notification = delivery.notification
    if delivery.channel == Delivery.Channel.EMAIL:
        return _send_email(notification, delivery.address)
    return sms.get_backend().send(delivery.address, sms_text(notification))


def _send_email(notification: Notification, address: str) -> str:
    message_id = make_msgid(domain=str(DNS_NAME))
    EmailMessage(
        subject=f"【{SITE_NAME}】{notification.subject}",
        body=email_body(notification),
        to=[address],
        headers={"Message-ID": message_id},
    ).send()
    return message_id


def email_body(notification: Notification) -> str:
    site_url = settings.POLICYWINDOW_SITE_URL
    url = site_url + reverse("notifications:open", args=[notification.pk]) if site_url else ""
    return render_to_string(
        "notifications/email.txt",
        {
            "notification": notification,
            "url": url,
            "site_name": SITE_NAME,
            "org_name": settings.POLICYWINDOW_ORG_NAME,
        },
    )


def sms_text(notification: Notification) -> str:
    return f"【{SITE_NAME}】{notification.subject}，详情请登录系统查看。"
