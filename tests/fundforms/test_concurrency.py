"""Batches issued at the same instant on PostgreSQL: numbers stay gap-free and unique, and a
case raced for by several batches gets exactly one form."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.audit import verify_chain
from policywindow.core.errors import Conflict
from policywindow.fundforms import services, snapshot
from policywindow.fundforms.models import FormBatch, FormSequence, FundForm
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version
from tests.waiting import join_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="row locks need PostgreSQL (DATABASE_URL=postgres://…)",
    ),
]
ISSUERS = 8


@pytest.fixture
def slow_issue(monkeypatch):
    """Widen the race: each batch lingers while holding its locks."""
    build = snapshot.build

    def slow_build(*args, **kwargs):
        time.sleep(0.05)
        return build(*args, **kwargs)

    monkeypatch.setattr(snapshot, "build", slow_build)


def _cases(department, applicant, count: int):
    version = make_version(department)
    cases = []
    for _ in range(count):
        case = make_case(version, make_enterprise(), applicant, status=S.PUBLICITY_PASSED)
        case.approved_amount = Decimal("100000.00")
        case.save(update_fields=["approved_amount"])
        cases.append(case)
    return cases


def _run(jobs) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def attempt(job):
        try:
            barrier.wait()
            outcomes.append(job())
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    join_all(threads)
    return outcomes


def test_parallel_batches_take_consecutive_gap_free_numbers(slow_issue, department, make_user):
    admins = [make_user(f"fadmin{i}", "policy_admin") for i in range(ISSUERS)]
    applicant = make_user("fqiye", "enterprise", kind="enterprise")
    cases = _cases(department, applicant, 2 * ISSUERS)
    jobs = [
        (
            lambda admin=admin, pair=cases[2 * i : 2 * i + 2]: (
                services.issue_batch(admin, [c.pk for c in pair]).number
            )
        )
        for i, admin in enumerate(admins)
    ]
    outcomes = _run(jobs)
    assert len(outcomes) == ISSUERS and all(o.startswith("辽营商兑汇") for o in outcomes)
    sequences = sorted(FundForm.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 2 * ISSUERS + 1))
    assert sorted(FormBatch.objects.values_list("sequence", flat=True)) == list(
        range(1, ISSUERS + 1)
    )
    for batch in FormBatch.objects.all():
        first, second = sorted(batch.forms.values_list("sequence", flat=True))
        assert second == first + 1  # a batch's forms are numbered together
    rows = dict(FormSequence.objects.values_list("kind", "last"))
    assert rows == {"form": 2 * ISSUERS, "batch": ISSUERS}
    assert verify_chain().ok


def test_a_case_raced_for_gets_exactly_one_form(slow_issue, department, make_user):
    admins = [make_user(f"fadmin{i}", "policy_admin") for i in range(4)]
    (case,) = _cases(department, make_user("fqiye", "enterprise", kind="enterprise"), 1)
    outcomes = _run(
        [lambda admin=admin: services.issue_batch(admin, [case.pk]).number for admin in admins]
    )
    winners = [o for o in outcomes if o.startswith("辽营商兑汇")]
    assert len(winners) == 1
    form = FundForm.objects.get()
    assert all(f"已出具 {form.number}" in o for o in outcomes if o not in winners)
    assert form.sequence == 1 and FormBatch.objects.count() == 1
    assert dict(FormSequence.objects.values_list("kind", "last")) == {"form": 1, "batch": 1}
