"""The demo 政策库, 企业库 and cases: loaded once per module through the real services,
checked for what a demo needs, then rolled back."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from policywindow.applications.models import Application, Material, SupplementNotice
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import staff_applications
from policywindow.core.codes import validate_uscc
from policywindow.demo.case_data import CASES
from policywindow.demo.enterprise_data import ENTERPRISES
from policywindow.demo.enterprise_loader import credit_code
from policywindow.demo.loader import load_business_demo
from policywindow.demo.policy_loader import application_window
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_of, enterprises_visible_to
from policywindow.finance.models import Budget, PublicityBatch
from policywindow.notifications.models import Notification
from policywindow.policies.models import Policy, RequiredItem, Rule, RuleVersion
from policywindow.system.demo import load_demo
from policywindow.system.models import User
from policywindow.workflow import spec
from policywindow.workflow.candidates import DECIDE_PERMISSIONS
from policywindow.workflow.models import WorkflowDefinition, WorkflowTask
from policywindow.workflow.services.designer import condition_labels
from tests.conftest import empty_caches

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Loaded:
    created: int
    media: Path


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The whole demo, loaded once for this module inside a transaction rolled back at the end."""
    media = tmp_path_factory.mktemp("demo_uploads")
    fast_hashing = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=fast_hashing),
        transaction.atomic(),
    ):
        empty_caches()
        load_demo()
        yield Loaded(load_business_demo(), media)
        transaction.set_rollback(True)


def test_demo_policies_are_published_with_rules_and_items(demo):
    policies = Policy.objects.filter(is_demo=True)
    assert policies.count() >= 5
    assert all(p.status == Policy.Status.PUBLISHED and "演示" in p.title for p in policies)
    rules = Rule.objects.filter(policy__in=policies).select_related("current")
    assert rules.count() >= 10
    for rule in rules:
        assert rule.current.status == RuleVersion.Status.PUBLISHED, rule.code
        assert rule.current.items.exists(), rule.code
        # Relative to the load day: open now and for at least three months more.
        opens, closes = application_window(timezone.localdate())
        assert (rule.current.opens_on, rule.current.closes_on) == (opens, closes)
        assert closes >= timezone.localdate() + dt.timedelta(days=90)
    promises = RequiredItem.objects.filter(key="credit_promise", rule_version__rule__in=rules)
    assert promises.exists() and all(item.template_file for item in promises)
    # The formula naming a form item was set after the items: it computes.
    assert Rule.objects.get(code="GX-ST-01").current.amount_formula.startswith("min([premium")


def test_fifty_enterprises_with_valid_credit_codes_across_sizes_and_cities(demo):
    enterprises = list(Enterprise.objects.filter(is_demo=True))
    assert len(enterprises) == len(ENTERPRISES) == 50
    for enterprise in enterprises:
        validate_uscc(enterprise.credit_code)  # raises on a bad check character
        assert enterprise.credit_code[:2] == "91"
        assert enterprise.credit_code[2:8] == enterprise.region_id
    assert len({e.credit_code for e in enterprises}) == 50
    assert {e.size for e in enterprises} == {"large", "medium", "small", "micro"}
    assert len({e.region_id for e in enterprises}) >= 10
    jinggong = next(e for e in enterprises if e.name == "沈阳精工数控机床有限公司")
    assert str(jinggong.rd_spend) == "42000000.00"  # 4,200 万元 in yuan
    assert jinggong.specialized == "little_giant" and jinggong.high_tech


def test_credit_codes_do_not_change_between_runs():
    assert credit_code("沈阳精工数控机床有限公司", "210100") == credit_code(
        "沈阳精工数控机床有限公司", "210100"
    )
    assert credit_code("甲公司", "210100") != credit_code("乙公司", "210100")


