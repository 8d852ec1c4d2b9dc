"""notify(): one inbox message per recipient and key, with its email/SMS outbox rows."""

from __future__ import annotations

import pytest
from django.db import transaction

from policywindow.core.errors import ValidationFailed
from policywindow.notifications.models import KIND_LABELS, Delivery, Notification
from policywindow.notifications.services import notify

pytestmark = pytest.mark.django_db

EMAIL, SMS = Delivery.Channel.EMAIL, Delivery.Channel.SMS


def _notify(recipients, key: str = "task:1:assigned", **fields) -> int:
    fields = {"kind": "task_assigned", "subject": "您有一件待审批的申报", **fields}
    return notify(recipients, dedupe_key=key, **fields)


def _channels(user) -> list[tuple[str, str]]:
    deliveries = Delivery.objects.filter(notification__recipient=user)
    return sorted((d.channel, d.address) for d in deliveries)  # the address is encrypted


def test_one_message_per_recipient_with_email_and_sms(make_user):
    zhang = make_user("zhang", email="zhang@example.cn", mobile="13800000001")
    li = make_user("li", email="li@example.cn", mobile="13800000002")

    created = _notify([zhang, li], body="申报编号 LN2026-0001", link="/tasks/1/", sms=True)

    assert created == 2
    message = Notification.objects.get(recipient=zhang)
    assert (message.kind, message.subject, message.body, message.link, message.read_at) == (
        "task_assigned",
        "您有一件待审批的申报",
        "申报编号 LN2026-0001",
        "/tasks/1/",
        None,
    )
    assert _channels(zhang) == [(EMAIL, "zhang@example.cn"), (SMS, "13800000001")]
    assert _channels(li) == [(EMAIL, "li@example.cn"), (SMS, "13800000002")]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}


def test_the_same_key_twice_adds_nothing(make_user):
    zhang = make_user("zhang", email="zhang@example.cn", mobile="13800000001")
    assert _notify([zhang]) == 1

    # Not even the SMS the second call asks for: the key has been used for this user.
    assert _notify([zhang], subject="再次提醒", sms=True) == 0

    assert Notification.objects.get(recipient=zhang).subject == "您有一件待审批的申报"
    assert _channels(zhang) == [(EMAIL, "zhang@example.cn")]


def test_a_used_key_still_reaches_new_recipients(make_user):
    zhang, li = make_user("zhang"), make_user("li")
    _notify([zhang])
    assert _notify([zhang, li]) == 1
    assert Notification.objects.filter(recipient=li).count() == 1
    assert Notification.objects.count() == 2


def test_a_recipient_named_twice_gets_one_message(make_user):
    zhang = make_user("zhang")
    assert _notify([zhang, zhang]) == 1
    assert Notification.objects.count() == 1


def test_other_keys_are_other_messages(make_user):
    zhang = make_user("zhang")
    _notify([zhang], key="task:1:assigned")
    _notify([zhang], key="task:1:reminder", kind="task_reminder")
    assert Notification.objects.filter(recipient=zhang).count() == 2


@pytest.mark.parametrize(
    ("fields", "sms", "expected"),
    [
        ({"email": "", "mobile": "13800000001"}, True, [(SMS, "13800000001")]),
        ({"email": "a@example.cn", "mobile": "13800000001"}, False, [(EMAIL, "a@example.cn")]),
        ({"email": "a@example.cn", "mobile": ""}, True, [(EMAIL, "a@example.cn")]),
        ({"email": "", "mobile": ""}, True, []),
        ({"email": "a@example.cn", "mobile": "13800000001", "is_active": False}, True, []),
    ],
)
def test_outside_channels_follow_the_users_details(make_user, fields, sms, expected):
    user = make_user("someone", **fields)
    assert _notify([user], sms=sms) == 1  # the inbox message is always there
    assert _channels(user) == expected


def test_nobody_to_tell(make_user):
    assert _notify([]) == 0


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example.com/",
        "//evil.example.com/path",
        "/\\evil.example.com",
        "javascript:alert(1)",
        "tasks/1/",
        "http:/evil.example.com",
    ],
)
def test_links_must_stay_on_the_site(make_user, link):
    with pytest.raises(ValidationFailed) as refused:
        _notify([make_user("zhang")], link=link)
    assert "link" in refused.value.details
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("link", ["", "/", "/workflow/tasks/12/?tab=decide#form"])
def test_internal_links_are_accepted(make_user, link):
    assert _notify([make_user("zhang")], link=link) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"kind": ""}, "kind"),
        ({"kind": "k" * 41}, "kind"),
        ({"subject": "长" * 201}, "subject"),
    ],
)
def test_incomplete_messages_are_refused(make_user, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        _notify([make_user("zhang")], **fields)
    assert field in refused.value.details


def test_an_empty_key_is_refused(make_user):
    with pytest.raises(ValidationFailed) as refused:
        _notify([make_user("zhang")], key="")
    assert "dedupe_key" in refused.value.details


def test_nothing_is_queued_when_the_callers_transaction_rolls_back(make_user):
    zhang = make_user("zhang", email="zhang@example.cn")
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify([zhang])
        raise RuntimeError("the decision failed")
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert _notify([zhang]) == 1  # the key was never used


def test_kind_labels(make_user):
    zhang = make_user("zhang")
    _notify([zhang], key="a", kind="case_decided")
    _notify([zhang], key="b", kind="something_new")
    labels = {n.kind: n.kind_label for n in Notification.objects.all()}
    assert labels == {"case_decided": KIND_LABELS["case_decided"], "something_new": "something_new"}
    assert KIND_LABELS["task_overdue"] == "超期提醒"
