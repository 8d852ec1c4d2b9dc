"""The SMS adapter: the outbox talks to ``SmsBackend``; a provider plugs in by subclassing it.

``settings.SMS_BACKEND`` names the class (dotted path). The default only writes each
message to the log, so a deployment without an SMS gateway still works end to end.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class SmsBackend:
    """Base class of SMS providers."""

    def send(self, mobile: str, text: str) -> str:
        """Send ``text`` to ``mobile`` and return the provider's message id.

        Raise on any failure: the outbox then retries later with backoff. Return only once
        the provider has accepted the message.
        """
        raise NotImplementedError


class LogSmsBackend(SmsBackend):
    """No gateway: each message is recorded in the log (mobile number masked)."""

    def send(self, mobile: str, text: str) -> str:
        message_id = f"log-{uuid.uuid4().hex}"
        log.info("短信（未接入短信平台，仅记录）%s → %s：%s", message_id, mask_mobile(mobile), text)
        return message_id


def mask_mobile(mobile: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) > 7 else "****"


def get_backend() -> SmsBackend:
    backend = import_string(settings.SMS_BACKEND)()
    if not isinstance(backend, SmsBackend):
        raise ImproperlyConfigured(
            f"SMS_BACKEND {settings.SMS_BACKEND} 必须是 policywindow.notifications.sms.SmsBackend 的子类"
        )
    return backend