def test_qiye_zhang_sees_his_enterprise_and_only_its_cases(demo, client):
    user = User.objects.get(username="qiye_zhang")
    enterprise = enterprise_of(user)
    assert enterprise.name == "沈阳精工数控机床有限公司"
    assert (enterprise.contact_name, enterprise.contact_phone) == (user.real_name, user.mobile)
    assert enterprise_of(User.objects.get(username="qiye_li")).name == "大连星海软件开发有限公司"
    client.force_login(user)
    page = client.get(reverse("enterprises:my_enterprise")).content.decode()
    assert "沈阳精工数控机床有限公司" in page
    mine = client.get(reverse("applications:my_list")).content.decode()
    own = Application.objects.filter(enterprise__name="沈阳精工数控机床有限公司")
    assert own.count() == 4
    assert all(a.number in mine for a in own if a.number)
    others = Application.objects.exclude(enterprise__name="沈阳精工数控机床有限公司")
    assert not any(a.number in mine for a in others if a.number)


def test_cases_exist_in_every_status_with_their_details(demo):
    cases = Application.objects.filter(enterprise__is_demo=True).select_related("rule__current")
    assert {
        S.DRAFT,
        S.SUBMITTED,
        S.SUPPLEMENT_REQUIRED,
        S.IN_REVIEW,
        S.NOT_ACCEPTED,
        S.APPROVED,
        S.IN_PUBLICITY,
        S.IN_FINANCE,
        S.DISBURSED,
    } <= {c.status for c in cases}
    assert 20 <= cases.count() <= 25
    assert all(c.department_id == c.rule.current.lead_department_id for c in cases)
    submitted = cases.filter(status=S.SUBMITTED)
    assert submitted.count() >= 3
    assert submitted.filter(channel=Application.Channel.WINDOW).exists()
    assert submitted.filter(channel=Application.Channel.ONLINE).exists()
    for notice in SupplementNotice.objects.filter(application__status=S.SUPPLEMENT_REQUIRED):
        assert len(notice.items) == 2 and all(item["comment"] for item in notice.items)
        assert notice.resolved_at is None
    reviews = cases.filter(status=S.IN_REVIEW)
    assert all(r.accepted_at and r.due_at and r.due_at > r.accepted_at for r in reviews)
    assert reviews.filter(due_at__lt=timezone.now()).exists()  # overdue-looking
    assert reviews.filter(due_at__gt=timezone.now()).exists()
    for refused in cases.filter(status=S.NOT_ACCEPTED):
        assert refused.events.get(action="refuse").note.endswith("不予受理")


def test_case_timelines_are_in_order_and_numbers_follow_filing_dates(demo):
    filed = Application.objects.filter(enterprise__is_demo=True).exclude(number=None)
    by_number = list(filed.order_by("number").values_list("submitted_at", flat=True))
    assert by_number == sorted(by_number)
    for case in filed:
        times = list(case.events.order_by("id").values_list("occurred_at", flat=True))
        assert times == sorted(times), case.number
        assert case.events.get(action="submit").occurred_at == case.submitted_at


def test_materials_are_real_pdfs_naming_the_enterprise(demo):
    material = Material.objects.select_related("enterprise").filter(item_key="business_license")[0]
    content = (demo.media / material.file.name).read_bytes()
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "营业执照" in text and material.enterprise.name in text
    # A material uploaded for an earlier case is reused, not uploaded again.
    jinggong = Material.objects.filter(
        enterprise__name="沈阳精工数控机床有限公司", material_code="business_license"
    )
    assert jinggong.count() >= 2 and len({m.sha256 for m in jinggong}) == 1


def test_a_second_run_creates_nothing(demo):
    # …, a workflow per rule, …, a budget per rule, two publicity batches, one batch to finance.
    assert demo.created == 8 + 12 + 12 + 50 + 2 + 12 + len(CASES) + 2 + 1
    counts = (Policy.objects.count(), Enterprise.objects.count(), Application.objects.count())
    assert load_business_demo() == 0
    assert (Policy.objects.count(), Enterprise.objects.count(), Application.objects.count()) == (
        counts
    )


def test_demo_command_prints_the_summary_after_the_accounts(demo, capsys):
    call_command("demo", no_serve=True)
    out = capsys.readouterr().out
    assert out.index("qiye_li") < out.index("演示业务数据")
    assert "政策 8 项、细则 12 条、企业 50 家" in out
    assert "qiye_zhang → 沈阳精工数控机床有限公司" in out


