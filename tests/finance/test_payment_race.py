"""Two finance officers pay the same case at the same instant, on PostgreSQL with real parallel
connections: exactly one payment is recorded, the other is told in Chinese why not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.models import Budget, Disbursement
from policywindow.finance.services import disbursements
from tests.finance.factories import make_budget, make_rule
from tests.finance.payments import issued, passed, payment, received
from tests.finance.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]


def test_two_payments_of_one_case_at_once_record_one(people, make_user):
    version = make_rule(people)
    make_budget(version, "1000000")
    batch = issued(people, [passed(people, version, "300000.00")])
    received(people, batch)
    form = batch.forms.get()
    second = make_user("czt2", "finance_officer", real_name="财政厅复核")
    outcomes = race(
        [
            lambda: disbursements.record(people.finance, form.pk, payment("300000.00", "GK-A")),
            lambda: disbursements.record(second, form.pk, payment("300000.00", "GK-B")),
        ]
    )
    assert outcomes[0] == "ok"
    assert "不能重复拨付" in outcomes[1] and "已于 2026-11-20 拨付 300,000.00 元" in outcomes[1]
    assert Disbursement.objects.count() == 1
    assert Application.objects.get(pk=form.application_id).status == S.DISBURSED
    budget = Budget.objects.get()
    assert (budget.committed, budget.disbursed) == (Decimal("300000.00"), Decimal("300000.00"))


def test_many_payments_of_one_case_at_once_record_one(people, make_user):
    version = make_rule(people)
    make_budget(version, "1000000")
    batch = issued(people, [passed(people, version, "300000.00")])
    received(people, batch)
    form = batch.forms.get()
    attempts = [
        (lambda n=n: disbursements.record(people.finance, form.pk, payment("300000", f"GK-{n}")))
        for n in range(4)
    ]
    outcomes = race(attempts)
    assert outcomes.count("ok") == 1
    assert all("不能重复拨付" in text for text in outcomes if text != "ok")
    assert Budget.objects.get().disbursed == Decimal("300000.00")
