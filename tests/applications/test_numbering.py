"""Gap-free application numbers: ZC + year + six digits, taken in the submit's last statement."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from policywindow.applications.models import Application, ApplicationEvent, ApplicationSequence
from policywindow.applications.services import filing, numbering
from policywindow.applications.services.numbering import format_number
from policywindow.notifications.models import Notification
from policywindow.system.models import User

from .test_filing_factories import link, make_enterprise, make_rule


def test_format():
    assert format_number(2026, 123) == "ZC2026000123"
    assert format_number(2026, 1234567) == "ZC20261234567"


def _drafts(
    make_user, department, count: int, prefix: str = "num"
) -> list[tuple[User, Application]]:
    rule = make_rule(department, items=())
    drafts = []
    for n in range(count):
        user = make_user(f"{prefix}_qiye{n}", "enterprise", kind=User.Kind.ENTERPRISE)
        enterprise = make_enterprise(f"编号测试企业{prefix}{n}")
        link(user, enterprise)
        drafts.append((user, filing.start_application(user, enterprise, rule)))
    return drafts


def _number(application: Application, year: int) -> str:
    application.year = year
    return numbering.save_numbered(application, ["year"])


@pytest.mark.django_db
def test_numbers_count_up_per_year(make_user, department):
    (_, a), (_, b), (_, c) = _drafts(make_user, department, 3)
    with transaction.atomic():
        taken = [_number(a, 2026), _number(b, 2026), _number(c, 2027)]
    assert taken == ["ZC2026000001", "ZC2026000002", "ZC2027000001"]
    stored = dict(Application.objects.values_list("pk", "number"))
    assert [stored[a.pk], stored[b.pk], stored[c.pk]] == taken
    assert dict(ApplicationSequence.objects.values_list("year", "last")) == {2026: 2, 2027: 1}


@pytest.mark.django_db(transaction=True)
def test_a_number_is_only_taken_inside_a_transaction(make_user, department):
    ((_, draft),) = _drafts(make_user, department, 1)
    with pytest.raises(RuntimeError, match="transaction"):
        _number(draft, 2026)
    assert not ApplicationSequence.objects.exists()


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again(make_user, department):
    (_, a), (_, b) = _drafts(make_user, department, 2)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        _number(a, 2026)
        _ = 1 / 0
    with transaction.atomic():
        assert _number(b, 2026) == "ZC2026000001"
    assert Application.objects.get(pk=a.pk).number is None


def _failing_after_numbering(monkeypatch, failing: set[int]) -> None:
    """Submits of ``failing`` applications fail right after their number was written."""
    save_numbered = numbering.save_numbered

    def then_fail(application, fields, event=None):
        number = save_numbered(application, fields, event)
        if application.pk in failing:
            raise RuntimeError(f"模拟编号之后、提交之前的故障（{number}）")
        return number

    monkeypatch.setattr(numbering, "save_numbered", then_fail)


@pytest.mark.django_db
def test_a_submit_that_fails_after_taking_a_number_leaves_no_gap(
    make_user, department, monkeypatch
):
    (user_a, draft_a), (user_b, draft_b) = _drafts(make_user, department, 2)
    _failing_after_numbering(monkeypatch, {draft_a.pk})
    with pytest.raises(RuntimeError, match="ZC"):
        filing.submit(user_a, draft_a)
    assert filing.submit(user_b, draft_b).number.endswith("000001")
    assert Application.objects.get(pk=draft_a.pk).number is None
    assert not ApplicationEvent.objects.filter(application=draft_a, action="submit").exists()


@pytest.mark.django_db
def test_what_names_the_number_before_it_exists_gets_it(make_user, department):
    ((user, draft),) = _drafts(make_user, department, 1)
    number = filing.submit(user, draft).number
    event = ApplicationEvent.objects.get(application=draft, action="submit")
    assert event.data == {"number": number}
    message = Notification.objects.get(recipient=user, kind="case_submitted")
    assert number in message.subject and number in message.body
    for text in (message.subject, message.body, str(event.data)):
        assert numbering.PENDING not in text


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one statement is PostgreSQL's")
def test_the_number_is_the_submits_last_statement(make_user, department):
    (warm_user, warm), (user, draft) = _drafts(make_user, department, 2)
    filing.submit(warm_user, warm)  # prepares the statement on this connection
    with CaptureQueriesContext(connection) as captured:
        filing.submit(user, draft)
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))  # the test's own
    ]
    *before, last = statements
    assert not [sql for sql in before if "applicationsequence" in sql], statements
    # The prepared numbering statement, run with the year's prefix and PENDING to replace.
    assert last.startswith("EXECUTE") and f"'ZC{draft.year}'" in last, statements
    assert numbering.PENDING in last
    assert any("applications_applicationevent" in sql for sql in before)
    assert any("core_auditevent" in sql for sql in before)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are tested on PostgreSQL")
def test_concurrent_submits_get_consecutive_numbers(make_user, department, monkeypatch):
    """12 submits at once, 4 of which fail after taking a number: 1..8, no gaps, no duplicates."""
    drafts = _drafts(make_user, department, 12)
    _failing_after_numbering(monkeypatch, {application.pk for _, application in drafts[::3]})
    barrier = threading.Barrier(len(drafts))
    outcomes: list[str] = []

    def submit(user: User, application: Application) -> None:
        barrier.wait()
        try:
            outcomes.append(filing.submit(user, application).number)
        except RuntimeError:
            outcomes.append("failed")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=pair) for pair in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    year = drafts[0][1].year
    numbers = sorted(n for n in outcomes if n != "failed")
    assert outcomes.count("failed") == 4
    assert numbers == [format_number(year, n) for n in range(1, 9)]
    stored = sorted(Application.objects.exclude(number=None).values_list("number", flat=True))
    assert stored == numbers
    assert ApplicationSequence.objects.get(year=year).last == 8
    assert ApplicationEvent.objects.filter(action="submit").count() == 8
