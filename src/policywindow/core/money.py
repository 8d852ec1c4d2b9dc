"""Money: Decimal yuan with two places, shown with separators and in Chinese capitals (大写).

Money that people or systems enter goes through ``parse_yuan`` (forms through ``MoneyField``,
the API through ``api.schemas.Money``, spreadsheet imports directly): it is refused, never
rounded, when it has more than two decimals, is not a plain decimal number (NaN, Infinity,
1E+30) or does not fit a money column. ``to_yuan`` rounds figures the product computes.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core import validators
from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
# Every money column is max_digits=16, decimal_places=2.
MAX_YUAN = Decimal("99999999999999.99")
MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"  # ASCII digits only
_MONEY = re.compile(MONEY_PATTERN)
_TOO_PRECISE = re.compile(r"^-?[0-9]+\.[0-9]{3,}$")
GROUP_SEPARATORS = str.maketrans("", "", ",，")  # 1,234,567.89 as people and sheets write it


class MoneyError(ValueError):
    """Why an entered amount is refused; ``code`` lets a form field use its own wording."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def parse_yuan(value: Any, label: str = "金额") -> Decimal:
    """An entered amount (text such as ``"1,234.5"``, an int or a Decimal) as Decimal yuan.

    Refused with ``MoneyError`` (a ValueError, Chinese message) — never rounded — when it is a
    float or not a plain decimal number, has more than two decimals, or exceeds ``MAX_YUAN``.
    """
    if isinstance(value, float):
        raise MoneyError(f'{label}不能使用浮点数，请以文本填写，如 "12345.67"', "invalid")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MoneyError(f"{label}须为金额数字，如 12345.67", "invalid")
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else "NaN"
    else:
        text = str(value).strip().translate(GROUP_SEPARATORS)
    if _TOO_PRECISE.fullmatch(text):
        raise MoneyError(f"{label}最多保留两位小数", "max_decimal_places")
    if not _MONEY.fullmatch(text):
        raise MoneyError(f"{label}须为金额数字，如 12345.67", "invalid")
    amount = Decimal(text).quantize(CENT)  # exact: at most two decimals
    if abs(amount) > MAX_YUAN:
        raise MoneyError(f"{label}不能超过 {MAX_YUAN:,} 元", "max_digits")
    return amount


class MoneyField(forms.Field):
    """An amount in yuan as typed, cleaned by ``parse_yuan`` to a Decimal. ``error_messages`` may reword its codes (invalid, max_decimal_places,
    max_digits, min_value, max_value). Usable as a model DecimalField's form class: the
    column's digits are ``parse_yuan``'s, so ``max_digits``/``decimal_places`` are not needed.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal"})

    def __init__(
        self,
        *,
        min_value: Decimal | int | None = None,
        max_value: Decimal | int | None = None,
        max_digits: int | None = None,
        decimal_places: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if min_value is not None:
            self.validators.append(validators.MinValueValidator(min_value))
        if max_value is not None:
            self.validators.append(validators.MaxValueValidator(max_value))

    def to_python(self, value: Any) -> Decimal | None:
        text = "" if value in self.empty_values else str(value).strip()
        if not text:
            return None
        try:
            return parse_yuan(text, str(self.label or "金额"))
        except MoneyError as exc:
            message = self.error_messages.get(exc.code, str(exc))
            raise ValidationError(message, code=exc.code) from exc


def to_yuan(value: Any) -> Decimal:
    """Any number-like value as yuan with two places (half up). Floats are refused: never money.
    For figures the product computes; entered money is ``parse_yuan``'s."""
    if isinstance(value, float):
        raise TypeError("金额不能使用浮点数，请使用 Decimal 或字符串")
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"不是有效的金额：{value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"不是有效的金额：{value!r}")
    return amount


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
