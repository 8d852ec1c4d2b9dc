"""Reads of 法人空间: everything this product holds about the signed-in user's own enterprise.

Strict data scope: every read starts from ``enterprise_of(user)`` (the user's membership);
another enterprise's document, form or file is a 404, never a hint that it exists. The space
page reads a fixed number of queries however many applications the enterprise has.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, Q, Sum, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse

from policywindow.applications.models import Application, Material, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import deadline_marks, due_date, enterprise_applications
from policywindow.core.deadlines import DeadlineMark
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_of
from policywindow.finance.services.budgets import GRANTED
from policywindow.fundforms.models import FundForm
from policywindow.policies.models import RequiredItem

from . import documents
from .models import SpaceDocument

# Paid: the finance bureau has disbursed the approved amount (and the case may be closed).
PAID = (S.DISBURSED, S.ARCHIVED)
# Statuses the enterprise still waits on the government for.
IN_PROGRESS = (
    S.SUBMITTED,
    S.IN_REVIEW,
    S.APPROVED,
    S.IN_PUBLICITY,
    S.PUBLICITY_PASSED,
    S.OBJECTION,
    S.IN_FINANCE,
)
# An application's big JSON columns: the space lists cases, it does not show their forms.
HEAVY_COLUMNS = ("form_snapshot", "answers", "eligibility", "fund_form__content")
MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Document:
    """One downloadable document with what verifies it."""

    title: str
    kind: str
    url: str
    sha256: str = ""  # empty: issued on the first download, then recorded
    size: int | None = None
    issued_at: dt.datetime | None = None
    verify_url: str = ""
    number: str = ""

    @property
    def pending_note(self) -> str:
        """What stands in for the SHA-256 before the file exists."""
        if self.kind == "fund_form":
            return "签章文件生成中，下载时登记"
        return "首次下载时出具并登记"


@dataclass(frozen=True)
class CaseRow:
    application: Application
    due_on: dt.date | None
    deadline: DeadlineMark | None
    notice: SupplementNotice | None
    documents: list[Document] = field(default_factory=list)

    @property
    def fund_form(self) -> FundForm | None:
        return getattr(self.application, "fund_form", None)


@dataclass(frozen=True)
class YearMoney:
    year: int
    approved: Decimal
    approved_count: int
    disbursed: Decimal
    disbursed_count: int


@dataclass(frozen=True)
class MaterialKind:
    code: str
    label: str
    latest: Material
    versions: int


@dataclass(frozen=True)
class Space:
    enterprise: Enterprise
    cases: list[CaseRow]
    money: list[YearMoney]
    materials: list[MaterialKind]

    @property
    def waiting(self) -> list[CaseRow]:
        """补正 the enterprise has to answer, oldest notice first."""
        rows = [row for row in self.cases if row.notice is not None]
        return sorted(rows, key=lambda row: row.notice.issued_at)

    @property
    def in_progress(self) -> int:
        return sum(1 for row in self.cases if row.application.status in IN_PROGRESS)

    @property
    def approved_total(self) -> Decimal:
        return sum((year.approved for year in self.money), ZERO)

    @property
    def disbursed_total(self) -> Decimal:
        return sum((year.disbursed for year in self.money), ZERO)

    @property
    def documents(self) -> list[tuple[Application, Document]]:
        """Every document of every case, newest case first."""
        return [(row.application, doc) for row in self.cases for doc in row.documents]


# ---------------------------------------------------------------- the space page


def space_of(user) -> Space | None:
    """The user's enterprise and all of its sections, or None when the user acts for none."""
    enterprise = enterprise_of(user)
    if enterprise is None:
        return None
    applications = list(
        documents.with_bases(enterprise_applications(user))
        .select_related("fund_form", "department")
        .defer(*HEAVY_COLUMNS)
    )
    return Space(
        enterprise=enterprise,
        cases=_case_rows(applications),
        money=money_by_year(enterprise),
        materials=materials_on_file(enterprise),
    )


def _case_rows(applications: list[Application]) -> list[CaseRow]:
    marks = deadline_marks(applications)
    notices = _open_notices(applications)
    stored = _stored_documents(applications)
    return [
        CaseRow(
            application=application,
            due_on=due_date(application),
            deadline=marks.get(application.pk),
            notice=notices.get(application.pk),
            documents=documents_of(application, stored.get(application.pk, [])),
        )
        for application in applications
    ]


def _open_notices(applications: list[Application]) -> dict[int, SupplementNotice]:
    """The unanswered 补正 notice of each case waiting for the enterprise (one query)."""
    waiting = [a.pk for a in applications if a.status == S.SUPPLEMENT_REQUIRED]
    if not waiting:
        return {}
    notices = SupplementNotice.objects.filter(
        application_id__in=waiting, resolved_at__isnull=True
    ).order_by("application_id", "-issued_at", "-id")
    found: dict[int, SupplementNotice] = {}
    for notice in notices:
        found.setdefault(notice.application_id, notice)
    return found


