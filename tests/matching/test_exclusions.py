"""Exclusion groups (互斥组) in the calculators and the rule catalogue, and failure reasons written
from the enterprise's side (issue 15)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus as S
from policywindow.matching import selectors
from tests.applications.test_intake_factories import make_case

pytestmark = pytest.mark.django_db

CALCULATOR = "/portal/calculator/"
PUBLIC = "/policies/calculator/"
CATALOG = "/portal/apply/"


@pytest.fixture
def group(rule_for):
    """Two awards of one 互斥组 (10 % and 5 % of R&D spend) and one outside it (a flat 50,000)."""
    return {
        "big": rule_for(title="高新技术企业认定奖励", exclusion_group="gq"),
        "small": rule_for(
            title="高新技术企业重新认定奖励", formula="rd_spend * 0.05", exclusion_group="gq"
        ),
        "other": rule_for(title="科技创新券", formula="50000"),
    }


def _by_code(matches):
    return {m.rule.code: m for m in matches}


def _catalog_card(page: str, code: str) -> str:
    """The HTML of one rule's card on /portal/apply/."""
    cards = page.split('class="card mb-2 pw-apply-rule"')[1:]
    return next(card for card in cards if f'data-rule="{code}"' in card[:80])


def test_an_exclusion_group_adds_only_its_best_member_to_the_total(group, enterprise_with_agent):
    enterprise, _agent = enterprise_with_agent(rd_spend=Decimal("4000000"))
    matches = selectors.enterprise_matches(enterprise)
    found = _by_code(matches)
    big, small = found[group["big"].code], found[group["small"].code]
    assert (big.amount, small.amount) == (Decimal("400000.00"), Decimal("200000.00"))
    assert big.counts and not big.excluded_by
    assert small.eligible and not small.counts
    assert "高新技术企业认定奖励" in small.excluded_by and "只能享受其一" in small.excluded_by
    summary = selectors.summary(matches)
    # Recounted from the rows: every rule that counts, once.
    counted = [m for m in matches if m.eligible and not m.excluded_by]
    assert summary.amount == sum(m.amount for m in counted) == Decimal("450000.00")
    assert summary.eligible == len(counted) == 2
    # The excluded member comes after every rule that counts.
    order = [m.rule.code for m in matches]
    assert order.index(group["small"].code) > order.index(group["other"].code)


def test_the_portal_calculator_offers_no_application_on_an_excluded_rule(
    group, enterprise_with_agent, login
):
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("4000000"))
    page = login(agent).get(CALCULATOR).content.decode()
    assert reverse("applications:apply_start", args=[group["big"].code]) in page
    assert reverse("applications:apply_start", args=[group["small"].code]) not in page
    assert "互斥不计入" in page and 'data-status="excluded"' in page
    assert "450,000.00 元" in page  # not 650,000.00: the group counts once


def test_the_public_calculator_counts_the_group_once(group, client):
    page = client.get(PUBLIC, {"calculate": "1", "rd_spend": "4000000"}).content.decode()
    assert "450,000.00 元" in page and "650,000.00 元" not in page
    assert "互斥不计入" in page


def test_an_application_settles_its_group_even_when_it_is_the_smaller_award(
    group, enterprise_with_agent, login
):
    enterprise, agent = enterprise_with_agent(rd_spend=Decimal("4000000"))
    make_case(group["small"].current, enterprise, agent, status=S.SUBMITTED)
    found = _by_code(selectors.enterprise_matches(enterprise))
    assert found[group["small"].code].counts
    big = found[group["big"].code]
    assert not big.counts and "已申报同一互斥组的《高新技术企业重新认定奖励》" in big.excluded_by
    assert selectors.summary(list(found.values())).amount == Decimal("250000.00")
    page = login(agent).get(CATALOG).content.decode()
    # /portal/apply/: the excluded rule reads 互斥不可申报, never 可申报 beside the reason.
    card = _catalog_card(page, group["big"].code)
    assert '"badge">互斥不可申报</span>' in card and '"badge">可申报' not in card
    assert "贵企业本年度已申报同一互斥组的《高新技术企业重新认定奖励》" in card


def test_the_api_reports_the_exclusion_and_the_total(group, enterprise_with_agent, login):
    _enterprise, agent = enterprise_with_agent(rd_spend=Decimal("4000000"))
    body = login(agent).get("/api/v1/matches").json()
    assert body["expected_total"] == "450000.00"
    excluded = [item for item in body["items"] if item["excluded_by"]]
    assert [item["rule"] for item in excluded] == [group["small"].code]


@pytest.mark.parametrize(
    ("expression", "facts", "reason"),
    [
        (
            'size != "large" # 属于中小微企业',
            {"employees": 2000, "revenue": Decimal("500000000"), "total_assets": Decimal("9e8")},
            "贵企业的企业规模为大型，不符合本细则条件：属于中小微企业",
        ),
        (
            'size == "large" # 属于大型企业',
            {"employees": 50, "revenue": Decimal("5000000"), "total_assets": Decimal("5000000")},
            "贵企业的企业规模为小型，不符合本细则条件：属于大型企业",
        ),
        (
            "high_tech == true # 持有有效的高新技术企业证书",
            {"high_tech": False},
            "贵企业不是高新技术企业，不符合本细则条件：持有有效的高新技术企业证书",
        ),
        (
            'specialized == "little_giant" # 国家级专精特新“小巨人”企业',
            {"specialized": ""},
            "贵企业的专精特新为无，不符合本细则条件：国家级专精特新“小巨人”企业",
        ),
        (
            "rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
            {"rd_spend": Decimal("2400000")},
            "贵企业上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元",
        ),
    ],
)
def test_every_reason_is_written_from_the_enterprises_side(
    rule_for, enterprise_with_agent, expression, facts, reason
):
    rule = rule_for(expression, formula="")
    enterprise, _agent = enterprise_with_agent(**facts)
    [match] = [m for m in selectors.enterprise_matches(enterprise) if m.rule.pk == rule.pk]
    assert match.failures == (reason,)
