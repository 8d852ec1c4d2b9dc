"""Which documents an application has earned, and how each is rendered.

- 申报回执 while a filed application waits for intake (the receipt of ``applications.receipt``);
- 受理通知书 once the window accepted it: the lead department and the date it decides by;
- 补正告知书 for the latest 补正 notice (at the window or in review): exactly the items asked
  for, the deadline and how to resubmit;
- 不予受理决定书 when the window refused it: the reason and the right to appeal;
- 审核结果告知书 once the review decided it (approved with the amount and, when lowered, the
  核减理由; or not, with the reason).

Every document is a letter of the same machinery as the receipt (``templates/pdf/letter.html``,
WeasyPrint, A4, the embedded CJK font), numbered (``document_number``), dated and signed by the
issuing body, with the *absolute* address of the public status page and its QR code: the site's
configured address, else the address of the request that issues it — never a bare path.

Each rule is written twice, side by side: as a predicate over one application (the pages) and
as a ``Q`` over ``with_bases`` (the background sweep); ``tests/space/test_documents.py`` checks
they agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import segno
from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from policywindow.applications.models import Application, ApplicationEvent, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.notices import appeal
from policywindow.applications.receipt import receipt_filename, render_receipt, status_url
from policywindow.core.deadlines import last_day, provisional_words
from policywindow.core.errors import DomainError
from policywindow.core.money import format_yuan, to_chinese_capital
from policywindow.core.pdf_render import render_pdf
from policywindow.finance.services.budgets import GRANTED

from .models import DocumentKind as K

# A review decision has been made (approved and every later step, or not approved).
DECIDED = (*GRANTED, S.REJECTED)
# The annotation ``with_bases`` adds: when the latest 补正 notice of the case was issued.
NOTICE_BASIS = "last_notice_at"
_NOT_LOADED = object()


def with_bases(applications: QuerySet[Application]) -> QuerySet[Application]:
    """``applications`` with what every rule's basis needs (one subquery, no extra query)."""
    latest = SupplementNotice.objects.filter(application=OuterRef("pk")).order_by(
        "-issued_at", "-id"
    )
    return applications.annotate(**{NOTICE_BASIS: Subquery(latest.values("issued_at")[:1])})


