"""Demo 报送财政 and 拨付: the cases that passed publicity issued as one fund-form batch,
submitted to finance, signed for, and the first of them paid (the rest waits for payment).

Runs after ``finance_loader.load_publicity`` through the real services. Idempotent: the batch
is matched by its label, and a batch already submitted is left as it is.
"""

from __future__ import annotations

from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.finance.services import disbursements, submissions
from policywindow.fundforms import services as fundforms
from policywindow.fundforms.models import FormBatch
from policywindow.system.models import User

BATCH_LABEL = "2026年第1批政策兑现资金（演示）"
VOUCHER = "GK2026-210000-000101（演示）"


def load_payments(admin: User, finance: User) -> int:
    """Issue, submit, receive and partly pay the demo batch; returns how many were created."""
    if FormBatch.objects.filter(label=BATCH_LABEL).exists():
        return 0
    ids = list(
        Application.objects.filter(
            enterprise__is_demo=True, status=S.PUBLICITY_PASSED, fund_form__isnull=True
        )
        .order_by("decided_at", "pk")
        .values_list("pk", flat=True)
    )
    if len(ids) < 2:  # "part of it paid" needs two cases at least
        return 0
    batch = fundforms.issue_batch(admin, ids, label=BATCH_LABEL)
    submission = submissions.submit(admin, batch.pk)
    submissions.receive(finance, submission.pk)
    first = batch.forms.order_by("sequence").first()
    payment = disbursements.Payment(
        first.approved_amount, timezone.localdate(), VOUCHER, "CB20261120000318"
    )
    disbursements.record(finance, first.pk, payment)
    return 1
