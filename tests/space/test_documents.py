"""Documents of 法人空间: issued once, downloaded with the SHA-256 the page shows, and only by
the enterprise they belong to."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.urls import reverse

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.models import AuditEvent
from policywindow.space import documents, services, tasks
from policywindow.space.models import DocumentKind as K
from policywindow.space.models import SpaceDocument

from .conftest import body, pdf_text

pytestmark = pytest.mark.django_db


def _issue_url(application: Application, kind: str) -> str:
    return reverse("space:issue", args=[application.pk, kind])


def test_a_receipt_is_issued_on_first_download_and_its_hash_shown(world, login):
    case = world.case(S.SUBMITTED)
    client = login(world.a_user)
    page = client.get(reverse("space:index")).content.decode()
    assert _issue_url(case, K.RECEIPT) in page and "首次下载时出具并登记" in page

    first = client.get(_issue_url(case, K.RECEIPT))
    data = body(first)

    assert first.status_code == 200 and data.startswith(b"%PDF-")
    stored = SpaceDocument.objects.get(application=case, kind=K.RECEIPT)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert "申报回执" in pdf_text(data) and case.number in pdf_text(data)
    assert AuditEvent.objects.filter(action="space.document.issue", object_id=str(stored.pk))
    page = client.get(reverse("space:index")).content.decode()
    assert stored.sha256 in page
    assert reverse("space:document", args=[stored.pk]) in page
    again = body(client.get(reverse("space:document", args=[stored.pk])))
    assert again == data  # the very file whose hash is shown
    assert body(client.get(_issue_url(case, K.RECEIPT))) == data  # never issued twice
    assert SpaceDocument.objects.filter(application=case).count() == 1


def test_an_accepted_case_gets_an_acceptance_notice_and_keeps_its_filing_receipt(world, login):
    case = world.case(S.SUBMITTED)
    filed = services.issue(case, K.RECEIPT)
    Application.objects.filter(pk=case.pk).update(
        status=S.IN_REVIEW, accepted_at=case.submitted_at, accepted_by=world.clerk
    )
    case.refresh_from_db()

    assert [due.kind for due in documents.due_documents(case)] == [K.ACCEPTANCE]
    accepted = services.issue(case, K.ACCEPTANCE)
    client = login(world.a_user)
    assert "受理通知书" in pdf_text(body(client.get(reverse("space:document", args=[accepted.pk]))))
    page = client.get(reverse("space:index")).content.decode()
    assert filed.sha256 in page and accepted.sha256 in page
    assert client.get(_issue_url(case, K.RECEIPT)).status_code == 404  # no longer issuable


def test_an_approval_notice_states_the_amount_in_figures_and_capitals(world, login):
    case = world.case(S.APPROVED, approved_amount=Decimal("1200000.05"))
    data = body(login(world.a_user).get(_issue_url(case, K.DECISION)))
    text = pdf_text(data)
    assert "审核结果告知书" in text and "审核通过" in text
    assert "1,200,000.05" in text and "壹佰贰拾万元零伍分" in text


def test_a_rejection_notice_gives_the_reviewers_reason(world, login):
    case = world.case(S.REJECTED)
    world.event(case, "review_reject", "研发费用归集不符合规定，不予支持")
    text = pdf_text(body(login(world.a_user).get(_issue_url(case, K.DECISION))))
    assert "审核不通过" in text and "研发费用归集不符合规定" in text


def test_a_refusal_notice_gives_the_windows_reason(world, login):
    case = world.case(S.NOT_ACCEPTED)
    world.event(case, "refuse", "申报主体不在本政策支持范围内")
    text = pdf_text(body(login(world.a_user).get(_issue_url(case, K.REFUSAL))))
    assert "不予受理决定书" in text and "申报主体不在本政策支持范围内" in text


def test_a_document_not_earned_is_not_issued(world, login):
    case = world.case(S.IN_REVIEW)
    assert login(world.a_user).get(_issue_url(case, K.DECISION)).status_code == 404
    assert login(world.a_user).get(_issue_url(case, "nonsense")).status_code == 404
    assert not SpaceDocument.objects.filter(kind=K.DECISION).exists()


def test_signed_fund_form_downloads_with_its_hash_and_verifies(world, login):
    case = world.case(S.PUBLICITY_PASSED, approved_amount=Decimal("300000.00"))
    form = world.fund_form(case)
    client = login(world.a_user)

    data = body(client.get(reverse("space:fund_form_pdf", args=[form.pk])))
    form.refresh_from_db()

    assert form.sha256 == hashlib.sha256(data).hexdigest()
    page = client.get(reverse("space:index")).content.decode()
    assert form.sha256 in page and form.number in page
    assert reverse("space:fund_form_verification", args=[form.pk]) in page
    assert "测试批次" not in page and world.admin.real_name not in page  # internal details
    verdict = client.get(reverse("space:fund_form_verification", args=[form.pk])).content.decode()
    assert 'data-valid="1"' in verdict and 'data-matches="1"' in verdict
    assert "叁拾万元整" in verdict and form.sha256 in verdict


def test_another_enterprise_gets_404_for_every_document(world, login):
    case = world.case(S.PUBLICITY_PASSED, approved_amount=Decimal("300000.00"))
    receipt = services.issue(case, K.ACCEPTANCE)
    form = world.fund_form(case)
    material = world.material("business_license", "营业执照.pdf")
    other = login(world.b_user)

    urls = [
        reverse("space:document", args=[receipt.pk]),
        _issue_url(case, K.DECISION),
        _issue_url(case, K.ACCEPTANCE),
        reverse("space:fund_form_pdf", args=[form.pk]),
        reverse("space:fund_form_verification", args=[form.pk]),
        reverse("applications:material_download", args=[material.pk]),
    ]
    assert [other.get(url).status_code for url in urls] == [404] * len(urls)
    page = other.get(reverse("space:index")).content.decode()
    assert case.number not in page and receipt.sha256 not in page and form.number not in page
    assert SpaceDocument.objects.filter(kind=K.DECISION).count() == 0  # nothing issued for B
    owner = login(world.a_user)
    assert [owner.get(url).status_code for url in urls] == [200] * len(urls)


def test_staff_cannot_open_the_space_or_its_documents(world, login):
    receipt = services.issue(world.case(S.SUBMITTED), K.RECEIPT)
    clerk = login(world.clerk)
    assert clerk.get(reverse("space:index")).status_code == 403
    assert clerk.get(reverse("space:document", args=[receipt.pk])).status_code == 403


# ---------------------------------------------------------------- the sweep


def test_the_sweep_issues_what_was_earned_once(world):
    submitted = world.case(S.SUBMITTED)
    approved = world.case(S.APPROVED, approved_amount=Decimal("50000.00"))
    world.case(S.DRAFT, number=None, submitted_at=None)
    world.case(S.IN_REVIEW, enterprise=world.b)

    assert tasks.issue_documents.call() == 4  # receipt; acceptance + decision; B's acceptance
    assert tasks.issue_documents.call() == 0

    issued = set(SpaceDocument.objects.values_list("application_id", "kind"))
    assert {
        (submitted.pk, K.RECEIPT),
        (approved.pk, K.ACCEPTANCE),
        (approved.pk, K.DECISION),
    } < issued


def test_the_sweep_stops_at_its_limit(world):
    for _ in range(3):
        world.case(S.SUBMITTED)
    assert services.issue_missing(limit=2) == 2
    assert services.issue_missing(limit=2) == 1


@pytest.mark.parametrize("status", [s for s, _ in S.choices])
def test_each_rule_reads_the_same_as_predicate_and_query(world, status):
    """The page (predicate) and the sweep (query) agree on what a case has earned."""
    case = world.case(status, approved_amount=Decimal("1000.00"))
    by_predicate = {due.kind for due in documents.due_documents(case)}
    by_query = {
        rule.kind
        for rule in documents.RULES
        if documents.with_bases(Application.objects.all()).filter(rule.when, pk=case.pk).exists()
    }
    assert by_predicate == by_query
