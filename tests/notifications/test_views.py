"""消息中心 pages: each user sees and changes only their own messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from policywindow.notifications.models import Notification
from policywindow.notifications.services import notify

pytestmark = pytest.mark.django_db

INBOX = reverse("notifications:inbox")


def _message(user, key: str, **fields) -> Notification:
    notify(
        [user],
        kind=fields.pop("kind", "task_assigned"),
        subject=fields.pop("subject", f"消息 {key}"),
        dedupe_key=key,
        **fields,
    )
    return Notification.objects.get(recipient=user, dedupe_key=key)


@pytest.fixture
def zhang(make_user):
    return make_user("zhang", real_name="张三")


@pytest.fixture
def li(make_user):
    return make_user("li", real_name="李四")


def test_the_inbox_lists_only_my_messages(login, zhang, li):
    mine = _message(
        zhang, "a", subject="请审批沈阳某公司的研发费用后补助", body="申报编号 LN2026-0001"
    )
    Notification.objects.filter(pk=mine.pk).update(
        created_at=dt.datetime(2026, 3, 1, 2, 5, tzinfo=dt.UTC)
    )
    _message(zhang, "b", kind="case_decided", subject="申报已办结")
    _message(li, "c", subject="李四的待办")

    page = login(zhang).get(INBOX).content.decode()

    assert "请审批沈阳某公司的研发费用后补助" in page
    assert "申报编号 LN2026-0001" in page
    assert "申报已办结" in page
    assert "李四的待办" not in page
    assert "待办任务" in page and "办理结果" in page  # kind labels
    assert "2026-03-01 10:05" in page  # Asia/Shanghai
    assert "共 2 条" in page


def test_another_users_message_is_not_found(login, zhang, li):
    theirs = _message(li, "x", link="/tasks/1/")
    me = login(zhang)

    assert me.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert me.post(reverse("notifications:mark_read", args=[theirs.pk])).status_code == 404
    me.post(reverse("notifications:mark_all_read"))

    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_message_marks_it_read_and_follows_its_link(login, zhang):
    message = _message(zhang, "a", link="/tasks/12/?tab=decide")
    response = login(zhang).get(reverse("notifications:open", args=[message.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/tasks/12/?tab=decide"
    message.refresh_from_db()
    assert message.read_at is not None

    first_read = message.read_at
    login(zhang).get(reverse("notifications:open", args=[message.pk]))
    message.refresh_from_db()
    assert message.read_at == first_read  # read once, not re-stamped


def test_a_message_without_a_link_opens_the_inbox(login, zhang):
    message = _message(zhang, "a")
    response = login(zhang).get(reverse("notifications:open", args=[message.pk]))
    assert response["Location"] == INBOX


@pytest.mark.parametrize(
    "link", ["https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com"]
)
def test_a_foreign_link_stored_by_any_means_is_not_followed(login, zhang, link):
    # The service refuses such links; the page does not trust the table either.
    message = Notification.objects.create(
        recipient=zhang, kind="task_assigned", subject="伪造", link=link, dedupe_key="forged"
    )
    response = login(zhang).get(reverse("notifications:open", args=[message.pk]))
    assert response["Location"] == INBOX


def test_mark_one_read_keeps_the_filter(login, zhang):
    first, second = _message(zhang, "a"), _message(zhang, "b")
    client = login(zhang)

    assert client.get(reverse("notifications:mark_read", args=[first.pk])).status_code == 405
    response = client.post(
        reverse("notifications:mark_read", args=[first.pk]), {"show": "unread", "page": "1"}
    )

    assert response["Location"] == f"{INBOX}?show=unread&page=1"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    unread_page = client.get(INBOX, {"show": "unread"}).content.decode()
    assert f'data-notification="{second.pk}"' in unread_page
    assert f'data-notification="{first.pk}"' not in unread_page
    all_page = client.get(INBOX).content.decode()
    assert f'data-notification="{first.pk}"' in all_page


def test_mark_all_read_touches_only_mine(login, zhang, li):
    for key in "abc":
        _message(zhang, key)
    theirs = _message(li, "z")
    client = login(zhang)

    response = client.post(reverse("notifications:mark_all_read"), follow=True)

    assert "已将 3 条消息标为已读" in response.content.decode()
    assert not Notification.objects.filter(recipient=zhang, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    again = client.post(reverse("notifications:mark_all_read"), follow=True)
    assert "没有未读消息" in again.content.decode()


def test_posts_need_the_csrf_token(zhang):
    message = _message(zhang, "a")
    client = Client(enforce_csrf_checks=True)
    client.force_login(zhang)
    assert client.post(reverse("notifications:mark_read", args=[message.pk])).status_code == 403
    assert client.post(reverse("notifications:mark_all_read")).status_code == 403
    message.refresh_from_db()
    assert message.read_at is None


def test_paging(login, zhang):
    for n in range(25):
        _message(zhang, f"k{n:02d}", subject=f"第{n:02d}条")
    client = login(zhang)
    first = client.get(INBOX).content.decode()
    second = client.get(INBOX, {"page": 2}).content.decode()
    assert "共 25 条，第 1 / 2 页" in first
    assert first.count('data-testid="open-notification"') == 20
    assert second.count('data-testid="open-notification"') == 5
    assert "第24条" in first and "第00条" in second  # newest first


def test_the_bell_shows_my_unread_count_with_one_query(login, zhang, li):
    _message(zhang, "a")
    read = _message(zhang, "b")
    _message(zhang, "c")
    _message(li, "d")
    client = login(zhang)
    client.post(reverse("notifications:mark_read", args=[read.pk]))

    client.get(reverse("system:home"))  # warm per-process caches
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("system:home")).content.decode()

    assert 'data-testid="notification-bell"' in page
    assert 'data-testid="unread-count">2<' in page
    inbox_queries = [q for q in captured if "notifications_notification" in q["sql"]]
    assert len(inbox_queries) == 1


def test_the_bell_caps_large_counts(login, zhang):
    Notification.objects.bulk_create(
        Notification(recipient=zhang, kind="task_reminder", subject="提醒", dedupe_key=f"r{n}")
        for n in range(120)
    )
    page = login(zhang).get(reverse("system:home")).content.decode()
    assert 'data-testid="unread-count">99+<' in page


def test_no_bell_without_unread_or_for_visitors(login, zhang):
    page = login(zhang).get(reverse("system:home")).content.decode()
    assert 'data-testid="notification-bell"' in page
    assert 'data-testid="unread-count"' not in page
    login_page = Client().get(reverse("system:login")).content.decode()
    assert 'data-testid="notification-bell"' not in login_page


def test_visitors_are_sent_to_sign_in():
    response = Client().get(INBOX)
    assert response.status_code == 302
    assert reverse("system:login") in response["Location"]
