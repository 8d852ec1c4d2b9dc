"""Fund-form batches for the 报送财政 and 拨付 tests: approved cases taken to 公示通过 and
issued as one batch by the policy office. Not a test module."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.models import FinanceSubmission
from policywindow.finance.services import disbursements, submissions
from policywindow.fundforms import services as fundforms
from policywindow.fundforms.models import FormBatch
from tests.finance.factories import approved

PAID_ON = dt.date(2026, 11, 20)
HEADER = ("审批表编号", "统一社会信用代码", "收款单位", "金额", "支付日期", "凭证号")


def passed(people, version, amount: str = "320000.00", **kwargs) -> Application:
    """An approved case whose publicity passed (the sweep is not what these tests are about)."""
    case = approved(people, version, amount, **kwargs)
    Application.objects.filter(pk=case.pk).update(status=S.PUBLICITY_PASSED)
    case.refresh_from_db()
    return case


def issued(people, cases: list[Application], label: str = "2026年第一批") -> FormBatch:
    return fundforms.issue_batch(people.admin, [case.pk for case in cases], label=label)


def received(people, batch: FormBatch) -> FinanceSubmission:
    submission = submissions.submit(people.admin, batch.pk)
    return submissions.receive(people.finance, submission.pk)


def payment(amount: str, voucher: str = "GK2026-000101", paid_on=PAID_ON):
    return disbursements.Payment(amount, paid_on, voucher, "CB20261120001")


def workbook(
    rows: list[tuple], header: tuple = HEADER, title: str | None = "国库集中支付回单"
) -> bytes:
    """An .xlsx statement: an optional title line, the header, then the rows."""
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
