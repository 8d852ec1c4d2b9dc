"""Matching results against hand-computed expectations, and the batch evaluator against the engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from policywindow.enterprises.selectors import enterprise_facts
from policywindow.matching import selectors
from policywindow.matching.compiled import FactTable, compile_rule
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion
from tests.applications.test_filing_factories import make_enterprise

from .conftest import EMPLOYEE_RULE

pytestmark = pytest.mark.django_db


def verdict(rule, **facts):
    enterprise = make_enterprise(**facts)
    [match] = [m for m in selectors.enterprise_matches(enterprise) if m.rule.pk == rule.pk]
    return match


def test_equal_to_the_threshold_is_eligible_with_the_amount(rule_for):
    rule = rule_for()  # rd_spend >= 3,000,000; 10 % of it, at most 5,000,000
    match = verdict(rule, rd_spend=Decimal("3000000"))
    assert match.status == engine.ELIGIBLE
    assert match.amount == Decimal("300000.00")
    assert match.failures == () and match.unknowns == ()


def test_one_cent_below_the_threshold_names_the_failing_condition(rule_for):
    rule = rule_for()
    match = verdict(rule, rd_spend=Decimal("2999999.99"))
    assert match.status == engine.INELIGIBLE
    assert match.failures == ("贵企业上年研发费用 2,999,999.99 元，低于要求的 3,000,000.00 元",)
    assert match.amount is None


def test_failure_reads_like_the_engine_explains_it(rule_for):
    rule = rule_for()
    match = verdict(rule, rd_spend=Decimal("2400000"))
    assert match.failures == ("贵企业上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元",)


def test_strict_comparison_at_its_boundary_fails(rule_for):
    rule = rule_for(EMPLOYEE_RULE, formula="")
    assert verdict(rule, employees=100).failures == ("贵企业从业人员 100 人，须高于 100 人",)
    eligible = verdict(rule, employees=101)
    assert eligible.status == engine.ELIGIBLE and eligible.amount is None


def test_amount_is_capped_per_enterprise(rule_for):
    rule = rule_for()
    assert verdict(rule, rd_spend=Decimal("80000000")).amount == Decimal("5000000.00")


def test_missing_attribute_is_unknown_never_a_pass(rule_for):
    rule = rule_for()
    match = verdict(rule, rd_spend=None)
    assert match.status == engine.UNKNOWN
    assert match.unknowns == ("缺少数据：上年研发费用",)
    assert match.amount is None


def test_a_failure_outweighs_a_missing_attribute(rule_for):
    rule = rule_for("rd_spend >= 3000000\nemployees > 100")
    match = verdict(rule, rd_spend=Decimal("1000000"), employees=None)
    assert match.status == engine.INELIGIBLE
    assert match.unknowns == ("缺少数据：从业人员",)


def test_eligible_rules_come_first_largest_amount_first(rule_for):
    small = rule_for(formula="rd_spend * 0.01")
    large = rule_for(formula="rd_spend * 0.1")
    missing = rule_for("export_value >= 1000000")
    failing = rule_for("employees > 10000")
    enterprise = make_enterprise(rd_spend=Decimal("4000000"), export_value=None)
    order = [m.rule.pk for m in selectors.enterprise_matches(enterprise)]
    assert order == [large.pk, small.pk, missing.pk, failing.pk]


def test_only_published_rules_of_published_policies_are_matched(rule_for):
    live = rule_for()
    draft_policy = rule_for()
    draft_policy.policy.status = "draft"
    draft_policy.policy.save()
    enterprise = make_enterprise()
    assert [m.rule.pk for m in selectors.enterprise_matches(enterprise)] == [live.pk]


EXPRESSIONS = [
    "rd_spend >= 3000000",
    "rd_spend > 3000000",
    "employees <= 100",
    "employees < 100",
    "employees == 100",
    "employees != 100",
    "high_tech == true",
    "tech_sme != false",
    "employees == true",  # a number compared with a yes/no: zen decides
    "rd_spend >= 3000000 and employees > 50",
    "size in ['small', 'micro']",
    "established_years >= 3 # 成立满三年",
    "revenue > 0 and rd_spend / revenue >= 0.03 # 研发强度不低于 3%",
    "specialized == 'little_giant'",
    "size >= 3",  # a comparison of a text with a number: undecidable, never a pass
]
FACTS = [
    {"rd_spend": Decimal("3000000"), "employees": 100},
    {"rd_spend": Decimal("2999999.99"), "employees": 101},
    {"rd_spend": Decimal("3000000.01"), "employees": 99},
    {"rd_spend": None, "employees": 100},
    {"rd_spend": Decimal("0"), "employees": None, "revenue": Decimal("0")},
    {"rd_spend": Decimal("5000000"), "employees": 0, "revenue": Decimal("100000000")},
    {
        "high_tech_valid_until": dt.date(2000, 1, 1),
        "high_tech": True,
        "specialized": "little_giant",
    },
    {"established_on": None},
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_the_batch_evaluator_agrees_with_the_engine(expression, department):
    version = RuleVersion(eligibility_expression=expression, lead_department=department)
    facts = [enterprise_facts(make_enterprise(**fields)) for fields in FACTS]
    eligible = [
        row
        for row, one in enumerate(facts)
        if engine.check_eligibility(version, one).status == engine.ELIGIBLE
    ]
    # the whole grid as one chunk, and each enterprise as a chunk of its own
    assert compile_rule(version).eligible_rows(FactTable(facts)) == eligible, expression
    alone = [
        row
        for row, one in enumerate(facts)
        if compile_rule(version).eligible_rows(FactTable([one]))
    ]
    assert alone == eligible, expression


def test_a_broken_expression_is_never_eligible(department):
    version = RuleVersion(eligibility_expression="rd_spend >=", lead_department=department)
    facts = enterprise_facts(make_enterprise())
    assert compile_rule(version).eligible_rows(FactTable([facts])) == []