def test_budgets_hold_the_approved_amounts_and_one_batch_is_in_publicity(demo):
    budgets = Budget.objects.filter(rule__policy__is_demo=True, year=timezone.localdate().year)
    assert budgets.count() == Rule.objects.filter(policy__is_demo=True).count()
    past_publicity = (S.PUBLICITY_PASSED, S.IN_FINANCE, S.DISBURSED)
    granted = Application.objects.filter(
        enterprise__is_demo=True, status__in=(S.APPROVED, S.IN_PUBLICITY, *past_publicity)
    )
    assert granted.count() == 6
    for budget in budgets:
        amounts = granted.filter(rule=budget.rule).values_list("approved_amount", flat=True)
        assert budget.committed == sum(amounts, Decimal("0")), budget.rule.code
    running = [batch for batch in PublicityBatch.objects.all() if batch.running]
    assert len(running) == 1 and running[0].entries.count() == 2
    passed = granted.filter(status__in=past_publicity)
    assert passed.count() == 2
    for case in passed:  # the timeline reads approval, publicity, then its end
        actions = list(case.events.order_by("occurred_at", "id").values_list("action", flat=True))
        start = actions.index("review_approved")
        assert actions[start : start + 3] == ["review_approved", "publicize", "publicity_passed"]
    # 报送财政 (payment_loader): the two passed cases submitted, signed for, one of them paid.
    assert sorted(passed.values_list("status", flat=True)) == [S.DISBURSED, S.IN_FINANCE]
    paid = Budget.objects.filter(disbursed__gt=0).get()
    assert paid.disbursed == passed.get(status=S.DISBURSED).approved_amount


# --------------------------------------------------------------------------- demo roles (issue 15)
def test_every_demo_approver_can_see_and_decide_the_tasks_they_are_told_of(demo, client):
    told = Notification.objects.filter(subject__startswith="新的审批待办").values("recipient")
    approvers = User.objects.filter(Q(pk__in=told) | Q(workflow_tasks__status="open")).distinct()
    assert approvers.filter(username="czt_officer").exists()
    for user in approvers:
        assert all(user.has_permission_code(code) for code in DECIDE_PERMISSIONS), user.username
    officer = User.objects.get(username="czt_officer")
    task = WorkflowTask.objects.filter(assignee=officer, status="open").first()
    assert task is not None and task.node_name == "财政厅审核"
    client.force_login(officer)
    for url in ("/approvals/todo/", f"/approvals/cases/{task.application_id}/", "/api/v1/tasks"):
        assert client.get(url).status_code == 200, url
    # The demo's own workflows pass the publishing check that names who cannot decide.
    for workflow in WorkflowDefinition.objects.filter(status="published"):
        facts = condition_labels(workflow.rule or workflow.subject_type)
        assert spec.problems(spec.parse(workflow.spec), facts=facts) == []


@pytest.mark.parametrize(("username", "city"), [("sy_clerk", "2101"), ("dl_clerk", "2102")])
def test_city_clerks_read_only_their_citys_enterprises_and_cases(demo, client, username, city):
    clerk = User.objects.get(username=username)
    enterprises = enterprises_visible_to(clerk)
    cases = staff_applications(clerk)
    assert enterprises.exists() and cases.exists()
    assert {e.region_id[:4] for e in enterprises} == {city}
    assert {c.enterprise.region_id[:4] for c in cases} == {city}
    client.force_login(clerk)
    page = client.get("/window/cases/").content.decode()
    others = Application.objects.exclude(number=None).exclude(
        enterprise__region__code__startswith=city
    )
    assert not any(case.number in page for case in others)
    # The province's window still serves every city (一口受理).
    province = staff_applications(User.objects.get(username="clerk"))
    assert province.count() == Application.objects.exclude(status=S.DRAFT).count()


def test_the_policy_office_reads_the_cases_it_publishes_issues_and_archives(demo, client):
    client.force_login(User.objects.get(username="zcdx_chief"))
    for case in Application.objects.filter(status__in=(S.IN_PUBLICITY, S.IN_FINANCE, S.DISBURSED)):
        response = client.get(f"/api/v1/applications/{case.pk}")
        assert response.status_code == 200, case.number
        assert response.json()["number"] == case.number
    listed = client.get("/api/v1/applications", {"page_size": 100}).json()
    assert listed["total"] == Application.objects.exclude(status=S.DRAFT).count()
