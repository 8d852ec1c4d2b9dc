"""拨付: one full payment per case of a received batch, counted into the budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from policywindow.applications.models import ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.finance.models import Budget, Disbursement
from policywindow.finance.services import disbursements, submissions
from policywindow.notifications.models import Notification
from tests.applications.test_intake_factories import make_member
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed, payment, received

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(people):
    version = make_rule(people)
    budget = make_budget(version, "2000000")
    cases = [passed(people, version, "300000.00"), passed(people, version, "320000.00")]
    batch = issued(people, cases)
    forms = list(batch.forms.order_by("sequence"))
    return budget, batch, forms


def test_a_payment_of_the_approved_amount_moves_the_case_to_disbursed(people, setting):
    budget, batch, forms = setting
    received(people, batch)
    make_member(people.applicant, forms[0].application.enterprise)  # the enterprise is told
    paid = disbursements.record(people.finance, forms[0].pk, payment("300,000.00"))
    case = paid.application
    case.refresh_from_db()
    assert case.status == S.DISBURSED
    assert (paid.amount, paid.paid_on, paid.voucher) == (
        Decimal("300000.00"),
        dt.date(2026, 11, 20),
        "GK2026-000101",
    )
    budget.refresh_from_db()
    assert (budget.committed, budget.disbursed) == (Decimal("620000.00"), Decimal("300000.00"))
    assert paid.budget == budget
    line = ApplicationEvent.objects.get(application=case, action="disburse")
    assert "拨付 300,000.00 元" in line.note and "GK2026-000101" in line.note
    assert AuditEvent.objects.filter(action="disbursement.record").count() == 1
    told = Notification.objects.get(recipient=case.applicant, kind="disbursed")
    assert case.number in told.subject and "300,000.00 元" in told.body


def test_a_different_amount_is_refused_naming_both(people, setting):
    budget, batch, forms = setting
    received(people, batch)
    with pytest.raises(ValidationFailed) as caught:
        disbursements.record(people.finance, forms[0].pk, payment("290000"))
    message = caught.value.details["amount"][0]
    assert "拨付金额 290,000.00 元" in message and "核定金额 300,000.00 元" in message
    assert not Disbursement.objects.exists()
    budget.refresh_from_db()
    assert budget.disbursed == Decimal("0")


def test_a_case_is_never_paid_twice(people, setting):
    budget, batch, forms = setting
    received(people, batch)
    disbursements.record(people.finance, forms[0].pk, payment("300000.00"))
    with pytest.raises(Conflict, match=r"已于 2026-11-20 拨付 300,000.00 元.*不能重复拨付"):
        disbursements.record(people.finance, forms[0].pk, payment("300000.00", "GK2026-000999"))
    assert Disbursement.objects.count() == 1
    budget.refresh_from_db()
    assert budget.disbursed == Decimal("300000.00")


def test_only_cases_of_received_batches_are_paid(people, setting):
    _, batch, forms = setting
    with pytest.raises(Conflict, match="当前为“未报送财政”，财政签收后才能登记拨付"):
        disbursements.record(people.finance, forms[0].pk, payment("300000.00"))
    submissions.submit(people.admin, batch.pk)
    with pytest.raises(Conflict, match="当前为“待签收”"):
        disbursements.record(people.finance, forms[0].pk, payment("300000.00"))
    assert not Disbursement.objects.exists()


def test_the_fields_are_checked_together(people, setting):
    _, batch, forms = setting
    received(people, batch)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        disbursements.record(
            people.finance, forms[0].pk, disbursements.Payment("abc", tomorrow, " ")
        )
    assert set(caught.value.details) == {"amount", "paid_on", "voucher"}
    assert "不能晚于今天" in caught.value.details["paid_on"][0]


def test_only_finance_records_payments(people, setting):
    _, batch, forms = setting
    received(people, batch)
    with pytest.raises(PermissionDenied):
        disbursements.record(people.admin, forms[0].pk, payment("300000.00"))


def test_paying_every_case_leaves_the_budget_consistent(people, setting):
    budget, batch, forms = setting
    received(people, batch)
    for form, voucher in zip(forms, ("GK-1", "GK-2"), strict=True):
        disbursements.record(people.finance, form.pk, payment(str(form.approved_amount), voucher))
    budget.refresh_from_db()
    assert budget.disbursed == budget.committed == Decimal("620000.00")
    assert Budget.objects.get(pk=budget.pk).left == Decimal("1380000.00")