def _stored_documents(applications: list[Application]) -> dict[int, list[SpaceDocument]]:
    filed = [a.pk for a in applications if a.number]
    by_case: dict[int, list[SpaceDocument]] = defaultdict(list)
    if filed:
        for document in SpaceDocument.objects.filter(application_id__in=filed):
            by_case[document.application_id].append(document)
    return by_case


def documents_of(application: Application, stored: list[SpaceDocument]) -> list[Document]:
    """Issued receipts and notices, the ones earned but not issued yet, then the fund form."""
    rows = [_stored(document) for document in stored]
    on_file = {(document.kind, document.basis) for document in stored}
    rows += [
        Document(
            title=due.title,
            kind=due.kind,
            url=reverse("space:issue", args=[application.pk, due.kind]),
        )
        for due in documents.due_documents(application)
        if (due.kind, due.basis) not in on_file
    ]
    form = getattr(application, "fund_form", None)
    if form is not None:
        rows.append(_fund_form(form))
    return rows


def _stored(document: SpaceDocument) -> Document:
    return Document(
        title=document.get_kind_display(),
        kind=document.kind,
        url=reverse("space:document", args=[document.pk]),
        sha256=document.sha256,
        size=document.size,
        issued_at=document.issued_at,
    )


def _fund_form(form: FundForm) -> Document:
    """What an enterprise sees of its fund approval form: number, date, file and verification.
    Not the issuing officer, the batch (it lists other enterprises) or the reviewers' opinions
    on the page — those are in the signed PDF, which is the enterprise's own document."""
    return Document(
        title="政策兑现经费审批表",
        kind="fund_form",
        url=reverse("space:fund_form_pdf", args=[form.pk]),
        sha256=form.sha256,
        issued_at=form.issued_at,
        verify_url=reverse("space:fund_form_verification", args=[form.pk]),
        number=form.number,
    )


def money_by_year(enterprise: Enterprise) -> list[YearMoney]:
    """Per application year (申报年度), newest first: the amounts approved (审核通过 and every
    later step) and the amounts paid (已拨付 / 已办结, as the fund form approved them)."""
    granted, paid = Q(status__in=GRANTED), Q(status__in=PAID)
    paid_amount = Coalesce("fund_form__approved_amount", "approved_amount", output_field=MONEY)
    rows = (
        Application.objects.filter(granted, enterprise=enterprise, approved_amount__isnull=False)
        .values("year")
        .annotate(
            approved=Sum("approved_amount"),
            approved_count=Count("pk"),
            disbursed=Sum(Case(When(paid, then=paid_amount), default=ZERO, output_field=MONEY)),
            disbursed_count=Count("pk", filter=paid),
        )
        .order_by("-year")
    )
    return [
        YearMoney(
            year=row["year"],
            approved=Decimal(row["approved"] or ZERO),
            approved_count=row["approved_count"],
            disbursed=Decimal(row["disbursed"] or ZERO),
            disbursed_count=row["disbursed_count"],
        )
        for row in rows
    ]


def materials_on_file(enterprise: Enterprise) -> list[MaterialKind]:
    """Per material kind (材料类别): its latest file and how many versions the enterprise
    uploaded. The one form offers these again for an item of the same kind (two queries)."""
    rows = (
        Material.objects.filter(enterprise=enterprise)
        .exclude(material_code="")
        .only("material_code", "original_name", "size", "sha256", "uploaded_at")
    )
    latest: dict[str, Material] = {}
    versions: dict[str, int] = defaultdict(int)
    for material in rows.order_by("-uploaded_at", "-id"):
        latest.setdefault(material.material_code, material)
        versions[material.material_code] += 1
    labels = dict(
        RequiredItem.objects.filter(material_code__in=list(latest))
        .order_by("rule_version_id")  # the newest version's label wins
        .values_list("material_code", "label")
    )
    return [
        MaterialKind(code, labels.get(code, code), material, versions[code])
        for code, material in sorted(latest.items(), key=lambda kv: labels.get(kv[0], kv[0]))
    ]


# ---------------------------------------------------------------- one document (404 otherwise)


def own_application(user, pk: int) -> Application:
    """A filed application of the user's enterprise, with what its documents print."""
    return get_object_or_404(
        documents.with_bases(enterprise_applications(user))
        .exclude(number=None)
        .select_related("rule__policy", "department", "applicant", "accepted_by"),
        pk=pk,
    )


def case_documents(application: Application) -> list[Document]:
    """The receipts and notices of one case in the order of the case (its page lists them)."""
    stored = (
        list(SpaceDocument.objects.filter(application=application)) if application.number else []
    )
    order = {rule.kind: n for n, rule in enumerate(documents.RULES)}
    return sorted(
        documents_of(application, stored), key=lambda doc: order.get(doc.kind, len(order))
    )


def own_document(user, pk: int) -> SpaceDocument:
    enterprise = enterprise_of(user)
    return get_object_or_404(
        SpaceDocument.objects.select_related("application"),
        pk=pk,
        application__enterprise=enterprise,
    )


def own_fund_form(user, pk: int) -> FundForm:
    enterprise = enterprise_of(user)
    return get_object_or_404(
        FundForm.objects.select_related("application"), pk=pk, application__enterprise=enterprise
    )
