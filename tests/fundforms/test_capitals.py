"""Chinese capitals as the forms print them: the examples of 《正确填写票据和结算凭证的基本规定》
and, for any amount, a reading of the capitals back into the same number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policywindow.core.money import to_chinese_capital
from policywindow.fundforms.rendering import figures

DIGITS = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
UNITS = {"拾": 10, "佰": 100, "仟": 1000}


@pytest.mark.parametrize(
    ("amount", "capital"),
    [
        ("1409.50", "壹仟肆佰零玖元伍角"),  # the rules' own examples
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("1000.05", "壹仟元零伍分"),  # 角 is zero: one 零 before the 分
        ("20000.20", "贰万元贰角"),  # only 角 after whole 万
        ("0.10", "壹角"),
        ("0.01", "壹分"),
        ("10.00", "壹拾元整"),  # 壹拾, never a bare 拾, on money
        ("100100.00", "壹拾万零壹佰元整"),
        ("60003.00", "陆万零叁元整"),
        ("100000000.01", "壹亿元零壹分"),
        ("1000000001.00", "壹拾亿零壹元整"),
        ("2000000000.00", "贰拾亿元整"),
        ("99999999999.99", "玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_capitals_as_the_rules_write_them(amount, capital):
    assert to_chinese_capital(Decimal(amount)) == capital


def test_figures_next_to_the_capitals():
    assert figures("1200000.05") == "¥1,200,000.05"
    assert figures(Decimal("0.5")) == "¥0.50"


def _integer(text: str) -> int:
    """Capitals of a whole number back to the number (亿 and 万 nest as the writer nests them)."""
    if "亿" in text:
        high, _, low = text.rpartition("亿")
        return _integer(high) * 10**8 + _integer(low)
    if "万" in text:
        high, _, low = text.partition("万")
        return _integer(high) * 10**4 + _integer(low)
    total, digit = 0, 0
    for char in text:
        if char in UNITS:
            total += digit * UNITS[char]
            digit = 0
        else:
            digit = DIGITS[char]
    return total + digit


def _read(text: str) -> Decimal:
    sign = -1 if text.startswith("负") else 1
    text = text.removeprefix("负").removesuffix("整")
    whole, _, fraction = text.rpartition("元")
    jiao = DIGITS[fraction[fraction.index("角") - 1]] if "角" in fraction else 0
    fen = DIGITS[fraction[fraction.index("分") - 1]] if "分" in fraction else 0
    return sign * (Decimal(_integer(whole) if whole else 0) + Decimal(jiao * 10 + fen) / 100)


@given(st.integers(min_value=1, max_value=10**15))
def test_any_amount_reads_back_to_itself_in_well_formed_capitals(cents):
    amount = Decimal(cents) / 100
    text = to_chinese_capital(amount)
    assert _read(text) == amount
    assert "零零" not in text and not text.startswith("零") and "零元" not in text
    assert text.endswith("整") == (cents % 100 == 0)
    assert not text.endswith("零")
