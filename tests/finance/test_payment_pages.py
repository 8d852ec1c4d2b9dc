"""财政报送 and 拨付登记 pages: who sees what, the buttons, field errors, and the files."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.models import Disbursement, FinanceSubmission, PaymentImport
from policywindow.finance.services import disbursements
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed, payment, received, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(people):
    version = make_rule(people)
    make_budget(version, "1000000")
    return issued(people, [passed(people, version, "300000.00"), passed(people, version)])


def detail(batch) -> str:
    return reverse("finance:submission_detail", args=[batch.pk])


def test_the_list_shows_status_totals_and_paid_counts(people, batch, login):
    client = login(people.admin)
    html = client.get(reverse("finance:submission_list")).content.decode()
    row = html[html.index(f'data-batch="{batch.pk}"') :]
    assert "未报送" in row and "620,000.00 元" in row
    received(people, batch)
    form = batch.forms.order_by("sequence").first()
    disbursements.record(people.finance, form.pk, payment("300000.00"))
    html = client.get(reverse("finance:submission_list"), {"status": "received"}).content.decode()
    row = html[html.index(f'data-batch="{batch.pk}"') :]
    assert "已签收" in row
    paid = row[row.index('data-testid="paid"') :]
    assert paid.startswith('data-testid="paid">1 件') and "300,000.00 元" in paid[:120]
    assert '<span class="fw-semibold">1 件</span>' in row[row.index('data-testid="unpaid"') :][:80]
    assert (
        batch.number
        not in client.get(reverse("finance:submission_list"), {"status": "none"}).content.decode()
    )


def test_the_policy_office_submits_and_finance_signs_through_the_pages(people, batch, login):
    admin, finance = login(people.admin), login(people.finance)
    page = admin.get(detail(batch)).content.decode()
    assert 'data-testid="submit-button"' in page and 'data-testid="receive-button"' not in page
    assert admin.post(reverse("finance:submission_submit", args=[batch.pk])).status_code == 302
    assert finance.post(reverse("finance:submission_submit", args=[batch.pk])).status_code == 403
    page = finance.get(detail(batch)).content.decode()
    assert 'data-testid="receive-button"' in page and 'data-testid="return-form"' in page
    assert "**** **** **** " in page  # accounts masked on the page
    assert finance.post(reverse("finance:submission_receive", args=[batch.pk])).status_code == 302
    assert FinanceSubmission.objects.get().status == FinanceSubmission.Status.RECEIVED
    page = finance.get(detail(batch)).content.decode()
    assert page.count('data-testid="record-payment"') == 2


def test_a_return_without_reason_shows_the_field_error(people, batch, login):
    login(people.admin).post(reverse("finance:submission_submit", args=[batch.pk]))
    finance = login(people.finance)
    url = reverse("finance:submission_return", args=[batch.pk])
    answer = finance.post(url, {"reason": ""})
    assert answer.status_code == 400
    assert 'data-field-error="reason"' in answer.content.decode()
    assert finance.post(url, {"reason": "审批表第2份账号有误"}).status_code == 302
    page = finance.get(detail(batch)).content.decode()
    assert "审批表第2份账号有误" in page and "已退回" in page


def test_recording_a_payment_shows_field_errors_then_records_it(people, batch, login):
    received(people, batch)
    form = batch.forms.order_by("sequence").first()
    finance = login(people.finance)
    url = reverse("finance:disbursement_create", args=[form.pk])
    page = finance.get(url).content.decode()
    assert 'value="300000.00"' in page
    wrong = finance.post(url, {"amount": "299999", "paid_on": "2026-11-20", "voucher": "GK-1"})
    assert wrong.status_code == 400
    html = wrong.content.decode()
    error = html[html.index('data-field-error="amount"') :]
    assert "299,999.00 元" in error[:300] and "300,000.00 元" in error[:300]
    empty = finance.post(url, {"amount": "", "paid_on": "", "voucher": ""}).content.decode()
    for field in ("amount", "paid_on", "voucher"):
        assert f'data-field-error="{field}"' in empty
    done = finance.post(url, {"amount": "300,000.00", "paid_on": "2026-11-20", "voucher": "GK-1"})
    assert done.status_code == 302
    assert Disbursement.objects.get().application.status == S.DISBURSED
    again = finance.post(url, {"amount": "300000", "paid_on": "2026-11-20", "voucher": "GK-2"})
    assert "不能重复拨付" in again.content.decode()
    assert login(people.admin).get(url).status_code == 403


def test_payment_instructions_as_csv_with_bom_and_as_json(people, batch, login):
    admin = login(people.admin)
    csv_url = reverse("finance:submission_instructions_csv", args=[batch.pk])
    refused = admin.get(csv_url)
    assert refused.status_code == 302  # not submitted yet: back to the page with the reason
    admin.post(reverse("finance:submission_submit", args=[batch.pk]))
    answer = admin.get(csv_url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "审批表编号",
        "收款单位",
        "统一社会信用代码",
        "开户银行",
        "银行账号",
        "金额（元）",
        "用途",
    ]
    forms = list(batch.forms.order_by("sequence"))
    assert [r[0] for r in rows[1:]] == [f.number for f in forms]
    first = forms[0].content["enterprise"]
    assert rows[1][1:6] == [
        first["name"],
        first["credit_code"],
        first["bank_name"],
        first["bank_account"],
        "300000.00",
    ]
    assert forms[0].number in rows[1][6] and "政策兑现资金" in rows[1][6]
    body = json.loads(
        login(people.finance)
        .get(reverse("finance:submission_instructions_json", args=[batch.pk]))
        .content
    )
    assert body["batch"] == batch.number and body["count"] == 2
    assert body["instructions"][1]["amount"] == "320000.00"
    assert login(people.bureau).get(csv_url).status_code == 403


def test_importing_a_statement_through_the_pages(people, batch, login):
    received(people, batch)
    first, second = batch.forms.order_by("sequence")
    finance = login(people.finance)
    upload = reverse("finance:import_upload")
    bad = finance.post(upload, {"file": SimpleUploadedFile("回单.xlsx", b"PK\x03\x04broken")})
    assert bad.status_code == 400 and 'data-field-error="file"' in bad.content.decode()
    data = workbook(
        [
            (first.number, "", "", 300000, "2026-11-20", "GK-1"),
            (second.number, "", "", 1, "2026-11-20", "GK-2"),
        ]
    )
    answer = finance.post(upload, {"file": SimpleUploadedFile("回单.xlsx", data)})
    item = PaymentImport.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"/import/{item.pk}/")
    report = finance.get(answer["Location"]).content.decode()
    assert 'data-line="3" data-outcome="matched"' in report
    assert 'data-line="4" data-outcome="amount_differs"' in report
    sheet = finance.get(reverse("finance:import_report", args=[item.pk]))
    assert sheet.status_code == 200 and sheet.content.startswith(b"PK")
    confirmed = finance.post(reverse("finance:import_confirm", args=[item.pk]))
    assert confirmed.status_code == 302
    assert list(Disbursement.objects.values_list("fund_form", flat=True)) == [first.pk]
    assert 'data-outcome="recorded"' in finance.get(answer["Location"]).content.decode()
    assert login(people.admin).get(upload).status_code == 403


def test_menus_and_who_sees_the_pages(people, login):
    for user in (people.admin, people.finance, people.bureau):
        page = login(user).get(reverse("finance:submission_list"))
        assert page.status_code == 200
        html = page.content.decode()
        assert (
            'data-menu="finance.submission"' in html and 'data-menu="finance.disbursement"' in html
        )
    assert login(people.bureau).get(reverse("finance:disbursement_list")).status_code == 200
    assert login(people.reviewer).get(reverse("finance:submission_list")).status_code == 403
    finance_page = login(people.finance).get(reverse("finance:disbursement_list")).content.decode()
    assert 'data-testid="import-link"' in finance_page
    assert (
        'data-testid="import-link"'
        not in login(people.bureau).get(reverse("finance:disbursement_list")).content.decode()
    )
