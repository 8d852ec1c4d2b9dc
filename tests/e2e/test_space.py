"""法人空间 in the browser: the enterprise signs in, lands in its space, sees its applications
and a 补正 request, and downloads a document whose SHA-256 matches the one shown."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.models import SupplementNotice
from policywindow.fundforms import services as fundform_services
from policywindow.space import services as space_services
from policywindow.system.models import User
from tests.applications.test_intake_factories import (
    make_case,
    make_enterprise,
    make_member,
    make_version,
)

from .conftest import at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _signing_key_in_scratch(settings, tmp_path):
    settings.POLICYWINDOW_SIGNING_DIR = tmp_path / "signing"
    settings.POLICYWINDOW_SIGNING_PKCS12 = ""
    settings.POLICYWINDOW_SIGNING_TRUSTED_CERTS = []


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.POLICYWINDOW_SITE_URL = "https://zwfw.example.gov.cn"  # the sweep prints it


def _cases(make_department, make_user):
    """One enterprise with a case in review, one waiting for 补正 and one paid with its form."""
    department = make_department("省科学技术厅")
    clerk = make_user("e2e_clerk", "window_clerk", real_name="窗口王")
    admin = make_user("e2e_admin", "policy_admin", real_name="孙政策")
    agent = make_user("space_agent", "enterprise", kind=User.Kind.ENTERPRISE, real_name="李经办")
    enterprise = make_enterprise("沈阳新松演示机器人自动化股份有限公司")
    enterprise.bank_name = "中国工商银行沈阳浑南支行"
    enterprise.save()
    make_member(agent, enterprise)
    version = make_version(department, title="研发费用后补助（演示）")
    now = timezone.now()

    reviewing = make_case(version, enterprise, agent, status=S.IN_REVIEW)
    reviewing.accepted_at, reviewing.due_at = now - dt.timedelta(days=2), now + dt.timedelta(days=4)
    reviewing.save()
    waiting = make_case(version, enterprise, agent, status=S.SUPPLEMENT_REQUIRED)
    SupplementNotice.objects.create(
        application=waiting,
        items=[{"key": "audit_report", "label": "研发费用专项审计报告", "comment": "请加盖公章"}],
        issued_by=clerk,
        issued_at=now,
    )
    paid = make_case(version, enterprise, agent, status=S.PUBLICITY_PASSED)
    paid.accepted_at, paid.decided_at = now - dt.timedelta(days=9), now - dt.timedelta(days=6)
    paid.approved_amount = Decimal("300000.00")
    paid.save()
    fundform_services.issue_batch(admin, [paid.pk], label="2026年第一批")
    paid.status = S.DISBURSED
    paid.save(update_fields=["status"])
    space_services.issue_missing()  # what the worker does a few minutes after each step
    return agent, reviewing, waiting, paid


def test_enterprise_lands_in_its_space_and_downloads_a_verified_document(
    page_for, make_department, make_user, shot, tmp_path
):
    agent, reviewing, waiting, paid = _cases(make_department, make_user)

    page = page_for(agent)

    expect(page).to_have_url(at("/portal/space/"))
    expect(page.locator("h1.pw-title")).to_have_text("法人空间")
    expect(page.get_by_test_id("space-profile")).to_contain_text(
        "沈阳新松演示机器人自动化股份有限公司"
    )
    expect(page.get_by_test_id("space-bank-account")).not_to_have_text("6222020200112233445")
    cases = page.get_by_test_id("space-cases")
    for case in (reviewing, waiting, paid):
        expect(cases).to_contain_text(case.number)
    expect(cases.locator(f'tr[data-application="{reviewing.pk}"]')).to_contain_text("审核中")
    expect(cases.locator(f'tr[data-application="{paid.pk}"]')).to_contain_text("已拨付")
    waiting_card = page.get_by_test_id("space-waiting")
    expect(waiting_card).to_contain_text(waiting.number)
    expect(waiting_card).to_contain_text("研发费用专项审计报告")
    expect(page.get_by_test_id("stat-disbursed")).to_contain_text("300,000.00")
    shot(page, "space")

    row = page.locator(
        f'[data-testid="space-documents"] tr[data-kind="acceptance"][data-application="{paid.pk}"]'
    )
    shown = row.get_by_test_id("doc-sha256").inner_text().strip()
    with page.expect_download() as download:
        row.get_by_test_id("doc-download").click()
    saved = tmp_path / "receipt.pdf"
    download.value.save_as(saved)
    assert hashlib.sha256(Path(saved).read_bytes()).hexdigest() == shown

    form_row = page.locator('[data-testid="space-documents"] tr[data-kind="fund_form"]')
    form_row.get_by_test_id("doc-verify").click()
    expect(page.get_by_test_id("verdict")).to_contain_text("验证通过")
    shot(page, "verification")

    page.goto("/portal/space/")
    page.get_by_test_id("space-resubmit").click()
    expect(page).to_have_url(at(f"/portal/apply/{waiting.pk}/supplement/"))
