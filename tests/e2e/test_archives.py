"""In a real browser: the batch page follows the making of its signed files; the policy office
archives disbursed cases (one at once, two in a background batch whose progress the page
follows); the enterprise downloads its own archive."""

from __future__ import annotations

import hashlib
import threading
import zipfile

import pytest
from django.db import connection
from playwright.sync_api import expect

from policywindow.archives import services as archives
from policywindow.archives.models import Archive, ArchiveBatch
from policywindow.enterprises.models import EnterpriseMember
from policywindow.fundforms import services as fundforms
from tests.archives.conftest import make_disbursed  # noqa: F401  the archive fixtures
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures, used here too
    _signing_key_in_scratch,
    make_approved,
    people,
    signing_dir,
)
from tests.waiting import join_all

from .conftest import TIMEOUT_MS, sidebar

pytestmark = pytest.mark.e2e


def as_worker(job, *args) -> None:
    """Run a background task's work in a thread of its own, as the worker process would
    (pyHanko runs its own event loop, which Playwright's loop in this thread would refuse)."""

    def run() -> None:
        try:
            job(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    join_all([thread])


def test_the_batch_page_follows_its_files_being_made(
    page_for,
    shot,
    people,  # noqa: F811
    make_approved,  # noqa: F811
):
    cases = [make_approved("沈阳测试数控机床有限公司"), make_approved("大连测试海洋装备有限公司")]
    batch = fundforms.issue_batch(people["admin"], [c.pk for c in cases], label="2026年第一批")
    finance = page_for(people["finance_officer"])
    finance.goto(f"/fundforms/batches/{batch.pk}/")
    files = finance.get_by_test_id("batch-files")
    expect(files).to_contain_text("已完成 0/3")
    shot(finance, "files-queued")
    as_worker(fundforms.produce_files, batch)
    expect(files).to_have_attribute("data-state", "ready", timeout=TIMEOUT_MS)  # polled, no reload
    expect(files).to_contain_text("已完成 3/3")
    shot(finance, "files-ready")


def test_archiving_disbursed_cases_and_the_enterprise_download(
    page_for,
    shot,
    people,  # noqa: F811
    make_disbursed,  # noqa: F811
    tmp_path,
):
    one, *pair = (
        make_disbursed(name)
        for name in ("沈阳测试数控机床有限公司", "大连测试海洋装备有限公司", "鞍山测试钢铁有限公司")
    )
    admin = page_for(people["admin"])
    sidebar(admin).locator('a[data-menu="finance.archive"]').click()
    table = admin.get_by_test_id("case-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    table.locator(f'tr[data-number="{one.number}"] input[type="checkbox"]').check()
    shot(admin, "disbursed-cases")
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.get_by_test_id("archive-button").click()
    expect(admin.locator(".alert").first).to_contain_text(f"办件 {one.number} 已归档")
    expect(admin.get_by_test_id("archive-table").locator("tbody tr")).to_have_count(1)
    shot(admin, "archived-one")

    admin.get_by_test_id("archive-tabs").get_by_text("待归档").click()
    for case in pair:
        table.locator(f'tr[data-number="{case.number}"] input[type="checkbox"]').check()
    admin.get_by_test_id("archive-button").click()
    progress = admin.get_by_test_id("archive-progress")
    expect(progress).to_contain_text("已归档 0/2")
    shot(admin, "batch-started")
    as_worker(archives.run_batch, ArchiveBatch.objects.get())
    expect(progress).to_contain_text("全部归档完成", timeout=TIMEOUT_MS)  # polled, no reload
    expect(progress).to_contain_text("已归档 2/2")
    shot(admin, "batch-finished")
    admin.get_by_text("查看已归档").click()
    expect(admin.get_by_test_id("archive-table").locator("tbody tr")).to_have_count(3)
    shot(admin, "archived-list")

    owner = EnterpriseMember.objects.get(enterprise=one.enterprise).user
    enterprise = page_for(owner)
    sidebar(enterprise).locator('a[data-menu="portal.archives"]').click()
    rows = enterprise.get_by_test_id("my-archive-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    shot(enterprise, "my-archives")
    with enterprise.expect_download() as download:
        enterprise.get_by_test_id("my-archive-download").click()
    saved = tmp_path / "archive.zip"
    download.value.save_as(saved)
    archive = Archive.objects.get(application=one)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == archive.sha256
    assert "manifest.json" in zipfile.ZipFile(saved).namelist()