def latest_notice_at(application: Application) -> dt.datetime | None:
    loaded = getattr(application, NOTICE_BASIS, _NOT_LOADED)
    if loaded is not _NOT_LOADED:
        return loaded
    return (
        SupplementNotice.objects.filter(application=application)
        .order_by("-issued_at", "-id")
        .values_list("issued_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Rule:
    kind: str
    basis: Callable[[Application], dt.datetime | None]
    basis_field: str  # the same basis as a field or annotation of ``with_bases``
    applies: Callable[[Application], bool]
    when: Q


RULES: tuple[Rule, ...] = (
    Rule(
        K.RECEIPT,
        lambda a: a.submitted_at,
        "submitted_at",
        lambda a: bool(a.number) and a.submitted_at is not None and a.accepted_at is None,
        Q(number__isnull=False, submitted_at__isnull=False, accepted_at__isnull=True),
    ),
    Rule(
        K.ACCEPTANCE,
        lambda a: a.accepted_at,
        "accepted_at",
        lambda a: bool(a.number) and a.accepted_at is not None,
        Q(number__isnull=False, accepted_at__isnull=False),
    ),
    Rule(
        K.SUPPLEMENT,
        latest_notice_at,
        NOTICE_BASIS,
        lambda a: bool(a.number) and latest_notice_at(a) is not None,
        Q(number__isnull=False, **{f"{NOTICE_BASIS}__isnull": False}),
    ),
    Rule(
        K.REFUSAL,
        lambda a: a.submitted_at,
        "submitted_at",
        lambda a: a.status == S.NOT_ACCEPTED and a.submitted_at is not None,
        Q(status=S.NOT_ACCEPTED, submitted_at__isnull=False),
    ),
    Rule(
        K.DECISION,
        lambda a: a.decided_at,
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
    return [Due(rule.kind, rule.basis(application)) for rule in RULES if rule.applies(application)]


def due_now(application: Application, kind: str) -> Due | None:
    return next((due for due in due_documents(application) if due.kind == kind), None)


def filename(application: Application, kind: str) -> str:
    if kind == K.RECEIPT:
        return receipt_filename(application)
    return f"{kind}-{application.number}.pdf"


# ---------------------------------------------------------------- rendering


class NoSiteAddress(DomainError):
    code = "site_url_missing"
    http_status = 503


def site_base(base_url: str = "") -> str:
    """The address the status URL is built on: the configured site, else the request's."""
    base = settings.POLICYWINDOW_SITE_URL or base_url
    if not base.startswith(("http://", "https://")):
        raise NoSiteAddress(
            "未配置站点地址（POLICYWINDOW_SITE_URL），无法在文书上印制完整的查询地址；"
            "请配置后再出具，或由页面下载时出具"
        )
    return base


def render(application: Application, kind: str, base_url: str = "") -> bytes:
    """The document as PDF bytes (WeasyPrint, A4, the embedded CJK font)."""
    base = site_base(base_url)
    if kind == K.RECEIPT:
        return render_receipt(application, base_url=base)
    context = CONTEXTS[kind](application, _letter(application, kind, base))
    html = render_to_string(f"space/pdf/{kind}.html", context)
    return render_pdf(html, what=f"{K(kind).label} {application.number}")


def _day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    day = timezone.localdate(value) if isinstance(value, dt.datetime) else value
    return f"{day.year}年{day.month}月{day.day}日"


PREFIXES = {K.ACCEPTANCE: "受字", K.SUPPLEMENT: "补字", K.REFUSAL: "不受字", K.DECISION: "审字"}


def document_number(application: Application, kind: str, basis: dt.datetime, seq: int = 0) -> str:
    """文书编号, derived from the case so it never needs a counter: 受字〔2026〕ZC2026000123号
    (a case's n-th 补正告知书 ends in -n)."""
    suffix = f"-{seq}" if seq else ""
    year = timezone.localdate(basis).year
    return f"{PREFIXES[kind]}〔{year}〕{application.number}{suffix}号"


def _letter(application: Application, kind: str, base: str) -> dict[str, Any]:
    """What every letter prints: issuer, title, number, the status address and its QR code."""
    url = status_url(application, base)
    return {
        "app": application,
        "kind": kind,
        "title": K(kind).label,
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "submitted": _day(application.submitted_at),
        "requested": format_yuan(application.requested_amount),
        "status_url": url,
        "qr": segno.make(url, error="m").svg_data_uri(scale=4, border=1),
        "appeal": appeal("决定书" if kind == K.REFUSAL else "告知书"),
    }


def _acceptance(application: Application, letter: dict[str, Any]) -> dict[str, Any]:
    basis = application.accepted_at
    clerk = application.accepted_by
    return {
        **letter,
        "doc_number": document_number(application, K.ACCEPTANCE, basis),
        "accepted": _day(basis),
        "accepted_by": (clerk.real_name or clerk.username) if clerk else "系统自动受理（免申即享）",
        "due": _day(last_day(application.due_at)) + provisional_words(application.due_at),
        "seal_date": _day(basis),
    }


def _supplement(application: Application, letter: dict[str, Any]) -> dict[str, Any]:
    basis = latest_notice_at(application)
    notices = SupplementNotice.objects.filter(application=application, issued_at__lte=basis)
    notice = notices.select_related("issued_by").order_by("-issued_at", "-id").first()
    in_review = application.accepted_at is not None and application.accepted_at <= basis
    resubmit = reverse("applications:apply_supplement", args=[application.pk])
    return {
        **letter,
        "doc_number": document_number(application, K.SUPPLEMENT, basis, notices.count()),
        "notice": notice,
        "stage": "审核" if in_review else "窗口审查",
        "respond_by": _day(last_day(notice.respond_by)) + provisional_words(notice.respond_by),
        "resubmit_url": urljoin(letter["status_url"], resubmit),
        "seal_date": _day(basis),
    }


def _last_event(application: Application, action: str) -> ApplicationEvent | None:
    return (
        ApplicationEvent.objects.filter(application=application, action=action)
        .order_by("-occurred_at", "-id")
        .first()
    )


def _refusal(application: Application, letter: dict[str, Any]) -> dict[str, Any]:
    event = _last_event(application, "refuse")
    decided = event.occurred_at if event else application.submitted_at
    return {
        **letter,
        "doc_number": document_number(application, K.REFUSAL, decided),
        "reason": event.note if event else "",
        "seal_date": _day(decided),
    }


def _decision(application: Application, letter: dict[str, Any]) -> dict[str, Any]:
    approved = application.status in GRANTED
    money = application.approved_amount if approved else None
    reductions: list[dict[str, str]] = []
    reason = ""
    if approved:
        event = _last_event(application, "review_approved")
        data = event.data if event and isinstance(event.data, dict) else {}
        reductions = [r for r in data.get("reductions", []) if isinstance(r, dict)]
    else:
        event = _last_event(application, "review_reject")
        reason = event.note if event else ""
    lowered = (
        money is not None
        and application.requested_amount is not None
        and money < application.requested_amount
    )
    return {
        **letter,
        "doc_number": document_number(application, K.DECISION, application.decided_at),
        "outcome": "审核通过" if approved else "审核不通过",
        "approved": approved,
        "accepted": _day(application.accepted_at),
        "amount": format_yuan(money, empty=""),
        "amount_capital": to_chinese_capital(money) if money is not None else "",
        "lowered": lowered,
        "reduction": format_yuan(application.requested_amount - money) if lowered else "",
        "reductions": reductions,
        "reason": reason,
        "seal_date": _day(application.decided_at),
    }


CONTEXTS: dict[str, Callable[[Application, dict[str, Any]], dict[str, Any]]] = {
    K.ACCEPTANCE: _acceptance,
    K.SUPPLEMENT: _supplement,
    K.REFUSAL: _refusal,
    K.DECISION: _decision,
}
