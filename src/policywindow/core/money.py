"""Money: Decimal yuan with two places, shown with separators and in Chinese capitals (大写)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")


def to_yuan(value: Any) -> Decimal:
    """Any number-like value as yuan with two places (half up). Floats are refused: never money."""
    if isinstance(value, float):
        raise TypeError("金额不能使用浮点数，请使用 Decimal 或字符串")
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"不是有效的金额：{value!r}") from exc


TENTH = Decimal("0.1")


def percent_of(part: Decimal, total: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``total`` with one decimal (half up); ``None`` for no total."""
    if not total:
        return None
    return (part * 100 / total).quantize(TENTH, rounding=ROUND_HALF_UP)


def format_yuan(value: Any, empty: str = "—") -> str:
    """``Decimal("1234567.5")`` -> ``"1,234,567.50 元"``; ``None`` or "" -> ``empty``."""
    if value is None or value == "":
        return empty
    return f"{to_yuan(value):,} 元"


def _group_capital(group: int) -> str:
    """0 < group < 10000 in capitals, zeros inside collapsed to one 零, trailing zeros dropped."""
    text, pending_zero = "", False
    for position in (3, 2, 1, 0):
        digit = group // 10**position % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text += "零"
            pending_zero = False
        text += DIGITS[digit] + PLACES[position]
    return text


def _below_yi(number: int) -> str:
    """0 < number < 10^8: up to two four-digit groups joined by 万."""
    high, low = divmod(number, 10000)
    text = _group_capital(high) + "万" if high else ""
    if low:
        text += ("零" if text and low < 1000 else "") + _group_capital(low)
    return text


def _integer_capital(number: int) -> str:
    """Recursive on 亿 so that 1,2345,0000,0000 reads 壹万贰仟叁佰肆拾伍亿, not 壹万亿…亿."""
    if number < 10**8:
        return _below_yi(number)
    high, low = divmod(number, 10**8)
    text = _integer_capital(high) + "亿"
    if low:
        text += ("零" if low < 10**7 else "") + _below_yi(low)
    return text


def to_chinese_capital(value: Any) -> str:
    """Amount in Chinese capitals as on cheques and fund forms (《支付结算办法》 rules).

    ``1200000.05`` -> ``壹佰贰拾万元零伍分``; ``100`` -> ``壹佰元整``; ``0.5`` -> ``伍角``.
    """
    amount = to_yuan(value)
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    text = _integer_capital(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return f"{sign}{text}整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text
