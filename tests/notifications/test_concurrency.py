"""Races on PostgreSQL with real parallel connections: nothing queued or sent twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from policywindow.notifications import sms
from policywindow.notifications.delivery import deliver_due
from policywindow.notifications.models import Delivery, Notification
from policywindow.notifications.services import notify
from tests.waiting import join_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def _in_parallel(*jobs: Callable[[], object]) -> list[object]:
    """Run each job on its own thread (so its own connection), all released together."""
    start = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = job()
        except Exception as exc:  # reported by the assertion below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    join_all(threads)
    return results


def _notify_and_hold(users: list, key: str) -> Callable[[], int]:
    """Queue inside a transaction that stays open a moment, as a slow workflow step would."""

    def job() -> int:
        with transaction.atomic():
            created = notify(users, kind="task_assigned", subject="待办", dedupe_key=key)
            time.sleep(0.3)
        return created

    return job


def test_two_connections_with_the_same_key_queue_one_message(make_user):
    zhang = make_user("zhang", email="zhang@example.cn")

    results = _in_parallel(_notify_and_hold([zhang], "k"), _notify_and_hold([zhang], "k"))

    assert sorted(results) == [0, 1]
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_the_same_recipients_in_opposite_order_do_not_deadlock(make_user):
    zhang, li = make_user("zhang"), make_user("li")

    results = _in_parallel(_notify_and_hold([zhang, li], "k"), _notify_and_hold([li, zhang], "k"))

    assert sorted(results) == [0, 2]
    assert Notification.objects.count() == 2


class SlowSms(sms.SmsBackend):
    """A provider that takes a while, so two workers overlap; records every send."""

    sent: Counter = Counter()
    lock = threading.Lock()

    def send(self, mobile: str, text: str) -> str:
        time.sleep(0.02)
        with self.lock:
            self.sent[mobile] += 1
        return mobile


def test_two_workers_send_each_message_once(make_user, settings):
    settings.SMS_BACKEND = "tests.notifications.test_concurrency.SlowSms"
    SlowSms.sent.clear()
    users = [make_user(f"u{n}", mobile=f"138000000{n:02d}") for n in range(20)]
    notify(users, kind="task_reminder", subject="提醒", dedupe_key="r", sms=True)

    outcomes = _in_parallel(deliver_due, deliver_due)

    assert sum(outcome.sent for outcome in outcomes) == 20
    assert all(outcome.sent > 0 for outcome in outcomes), "both workers should have taken rows"
    assert set(SlowSms.sent.values()) == {1}
    assert len(SlowSms.sent) == 20
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
