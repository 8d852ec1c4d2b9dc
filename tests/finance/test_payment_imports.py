"""Importing a treasury / bank statement: the reconciliation report and the confirmation."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.finance import exporting
from policywindow.finance.models import Budget, Disbursement, PaymentImport
from policywindow.finance.services import disbursements, payment_imports
from policywindow.finance.services.payment_imports import Outcome
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed, payment, received, workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def forms(people):
    """Three forms of a received batch (300,000 / 320,000 / 150,000), and one form of a batch
    not yet submitted."""
    version = make_rule(people)
    make_budget(version, "5000000")
    amounts = ("300000.00", "320000.00", "150000.00")
    batch = issued(people, [passed(people, version, amount) for amount in amounts])
    received(people, batch)
    later = issued(people, [passed(people, version, "80000.00")], label="第二批")
    return [*batch.forms.order_by("sequence"), later.forms.get()]


def row(form, amount=None, voucher="GK-1", **fields):
    enterprise = form.content["enterprise"]
    return (
        fields.get("number", form.number),
        fields.get("code", ""),
        fields.get("payee", enterprise["name"]),
        amount if amount is not None else float(form.approved_amount),
        "2026-11-20",
        voucher,
    )


def reconcile(people, rows, **kwargs):
    item = payment_imports.upload(people.finance, "回单.xlsx", workbook(rows, **kwargs))
    return item, payment_imports.reconcile(people.finance, item)


def outcomes(report) -> dict[int, str]:
    return {checked.row.line: checked.outcome for checked in report.rows}


def test_each_kind_of_row_is_reported_with_its_line(people, forms):
    a, b, c, later = forms
    disbursements.record(people.finance, c.pk, payment("150000.00", "GK-0"))
    _, report = reconcile(
        people,
        [
            row(a),  # line 3: matched
            row(b, 319000),  # 4: amount differs
            row(a, voucher="GK-9"),  # 5: a duplicate of line 3
            row(c),  # 6: paid before
            row(a, number="JF-2026-9999"),  # 7: no such form
            row(later),  # 8: its batch is not with finance
        ],
    )
    assert outcomes(report) == {
        3: Outcome.MATCHED,
        4: Outcome.AMOUNT_DIFFERS,
        5: Outcome.DUPLICATE,
        6: Outcome.ALREADY_PAID,
        7: Outcome.UNMATCHED,
        8: Outcome.UNMATCHED,
    }
    by_line = {checked.row.line: checked.message for checked in report.rows}
    assert "文件金额 319,000.00 元" in by_line[4] and "核定金额 320,000.00 元" in by_line[4]
    assert by_line[5] == "与第 3 行是同一张审批表"
    assert "凭证号 GK-0" in by_line[6]
    assert "没有审批表编号 JF-2026-9999" in by_line[7]
    assert "未报送财政" in by_line[8]
    assert report.matched_total == Decimal("300000.00")


def test_rows_are_matched_by_credit_code_when_the_form_number_is_missing(people, forms):
    a, b, *_ = forms
    code = a.content["enterprise"]["credit_code"]
    _, report = reconcile(people, [row(a, number="", code=code)])
    assert outcomes(report) == {3: Outcome.MATCHED}
    assert report.rows[0].form == a
    _, wrong = reconcile(people, [row(a, code=b.content["enterprise"]["credit_code"])])
    assert "与审批表" in wrong.rows[0].message and wrong.rows[0].outcome == Outcome.UNMATCHED


def test_confirming_records_only_the_matched_rows_in_one_go(people, forms):
    a, b, c, _ = forms
    item, _ = reconcile(people, [row(a), row(b, 1), row(c, voucher="GK-3")])
    report = payment_imports.confirm(people.finance, item.pk)
    assert outcomes(report) == {3: Outcome.RECORDED, 4: Outcome.AMOUNT_DIFFERS, 5: Outcome.RECORDED}
    paid = Disbursement.objects.order_by("source_line")
    assert [(p.fund_form, p.source_line, p.voucher) for p in paid] == [
        (a, 3, "GK-1"),
        (c, 5, "GK-3"),
    ]
    assert {p.application.status for p in paid} == {S.DISBURSED}
    budget = Budget.objects.get()
    assert budget.disbursed == Decimal("450000.00")
    item.refresh_from_db()
    assert item.confirmed_by == people.finance
    with pytest.raises(Conflict, match=r"已于 .* 确认入账"):
        payment_imports.confirm(people.finance, item.pk)


def test_a_row_paid_by_hand_after_the_preview_is_not_paid_again(people, forms):
    a, b, *_ = forms
    item, _ = reconcile(people, [row(a), row(b, voucher="GK-2")])
    disbursements.record(people.finance, b.pk, payment("320000.00", "GK-HAND"))
    report = payment_imports.confirm(people.finance, item.pk)
    assert outcomes(report) == {3: Outcome.RECORDED, 4: Outcome.ALREADY_PAID}
    assert Disbursement.objects.get(fund_form=b).voucher == "GK-HAND"


def test_nothing_is_recorded_when_one_matched_row_fails_at_confirmation(people, forms):
    a, b, *_ = forms
    future = (*row(b, voucher="GK-2")[:4], "2099-01-01", "GK-2")
    item, report = reconcile(people, [row(a), future])
    assert outcomes(report) == {3: Outcome.MATCHED, 4: Outcome.MATCHED}
    with pytest.raises(ValidationFailed) as caught:
        payment_imports.confirm(people.finance, item.pk)
    assert caught.value.message.startswith("第 4 行：支付日期不能晚于今天")
    assert "本次未登记任何一行" in caught.value.message
    assert not Disbursement.objects.exists()
    assert Budget.objects.get().disbursed == Decimal("0")
    item.refresh_from_db()
    assert item.confirmed_at is None


def test_a_file_with_nothing_to_record_is_refused(people, forms):
    a, *_ = forms
    item, _ = reconcile(people, [row(a, 1)])
    with pytest.raises(ValidationFailed, match="没有可入账的行"):
        payment_imports.confirm(people.finance, item.pk)
    assert not Disbursement.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an excel file", "无法读取该文件"),
        (workbook([], header=("收款单位", "金额")), "没有找到表头"),
        (workbook([], header=("审批表编号", "金额", "支付日期")), "表头缺少列：凭证号"),
        (workbook([]), "没有拨付数据行"),
    ],
)
def test_malformed_files_are_refused_and_nothing_is_kept(people, data, message):
    with pytest.raises(ValidationFailed) as caught:
        payment_imports.upload(people.finance, "回单.xlsx", data)
    assert message in caught.value.details["file"][0]
    assert not PaymentImport.objects.exists()


def test_bad_rows_are_listed_by_line_and_the_whole_file_is_refused(people, forms):
    a, *_ = forms
    data = workbook(
        [
            row(a),
            ("", "", "某公司", 100, "2026-11-20", "GK-2"),
            (a.number, "", "", "十万", "2026-11-20", "GK-3"),
            (a.number, "", "", 100.005, "昨天", ""),
        ]
    )
    with pytest.raises(ValidationFailed) as caught:
        payment_imports.upload(people.finance, "回单.xlsx", data)
    text = caught.value.message
    assert "文件有 3 处错误，未导入任何一行" in text
    assert "第 4 行：审批表编号和统一社会信用代码都为空" in text
    assert "第 5 行：金额“十万”不是有效的数字" in text
    assert "第 6 行：凭证号为空" in text
    assert not PaymentImport.objects.exists()


def test_only_finance_imports(people):
    with pytest.raises(PermissionDenied):
        payment_imports.upload(people.admin, "回单.xlsx", workbook([]))


def test_the_report_downloads_as_a_workbook(people, forms):
    a, b, *_ = forms
    _, report = reconcile(people, [row(a), row(b, 1)])
    book = load_workbook(io.BytesIO(exporting.report_workbook("核对报告", report)))
    sheet = book.active
    assert sheet["A2"].value == "共 2 行：可入账 1 行；金额不符 1 行"
    assert [c.value for c in sheet[3]][:2] == ["行号", "审批表编号"]
    assert (sheet["A4"].value, sheet["B4"].value, sheet["H4"].value) == (3, a.number, "可入账")
    assert sheet["E5"].value == 1 and sheet["H5"].value == "金额不符"
