"""The public calculator's form: one optional field per enterprise fact the published rules use.

A field left empty is an unknown fact (``None``), never zero or "no": the rules that need it
answer 信息不全 with 缺少数据：… rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.money import MoneyField
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import (
    cities,
    industry_choices,
    industry_sections,
    region_choices,
)
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion

UNKNOWN_CHOICE = ("", "不清楚")
YES_NO = (UNKNOWN_CHOICE, ("yes", "是"), ("no", "否"))
NO_VALUE = "none"  # "专精特新: 无" is the empty string in the registry; "" here is unknown
MAX_NUMBER = Decimal("99999999999999")


@dataclass(frozen=True)
class FactField:
    name: str
    label: str
    unit: str


def used_facts(versions: Iterable[RuleVersion]) -> list[str]:
    """Enterprise facts the rules' conditions and formulas read, in the registry's order."""
    names: set[str] = set()
    for version in versions:
        try:
            names.update(
                n for c in engine.parse_conditions(version.eligibility_expression) for n in c.names
            )
            formula = engine.parse_formula(version.amount_formula)
        except engine.ExpressionError:
            continue
        names.update(formula.names if formula else ())
    return [name for name in engine.fact_labels() if name in names]


def fact_fields(names: Iterable[str]) -> list[FactField]:
    labels = engine.fact_labels()
    return [FactField(name, labels[name], engine.fact_unit(name)) for name in names]


def _model_field(name: str) -> models.Field | None:
    try:
        return Enterprise._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _choice(choices: list) -> forms.ChoiceField:
    return forms.ChoiceField(choices=[UNKNOWN_CHOICE, *choices], required=False)


def _form_field(fact: FactField) -> forms.Field:
    """The field for a fact, by the registry column's type (or the derived fact's source)."""
    column = _model_field(fact.name)
    if fact.name == "industry":
        field = _choice(industry_choices())
    elif fact.name == "industry_section":
        field = _choice([(s.code, f"{s.code} {s.name}") for s in industry_sections()])
    elif fact.name == "region":
        field = _choice(region_choices())
    elif fact.name == "city":
        field = _choice([(c.code, c.name) for c in cities()])
    elif fact.name == "specialized":
        field = _choice(
            [(value or NO_VALUE, label) for value, label in Enterprise.Specialized.choices]
        )
    elif fact.name == "size":
        field = _choice(Enterprise.Size.choices)
    elif isinstance(column, models.BooleanField):
        field = forms.ChoiceField(choices=YES_NO, required=False)
    elif isinstance(column, models.DecimalField):  # money (注册资本 in 万元)
        field = MoneyField(required=False, min_value=0, max_value=MAX_NUMBER)
    else:
        field = forms.IntegerField(required=False, min_value=0, max_value=10**9)
    field.label = f"{fact.label}（{fact.unit}）" if fact.unit else fact.label
    return field


class CalculatorForm(BootstrapFormMixin, forms.Form):
    """Built for the facts in use: ``CalculatorForm(fields, data)``."""

    def __init__(self, facts: list[FactField], *args: Any, **kwargs: Any) -> None:
        self.facts = facts
        self.base_fields = {fact.name: _form_field(fact) for fact in facts}
        super().__init__(*args, **kwargs)

    def fact_values(self) -> dict[str, Any]:
        """Every known fact name, ``None`` where the visitor left it empty."""
        values: dict[str, Any] = dict.fromkeys(engine.fact_labels())
        for name, value in self.cleaned_data.items():
            values[name] = _fact_value(value)
        return values


def _fact_value(value: Any) -> Any:
    if value in (None, ""):
        return None
    return (
        {"yes": True, "no": False, NO_VALUE: ""}.get(value, value)
        if isinstance(value, str)
        else value
    )


CHOICE_LABELS = {
    "size": dict(Enterprise.Size.choices),
    "specialized": dict(Enterprise.Specialized.choices),
}


def shown_fact(fact: FactField, value: Any) -> str:
    """A stored fact as people read it: 是/否, 4,200,000.00 元, 120 人, a choice's label."""
    if value is None:
        return "未知"
    if isinstance(value, bool):
        return "是" if value else "否"
    if fact.name in CHOICE_LABELS:
        return CHOICE_LABELS[fact.name].get(value, value) or "无"
    if fact.unit in engine.MONEY_UNITS:
        return f"{Decimal(value):,.2f} {fact.unit}"
    return f"{value:,} {fact.unit}".strip() if isinstance(value, int) else str(value)
