"""Messages to the enterprise about its case: inbox plus SMS, linked to its case page."""

from __future__ import annotations

from django.urls import reverse

from policywindow.notifications.services import notify

from .models import Application


def tell_applicant(
    application: Application, *, kind: str, subject: str, body: str, dedupe_key: str
) -> int:
    """Queue the message in the caller's transaction (once per ``dedupe_key``)."""
    return notify(
        [application.applicant],
        kind=kind,
        subject=subject,
        body=body,
        link=reverse("applications:my_detail", args=[application.pk]),
        dedupe_key=dedupe_key,
        sms=True,
    )
