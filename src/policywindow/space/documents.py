"""Which documents an application has earned, and how each is rendered.

- 申报回执 while a filed application waits for intake (the receipt of ``applications.receipt``);
- 受理回执 once the window accepted it (the same receipt, titled for acceptance);
- 不予受理告知书 when the window refused it, with the reason;
- 审核结果告知书 once the review decided it (approved with the amount, or not, with the reason).

Each rule is written twice, side by side: as a predicate over one application (the space page)
and as a ``Q`` (the background sweep); ``tests/space/test_documents.py`` checks they agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.receipt import receipt_filename, render_receipt, status_url
from policywindow.core.money import format_yuan, to_chinese_capital
from policywindow.finance.services.budgets import GRANTED

from .models import DocumentKind as K

# A review decision has been made (approved and every later step, or not approved).
DECIDED = (*GRANTED, S.REJECTED)


@dataclass(frozen=True)
class Rule:
    kind: str
    basis_field: str
    applies: Callable[[Application], bool]
    when: Q


RULES: tuple[Rule, ...] = (
    Rule(
        K.RECEIPT,
        "submitted_at",
        lambda a: bool(a.number) and a.submitted_at is not None and a.accepted_at is None,
        Q(number__isnull=False, submitted_at__isnull=False, accepted_at__isnull=True),
    ),
    Rule(
        K.ACCEPTANCE,
        "accepted_at",
        lambda a: bool(a.number) and a.accepted_at is not None,
        Q(number__isnull=False, accepted_at__isnull=False),
    ),
    Rule(
        K.REFUSAL,
        "submitted_at",
        lambda a: a.status == S.NOT_ACCEPTED and a.submitted_at is not None,
        Q(status=S.NOT_ACCEPTED, submitted_at__isnull=False),
    ),
    Rule(
        K.DECISION,
        "decided_at",
        lambda a: a.status in DECIDED and a.decided_at is not None,
        Q(status__in=DECIDED, decided_at__isnull=False),
    ),
)
RULE_OF = {rule.kind: rule for rule in RULES}


@dataclass(frozen=True)
class Due:
    kind: str
    basis: dt.datetime

    @property
    def title(self) -> str:
        return K(self.kind).label


def due_documents(application: Application) -> list[Due]:
    """The documents the application has earned now, in the order they were issued."""
    return [
        Due(rule.kind, getattr(application, rule.basis_field))
        for rule in RULES
        if rule.applies(application)
    ]


def due_now(application: Application, kind: str) -> Due | None:
    return next((due for due in due_documents(application) if due.kind == kind), None)


def filename(application: Application, kind: str) -> str:
    if kind in (K.RECEIPT, K.ACCEPTANCE):
        return receipt_filename(application)
    return f"{kind}-{application.number}.pdf"


# ---------------------------------------------------------------- rendering


def render(application: Application, kind: str, base_url: str = "") -> bytes:
    """The document as PDF bytes (WeasyPrint, A4, the embedded CJK font)."""
    base_url = settings.POLICYWINDOW_SITE_URL or base_url
    if kind in (K.RECEIPT, K.ACCEPTANCE):
        return render_receipt(application, base_url=base_url)
    from weasyprint import HTML  # heavy; loaded on the first document

    html = render_to_string("space/pdf/notice.html", notice_context(application, kind, base_url))
    return HTML(string=html).write_pdf()


def _last_event(application: Application, action: str) -> ApplicationEvent | None:
    return (
        ApplicationEvent.objects.filter(application=application, action=action)
        .order_by("-occurred_at", "-id")
        .first()
    )


def _verdict(application: Application, kind: str) -> tuple[str, dt.datetime | None, str]:
    """(outcome, when, reason): the reason only for a refusal or a rejection."""
    if kind == K.REFUSAL:
        event = _last_event(application, "refuse")
        return "不予受理", event.occurred_at if event else None, event.note if event else ""
    if application.status in GRANTED:
        return "审核通过", application.decided_at, ""
    event = _last_event(application, "review_reject")
    return "审核不通过", application.decided_at, event.note if event else ""


def notice_context(application: Application, kind: str, base_url: str = "") -> dict:
    outcome, decided_on, reason = _verdict(application, kind)
    money = application.approved_amount if outcome == "审核通过" else None
    url = status_url(application, base_url)
    return {
        "app": application,
        "title": K(kind).label,
        "refusal": kind == K.REFUSAL,
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "outcome": outcome,
        "approved": outcome == "审核通过",
        "decided_on": decided_on,
        "requested": format_yuan(application.requested_amount),
        "amount": format_yuan(money, empty=""),
        "amount_capital": to_chinese_capital(money) if money is not None else "",
        "reason": reason,
        "status_url": url,
        "qr": segno.make(url, error="m").svg_data_uri(scale=4, border=1),
    }
