"""Batches issued at the same instant on PostgreSQL: numbers stay gap-free and unique, and a
case raced for by several batches gets exactly one form. Two workers making one batch's files
share its chunks and make every file exactly once (issue 16)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.audit import verify_chain
from policywindow.core.errors import Conflict
from policywindow.fundforms import rendering, services, snapshot
from policywindow.fundforms.models import FormBatch, FormChunk, FormSequence, FundForm
from policywindow.fundforms.signing import identity
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


@pytest.fixture
def batch_of_five(monkeypatch, department, make_user) -> FormBatch:
    """Five forms in chunks of two (0: forms 1–2, 1: 3–4, 2: 5); the signing key made first."""
    monkeypatch.setattr(services, "CHUNK", 2)
    identity()
    applicant = make_user("fqiye", "enterprise", kind="enterprise")
    cases = _cases(department, applicant, 5)
    return services.issue_batch(make_user("fadmin", "policy_admin"), [c.pk for c in cases])


def test_a_chunk_another_worker_is_claiming_is_skipped_not_waited_for(batch_of_five):
    services._chunks(batch_of_five)
    taken = []

    def claim():
        try:
            taken.append(services._claim_chunk(batch_of_five, set()))
        finally:
            connection.close()

    with transaction.atomic():  # another worker, in the middle of claiming chunk 0
        FormChunk.objects.select_for_update().get(batch=batch_of_five, index=0)
        worker = threading.Thread(target=claim)
        worker.start()
        join_all([worker])  # finishes while chunk 0 is still locked: it did not wait
    (chunk,) = taken
    assert chunk.index == 1 and chunk.claimed_until is not None
    assert FormChunk.objects.get(batch=batch_of_five, index=0).claimed_until is None


def test_two_workers_share_a_batch_and_make_each_file_once(batch_of_five, monkeypatch):
    lock = threading.Lock()
    signed: Counter[str] = Counter()
    chunks_of: dict[str, list[int]] = defaultdict(list)
    real_sign, real_make = services._sign, services._make_chunk

    def sign(pdf, moment, reason):
        with lock:
            signed[reason] += 1
        return real_sign(pdf, moment, reason)

    def make_chunk(batch, chunk):
        with lock:
            chunks_of[threading.current_thread().name].append(chunk.index)
        time.sleep(0.3)  # widen the race: the other worker asks while this one holds a chunk
        real_make(batch, chunk)

    monkeypatch.setattr(services, "_sign", sign)
    monkeypatch.setattr(services, "_make_chunk", make_chunk)
    pk = batch_of_five.pk
    outcomes = _run(
        [lambda: services.produce_files(FormBatch.objects.get(pk=pk)).files_done for _ in range(2)]
    )

    assert len(outcomes) == 2 and len(chunks_of) == 2  # both workers took a share …
    assert sorted(i for indexes in chunks_of.values() for i in indexes) == [0, 1, 2]  # … once
    forms = list(FundForm.objects.filter(batch_id=pk))
    expected = [f"{rendering.FORM_TITLE} {form.number}" for form in forms]
    assert signed == Counter([*expected, f"{rendering.BATCH_TITLE} {batch_of_five.number}"])
    batch = FormBatch.objects.get(pk=pk)
    assert (batch.files_done, batch.files_failed) == (6, 0) and batch.files_finished_at
    media = Path(settings.MEDIA_ROOT) / "fundforms"
    assert len(list((media / "forms").glob("*.pdf"))) == 5  # one file each, none made twice
    assert len(list((media / "batches").glob("*.pdf"))) == 1
    assert not list((media / "parts").glob("*"))  # the chunks' parts joined and deleted
    assert services.render_batch(batch) == services.batch_file(batch)
