"""Unified social credit code (GB 32100-2015) and enterprise size (统计上大中小微型企业划分办法 2017)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policywindow.core.codes import (
    LARGE,
    MEDIUM,
    MICRO,
    SECTION_DIVISIONS,
    SMALL,
    USCC_ALPHABET,
    classify_size,
    industry_section_of,
    make_uscc,
    normalize_uscc,
    size_standard,
    uscc_check_char,
    validate_uscc,
)
from policywindow.core.errors import ValidationFailed

# Credit codes of real, publicly registered companies.
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91110000802100433B",  # 中国石油化工股份有限公司
    "91330100799655058B",  # 杭州阿里巴巴广告有限公司
    "91350100M000100Y43",  # the example in GB 32100-2015
]


def reason_for(code: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        validate_uscc(code)
    assert list(caught.value.details) == ["credit_code"]
    return caught.value.details["credit_code"][0]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    validate_uscc(code)
    assert make_uscc(code[:17]) == code


def test_weights_are_powers_of_three_mod_31():
    from policywindow.core.codes import USCC_WEIGHTS

    assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(USCC_ALPHABET) == 31 and not set("IOSVZ") & set(USCC_ALPHABET)


def test_check_value_zero_is_the_character_0():
    # Σ C_i·W_i ≡ 0 (mod 31) gives C18 = (31 − 0) mod 31 = 0, not 31.
    assert uscc_check_char("00000000000000000") == "0"
    assert make_uscc("00000000000000000") == "000000000000000000"


def test_empty_code():
    assert reason_for("") == "请填写统一社会信用代码"


@pytest.mark.parametrize(
    ("code", "length"), [("91440300192203821", 17), ("9144030019220382166", 19)]
)
def test_wrong_length_says_how_long(code, length):
    assert reason_for(code) == f"应为 18 位，实际为 {length} 位"


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_never_used_are_named_with_their_position(letter):
    code = "9144030019220382" + letter + "6"
    assert reason_for(code) == (
        f"第 17 位“{letter}”是非法字符：字母 I、O、S、V、Z 不用于统一社会信用代码"
    )


def test_lowercase_letter_is_refused_with_hint():
    assert reason_for("9144030071526726xG").startswith("第 17 位“x”是非法字符：小写字母无效")


def test_other_characters_are_refused():
    assert reason_for("91440300-922038216") == (
        "第 9 位“-”是非法字符：只能使用数字和大写字母（不含 I、O、S、V、Z）"
    )
    assert "第 1 位“统”" in reason_for("统44030019220382166")


def test_wrong_check_character_says_expected_and_actual():
    assert reason_for("914403001922038217") == "校验码错误：第 18 位应为“6”，实际为“7”"


def test_message_names_the_reason():
    with pytest.raises(ValidationFailed, match="统一社会信用代码不正确：校验码错误"):
        validate_uscc("9144030071526726XA")


def test_normalize_removes_spaces_and_upper_cases():
    assert normalize_uscc(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


def test_make_uscc_refuses_bad_input():
    with pytest.raises(ValueError, match="17 characters"):
        make_uscc("123")
    with pytest.raises(ValidationFailed):
        make_uscc("9144030019220382O")


# ---------------------------------------------------------------- industry sections


def test_sections_cover_all_97_divisions_once():
    numbers = [n for first, last in SECTION_DIVISIONS.values() for n in range(first, last + 1)]
    assert sorted(numbers) == list(range(1, 98))


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("01", "A"),
        ("05", "A"),
        ("06", "B"),
        ("39", "C"),
        ("43", "C"),
        ("46", "D"),
        ("59", "G"),
        ("702", "K"),
        ("65", "I"),
        ("72", "L"),
        ("96", "S"),
        ("97", "T"),
        ("C", "C"),
    ],
)
def test_industry_section_of(code, section):
    assert industry_section_of(code) == section


def test_industry_section_of_rejects_unknown_codes():
    with pytest.raises(ValueError):
        industry_section_of("98")


# ---------------------------------------------------------------- size classification

Y = Decimal(10000)  # one 万元 in yuan


def size(section, division, employees=None, revenue_wan=None, assets_wan=None):
    revenue = None if revenue_wan is None else Decimal(revenue_wan) * Y
    assets = None if assets_wan is None else Decimal(assets_wan) * Y
    return classify_size(section, division, employees, revenue, assets)


class TestIndustry:
    """工业 (B, C, D): 从业人员 1000/300/20 and 营业收入 40000/2000/300 万元, both required."""

    @pytest.mark.parametrize("section, division", [("B", "06"), ("C", "39"), ("D", "44")])
    def test_large_needs_both_lower_bounds(self, section, division):
        assert size(section, division, 1000, 40000) == LARGE

    def test_one_indicator_short_of_large_moves_down_a_tier(self):
        assert size("C", "39", 999, 40000) == MEDIUM
        assert size("C", "39", 1000, Decimal("39999.99")) == MEDIUM

    def test_medium_and_small_boundaries(self):
        assert size("C", "39", 300, 2000) == MEDIUM
        assert size("C", "39", 299, 2000) == SMALL
        assert size("C", "39", 20, 300) == SMALL

    def test_micro_needs_only_one_indicator_below_small(self):
        assert size("C", "39", 19, 30000) == MICRO
        assert size("C", "39", 800, Decimal("299.99")) == MICRO

    def test_many_employees_but_tiny_revenue_is_micro(self):
        assert size("C", "39", 5000, 100) == MICRO


@pytest.mark.parametrize(
    ("section", "division", "args", "expected"),
    [
        # 农、林、牧、渔业: revenue only, 20000/500/50
        ("A", "01", (None, 20000), LARGE),
        ("A", "05", (None, Decimal("19999.99")), MEDIUM),
        ("A", "03", (None, 50), SMALL),
        ("A", "03", (None, Decimal("49.99")), MICRO),
        # 建筑业: revenue 80000/6000/300 and assets 80000/5000/300
        ("E", "47", (None, 80000, 80000), LARGE),
        ("E", "48", (None, 80000, 79999), MEDIUM),
        ("E", "49", (None, 6000, 5000), MEDIUM),
        ("E", "50", (None, 5999, 5000), SMALL),
        ("E", "50", (None, 300, 299), MICRO),
        # 批发业: employees 200/20/5, revenue 40000/5000/1000
        ("F", "51", (200, 40000), LARGE),
        ("F", "51", (20, 5000), MEDIUM),
        ("F", "51", (5, 1000), SMALL),
        ("F", "51", (4, 1000), MICRO),
        # 零售业: employees 300/50/10, revenue 20000/500/100
        ("F", "52", (300, 20000), LARGE),
        ("F", "52", (50, 500), MEDIUM),
        ("F", "52", (49, 500), SMALL),
        ("F", "52", (10, 99), MICRO),
        # 交通运输业: 1000/300/20, 30000/3000/200
        ("G", "54", (1000, 30000), LARGE),
        ("G", "56", (300, 3000), MEDIUM),
        ("G", "58", (20, 200), SMALL),
        ("G", "591", (20, 199), MICRO),  # 装卸搬运 counts as 交通运输业
        # 仓储业: 200/100/20, 30000/1000/100
        ("G", "59", (200, 30000), LARGE),
        ("G", "592", (100, 1000), MEDIUM),
        ("G", "599", (99, 1000), SMALL),
        ("G", "59", (19, 1000), MICRO),
        # 邮政业: 1000/300/20, 30000/2000/100
        ("G", "60", (1000, 30000), LARGE),
        ("G", "60", (300, 2000), MEDIUM),
        ("G", "60", (300, 1999), SMALL),
        ("G", "60", (20, 99), MICRO),
        # 住宿业 and 餐饮业: 300/100/10, 10000/2000/100
        ("H", "61", (300, 10000), LARGE),
        ("H", "61", (100, 2000), MEDIUM),
        ("H", "62", (10, 100), SMALL),
        ("H", "62", (9, 5000), MICRO),
        # 信息传输业: 2000/100/10, 100000/1000/100
        ("I", "63", (2000, 100000), LARGE),
        ("I", "64", (1999, 100000), MEDIUM),
        ("I", "64", (10, 100), SMALL),
        ("I", "63", (10, 99), MICRO),
        # 软件和信息技术服务业: 300/100/10, 10000/1000/50
        ("I", "65", (300, 10000), LARGE),
        ("I", "65", (100, 1000), MEDIUM),
        ("I", "65", (10, 50), SMALL),
        ("I", "65", (10, 49), MICRO),
        # 房地产开发经营: revenue 200000/1000/100, assets 10000/5000/2000
        ("K", "70", (None, 200000, 10000), LARGE),
        ("K", "701", (None, 1000, 5000), MEDIUM),
        ("K", "701", (None, 1000, 4999), SMALL),
        ("K", "704", (None, 99, 9000), MICRO),
        # 物业管理: employees 1000/300/100, revenue 5000/1000/500
        ("K", "702", (1000, 5000), LARGE),
        ("K", "702", (300, 1000), MEDIUM),
        ("K", "702", (100, 500), SMALL),
        ("K", "702", (99, 5000), MICRO),
        # 租赁和商务服务业: employees 300/100/10, assets 120000/8000/100
        ("L", "71", (300, None, 120000), LARGE),
        ("L", "72", (100, None, 8000), MEDIUM),
        ("L", "72", (10, None, 100), SMALL),
        ("L", "72", (10, None, 99), MICRO),
        # 其他未列明行业: employees 300/100/10
        ("M", "73", (300,), LARGE),
        ("N", "77", (100,), MEDIUM),
        ("O", "80", (10,), SMALL),
        ("P", "83", (9,), MICRO),
        ("K", "703", (300,), LARGE),  # 房地产中介服务
        ("G", "53", (300,), LARGE),  # 铁路运输业 is not part of 交通运输业
    ],
)
def test_every_industry_row_at_its_boundaries(section, division, args, expected):
    assert size(section, division, *args) == expected


def test_indicators_the_row_does_not_list_are_ignored():
    # 农林牧渔 ignores employees and assets; 其他未列明 ignores revenue.
    assert size("A", "01", 1, 20000, 1) == LARGE
    assert size("M", "74", 300, 1) == LARGE


def test_a_missing_indicator_is_named():
    with pytest.raises(ValidationFailed) as caught:
        size("E", "47", None, 90000, None)
    assert caught.value.details == {"total_assets": ["建筑业企业划分规模须填写资产总额"]}
    with pytest.raises(ValidationFailed, match="工业企业按从业人员、营业收入划分规模"):
        size("C", "39")


def test_a_known_indicator_below_small_makes_micro_without_the_other():
    assert size("C", "39", 5, None) == MICRO
    assert size("E", "47", None, None, 100) == MICRO


def test_size_standard_prefers_the_longest_code():
    assert size_standard("K", "702").name == "物业管理"
    assert size_standard("K", "70").name == "房地产开发经营"
    assert size_standard("G", "5910").name == "交通运输业"
    assert size_standard("J", "66").name == "其他未列明行业"
