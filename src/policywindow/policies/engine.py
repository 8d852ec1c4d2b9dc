"""Eligibility conditions and amount formulas of a rule, evaluated with zen-engine.

An eligibility expression is one condition per line::

    rd_spend >= 3000000 # 上年研发费用不低于 300 万元
    high_tech == true # 须为高新技术企业

Each line is a zen expression that must be true, optionally followed by
`` # 说明`` stating the condition. Every failing line is reported from the
enterprise's side (``贵企业…``): a simple comparison (``attr op number``) with
the enterprise's and the required values, any other line with the enterprise's
values of what it reads and the condition it fails ("贵企业的企业规模为大型，
不符合本细则条件：属于中小微企业"). A line naming an attribute whose value is
unknown (``None`` or absent) is "unknown", never a crash and never a pass.

Parsed and compiled lines are cached by their text, so evaluating a rule
costs one compiled-expression call per line (no engine per call).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import zen

from policywindow.core.money import MAX_YUAN

if TYPE_CHECKING:
    from .models import RuleVersion

ELIGIBLE, INELIGIBLE, UNKNOWN = "eligible", "ineligible", "unknown"
STATUS_LABELS = {ELIGIBLE: "符合条件", INELIGIBLE: "不符合条件", UNKNOWN: "暂无法判断"}
CENT = Decimal("0.01")
MONEY_UNITS = ("元", "万元")
# Units of the facts that are not an enterprise column.
DERIVED_UNITS = {"established_years": "年"}

KEYWORDS = frozenset({"true", "false", "null", "and", "or", "not", "in"})
IDENTIFIER = re.compile(r"(?<![\w.$#])[A-Za-z_]\w*")
SIMPLE_COMPARISON = re.compile(r"^([A-Za-z_]\w*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)$")
UNIT_SUFFIX = re.compile(r"^(.*?)\s*[（(]([^（）()]+)[）)]$")
ERROR_KINDS = {"lexerError": "词法错误", "parserError": "语法错误", "compilerError": "编译错误"}
# Every failure is said to the enterprise about itself.
SUBJECT = "贵企业"
# How a failed simple comparison reads: "贵企业{label} {actual}，{phrase} {required}".
FAILED_COMPARISON = {
    ">=": "低于要求的",
    ">": "须高于",
    "<=": "超过上限",
    "<": "须低于",
    "==": "要求为",
    "!=": "不能等于",
}


class ExpressionError(ValueError):
    """A rule text that does not parse; ``messages`` are Chinese, one per bad line."""

    def __init__(self, messages: list[str]):
        super().__init__("；".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Comparison:
    attribute: str
    operator: str
    threshold: Decimal


@dataclass(frozen=True)
class Condition:
    line: int
    source: str
    comment: str
    names: tuple[str, ...]
    comparison: Comparison | None
    compiled: Any = field(compare=False, repr=False)


@dataclass(frozen=True)
class Eligibility:
    status: str
    failures: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "failures": list(self.failures),
            "unknowns": list(self.unknowns),
        }


# ---------------------------------------------------------------- parsing


def _code_mask(text: str) -> str:
    """``text`` with every string literal (quotes included) replaced by spaces."""
    out: list[str] = []
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            out.append(" ")
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def split_comment(line: str) -> tuple[str, str]:
    """``"a > 1 # 说明"`` -> ``("a > 1", "说明")``; a ``#`` inside brackets is zen's closure."""
    depth = 0
    for index, ch in enumerate(_code_mask(line)):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "#" and depth <= 0:
            return line[:index].strip(), line[index + 1 :].strip()
    return line.strip(), ""


def attribute_names(expression: str) -> tuple[str, ...]:
    """Attributes an expression reads (not functions, keywords, members or literals)."""
    mask = _code_mask(expression)
    names: list[str] = []
    for match in IDENTIFIER.finditer(mask):
        name = match.group()
        if name in KEYWORDS or mask[match.end() :].lstrip().startswith("("):
            continue
        if name not in names:
            names.append(name)
    return tuple(names)


