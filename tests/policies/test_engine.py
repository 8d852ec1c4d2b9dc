"""The eligibility engine: conditions line by line, explanations, missing attributes, amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policywindow.policies import engine
from policywindow.policies.engine import check_eligibility, expected_amount
from policywindow.policies.models import RuleVersion

from .conftest import add_items

RD_RULE = "rd_spend >= 3000000 # 上年研发费用不低于 300 万元"


def version(expression: str = "", formula: str = "", cap: str | None = None) -> RuleVersion:
    return RuleVersion(
        eligibility_expression=expression,
        amount_formula=formula,
        per_enterprise_cap=Decimal(cap) if cap else None,
    )


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("line", "expression", "comment"),
    [
        (
            "rd_spend >= 3000000 # 上年研发费用不低于 300 万元",
            "rd_spend >= 3000000",
            "上年研发费用不低于 300 万元",
        ),
        ("high_tech == true", "high_tech == true", ""),
        ("some(tags, # == 'a') # 含标签 a", "some(tags, # == 'a')", "含标签 a"),
        ('name == "#1" # 编号', 'name == "#1"', "编号"),
        ("# 整行说明", "", "整行说明"),
    ],
)
def test_a_comment_follows_the_first_hash_outside_brackets_and_strings(line, expression, comment):
    assert engine.split_comment(line) == (expression, comment)


def test_attribute_names_skip_functions_keywords_members_and_strings():
    names = engine.attribute_names("min([rd_spend * 0.1, cap]) > 1e5 and x.y == 'abc' and not z")
    assert names == ("rd_spend", "cap", "x", "z")


def test_a_syntax_error_names_its_line():
    problems = engine.check_expression("rd_spend >= 1\nrevenue >=\nemployees > 5")
    assert len(problems) == 1
    assert problems[0].startswith("第 2 行“revenue >=”有语法错误")


def test_unknown_attributes_are_named_per_line():
    problems = engine.check_expression("rd_spend >= 1\nrd_spnd > 2", known={"rd_spend"})
    assert problems == ["第 2 行使用了未定义的属性：rd_spnd"]


def test_a_formula_with_a_syntax_error_is_reported():
    assert engine.check_formula("min([rd_spend * 0.1, ") != []
    assert engine.check_formula("min([rd_spend * 0.1, 5000000])", known={"rd_spend"}) == []


def test_parsed_conditions_are_cached_by_text():
    first = engine.parse_conditions("revenue > 1\nemployees >= 10")
    again = engine.parse_conditions("revenue > 1\nemployees >= 10")
    assert first is again
    assert [c.line for c in first] == [1, 2]


# ---------------------------------------------------------------- eligibility


def test_exactly_at_the_threshold_is_eligible():
    result = check_eligibility(version(RD_RULE), {"rd_spend": Decimal("3000000.00")})
    assert result.status == "eligible"
    assert result.failures == [] and result.unknowns == []


def test_one_cent_below_the_threshold_fails_with_actual_and_required_values():
    result = check_eligibility(version(RD_RULE), {"rd_spend": Decimal("2999999.99")})
    assert result.status == "ineligible"
    assert result.failures == ["贵企业上年研发费用 2,999,999.99 元，低于要求的 3,000,000.00 元"]


def test_every_failing_line_is_reported_with_its_own_explanation():
    expression = "\n".join(
        [
            RD_RULE,
            "employees <= 300",
            "high_tech == true # 须为高新技术企业",
            "revenue > 0",
        ]
    )
    facts = {
        "rd_spend": Decimal("2400000"),
        "employees": 320,
        "high_tech": False,
        "revenue": Decimal("5"),
    }
    result = check_eligibility(version(expression), facts)
    assert result.status == "ineligible"
    assert result.failures == [
        "贵企业上年研发费用 2,400,000.00 元，低于要求的 3,000,000.00 元",
        "贵企业从业人员 320 人，超过上限 300 人",
        "贵企业不是高新技术企业，不符合本细则条件：须为高新技术企业",
    ]


def test_a_complex_line_without_a_comment_quotes_the_condition():
    result = check_eligibility(
        version('specialized in ["provincial", "little_giant"]'), {"specialized": ""}
    )
    assert result.failures == [
        '贵企业的专精特新为无，不符合本细则条件：specialized in ["provincial", "little_giant"]'
    ]


def test_a_missing_attribute_is_unknown_never_a_pass_or_a_crash():
    expression = RD_RULE + "\nhigh_tech == true"
    result = check_eligibility(version(expression), {"rd_spend": None, "high_tech": True})
    assert result.status == "unknown"
    assert result.unknowns == ["缺少属性：上年研发费用"]
    assert result.failures == []


def test_an_absent_attribute_in_an_equality_is_unknown_too():
    # zen compares a null with "==" as simply false; the engine must not report that as a fact.
    result = check_eligibility(version('specialized == "little_giant"'), {})
    assert result.status == "unknown"
    assert result.unknowns == ["缺少属性：专精特新"]


def test_failures_win_over_unknowns_and_both_are_reported():
    expression = "employees >= 10\nrd_spend >= 1"
    result = check_eligibility(version(expression), {"employees": 3})
    assert result.status == "ineligible"
    assert result.failures == ["贵企业从业人员 3 人，低于要求的 10 人"]
    assert result.unknowns == ["缺少属性：上年研发费用"]


def test_a_type_mismatch_is_unknown_with_the_line_number():
    result = check_eligibility(version("employees > 5"), {"employees": "很多"})
    assert result.status == "unknown"
    assert result.unknowns == ["第 1 行条件无法判断（属性取值类型不符）"]


def test_a_broken_stored_expression_is_unknown_not_a_crash():
    result = check_eligibility(version("rd_spend >="), {"rd_spend": Decimal(1)})
    assert result.status == "unknown"
    assert result.unknowns[0].startswith("细则条件配置有误：第 1 行")


def test_no_conditions_means_eligible_and_as_dict_is_storable():
    result = check_eligibility(version(""), {})
    assert result.as_dict() == {"status": "eligible", "failures": [], "unknowns": []}
    assert result.label == "符合条件"


def test_registered_capital_is_explained_in_its_own_unit():
    result = check_eligibility(
        version("registered_capital >= 500"), {"registered_capital": Decimal("300")}
    )
    assert result.failures == ["贵企业注册资本 300.00 万元，低于要求的 500.00 万元"]


@pytest.mark.django_db
def test_form_answers_are_named_by_their_item_labels(policy_admin, rule):
    draft = rule.versions.get()
    add_items(
        policy_admin, draft, {"key": "audit_rd", "label": "专项审计研发费用", "kind": "money"}
    )
    draft.eligibility_expression = "audit_rd >= 1000000\nquota > 0"
    result = check_eligibility(draft, {"audit_rd": Decimal("999999.99")})
    assert result.failures == ["贵企业专项审计研发费用 999,999.99 元，低于要求的 1,000,000.00 元"]
    assert result.unknowns == ["缺少属性：quota"]


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("rd_spend", "amount"),
    [
        ("30000000", "3000000.00"),  # 10% below the cap
        ("1234567.85", "123456.79"),  # 123456.785 rounds half up
        ("1234567.84", "123456.78"),  # 123456.784 rounds down
        ("50000000", "5000000.00"),  # exactly the cap
        ("80000000", "5000000.00"),  # capped
    ],
)
def test_amount_is_rounded_half_up_and_capped(rd_spend, amount):
    v = version(formula="rd_spend * 0.1", cap="5000000")
    assert expected_amount(v, {"rd_spend": Decimal(rd_spend)}) == Decimal(amount)


def test_amount_formula_with_zen_functions_and_no_cap():
    v = version(formula="min([rd_spend * 0.1, 2000000]) # 最高 200 万元")
    assert expected_amount(v, {"rd_spend": Decimal("30000000")}) == Decimal("2000000.00")


@pytest.mark.parametrize(
    ("formula", "facts"),
    [
        ("", {"rd_spend": Decimal(1)}),  # no formula
        ("rd_spend * 0.1", {}),  # missing attribute
        ("rd_spend * 0.1", {"rd_spend": None}),
        ("rd_spend > 1", {"rd_spend": Decimal(5)}),  # not a number
        ("rd_spend *", {"rd_spend": Decimal(5)}),  # broken formula
    ],
)
def test_amount_is_none_when_it_cannot_be_known(formula, facts):
    assert expected_amount(version(formula=formula), facts) is None


def test_a_negative_result_is_zero():
    assert expected_amount(version(formula="revenue - 100"), {"revenue": Decimal(10)}) == Decimal(
        "0.00"
    )
