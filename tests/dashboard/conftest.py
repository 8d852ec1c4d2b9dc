"""A small province built by hand for the data board: two lead departments, two rules, two
cities, cases in several statuses and months (one filed 30 minutes into 2026 in Shanghai,
which is still 2025 in UTC), their review times and the rules' budgets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.enterprises.models import Region
from policywindow.finance.models import Budget
from tests.applications.test_intake_factories import (
    make_case,
    make_enterprise,
    make_version,
    shanghai,
)

NOW = shanghai(2026, 11, 26, 10, 0)


@pytest.fixture
def clock(monkeypatch):
    """Every read sees 2026-11-26 10:00 in Shanghai."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def dalian_enterprise():
    """An enterprise registered in a district of 大连 (its city is the code's first 4 digits)."""
    city, _ = Region.objects.get_or_create(
        code="210200", defaults={"name": "大连市", "level": Region.Level.CITY}
    )
    district, _ = Region.objects.get_or_create(
        code="210202",
        defaults={"name": "中山区", "level": Region.Level.COUNTY, "parent": city},
    )
    enterprise = make_enterprise("大连看板测试船舶有限公司")
    enterprise.region = district
    enterprise.save()
    return enterprise


def _case(version, enterprise, applicant, status, submitted, **fields) -> Application:
    case = make_case(version, enterprise, applicant, status=status, submitted_at=submitted)
    if fields:
        Application.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return case


def _decided(accepted: dt.datetime, days: int, due: dt.datetime) -> dict:
    return {
        "accepted_at": accepted,
        "decided_at": accepted + dt.timedelta(days=days),
        "due_at": due,
    }


@pytest.fixture
def province(make_department, make_user, clock):
    tech, commerce = make_department("省科技厅"), make_department("省商务厅")
    rule_a = make_version(tech, title="研发费用后补助")
    rule_b = make_version(commerce, title="出口信用保险保费补助")
    applicant = make_user("dash_qiye", "enterprise", kind="enterprise")
    shenyang, dalian = make_enterprise("沈阳看板测试装备有限公司"), dalian_enterprise()
    cases = {
        "paid": _case(
            rule_a,
            shenyang,
            applicant,
            S.DISBURSED,
            shanghai(2026, 3, 5, 10),
            approved_amount=Decimal("300000.00"),
            **_decided(shanghai(2026, 3, 6, 9), 4, shanghai(2026, 3, 14)),
        ),
        "reviewing": _case(
            rule_a,
            dalian,
            applicant,
            S.IN_REVIEW,
            shanghai(2026, 3, 20, 10),
            accepted_at=shanghai(2026, 3, 21, 9),
            due_at=shanghai(2026, 3, 28),
        ),
        "rejected": _case(
            rule_a,
            shenyang,
            applicant,
            S.REJECTED,
            shanghai(2026, 4, 2, 10),
            **_decided(shanghai(2026, 4, 3, 9), 10, shanghai(2026, 4, 11)),
        ),
        "approved": _case(
            rule_b,
            dalian,
            applicant,
            S.APPROVED,
            shanghai(2026, 4, 10, 10),
            approved_amount=Decimal("150000.50"),
            **_decided(shanghai(2026, 4, 11, 9), 4, shanghai(2026, 4, 19)),
        ),
        "new_year": _case(rule_b, shenyang, applicant, S.SUBMITTED, shanghai(2026, 1, 1, 0, 30)),
        # Before the period (still open: the oldest open case), and waiting for 补正.
        "last_year": _case(
            rule_b, shenyang, applicant, S.SUBMITTED, shanghai(2025, 12, 31, 23, 30)
        ),
        "supplement": _case(
            rule_a, shenyang, applicant, S.SUPPLEMENT_REQUIRED, shanghai(2025, 6, 1, 10)
        ),
    }
    draft = make_case(rule_a, shenyang, applicant, status=S.DRAFT)
    Application.objects.filter(pk=draft.pk).update(submitted_at=None, number=None)
    budgets = {
        "a": Budget.objects.create(
            rule=rule_a.rule,
            year=2026,
            total=Decimal("1000000.00"),
            committed=Decimal("300000.00"),
            disbursed=Decimal("300000.00"),
        ),
        "b": Budget.objects.create(
            rule=rule_b.rule,
            year=2026,
            total=Decimal("500000.00"),
            committed=Decimal("150000.50"),
        ),
        "a_2024": Budget.objects.create(
            rule=rule_a.rule, year=2024, total=Decimal("800000.00"), committed=Decimal("0")
        ),
    }
    return {
        "tech": tech,
        "commerce": commerce,
        "rule_a": rule_a.rule,
        "rule_b": rule_b.rule,
        "cases": cases,
        "budgets": budgets,
        "applicant": applicant,
        "bureau": make_user("dash_bureau", "bureau_leader", real_name="营商局王局长"),
        "tech_leader": make_user("dash_tech", "dept_leader", dept=tech, real_name="科技厅李处长"),
        "commerce_chief": make_user(
            "dash_commerce", "section_chief", dept=commerce, real_name="商务厅赵科长"
        ),
    }
