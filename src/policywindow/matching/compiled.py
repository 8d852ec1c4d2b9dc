"""Rules compiled once per run for matching many enterprises (status only, no explanations).

``policies.engine.check_eligibility`` explains every failure, which a page needs and a batch
does not. Here each published version becomes a ``CompiledRule`` once: its condition lines are
the engine's parsed and zen-compiled ``Condition`` objects, and a simple comparison
(``rd_spend >= 3000000`` over a number, ``high_tech == true`` over a yes/no) is decided in
Python without crossing into zen, and zen is handed only the attributes a line reads. The
status is the engine's: a failing line makes the rule ineligible, else a missing attribute or
an undecidable line makes it unknown, else it is eligible (``tests/matching`` checks the two
agree).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policywindow.policies import engine
from policywindow.policies.models import RuleVersion

Test = Callable[["Subject"], Any]
Number = int | Decimal
BOOLEAN_COMPARISON = re.compile(r"^([A-Za-z_]\w*)\s*(==|!=)\s*(true|false)$")
OPERATORS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Subject:
    """One enterprise's facts, prepared once for all the rules: zen's view of them (numbers as
    float, dates as ISO text) and the names whose value is unknown."""

    facts: Mapping[str, Any]
    context: Mapping[str, Any]
    missing: frozenset[str]

    @classmethod
    def of(cls, facts: Mapping[str, Any]) -> Subject:
        missing = frozenset(name for name, value in facts.items() if value is None)
        return cls(facts, engine._context(facts), missing)


def _by_zen(condition: engine.Condition) -> Test:
    """zen over only the attributes the line reads: handing zen the whole context costs
    several times the evaluation itself."""
    compiled, names = condition.compiled, condition.names

    def test(subject: Subject) -> Any:
        context = subject.context
        try:
            return compiled.evaluate({name: context[name] for name in names})
        except RuntimeError:
            return None

    return test


def _in_python(condition: engine.Condition) -> tuple[str, Callable[[Any, Any], bool], Any, type]:
    """(attribute, operator, operand, the value type Python may decide) of a simple line."""
    comparison = condition.comparison
    if comparison is not None:
        return comparison.attribute, OPERATORS[comparison.operator], comparison.threshold, Number
    match = BOOLEAN_COMPARISON.match(condition.source)
    if match is not None:
        name, op, literal = match.groups()
        return name, OPERATORS[op], literal == "true", bool
    return "", operator.eq, None, type(None)


def _test(condition: engine.Condition) -> Test:
    """A number compared with a number, or a yes/no fact with true/false, decided in Python;
    anything else (or a value of another type) by zen."""
    fallback = _by_zen(condition)
    name, compare, operand, kind = _in_python(condition)
    if not name:
        return fallback

    def test(subject: Subject) -> Any:
        value = subject.facts[name]
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return compare(value, operand)
        return fallback(subject)

    return test


@dataclass(frozen=True)
class CompiledRule:
    version: RuleVersion
    checks: tuple[tuple[tuple[str, ...], Test], ...]
    broken: bool = False  # the expression does not parse: never eligible

    @property
    def rule_id(self) -> int:
        return self.version.rule_id

    def status(self, subject: Subject) -> str:
        """``engine.ELIGIBLE``, ``INELIGIBLE`` or ``UNKNOWN`` — the engine's verdict."""
        if self.broken:
            return engine.UNKNOWN
        unknown = False
        missing = subject.missing
        for names, test in self.checks:
            if not missing.isdisjoint(names):
                unknown = True
                continue
            result = test(subject)
            if result is False:
                return engine.INELIGIBLE
            if result is not True:
                unknown = True
        return engine.UNKNOWN if unknown else engine.ELIGIBLE


def compile_rule(version: RuleVersion) -> CompiledRule:
    try:
        conditions = engine.parse_conditions(version.eligibility_expression or "")
    except engine.ExpressionError:
        return CompiledRule(version, (), broken=True)
    return CompiledRule(version, tuple((c.names, _test(c)) for c in conditions))


def compile_rules(versions: Iterable[RuleVersion]) -> list[CompiledRule]:
    return [compile_rule(version) for version in versions]
