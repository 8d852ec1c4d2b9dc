"""The operation log under concurrency, on PostgreSQL with real connections and commits.

Requests append without waiting for each other; an event whose transaction commits after
later ones is still sealed (never skipped); two sealers at once never fork the chain.
"""

import threading

import pytest
from django.db import connection, transaction

from policywindow.core import audit
from policywindow.core.models import AuditEvent
from tests.waiting import HANG_GUARD_S

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL sessions"),
]
WAIT_S = HANG_GUARD_S  # waits for events and threads; no speed expectation


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_event_committed_late_is_sealed_on_the_next_run_and_blocked_nobody():
    recorded, release = threading.Event(), threading.Event()
    slow: list[AuditEvent] = []

    def slow_request() -> None:
        with transaction.atomic():
            slow.append(audit.record("test.slow"))  # the lower id, committed last
            recorded.set()
            release.wait(WAIT_S)

    thread = _in_thread(slow_request)
    assert recorded.wait(WAIT_S)
    with connection.cursor() as cursor:
        # Under the old single-head design this INSERT waited for the slow request's commit.
        cursor.execute("SET lock_timeout = '5s'")
    fast = audit.record("test.fast")
    assert fast.pk > slow[0].pk

    assert audit.seal_pending().sealed == 1  # the slow event is not visible yet
    assert AuditEvent.objects.get(pk=fast.pk).seq == 1
    release.set()
    thread.join(WAIT_S)

    assert audit.seal_pending().sealed == 1
    assert AuditEvent.objects.get(pk=slow[0].pk).seq == 2
    report = audit.verify_chain()
    assert report.ok and (report.sealed, report.pending) == (2, 0), report.lines()


def test_two_sealers_at_once_never_fork_the_chain():
    for i in range(300):
        audit.record("test.event", object_id=i)
    start = threading.Barrier(2)
    results: list[audit.SealResult] = []

    def seal() -> None:
        start.wait(WAIT_S)
        results.append(audit.seal_pending())

    threads = [_in_thread(seal) for _ in range(2)]
    for thread in threads:
        thread.join(WAIT_S)
    assert sum(r.sealed for r in results) == 300
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 301))
    assert audit.verify_chain().ok


def test_writers_and_a_sealer_together_leave_one_gap_free_chain():
    writers_done = threading.Event()

    def write(n: int) -> None:
        for i in range(n):
            with transaction.atomic():
                audit.record("test.write", object_id=i)

    def keep_sealing() -> None:
        while not writers_done.wait(0.05):
            audit.seal_pending()

    sealer = _in_thread(keep_sealing)
    writers = [_in_thread(write, 40) for _ in range(4)]
    for thread in writers:
        thread.join(WAIT_S)
    writers_done.set()
    sealer.join(WAIT_S)
    audit.seal_pending()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 161))
    report = audit.verify_chain()
    assert report.ok and report.sealed == 160, report.lines()
