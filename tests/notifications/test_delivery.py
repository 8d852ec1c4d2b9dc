"""The outbox: email and SMS are sent once, failures retried with backoff, then given up."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from policywindow.notifications import delivery, sms
from policywindow.notifications.delivery import MAX_ATTEMPTS, claim_next, deliver_due
from policywindow.notifications.models import Delivery, Notification
from policywindow.notifications.services import notify

pytestmark = pytest.mark.django_db

S = Delivery.Status
HERE = "tests.notifications.test_delivery"


class RecordingSms(sms.SmsBackend):
    sent: list[tuple[str, str]] = []

    def send(self, mobile: str, text: str) -> str:
        self.sent.append((mobile, text))
        return f"rec-{len(self.sent)}"


class BrokenSms(sms.SmsBackend):
    calls = 0

    def send(self, mobile: str, text: str) -> str:
        BrokenSms.calls += 1
        raise ConnectionError("短信平台无响应")


class FlakySms(sms.SmsBackend):
    """Fails on the first call only."""

    calls = 0

    def send(self, mobile: str, text: str) -> str:
        FlakySms.calls += 1
        if FlakySms.calls == 1:
            raise TimeoutError("短信平台超时")
        return "flaky-ok"


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise OSError("SMTP 服务器拒绝连接")


@pytest.fixture(autouse=True)
def _fresh_backends():
    RecordingSms.sent = []
    BrokenSms.calls = FlakySms.calls = 0


@pytest.fixture
def zhang(make_user):
    return make_user("zhang", real_name="张三", email="zhang@example.cn", mobile="13812345678")


def _notify(user, *, sms: bool = False, key: str = "task:7:assigned", **fields) -> Notification:
    notify(
        [user],
        kind="task_assigned",
        subject=fields.get("subject", "您有一件待审批的申报"),
        body=fields.get("body", "申报编号 LN2026-0007，请在 3 个工作日内办理。"),
        link="/tasks/7/",
        dedupe_key=key,
        sms=sms,
    )
    return Notification.objects.get(recipient=user, dedupe_key=key)


def _only(channel: str) -> Delivery:
    return Delivery.objects.get(channel=channel)


def test_email_is_sent_once_with_the_message(zhang, settings):
    settings.POLICYWINDOW_SITE_URL = "https://zcdx.example.gov.cn"
    message = _notify(zhang)

    outcome = deliver_due()

    assert outcome.sent == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["zhang@example.cn"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == "【政策兑现单一窗口】您有一件待审批的申报"
    assert email.body.startswith("张三，您好：")
    assert "申报编号 LN2026-0007，请在 3 个工作日内办理。" in email.body
    assert f"查看详情：https://zcdx.example.gov.cn/notifications/{message.pk}/" in email.body
    row = _only(Delivery.Channel.EMAIL)
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 1, "")
    assert row.sent_at is not None
    assert row.provider_id == email.extra_headers["Message-ID"]

    assert deliver_due(timezone.now() + dt.timedelta(days=1)).sent == 0
    assert len(mail.outbox) == 1  # never twice


def test_email_without_a_site_address_sends_people_to_the_system(zhang, settings):
    settings.POLICYWINDOW_SITE_URL = ""
    _notify(zhang, body="")
    deliver_due()
    body = mail.outbox[0].body
    assert "您有一件待审批的申报" in body  # no body: the subject stands in
    assert "请登录政策兑现单一窗口，在“消息中心”查看详情。" in body
    assert "http" not in body


def test_sms_goes_through_the_configured_backend(zhang, settings):
    settings.SMS_BACKEND = f"{HERE}.RecordingSms"
    _notify(zhang, sms=True)

    assert deliver_due().sent == 2  # email and SMS

    assert RecordingSms.sent == [
        ("13812345678", "【政策兑现单一窗口】您有一件待审批的申报，详情请登录系统查看。")
    ]
    row = _only(Delivery.Channel.SMS)
    assert (row.status, row.provider_id) == (S.SENT, "rec-1")
    deliver_due(timezone.now() + dt.timedelta(days=1))
    assert len(RecordingSms.sent) == 1


def test_the_default_sms_backend_only_logs_with_the_number_masked(zhang, settings, caplog):
    assert settings.SMS_BACKEND == "policywindow.notifications.sms.LogSmsBackend"
    _notify(zhang, sms=True)
    with caplog.at_level(logging.INFO, logger="policywindow.notifications.sms"):
        deliver_due()
    row = _only(Delivery.Channel.SMS)
    assert row.status == S.SENT
    assert row.provider_id.startswith("log-")
    assert "138****5678" in caplog.text
    assert "13812345678" not in caplog.text
    assert row.provider_id in caplog.text


def test_an_sms_backend_must_subclass_the_adapter(settings):
    settings.SMS_BACKEND = "builtins.object"
    with pytest.raises(ImproperlyConfigured):
        sms.get_backend()


def test_the_adapter_base_class_has_no_provider():
    with pytest.raises(NotImplementedError):
        sms.SmsBackend().send("13812345678", "测试")


def test_a_failure_is_retried_with_backoff(zhang, settings):
    settings.SMS_BACKEND = f"{HERE}.BrokenSms"
    _notify(zhang, sms=True)
    t0 = timezone.now()

    outcome = deliver_due(t0)

    assert (outcome.sent, outcome.retried, outcome.failed) == (1, 1, 0)  # the email went out
    row = _only(Delivery.Channel.SMS)
    assert (row.status, row.attempts) == (S.PENDING, 1)
    assert row.next_attempt_at == t0 + dt.timedelta(minutes=1)
    assert row.last_error == "ConnectionError: 短信平台无响应"

    deliver_due(t0 + dt.timedelta(seconds=59))  # not due yet
    assert BrokenSms.calls == 1

    deliver_due(t0 + dt.timedelta(minutes=1))
    row.refresh_from_db()
    assert (row.status, row.attempts, BrokenSms.calls) == (S.PENDING, 2, 2)
    assert row.next_attempt_at == t0 + dt.timedelta(minutes=1 + 4)


def test_delays_grow_and_are_capped():
    delays = [delivery.retry_delay(n) for n in range(1, 7)]
    assert delays[:4] == [dt.timedelta(minutes=m) for m in (1, 4, 16, 64)]
    assert delays[-1] == delivery.MAX_RETRY_DELAY


def test_gives_up_after_the_last_attempt(zhang, settings):
    settings.SMS_BACKEND = f"{HERE}.BrokenSms"
    _notify(zhang, sms=True)
    row = _only(Delivery.Channel.SMS)
    for _ in range(MAX_ATTEMPTS):
        deliver_due(row.next_attempt_at)
        row.refresh_from_db()

    assert (row.status, row.attempts, BrokenSms.calls) == (S.FAILED, MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert row.sent_at is None
    deliver_due(timezone.now() + dt.timedelta(days=30))
    assert BrokenSms.calls == MAX_ATTEMPTS


def test_a_transient_failure_is_followed_by_one_delivery(zhang, settings):
    settings.SMS_BACKEND = f"{HERE}.FlakySms"
    _notify(zhang, sms=True)
    row = _only(Delivery.Channel.SMS)
    deliver_due()
    row.refresh_from_db()
    deliver_due(row.next_attempt_at)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_id) == (S.SENT, 2, "flaky-ok")
    assert row.last_error == ""
    deliver_due(timezone.now() + dt.timedelta(days=1))
    assert FlakySms.calls == 2


def test_a_failing_mail_server_is_retried(zhang, settings):
    settings.EMAIL_BACKEND = f"{HERE}.BrokenEmailBackend"
    _notify(zhang)
    assert deliver_due().retried == 1
    row = _only(Delivery.Channel.EMAIL)
    assert (row.status, row.last_error) == (S.PENDING, "OSError: SMTP 服务器拒绝连接")


def test_a_row_left_sending_by_a_dead_worker_is_never_resent(zhang):
    _notify(zhang)
    t0 = timezone.now()
    assert claim_next(t0) is not None  # the worker claimed it, then died before recording

    assert deliver_due(t0 + dt.timedelta(minutes=10)).abandoned == 0
    row = _only(Delivery.Channel.EMAIL)
    assert row.status == S.SENDING

    outcome = deliver_due(t0 + delivery.STALE_AFTER + dt.timedelta(seconds=1))

    assert outcome.abandoned == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (S.FAILED, 1, delivery.ABANDONED)
    assert mail.outbox == []


def test_oldest_due_first_and_bounded_per_run(make_user):
    users = [make_user(f"u{n}", email=f"u{n}@example.cn") for n in range(3)]
    for user in users:
        _notify(user)
    assert deliver_due(limit=2).sent == 2
    assert [m.to for m in mail.outbox] == [["u0@example.cn"], ["u1@example.cn"]]
    assert deliver_due(limit=2).sent == 1
