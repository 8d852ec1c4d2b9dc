"""公示: publishing approved cases, the public notice, and the end of the period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core.calendar import SHANGHAI
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.scheduler import REGISTRY
from policywindow.finance import tasks
from policywindow.finance.models import PublicityBatch, PublicityEntry
from policywindow.finance.services import publicity
from tests.finance.factories import approved, filed, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_approved(people, clock):
    clock(2026, 11, 26, 10, 0)  # a Thursday
    version = make_rule(people, title="首次认定高新技术企业奖励")
    return [approved(people, version, amount) for amount in ("300000.00", "120000.50")]


def test_publishing_moves_the_cases_and_sets_the_period_in_working_days(people, two_approved):
    batch = publicity.publish(people.admin, [c.pk for c in two_approved], "2026年第1批公示", 5)
    # 5 working days after Thursday 11-26 (the day itself not counted): Thursday 12-03.
    assert batch.last_day == dt.date(2026, 12, 3)
    assert batch.ends_at == dt.datetime(2026, 12, 4, tzinfo=SHANGHAI)
    entries = list(batch.entries.order_by("order"))
    assert [(e.application_id, e.amount) for e in entries] == [
        (two_approved[0].pk, Decimal("300000.00")),
        (two_approved[1].pk, Decimal("120000.50")),
    ]
    assert entries[0].enterprise_name == two_approved[0].enterprise.name
    assert entries[0].rule_title == "首次认定高新技术企业奖励"
    for case in two_approved:
        case.refresh_from_db()
        assert case.status == S.IN_PUBLICITY
        event = case.events.get(action="publicize")
        assert event.note == "2026年第1批公示，公示期至 2026年12月3日"


def test_a_case_that_is_not_approved_makes_the_whole_batch_fail(people, two_approved):
    pending = filed(people, make_rule(people))
    ids = [two_approved[0].pk, pending.pk]
    with pytest.raises(Conflict, match=f"申报 {pending.number} 当前状态为“审核中”"):
        publicity.publish(people.admin, ids, "第1批", 5)
    assert not PublicityBatch.objects.exists()
    two_approved[0].refresh_from_db()
    assert two_approved[0].status == S.APPROVED
    with pytest.raises(ValidationFailed, match="请勾选"):
        publicity.publish(people.admin, [], "第1批", 5)
    with pytest.raises(ValidationFailed, match="1 至 30 个工作日"):
        publicity.publish(people.admin, ids[:1], "第1批", 0)


def test_the_public_notice_shows_names_rules_and_amounts_and_nothing_private(people, two_approved):
    publicity.publish(people.admin, [c.pk for c in two_approved], "2026年第1批公示", 5)
    page = Client().get(reverse("finance:public_publicity"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "2026年第1批公示" in html and "2026年11月26日 至 2026年12月3日" in html
    for case in two_approved:
        enterprise = case.enterprise
        assert enterprise.name in html
        for private in (
            enterprise.credit_code,
            enterprise.bank_account,
            enterprise.legal_representative,
            case.number,
            people.applicant.real_name,
        ):
            assert private not in html
    assert "300,000.00 元" in html and "120,000.50 元" in html
    assert "首次认定高新技术企业奖励" in html


def test_the_period_ends_at_midnight_after_its_last_working_day(people, two_approved, clock):
    batch = publicity.publish(people.admin, [c.pk for c in two_approved], "第1批", 5)
    clock(2026, 12, 3, 23, 59)
    assert publicity.close_due() == 0
    clock(2026, 12, 4, 0, 0)
    assert publicity.close_due() == 2
    assert publicity.close_due() == 0  # idempotent
    for case in two_approved:
        case.refresh_from_db()
        assert case.status == S.PUBLICITY_PASSED
        assert case.events.filter(action="publicity_passed").count() == 1
    assert not batch.running
    assert "第1批" not in Client().get(reverse("finance:public_publicity")).content.decode()


def test_the_worker_runs_the_sweep(people, two_approved, clock):
    assert tasks.close_publicity.module_path in REGISTRY
    publicity.publish(people.admin, [two_approved[0].pk], "第1批", 1)
    clock(2026, 12, 1, 9, 0)
    assert tasks.close_publicity.call() == 1


def test_staff_publish_approved_cases_of_one_rule_from_the_page(people, two_approved, login):
    other = approved(people, make_rule(people, title="研发投入后补助"), "50000.00")
    client = login(people.admin)
    form = client.get(reverse("finance:publicity_create"), {"rule": two_approved[0].rule_id})
    html = form.content.decode()
    assert two_approved[0].number in html and other.number not in html
    assert 'name="days" value="5"' in html  # the system parameter's default
    answer = client.post(
        reverse("finance:publicity_create"),
        {"cases": [two_approved[0].pk], "title": "2026年11月政策兑现审核结果公示", "days": "5"},
    )
    batch = PublicityBatch.objects.get()
    assert answer.status_code == 302 and answer.url == reverse(
        "finance:publicity_detail", args=[batch.pk]
    )
    detail = client.get(answer.url).content.decode()
    assert two_approved[0].number in detail and "公示中" in detail
    assert PublicityEntry.objects.count() == 1
    listing = client.get(reverse("finance:publicity_list")).content.decode()
    assert "2026年11月政策兑现审核结果公示" in listing
    empty = client.post(reverse("finance:publicity_create"), {"title": "x", "days": "5"})
    assert "请勾选要公示的申报" in empty.content.decode()
