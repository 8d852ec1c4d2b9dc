"""Conditions in words: every construct the rule editor and the workflow designer accept."""

from __future__ import annotations

import pytest

from policywindow.policies.wording import describe, readings
from policywindow.workflow.spec import condition_facts

pytestmark = pytest.mark.django_db

# What a node condition may name: the application's amount, the enterprise facts, form items.
LABELS = {**condition_facts(), "premium": "保费（元）", "promise": "信用承诺"}


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        # numbers, with the attribute's unit and thousands separators; each operator
        ("requested_amount > 1000000", "申请金额大于 1,000,000 元"),
        ("rd_spend >= 3000000", "上年研发费用不低于 3,000,000 元"),
        ("employees < 50", "从业人员小于 50 人"),
        ("registered_capital <= 500.5", "注册资本不超过 500.5 万元"),
        ("established_years == 3", "成立年限等于 3 年"),
        ("premium != 0", "保费不等于 0 元"),
        ("1000000 < requested_amount", "申请金额大于 1,000,000 元"),  # the number first
        # yes/no: an enterprise fact is a noun, a form item has the answer 是/否
        ("high_tech == true", "是高新技术企业"),
        ("high_tech != true", "不是高新技术企业"),
        ("tech_sme == false", "不是科技型中小企业"),
        ("high_tech", "是高新技术企业"),
        ("not high_tech", "不是高新技术企业"),
        ("promise == true", "信用承诺为“是”"),
        # texts, named by their choice labels and reference tables
        ('size == "large"', "企业规模为大型"),
        ('size != "large"', "企业规模不为大型"),
        ('specialized == "little_giant"', "专精特新为国家级专精特新“小巨人”企业"),
        ("specialized != ''", "专精特新不为无"),
        ('region == "210100"', "所在地区为沈阳市"),
        # lists
        ('size in ["small", "micro"]', "企业规模为小型、微型之一"),
        ('size not in ["large"]', "企业规模不为大型"),
        ("employees in [10, 20]", "从业人员为 10 人、20 人之一"),
        # null
        ("premium == null", "保费未填写"),
        ("premium != null", "保费已填写"),
        # not, and, or, brackets
        ("not (revenue > 5)", "上年营业收入不超过 5 元"),
        ("not (revenue > 5 or high_tech)", "并非（上年营业收入大于 5 元或是高新技术企业）"),
        ("tech_sme == true or high_tech == true", "是科技型中小企业或是高新技术企业"),
        (
            "(revenue > 0 and employees >= 10) or high_tech",
            "（上年营业收入大于 0 元且从业人员不低于 10 人）或是高新技术企业",
        ),
    ],
)
def test_each_supported_construct_reads_as_a_sentence(expression, words):
    assert describe(expression, LABELS) == words


def test_the_authors_comment_does_not_replace_the_words():
    text = "requested_amount > 1000000 # 申请金额超过 100 万元"
    assert describe(text, LABELS) == "申请金额大于 1,000,000 元"


def test_several_lines_must_all_hold_and_blank_or_comment_lines_are_skipped():
    text = "rd_spend >= 3000000 # 研发投入\n\n# 说明\nrevenue > 0"
    assert describe(text, LABELS) == "上年研发费用不低于 3,000,000 元；上年营业收入大于 0 元"
    assert [(r.line, r.expression, r.comment) for r in readings(text, LABELS)] == [
        (1, "rd_spend >= 3000000", "研发投入"),
        (4, "revenue > 0", ""),
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "min([rd_spend, 5000000]) > 3000000",  # a function
        "rd_spend * 0.1 > 300",  # arithmetic
        "employees in [10..50]",  # a range
        "grant_total > 3",  # an attribute nobody defined
        "revenue == true",  # a number compared with a yes/no
        "revenue > 0 and",  # incomplete
        'size > "large"',  # ordering texts
        "1 > 2",  # no attribute
    ],
)
def test_what_cannot_be_put_into_words_is_shown_as_the_expression(expression):
    assert describe(expression, LABELS) == f"表达式 {expression}"
    commented = describe(f"{expression} # 作者的说明", LABELS)
    assert commented == f"作者的说明（表达式 {expression}）"
