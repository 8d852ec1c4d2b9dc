"""In a real browser: the policy office issues a batch of fund approval forms, a finance officer
opens the batch, prints (downloads) it, and checks a form on the verification page."""

from __future__ import annotations

import subprocess

import pytest
from PIL import Image
from playwright.sync_api import expect

from policywindow.fundforms.models import FormBatch
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures, used here too
    _signing_key_in_scratch,
    make_approved,
    pdf_text,
    people,
    signing_dir,
)

from .conftest import sidebar

pytestmark = pytest.mark.e2e


def test_a_finance_officer_prints_a_batch_and_verifies_a_form(
    page_for,
    shot,
    people,  # noqa: F811
    make_approved,  # noqa: F811
    tmp_path,
):
    cases = [make_approved("沈阳测试数控机床有限公司"), make_approved("大连测试海洋装备有限公司")]

    admin = page_for(people["admin"])
    sidebar(admin).locator('a[data-menu="finance.forms"]').click()
    table = admin.get_by_test_id("case-table")
    for case in cases:
        table.locator(f'tr[data-number="{case.number}"] input[type="checkbox"]').check()
    admin.locator("#batch-label").fill("2026年第一批研发费用后补助")
    expect(admin.get_by_test_id("issue-button")).to_contain_text("（2）")
    shot(admin, "cases-picked")
    admin.on("dialog", lambda dialog: dialog.accept())  # "确定为所选办件出具…？"
    admin.get_by_test_id("issue-button").click()
    expect(admin.locator(".alert").first).to_contain_text("已出具经费审批表 2 份")
    batch = FormBatch.objects.get()
    expect(admin.get_by_test_id("form-table").locator("tbody tr")).to_have_count(2)
    shot(admin, "batch-issued")

    finance = page_for(people["finance_officer"])
    sidebar(finance).locator('a[data-menu="finance.forms"]').click()
    finance.get_by_test_id("fundform-tabs").get_by_text("审批表批次").click()
    finance.get_by_test_id("batch-table").locator(f'tr[data-batch="{batch.pk}"]').get_by_text(
        "查看"
    ).click()
    expect(finance.get_by_test_id("batch-total")).to_have_text("600,000.00 元")
    shot(finance, "batch-detail")
    with finance.expect_download() as download:
        finance.get_by_test_id("batch-pdf").click()
    printed = tmp_path / "batch.pdf"
    download.value.save_as(printed)
    text = pdf_text(printed.read_bytes())
    assert batch.number in text and "沈阳测试数控机床有限公司" in text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "2", str(printed), str(tmp_path / "p")],
        check=True,
    )
    for page in sorted(tmp_path.glob("p*.png")):
        width, height = Image.open(page).size
        assert height / width == pytest.approx(297 / 210, abs=0.01)

    form = batch.forms.order_by("sequence").first()
    finance.get_by_test_id("form-table").locator(f'tr[data-form="{form.pk}"]').get_by_text(
        "查看"
    ).click()
    expect(finance.get_by_test_id("verdict")).to_contain_text("验证通过")
    shot(finance, "form-detail")
    with finance.expect_download() as download:
        finance.get_by_test_id("form-pdf").click()
    single = tmp_path / "form.pdf"
    download.value.save_as(single)
    sidebar(finance).locator('a[data-menu="finance.verify"]').click()
    finance.locator('input[type="file"]').set_input_files(str(single))
    finance.get_by_test_id("verify-button").click()
    expect(finance.get_by_test_id("verdict")).to_contain_text("验证通过")
    expect(finance.get_by_test_id("verdict-details")).to_contain_text(form.number)
    shot(finance, "verified")
