"""A fund-form batch whose PDFs cannot be printed (no CJK font) fails on its page, stores no
file, and is made once the fonts are there (core/pdf_render.py)."""

from __future__ import annotations

import pytest

from policywindow.fundforms import services
from tests.pdf_fonts import _own_fontconfig, without_cjk_fonts  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_batch_fails_with_the_reason_and_stores_no_pdf(
    people,
    approved,
    without_cjk_fonts,  # noqa: F811
    login,
):
    batch = services.issue_batch(people["admin"], [approved.pk], label="字体缺失")
    services.produce_files(batch)

    batch.refresh_from_db()
    form = batch.forms.get()
    assert batch.files_failed >= 2 and batch.files_done == 0  # the form's PDF and the batch's
    assert f"{batch.number}：政策兑现经费审批汇总表 {batch.number} 未生成" in batch.files_error
    assert "npm ci" in batch.files_error
    assert form.sha256 == "" and not form.pdf and batch.sha256 == "" and not batch.pdf
    page = login(people["admin"]).get(f"/fundforms/batches/{batch.pk}/").content.decode()
    assert "未生成" in page and "npm ci" in page