def _syntax_error(expression: str) -> str | None:
    problem = zen.validate_expression(expression)
    if problem is None:
        return None
    return f"{ERROR_KINDS.get(problem['type'], '语法错误')}（{problem['source']}）"


def _comparison(expression: str) -> Comparison | None:
    match = SIMPLE_COMPARISON.match(expression)
    if match is None:
        return None
    attribute, operator, number = match.groups()
    return Comparison(attribute, operator, Decimal(number))


@functools.lru_cache(maxsize=1024)
def parse_conditions(text: str) -> tuple[Condition, ...]:
    """The conditions of an eligibility expression; ``ExpressionError`` names bad lines."""
    conditions: list[Condition] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        expression, comment = split_comment(raw)
        if not expression:
            continue  # a blank line or a line that is only a comment
        problem = _syntax_error(expression)
        if problem:
            errors.append(f"第 {number} 行“{expression}”有{problem}")
            continue
        conditions.append(
            Condition(
                line=number,
                source=expression,
                comment=comment,
                names=attribute_names(expression),
                comparison=_comparison(expression),
                compiled=zen.compile_expression(expression),
            )
        )
    if errors:
        raise ExpressionError(errors)
    return tuple(conditions)


@dataclass(frozen=True)
class Formula:
    source: str
    names: tuple[str, ...]
    compiled: Any = field(compare=False, repr=False)


@functools.lru_cache(maxsize=1024)
def parse_formula(text: str) -> Formula | None:
    """The amount formula (comments allowed after ``#``); ``None`` when there is none."""
    source = " ".join(filter(None, (split_comment(line)[0] for line in text.splitlines())))
    if not source:
        return None
    problem = _syntax_error(source)
    if problem:
        raise ExpressionError([f"公式“{source}”有{problem}"])
    return Formula(source, attribute_names(source), zen.compile_expression(source))


def unknown_names(names: Iterable[str], known: Iterable[str]) -> list[str]:
    known_set = set(known)
    return [name for name in names if name not in known_set]


def check_expression(text: str, known: Iterable[str] | None = None) -> list[str]:
    """Chinese problems of an eligibility expression (empty when it is fine)."""
    try:
        conditions = parse_conditions(text)
    except ExpressionError as exc:
        return exc.messages
    if known is None:
        return []
    known = set(known)
    return [
        f"第 {c.line} 行使用了未定义的属性：{'、'.join(missing)}"
        for c in conditions
        if (missing := unknown_names(c.names, known))
    ]


def check_formula(text: str, known: Iterable[str] | None = None) -> list[str]:
    """Chinese problems of an amount formula (empty when it is fine)."""
    try:
        formula = parse_formula(text)
    except ExpressionError as exc:
        return exc.messages
    if formula is None or known is None:
        return []
    missing = unknown_names(formula.names, known)
    return [f"公式使用了未定义的属性：{'、'.join(missing)}"] if missing else []


# ---------------------------------------------------------------- labels


def fact_labels() -> dict[str, str]:
    """Chinese labels of the enterprise facts (imported late: the registry imports policies)."""
    from policywindow.enterprises.selectors import FACT_LABELS

    return dict(FACT_LABELS)


def split_unit(label: str) -> tuple[str, str]:
    """``"上年研发费用（元）"`` -> ``("上年研发费用", "元")``."""
    match = UNIT_SUFFIX.match(label)
    return (match.group(1), match.group(2)) if match else (label, "")


def fact_unit(name: str) -> str:
    """The unit of an enterprise fact, from the registry model's field name, e.g. 元; a fact
    that is no column (成立年限) has its own."""
    from django.core.exceptions import FieldDoesNotExist

    from policywindow.enterprises.models import Enterprise

    try:
        return split_unit(str(Enterprise._meta.get_field(name).verbose_name))[1]
    except FieldDoesNotExist:
        return DERIVED_UNITS.get(name, "")


