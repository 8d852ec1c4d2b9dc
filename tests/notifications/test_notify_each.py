"""notify_each(): messages that differ per recipient in one INSERT (issue 16), the outbox rows
in one more on PostgreSQL; a used key skipped without a savepoint or a read before it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policywindow.core.errors import ValidationFailed
from policywindow.notifications.models import Delivery, Notification
from policywindow.notifications.services import Message, notify, notify_each

pytestmark = pytest.mark.django_db


def _message(user, n: int, **fields) -> Message:
    return Message(user, "task_assigned", f"待办 {n}", f"task:{n}:assigned", **fields)


def test_each_recipient_gets_their_own_message_from_one_insert(make_user):
    zhang, li = make_user("zhang"), make_user("li")
    with CaptureQueriesContext(connection) as captured:
        created = notify_each([_message(zhang, 1, body="甲"), _message(li, 2, link="/x/")])
    assert created == 2
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    got = {
        n.recipient_id: (n.subject, n.body, n.link, n.dedupe_key)
        for n in Notification.objects.all()
    }
    assert got == {
        zhang.pk: ("待办 1", "甲", "", "task:1:assigned"),
        li.pk: ("待办 2", "", "/x/", "task:2:assigned"),
    }


def test_a_used_key_is_skipped_and_the_rest_still_go_in(make_user):
    zhang = make_user("zhang")
    assert notify_each([_message(zhang, 1)]) == 1
    with CaptureQueriesContext(connection) as captured:
        created = notify_each([_message(zhang, 1, body="again"), _message(zhang, 2)])
    assert created == 1
    assert not [q for q in captured.captured_queries if "SAVEPOINT" in q["sql"]]
    assert sorted(Notification.objects.values_list("dedupe_key", "body")) == [
        ("task:1:assigned", ""),
        ("task:2:assigned", ""),
    ]


def test_outbox_rows_of_many_messages_go_in_together(make_user):
    people = [
        make_user(f"u{n}", email=f"u{n}@example.cn", mobile=f"1380000000{n}") for n in range(3)
    ]
    with CaptureQueriesContext(connection) as captured:
        created = notify(people, kind="case_decided", subject="审核通过", dedupe_key="k", sms=True)
    assert created == 3
    deliveries = Delivery.objects.filter(notification__dedupe_key="k")
    assert sorted(
        (d.notification.recipient_id, d.channel, d.address) for d in deliveries
    ) == sorted(
        (p.pk, channel, address)
        for p in people
        for channel, address in (("email", p.email), ("sms", p.mobile))
    )
    writes = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SAVEPOINT")]
    writes = [sql for sql in writes if not sql.startswith("RELEASE")]
    if connection.vendor == "postgresql":  # the messages, the outbox rows' ids, the outbox rows
        assert len(writes) == 3, writes
    else:  # the outbox rows in the ORM's way: one INSERT, then each address
        assert len(writes) == 2 + len(deliveries), writes


def test_one_bad_message_refuses_them_all(make_user):
    zhang = make_user("zhang")
    with pytest.raises(ValidationFailed):
        notify_each([_message(zhang, 1), _message(zhang, 2, link="https://evil.example.com/")])
    assert Notification.objects.count() == 0
