"""A real worker process is killed (SIGKILL) in the middle of a fund-form batch (issue 8).

The batch's files are made by ``policywindow worker``; the test kills it after its first
recorded file, lets the sweep take the run for dead, and starts another worker. The second
form's row is locked by the test meanwhile, so the worker waits there with its second file:
the kill lands after exactly one file however fast or busy the machine is. That one
finishes only what was missing: every form ends with one recorded, signed file whose hash is
the file's, the files made before the kill are untouched, and the batch is complete. Runs on
PostgreSQL, where a second process sees the test's committed data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from policywindow.fundforms import services
from policywindow.fundforms.models import FormBatch, FundForm
from policywindow.fundforms.signing import identity
from policywindow.fundforms.tasks import resume_batch_files
from tests.faults.workers import end_other_sessions, worker
from tests.fundforms.conftest import (  # noqa: F401  the fund-form fixtures, used here too
    _signing_key_in_scratch,
    make_approved,
    people,
    signing_dir,
)
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two processes share the database: PostgreSQL"
    ),
]

FORMS = 5


def _files_done(batch: FormBatch) -> int:
    batch.refresh_from_db(fields=["files_done"])
    return batch.files_done


def test_a_killed_worker_leaves_the_rest_of_the_batch_to_the_next_one(
    people,  # noqa: F811
    make_approved,  # noqa: F811
    tmp_path,
):
    identity()  # the signing key is made before the workers start: both sign with it
    cases = [make_approved(f"沈阳测试装备制造有限公司{n}") for n in range(FORMS)]
    batch = services.issue_batch(people["admin"], [case.pk for case in cases], "kill test")
    assert batch.files_done == 0 and batch.files_total == FORMS + 1

    second_form = batch.forms.order_by("sequence")[1]
    with transaction.atomic():
        FundForm.objects.select_for_update().get(pk=second_form.pk)
        first = worker(data_dir=tmp_path / "w1")
        try:
            wait_for(lambda: _files_done(batch) >= 1, "the first file", alive=first)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        end_other_sessions()
    batch.refresh_from_db()
    assert batch.files_done == 1, "killed in the middle: after the first file, not later"
    before = {form.pk: form.sha256 for form in batch.forms.exclude(sha256="")}
    assert before

    # The sweep takes the run for dead once nothing was recorded for a while, and queues it again.
    stale = timezone.now() - services.STALLED_AFTER - dt.timedelta(minutes=1)
    FormBatch.objects.filter(pk=batch.pk).update(files_touched_at=stale, created_at=stale)
    assert resume_batch_files.call() == [batch.pk]

    second = worker("--batch", data_dir=tmp_path / "w2")
    wait_for(lambda: second.poll() is not None, "the second worker to finish the batch")
    assert second.returncode == 0
    batch.refresh_from_db()
    assert (batch.files_done, batch.files_failed) == (FORMS + 1, 0)
    assert batch.files_finished_at is not None and batch.sha256
    forms = list(batch.forms.all())
    assert {f.pk: f.sha256 for f in forms if f.pk in before} == before, "made once, kept"
    for form in forms:
        with form.pdf.open("rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == form.sha256