def is_yes_no_fact(name: str) -> bool:
    """Whether an enterprise fact is a yes/no (高新技术企业), not a number or a text."""
    from django.core.exceptions import FieldDoesNotExist
    from django.db import models

    from policywindow.enterprises.models import Enterprise

    try:
        return isinstance(Enterprise._meta.get_field(name), models.BooleanField)
    except FieldDoesNotExist:
        return False


@dataclass(frozen=True)
class Term:
    label: str
    unit: str = ""
    is_fact: bool = True  # an enterprise fact (a noun: 高新技术企业), not a form item


def _terms(version: RuleVersion, names: Iterable[str]) -> dict[str, Term]:
    """How to name each attribute in an explanation: fact labels, then the rule's items."""
    facts = fact_labels()
    items = {item.key: item for item in version.items.all()} if version.pk else {}
    terms: dict[str, Term] = {}
    for name in names:
        if name in items:
            item = items[name]
            terms[name] = Term(item.label, "元" if item.kind == "money" else "", is_fact=False)
        else:
            label, unit = split_unit(facts.get(name, name))
            terms[name] = Term(label, unit or fact_unit(name))
    return terms


def _number_text(value: Any, unit: str) -> str:
    """``Decimal("2400000")`` with unit 元 -> ``"2,400,000.00 元"``; 80 with 人 -> ``"80 人"``."""
    if unit in MONEY_UNITS:
        text = f"{Decimal(value).quantize(CENT, ROUND_HALF_UP):,}"
    elif isinstance(value, Decimal) and value == value.to_integral():
        text = f"{value.to_integral():,}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}" if unit else text


# ---------------------------------------------------------------- evaluation


