"""预算管理 pages and who may use them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from policywindow.finance.models import Budget
from tests.finance.factories import approved, make_budget, make_rule

pytestmark = pytest.mark.django_db


def test_the_budget_list_shows_what_is_left_and_warns_of_rules_without_a_budget(people, login):
    budgeted = make_rule(people, title="首次认定高新技术企业奖励")
    make_budget(budgeted, "1000000")
    approved(people, budgeted, "300000.00")
    bare = make_rule(people, title="研发投入后补助")
    bare.annual_budget = Decimal("2000000")
    bare.save(update_fields=["annual_budget"])
    page = login(people.admin).get(reverse("finance:budget_list"), {"year": "2026"})
    html = page.content.decode()
    row = html[html.index(f'data-rule="{budgeted.rule.code}"') :]
    assert "1,000,000.00 元" in row and "300,000.00 元" in row and "700,000.00 元" in row
    warning = html[html.index('data-testid="missing-budgets"') :]
    assert bare.rule.code in warning and "2,000,000.00 元" in warning
    assert f"?rule={bare.rule.pk}&year=2026" in warning
    assert budgeted.rule.code not in warning[: warning.index("</ul>")]


def test_budgets_are_created_and_edited_through_the_pages(people, login):
    version = make_rule(people)
    version.annual_budget = Decimal("2000000")
    version.save(update_fields=["annual_budget"])
    client = login(people.admin)
    url = reverse("finance:budget_create")
    form = client.get(url, {"rule": version.rule.pk, "year": "2026"}).content.decode()
    assert 'value="2000000.00"' in form  # the rule's own declared budget, as a start
    answer = client.post(url, {"rule": version.rule.pk, "year": "2026", "total": "1,500,000"})
    assert answer.status_code == 302
    budget = Budget.objects.get()
    assert budget.total == Decimal("1500000.00")
    approved(people, version, "300000.00")
    edit = reverse("finance:budget_update", args=[budget.pk])
    refused = client.post(edit, {"total": "100000", "note": ""}).content.decode()
    assert "预算总额不能低于已核定的 300,000.00 元" in refused
    assert client.post(edit, {"total": "400000", "note": "年中调整"}).status_code == 302
    budget.refresh_from_db()
    assert (budget.total, budget.note) == (Decimal("400000.00"), "年中调整")
    duplicate = client.post(url, {"rule": version.rule.pk, "year": "2026", "total": "1"})
    assert "2026 年度预算已存在" in duplicate.content.decode()


def test_finance_officers_read_budgets_and_leads_decide_objections_only(people, make_user, login):
    officer = login(make_user("czt", "finance_officer"))
    assert officer.get(reverse("finance:budget_list")).status_code == 200
    assert officer.get(reverse("finance:budget_create")).status_code == 403
    assert officer.get(reverse("finance:publicity_list")).status_code == 403
    chief = login(people.chief)
    assert chief.get(reverse("finance:objection_list")).status_code == 200
    assert chief.get(reverse("finance:budget_list")).status_code == 403
    assert chief.get(reverse("finance:publicity_create")).status_code == 403
    bureau = login(people.bureau)
    for name in ("finance:budget_list", "finance:publicity_list", "finance:objection_list"):
        assert bureau.get(reverse(name)).status_code == 200
    assert bureau.get(reverse("finance:publicity_create")).status_code == 403
    sidebar = login(people.admin).get(reverse("finance:budget_list")).content.decode()
    for key in ("finance.budget", "finance.publicity", "finance.objection"):
        assert f'data-menu="{key}"' in sidebar
