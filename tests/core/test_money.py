"""Money: Decimal yuan, separators, and Chinese capitals across the hard cases."""

from decimal import Decimal

import pytest

from policywindow.core.money import format_yuan, percent_of, to_chinese_capital, to_yuan


@pytest.mark.parametrize(
    ("amount", "capital"),
    [
        ("1200000.05", "壹佰贰拾万元零伍分"),  # DESIGN.md's example: zeros inside and only fen
        ("100", "壹佰元整"),
        ("0.50", "伍角"),
        ("0.05", "伍分"),
        ("0.55", "伍角伍分"),
        ("10.50", "壹拾元伍角"),
        ("1001", "壹仟零壹元整"),
        ("10010", "壹万零壹拾元整"),
        ("1000001", "壹佰万零壹元整"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("100000000", "壹亿元整"),
        ("100000010", "壹亿零壹拾元整"),
        ("300001234.00", "叁亿零壹仟贰佰叁拾肆元整"),
        ("1234567890123.45", "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万零壹佰贰拾叁元肆角伍分"),
        ("1000000000000", "壹万亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("0", "零元整"),
        ("-25.00", "负贰拾伍元整"),
    ],
)
def test_chinese_capitals(amount, capital):
    assert to_chinese_capital(Decimal(amount)) == capital


def test_yuan_formatting_and_rounding():
    assert format_yuan(Decimal("1234567.5")) == "1,234,567.50 元"
    assert format_yuan(None) == "—" and format_yuan("", "未知") == "未知"
    assert to_yuan("2.345") == Decimal("2.35")  # half up, not banker's rounding
    with pytest.raises(TypeError, match="浮点数"):
        to_yuan(0.1)
    with pytest.raises(ValueError, match="不是有效的金额"):
        to_yuan("一百")


def test_percent_of_is_a_decimal_with_one_place_half_up():
    assert percent_of(Decimal("300000"), Decimal("1000000")) == Decimal("30.0")
    assert percent_of(Decimal("1"), Decimal("3")) == Decimal("33.3")
    assert percent_of(Decimal("1"), Decimal("1600")) == Decimal("0.1")  # 0.0625 rounds up
    assert percent_of(Decimal("5"), Decimal("0")) is None
    assert isinstance(percent_of(Decimal("2"), Decimal("3")), Decimal)
