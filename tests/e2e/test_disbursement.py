"""In a real browser: the policy office submits a printed batch to finance, a finance officer
signs for it, is refused a wrong amount on the field, records one payment by hand and the
other from the bank's statement (reconciliation report, then confirmation)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.models import Disbursement, FinanceSubmission
from policywindow.fundforms import services as fundforms
from tests.finance.payments import workbook
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures, used here too
    _signing_key_in_scratch,
    make_approved,
    people,
    signing_dir,
)

from .conftest import field_error, sidebar

pytestmark = pytest.mark.e2e


def test_finance_signs_for_a_batch_and_records_a_payment(
    page_for,
    shot,
    people,  # noqa: F811
    make_approved,  # noqa: F811
    tmp_path,
):
    cases = [make_approved("沈阳测试数控机床有限公司"), make_approved("大连测试海洋装备有限公司")]
    batch = fundforms.issue_batch(people["admin"], [c.pk for c in cases], label="2026年第一批")
    first = batch.forms.order_by("sequence").first()

    admin = page_for(people["admin"])
    sidebar(admin).locator('a[data-menu="finance.submission"]').click()
    row = admin.get_by_test_id("submission-table").locator(f'tr[data-batch="{batch.pk}"]')
    expect(row.get_by_test_id("submission-status")).to_have_text("未报送")
    shot(admin, "list")
    row.get_by_text("查看").click()
    admin.on("dialog", lambda dialog: dialog.accept())  # "确定将该批次报送财政？"
    admin.get_by_test_id("submit-button").click()
    expect(admin.locator(".alert").first).to_contain_text("已报送财政")
    expect(admin.get_by_test_id("submission-status")).to_have_text("待签收")
    shot(admin, "submitted")

    finance = page_for(people["finance_officer"])
    sidebar(finance).locator('a[data-menu="finance.submission"]').click()
    finance.get_by_test_id("submission-table").locator(f'tr[data-batch="{batch.pk}"]').get_by_text(
        "查看"
    ).click()
    expect(finance.get_by_test_id("batch-total")).to_have_text("600,000.00 元")
    finance.get_by_test_id("receive-button").click()
    expect(finance.get_by_test_id("submission-status")).to_have_text("已签收")
    shot(finance, "received")

    finance.locator(f'tr[data-form="{first.pk}"]').get_by_test_id("record-payment").click()
    expect(finance.get_by_test_id("approved-amount")).to_have_text("300,000.00 元")
    finance.locator("#id_amount").fill("290000")
    finance.locator("#id_voucher").fill("GK2026-210000-000101")
    finance.get_by_test_id("save-payment").click()
    expect(field_error(finance, "amount")).to_contain_text("核定金额 300,000.00 元")
    shot(finance, "wrong-amount")
    finance.locator("#id_amount").fill("300,000.00")
    finance.get_by_test_id("save-payment").click()
    expect(finance.locator(".alert").first).to_contain_text("已登记拨付")
    payment = finance.locator(f'tr[data-form="{first.pk}"]').get_by_test_id("payment")
    expect(payment).to_contain_text("已拨付")
    shot(finance, "paid")

    paid = Disbursement.objects.get()
    assert (paid.fund_form, paid.voucher) == (first, "GK2026-210000-000101")
    assert paid.application.status == S.DISBURSED

    # The bank's statement names both forms: one is paid already, the other is recorded.
    second = batch.forms.order_by("sequence").last()
    statement = tmp_path / "回单.xlsx"
    statement.write_bytes(
        workbook(
            [
                (first.number, "", "", 300000, "2026-11-20", "GK2026-210000-000101"),
                (second.number, "", "", 300000, "2026-11-20", "GK2026-210000-000102"),
            ]
        )
    )
    sidebar(finance).locator('a[data-menu="finance.disbursement"]').click()
    shot(finance, "disbursements")
    finance.get_by_test_id("import-link").click()
    finance.locator('input[type="file"]').set_input_files(str(statement))
    finance.get_by_test_id("upload-button").click()
    report = finance.get_by_test_id("report-table")
    expect(report.locator('tr[data-line="3"]')).to_contain_text("已拨付")
    expect(report.locator('tr[data-line="4"]')).to_contain_text("可入账")
    shot(finance, "reconciliation")
    finance.on("dialog", lambda dialog: dialog.accept())  # "确定登记可入账的行？"
    finance.get_by_test_id("confirm-import").click()
    expect(finance.locator(".alert").first).to_contain_text("已确认入账 1 行")
    expect(report.locator('tr[data-line="4"]')).to_contain_text("已入账")
    shot(finance, "imported")
    assert Disbursement.objects.count() == 2
    assert FinanceSubmission.objects.get().status == FinanceSubmission.Status.RECEIVED