def _zen_value(value: Any) -> Any:
    """zen takes JSON-like values: numbers as float, dates as ISO strings."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_zen_value(item) for item in value]
    return value


def _context(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _zen_value(value) for key, value in facts.items()}


def _missing(names: Iterable[str], facts: Mapping[str, Any]) -> list[str]:
    return [name for name in names if facts.get(name) is None]


def _explain_failure(condition: Condition, facts: Mapping[str, Any], terms: dict) -> str:
    """Why the enterprise fails one line, about itself: its value against the required one, or
    its values of what the line reads and the condition (the line's comment) it does not meet."""
    comparison = condition.comparison
    actual = facts.get(comparison.attribute) if comparison else None
    if comparison is None or isinstance(actual, bool) or not isinstance(actual, int | Decimal):
        stated = _stated(condition.names, facts, terms)
        wanted = f"不符合本细则条件：{condition.comment or condition.source}"
        return f"{SUBJECT}{stated}，{wanted}" if stated else wanted
    term = terms[comparison.attribute]
    phrase = FAILED_COMPARISON[comparison.operator]
    required = _number_text(comparison.threshold, term.unit)
    return f"{SUBJECT}{term.label} {_number_text(actual, term.unit)}，{phrase} {required}"


def _stated(names: Iterable[str], facts: Mapping[str, Any], terms: dict) -> str:
    """The enterprise's values of ``names``: "的企业规模为大型", "不是高新技术企业"."""
    parts = []
    for name in names:
        term, value = terms[name], facts.get(name)
        if isinstance(value, bool) and term.is_fact:
            parts.append(("", f"{'是' if value else '不是'}{term.label}"))
        elif isinstance(value, bool):
            parts.append(("的", f"{term.label}为{'是' if value else '否'}"))
        else:
            parts.append(("的", f"{term.label}为{value_text(name, value, term.unit)}"))
    return parts[0][0] + "、".join(part for _, part in parts) if parts else ""


def value_text(name: str, value: Any, unit: str) -> str:
    """A value as the enterprise reads it: 大型, C 制造业, 沈阳市, 2,400,000.00 元, 无."""
    from django.core.exceptions import FieldDoesNotExist

    from policywindow.enterprises.models import Enterprise, Industry, Region

    if isinstance(value, int | Decimal):
        return _number_text(value, unit)
    if not isinstance(value, str):
        return str(value)
    if name in ("industry", "industry_section"):
        found = Industry.objects.filter(code=value).values_list("name", flat=True).first()
        return f"{value} {found}" if found else value
    if name in ("region", "city"):
        return Region.objects.filter(code=value).values_list("name", flat=True).first() or value
    try:
        choices = dict(Enterprise._meta.get_field(name).choices or ())
    except FieldDoesNotExist:
        choices = {}
    return str(choices.get(value, value)) or "无"


@dataclass
class _Outcome:
    failures: list[Condition] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def _evaluate(conditions: Iterable[Condition], facts: Mapping[str, Any]) -> _Outcome:
    context = _context(facts)
    outcome = _Outcome()
    for condition in conditions:
        missing = _missing(condition.names, facts)
        if missing:
            outcome.missing.extend(name for name in missing if name not in outcome.missing)
            continue
        try:
            result = condition.compiled.evaluate(context)
        except RuntimeError:
            result = None
        if result is False:
            outcome.failures.append(condition)
        elif result is not True:
            outcome.broken.append(f"第 {condition.line} 行条件无法判断（属性取值类型不符）")
    return outcome


def evaluate_lines(text: str, facts: Mapping[str, Any]) -> bool | str:
    """Whether every condition line of ``text`` holds: ``True``, ``False``, or why it cannot be
    told (a missing attribute or a broken line) — for conditions outside a rule's eligibility."""
    try:
        outcome = _evaluate(parse_conditions(text), facts)
    except ExpressionError as exc:
        return "；".join(exc.messages)
    if outcome.failures:
        return False
    if outcome.missing:
        labels = fact_labels()
        return "缺少属性：" + "、".join(labels.get(name, name) for name in outcome.missing)
    return "；".join(outcome.broken) if outcome.broken else True


def check_eligibility(version: RuleVersion, facts: Mapping[str, Any]) -> Eligibility:
    """Evaluate every condition line of the version over ``facts``; explain each failure."""
    try:
        conditions = parse_conditions(version.eligibility_expression or "")
    except ExpressionError as exc:
        return Eligibility(UNKNOWN, unknowns=[f"细则条件配置有误：{m}" for m in exc.messages])
    outcome = _evaluate(conditions, facts)
    named = [name for c in outcome.failures for name in c.names]
    terms = _terms(version, [*outcome.missing, *named]) if outcome.missing or named else {}
    failures = [_explain_failure(c, facts, terms) for c in outcome.failures]
    unknowns = [f"缺少属性：{terms[name].label}" for name in outcome.missing] + outcome.broken
    if failures:
        status = INELIGIBLE
    elif unknowns:
        status = UNKNOWN
    else:
        status = ELIGIBLE
    return Eligibility(status, failures, unknowns)


def to_money(value: Any) -> Decimal:
    """A zen number (a float) as yuan with two places, rounded half up."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def expected_amount(version: RuleVersion, facts: Mapping[str, Any]) -> Decimal | None:
    """The formula's amount capped by the per-enterprise cap; ``None`` when it cannot be known."""
    try:
        formula = parse_formula(version.amount_formula or "")
    except ExpressionError:
        return None
    if formula is None or _missing(formula.names, facts):
        return None
    try:
        result = formula.compiled.evaluate(_context(facts))
    except RuntimeError:
        return None
    if isinstance(result, bool) or not isinstance(result, int | float):
        return None
    try:
        amount = max(to_money(result), Decimal("0.00"))
    except InvalidOperation:  # inf or nan
        return None
    cap = version.per_enterprise_cap
    amount = min(amount, cap) if cap is not None else amount
    return amount if amount <= MAX_YUAN else None  # fits no money column: not an amount to ask
