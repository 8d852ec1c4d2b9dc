"""The 法人空间 page: each section shows exactly the enterprise's own data."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.fundforms.models import FormBatch, FundForm
from policywindow.policies.models import RequiredItem
from policywindow.space import selectors
from tests.applications.test_intake_factories import shanghai

pytestmark = pytest.mark.django_db

URL = reverse("space:index")


def _page(login, user) -> str:
    response = login(user).get(URL)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, testid: str) -> str:
    """The element marked ``data-testid=testid`` up to the end of its table or list."""
    start = html.index(f'data-testid="{testid}"')
    end = min(i for i in (html.find("</table>", start), html.find("</ul>", start)) if i > 0)
    return html[start:end]


def test_profile_shows_the_record_with_the_bank_account_masked(world, login):
    html = _page(login, world.a_user)
    profile = _section(html, "space-profile")
    assert world.a.name in profile and world.a.credit_code in profile
    assert "中国工商银行沈阳浑南支行" in profile
    assert world.a.bank_account not in html  # 6222020200112233445 never in full
    assert "3445" in _section(html, "space-bank-account")


def test_every_application_with_its_status_and_deadline(world, login):
    due = shanghai(2026, 11, 20, 0, 0)
    in_review = world.case(S.IN_REVIEW, due_at=due)
    draft = world.case(S.DRAFT, number=None, submitted_at=None)
    refused = world.case(S.NOT_ACCEPTED)
    others = world.case(S.IN_REVIEW, enterprise=world.b)

    cases = _section(_page(login, world.a_user), "space-cases")

    assert f'data-application="{in_review.pk}"' in cases and in_review.number in cases
    assert f'data-application="{draft.pk}"' in cases and "继续填报" in cases
    assert f'data-application="{refused.pk}"' in cases and "不予受理" in cases
    assert others.number not in cases
    row = cases[cases.index(f'data-application="{in_review.pk}"') :]
    assert "审核中" in row and "2026-11-19" in row  # due_at is the midnight ending the 19th


def test_supplement_requests_waiting_link_to_the_supplement_page(world, login):
    waiting = world.case(S.SUPPLEMENT_REQUIRED)
    world.notice(waiting, "营业执照", "研发费用专项审计报告")
    answered = world.case(S.SUBMITTED)
    world.notice(answered, "旧的补正事项", resolved=True)
    b_waiting = world.case(S.SUPPLEMENT_REQUIRED, enterprise=world.b)
    world.notice(b_waiting, "别家的补正")

    html = _page(login, world.a_user)
    section = _section(html, "space-waiting")

    assert waiting.number in section and "营业执照、研发费用专项审计报告" in section
    assert reverse("applications:apply_supplement", args=[waiting.pk]) in section
    assert "旧的补正事项" not in html and "别家的补正" not in html
    assert 'data-testid="stat-waiting">1<' in html


def test_no_waiting_section_when_nothing_waits(world, login):
    world.case(S.IN_REVIEW)
    assert 'data-testid="space-waiting"' not in _page(login, world.a_user)


def _form(world, application, amount: str) -> FundForm:
    """A fund form row as issuing leaves it (its file is not needed here)."""
    batch, _ = FormBatch.objects.get_or_create(
        number="测试汇〔2026〕001号",
        defaults={"year": 2026, "sequence": 1, "created_by": world.admin, "created_at": world.now},
    )
    return FundForm.objects.create(
        application=application,
        batch=batch,
        number=f"测试〔2026〕{application.pk:04d}号",
        year=2026,
        sequence=application.pk,
        content={},
        approved_amount=Decimal(amount),
        issued_by=world.admin,
        issued_at=world.now,
    )


def test_money_per_year_counts_approved_and_paid_cases_only(world, login):
    world.case(S.APPROVED, year=2025, approved_amount=Decimal("100000.00"))
    world.case(S.IN_PUBLICITY, year=2026, approved_amount=Decimal("50000.00"))
    paid = world.case(S.DISBURSED, year=2026, approved_amount=Decimal("320000.00"))
    _form(world, paid, "300000.00")  # the form's approved amount is what finance paid
    world.case(S.ARCHIVED, year=2026, approved_amount=Decimal("20000.00"))  # paid, no form row
    world.case(S.REJECTED, year=2026, approved_amount=Decimal("999999.00"))
    world.case(S.IN_REVIEW, year=2026, approved_amount=Decimal("888888.00"))
    world.case(S.DISBURSED, enterprise=world.b, year=2026, approved_amount=Decimal("777777.00"))

    years = selectors.money_by_year(world.a)

    assert [
        (y.year, y.approved, y.approved_count, y.disbursed, y.disbursed_count) for y in years
    ] == [
        (2026, Decimal("390000.00"), 3, Decimal("320000.00"), 2),
        (2025, Decimal("100000.00"), 1, Decimal("0.00"), 0),
    ]
    money = _section(_page(login, world.a_user), "space-money")
    assert "390,000.00" in money and "320,000.00" in money and "100,000.00" in money
    assert "777,777.00" not in money


def test_materials_on_file_are_the_latest_of_each_kind(world, login):
    RequiredItem.objects.filter(rule_version=world.version, key="audit_report").update(
        material_code="rd_audit_report"
    )
    world.material("rd_audit_report", "2024年审计报告.pdf")
    newest = world.material("rd_audit_report", "2025年审计报告.pdf")
    world.material("business_license", "营业执照.pdf")
    world.material("", "无类别的附件.pdf")
    world.material("rd_audit_report", "别家的审计报告.pdf", enterprise=world.b)

    kinds = {kind.code: kind for kind in selectors.materials_on_file(world.a)}

    assert set(kinds) == {"rd_audit_report", "business_license"}
    assert kinds["rd_audit_report"].latest == newest
    assert kinds["rd_audit_report"].versions == 2
    assert kinds["rd_audit_report"].label == "研发费用专项审计报告"  # the required item's label
    assert kinds["business_license"].label == "business_license"  # no item names it
    section = _section(_page(login, world.a_user), "space-materials")
    assert "2025年审计报告.pdf" in section and "2024年审计报告.pdf" not in section
    assert newest.sha256 in section
    assert reverse("applications:material_download", args=[newest.pk]) in section
    assert "别家的审计报告" not in section and "无类别的附件" not in section


def test_stats_count_cases_in_progress(world, login):
    for status in (S.SUBMITTED, S.IN_REVIEW, S.IN_FINANCE):
        world.case(status)
    world.case(S.REJECTED)
    html = _page(login, world.a_user)
    assert re.search(r'data-testid="stat-in-progress">3<', html)


def test_a_user_without_an_enterprise_is_told_how_to_link(make_user, login):
    lone = make_user("space_lone", "enterprise", kind="enterprise")
    html = _page(login, lone)
    assert 'data-testid="space-not-linked"' in html and "尚未关联企业" in html
