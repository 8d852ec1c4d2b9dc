"""异议: filed by anyone on the public page, decided by the case's lead department."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import crypto
from policywindow.core.errors import Conflict, NotFound, ValidationFailed
from policywindow.finance.models import Budget, Commitment, Objection, PublicityEntry
from policywindow.finance.services import objections, publicity
from policywindow.finance.services.objections import ObjectionInput
from policywindow.notifications.models import Notification
from tests.applications.test_intake_factories import make_member
from tests.finance.factories import approved, decide, make_budget, make_rule, open_task

pytestmark = pytest.mark.django_db

CONTENT = "该企业的高新技术企业证书已于今年被撤销，不应享受本项奖励，请核查。"


@pytest.fixture
def published(people, clock):
    """One approved case of a rule with a budget, in a 5-day publicity from Thursday 11-26."""
    clock(2026, 11, 26, 10, 0)
    version = make_rule(people, title="首次认定高新技术企业奖励")
    make_budget(version, "1000000")
    case = approved(people, version, "300000.00")
    publicity.publish(people.admin, [case.pk], "2026年第1批公示", 5)
    case.refresh_from_db()
    return case


def entry_of(case) -> PublicityEntry:
    return PublicityEntry.objects.get(application=case, withdrawn_at__isnull=True)


def file(case, ip: str = "203.0.113.7", content: str = CONTENT) -> Objection:
    data = ObjectionInput("李明", "13912345678", content)
    return objections.file_objection(entry_of(case).pk, data, client_ip=ip)


def post_objection(client: Client, case, **data):
    fields = {"name": "李明", "phone": "13912345678", "content": CONTENT, **data}
    url = reverse("finance:public_objection", args=[entry_of(case).pk])
    return client.post(url, fields, REMOTE_ADDR="203.0.113.7")


def test_anyone_files_an_objection_and_the_lead_department_hears_of_it(published):
    client = Client(enforce_csrf_checks=True)
    url = reverse("finance:public_objection", args=[entry_of(published).pk])
    assert post_objection(client, published).status_code == 403  # no CSRF token
    form = client.get(url)
    assert form.status_code == 200 and published.enterprise.name in form.content.decode()
    token = client.cookies["csrftoken"].value
    answer = client.post(
        url,
        {"name": "李明", "phone": "024-23456789", "content": CONTENT, "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302 and answer.url.endswith("?filed=1")
    objection = Objection.objects.get()
    assert (objection.name, objection.phone, objection.status) == ("李明", "024-23456789", "open")
    stored = Objection.objects.values_list("phone", flat=True).get()  # encrypted at rest
    assert crypto.is_envelope(stored.text) and "23456789" not in stored.text
    published.refresh_from_db()
    assert published.status == S.OBJECTION
    told = Notification.objects.filter(kind="objection_filed")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["kj_chief", "kj_leader"]
    # The notice still lists the case; the objector's data appears on no public page.
    notice = client.get(answer.url).content.decode()
    assert published.enterprise.name in notice and "您的异议已提交" in notice
    assert "李明" not in notice and "024-23456789" not in notice


def test_the_objection_form_checks_what_it_is_given(published):
    page = post_objection(Client(), published, phone="12345", content="太短")
    html = page.content.decode()
    assert page.status_code == 200
    assert "请填写正确的手机号码或固定电话" in html and "10 至 1000 个字" in html
    assert not Objection.objects.exists()


def test_filing_is_rate_limited_per_address(published):
    client = Client()
    for _ in range(objections.FILING_LIMIT):
        assert post_objection(client, published).status_code == 302
    refused = post_objection(client, published)
    assert refused.status_code == 429
    assert "提交过于频繁" in refused.content.decode()
    assert Objection.objects.count() == objections.FILING_LIMIT
    # Another address is counted on its own.
    other = Client().post(
        reverse("finance:public_objection", args=[entry_of(published).pk]),
        {"name": "王芳", "phone": "13800001111", "content": CONTENT},
        REMOTE_ADDR="198.51.100.2",
    )
    assert other.status_code == 302


def test_no_objection_after_the_period(published, clock):
    clock(2026, 12, 4, 0, 0)
    with pytest.raises(Conflict, match="该公示已结束"):
        file(published)
    assert (
        Client().get(reverse("finance:public_objection", args=[entry_of(published).pk])).status_code
        == 404
    )


def test_an_upheld_objection_sends_the_case_back_to_its_last_level_and_frees_the_budget(
    people, published
):
    objection = file(published)
    make_member(people.applicant, published.enterprise)  # the enterprise is told
    objections.uphold(people.chief, objection.pk, "经核查证书已被撤销，异议成立")
    published.refresh_from_db()
    assert (published.status, published.approved_amount) == (S.IN_REVIEW, None)
    again = open_task(published, people.leader)
    assert (again.node_key, again.round) == ("leader", 2)
    budget = Budget.objects.get(rule=published.rule)
    assert budget.committed == Decimal("0.00")
    assert Commitment.objects.get(application=published).released_at is not None
    objection.refresh_from_db()
    assert (objection.status, objection.decided_by) == ("upheld", people.chief)
    assert not PublicityEntry.objects.filter(application=published, withdrawn_at__isnull=True)
    assert (
        published.enterprise.name
        not in Client().get(reverse("finance:public_publicity")).content.decode()
    )
    event = published.events.get(action="objection_upheld")
    assert event.note == "公示异议成立：经核查证书已被撤销，异议成立"
    assert Notification.objects.filter(kind="objection_upheld", recipient=people.applicant)
    # Approved again, the amount is taken again; the case can be published again.
    decide(published, people.leader, opinion="复核后同意")
    budget.refresh_from_db()
    assert budget.committed == Decimal("300000.00")
    publicity.publish(people.admin, [published.pk], "2026年第2批公示", 5)
    assert entry_of(published).batch.title == "2026年第2批公示"


def test_a_dismissed_objection_returns_the_case_to_publicity_while_the_period_runs(
    people, published, clock
):
    objections.dismiss(people.leader, file(published).pk, "证书在有效期内，异议不成立")
    published.refresh_from_db()
    assert published.status == S.IN_PUBLICITY
    assert published.events.get(action="objection_dismissed").note.startswith("异议不成立：")
    clock(2026, 12, 4, 0, 0)
    assert publicity.close_due() == 1
    published.refresh_from_db()
    assert published.status == S.PUBLICITY_PASSED


def test_an_objection_still_open_at_the_end_holds_the_case_until_it_is_decided(
    people, published, clock
):
    first, second = file(published), file(published, content=CONTENT + "（补充）")
    clock(2026, 12, 4, 9, 0)
    assert publicity.close_due() == 0
    objections.dismiss(people.chief, first.pk, "不成立")
    published.refresh_from_db()
    assert published.status == S.OBJECTION  # the second is still open
    objections.dismiss(people.chief, second.pk, "不成立")
    published.refresh_from_db()
    assert published.status == S.PUBLICITY_PASSED
    with pytest.raises(Conflict, match="该异议已处理"):
        objections.uphold(people.chief, second.pk, "再议")


def test_upholding_one_objection_closes_the_others_on_the_case(people, published):
    first, second = file(published), file(published, content=CONTENT + "（补充）")
    objections.uphold(people.chief, second.pk, "成立")
    first.refresh_from_db()
    assert first.status == "closed"


def test_only_the_lead_department_decides_and_only_deciders_see_contact_data(
    people, published, login
):
    objection = file(published)
    with pytest.raises(NotFound):
        objections.dismiss(people.other_chief, objection.pk, "不成立")
    with pytest.raises(ValidationFailed, match="请填写异议不成立的理由"):
        objections.dismiss(people.chief, objection.pk, " ")
    detail = reverse("finance:objection_detail", args=[objection.pk])
    assert login(people.other_chief).get(detail).status_code == 404
    elsewhere = login(people.other_chief).get(reverse("finance:objection_list"))
    assert published.number not in elsewhere.content.decode()
    assert (
        published.number
        in login(people.chief).get(reverse("finance:objection_list")).content.decode()
    )
    for decider in (people.chief, people.admin):
        html = login(decider).get(detail).content.decode()
        assert "13912345678" in html and 'data-testid="decide-form"' in html
    watching = login(people.bureau).get(detail)
    assert watching.status_code == 200
    html = watching.content.decode()
    assert CONTENT in html and "13912345678" not in html and "李明" not in html
    decide_url = reverse("finance:objection_decide", args=[objection.pk])
    assert (
        login(people.bureau).post(decide_url, {"outcome": "dismiss", "note": "x"}).status_code
        == 403
    )
    answer = login(people.chief).post(decide_url, {"outcome": "dismiss", "note": "证书有效"})
    assert answer.status_code == 302
    objection.refresh_from_db()
    assert objection.status == "dismissed"
    listing = login(people.chief).get(reverse("finance:objection_list"), {"status": "dismissed"})
    assert published.number in listing.content.decode()
