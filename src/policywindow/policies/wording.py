"""Conditions in words: an eligibility line or a workflow node's condition as a person reads it.

The expressions are written for the engine (``requested_amount > 1000000``, ``high_tech ==
true``, ``size in ["small", "micro"]``); pages show them as sentences built from the
attributes' Chinese names, units and choice labels: "申请金额大于 1,000,000 元", "是高新技术
企业", "企业规模为小型、微型之一". What the designer and the rule editor let people write is
covered: comparisons of an attribute with a number, a yes/no, a text or null (either side),
``in`` / ``not in`` a list, a bare yes/no attribute, ``not``, ``and``, ``or`` and brackets.
Anything else (arithmetic, functions, ranges) is shown as the expression itself, labelled
表达式, with the author's comment when there is one — never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import engine

# Words for "attribute <op> number" and the operator seen from the number's side.
NUMBER_WORDS = {
    ">": "大于",
    ">=": "不低于",
    "<": "小于",
    "<=": "不超过",
    "==": "等于",
    "!=": "不等于",
}
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<string>"[^"\\]*"|'[^'\\]*')
      | (?P<name>[A-Za-z_]\w*)
      | (?P<op>>=|<=|==|!=|>|<)
      | (?P<punct>[()\[\],])
    )""",
    re.VERBOSE,
)
LITERAL_WORDS = {"true": True, "false": False, "null": None}
LINE_SEPARATOR = "；"


class Unreadable(ValueError):
    """The expression uses something the wording does not cover."""


# ---------------------------------------------------------------- reading the expression


@dataclass(frozen=True)
class Compare:
    name: str
    op: str
    value: Any  # Decimal, bool, str or None


@dataclass(frozen=True)
class Among:
    name: str
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Not:
    part: Any


@dataclass(frozen=True)
class Both:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Either:
    parts: tuple[Any, ...]


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise Unreadable(expression)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the covered grammar; ``Unreadable`` on anything else."""

    def __init__(self, expression: str):
        self.tokens = _tokens(expression)
        self.at = 0

    def parse(self) -> Any:
        tree = self._either()
        if self.at != len(self.tokens):
            raise Unreadable("trailing tokens")
        return tree

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _take(self, kind: str, text: str | None = None) -> str:
        found_kind, found = self._peek()
        if found_kind != kind or (text is not None and found != text):
            raise Unreadable(f"expected {text or kind}")
        self.at += 1
        return found

    def _keyword(self, word: str) -> bool:
        if self._peek() == ("name", word):
            self.at += 1
            return True
        return False

    def _either(self) -> Any:
        parts = [self._both()]
        while self._keyword("or"):
            parts.append(self._both())
        return parts[0] if len(parts) == 1 else Either(tuple(parts))

    def _both(self) -> Any:
        parts = [self._unary()]
        while self._keyword("and"):
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else Both(tuple(parts))

    def _unary(self) -> Any:
        if self._keyword("not"):
            return Not(self._unary())
        if self._peek() == ("punct", "("):
            self.at += 1
            inner = self._either()
            self._take("punct", ")")
            return inner
        return self._comparison()

    def _comparison(self) -> Any:
        kind, text = self._peek()
        if kind == "name" and text not in LITERAL_WORDS:
            self.at += 1
            return self._after_name(text)
        value = self._literal()
        op = self._take("op")
        return Compare(self._attribute(), FLIPPED[op], value)

    def _after_name(self, name: str) -> Any:
        kind, _ = self._peek()
        if kind == "op":
            return Compare(name, self._take("op"), self._literal())
        if self._keyword("in"):
            return Among(name, self._list())
        if self._keyword("not"):
            self._take("name", "in")
            return Among(name, self._list(), negated=True)
        return Compare(name, "==", True)  # a bare yes/no attribute

    def _attribute(self) -> str:
        name = self._take("name")
        if name in LITERAL_WORDS:
            raise Unreadable("two literals")
        return name

    def _literal(self) -> Any:
        kind, text = self._peek()
        if kind == "number":
            self.at += 1
            return Decimal(text)
        if kind == "string":
            self.at += 1
            return text[1:-1]
        if kind == "name" and text in LITERAL_WORDS:
            self.at += 1
            return LITERAL_WORDS[text]
        raise Unreadable("expected a value")

    def _list(self) -> tuple[Any, ...]:
        self._take("punct", "[")
        values = [self._literal()]
        while self._peek() == ("punct", ","):
            self.at += 1
            values.append(self._literal())
        self._take("punct", "]")
        return tuple(values)


# ---------------------------------------------------------------- saying it


@dataclass(frozen=True)
class _Term:
    label: str
    unit: str
    is_fact: bool  # an enterprise fact is a noun: 是高新技术企业, not 高新技术企业为“是”
    yes_no: bool = True  # whether "== true" makes sense (a form item's kind is not known here)


class _Words:
    def __init__(self, labels: Mapping[str, str]):
        self.labels = labels
        self.facts = engine.fact_labels()

    def term(self, name: str) -> _Term:
        if name not in self.labels:
            raise Unreadable(f"unknown attribute {name}")
        label, unit = engine.split_unit(self.labels[name])
        if name in self.facts:
            unit = unit or engine.fact_unit(name)
            return _Term(label, unit, is_fact=True, yes_no=engine.is_yes_no_fact(name))
        return _Term(label, unit, is_fact=False)

    def say(self, tree: Any, nested: bool = False) -> str:
        if isinstance(tree, Either | Both):
            joiner = "或" if isinstance(tree, Either) else "且"
            text = joiner.join(self.say(part, nested=True) for part in tree.parts)
            return f"（{text}）" if nested else text
        if isinstance(tree, Not):
            return self._negation(tree.part)
        if isinstance(tree, Among):
            return self._among(tree)
        return self._compare(tree)

    def _negation(self, part: Any) -> str:
        if isinstance(part, Compare) and not isinstance(part.value, bool):
            return self._compare(Compare(part.name, NEGATED[part.op], part.value))
        if isinstance(part, Compare) and part.op in ("==", "!="):
            return self._compare(Compare(part.name, part.op, not part.value))
        if isinstance(part, Among):
            return self._among(Among(part.name, part.values, not part.negated))
        return f"并非{self.say(part, nested=True)}"

    def _compare(self, compare: Compare) -> str:
        term, op, value = self.term(compare.name), compare.op, compare.value
        if isinstance(value, bool):
            if op not in ("==", "!="):
                raise Unreadable("ordering a yes/no")
            return self._yes_no(term, value == (op == "=="))
        if value is None:
            if op not in ("==", "!="):
                raise Unreadable("ordering null")
            return f"{term.label}{'未填写' if op == '==' else '已填写'}"
        if isinstance(value, Decimal):
            return f"{term.label}{NUMBER_WORDS[op]} {_number(value, term.unit)}"
        if op not in ("==", "!="):
            raise Unreadable("ordering a text")
        return f"{term.label}{'为' if op == '==' else '不为'}{self._value(compare.name, value)}"

    def _yes_no(self, term: _Term, holds: bool) -> str:
        if not term.yes_no:
            raise Unreadable(f"{term.label} is no yes/no")
        if term.is_fact:
            return f"{'是' if holds else '不是'}{term.label}"
        return f"{term.label}为“{'是' if holds else '否'}”"

    def _among(self, among: Among) -> str:
        term = self.term(among.name)
        if any(isinstance(v, bool) or v is None for v in among.values):
            raise Unreadable("yes/no or null in a list")
        shown = "、".join(self._value(among.name, v, term.unit) for v in among.values)
        if isinstance(among.values[0], Decimal):
            shown = f" {shown}"  # 从业人员为 10 人、20 人之一, as in the comparisons
        if among.negated:
            return f"{term.label}不为{shown}"
        return f"{term.label}为{shown}{'之一' if len(among.values) > 1 else ''}"

    def _value(self, name: str, value: Any, unit: str = "") -> str:
        """A text or number as the page shows it: 大型, C 制造业, 沈阳市, 1,000 元."""
        if isinstance(value, Decimal):
            return _number(value, unit)
        return engine.value_text(name, value, unit)


def _number(value: Decimal, unit: str) -> str:
    """1000000 -> "1,000,000 元"; decimals only where the number has them."""
    text = f"{value:,}" if value == value.to_integral() else f"{value.normalize():,f}"
    return f"{text} {unit}" if unit else text


# ---------------------------------------------------------------- the public functions


@dataclass(frozen=True)
class Reading:
    """One condition line: the expression, the author's comment and the sentence ("" when the
    expression could not be put into words)."""

    line: int
    expression: str
    comment: str
    words: str

    @property
    def shown(self) -> str:
        """The sentence, or the expression labelled 表达式 (after the comment, if any)."""
        if self.words:
            return self.words
        fallback = f"表达式 {self.expression}"
        return f"{self.comment}（{fallback}）" if self.comment else fallback


def readings(text: str, labels: Mapping[str, str]) -> list[Reading]:
    """Each condition line of ``text`` (blank and comment-only lines left out) in words.

    ``labels`` maps every attribute the text may use to its Chinese name, a unit in brackets
    where it has one ("申请金额（元）"); an attribute not in it leaves its line unworded.
    """
    words = _Words(labels)
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        expression, comment = engine.split_comment(raw)
        if expression:
            found.append(Reading(number, expression, comment, _say(words, expression)))
    return found


def describe(text: str, labels: Mapping[str, str]) -> str:
    """Every line of ``text`` in words, joined with "；" (all of them must hold)."""
    return LINE_SEPARATOR.join(reading.shown for reading in readings(text, labels))


def _say(words: _Words, expression: str) -> str:
    try:
        return words.say(_Parser(expression).parse())
    except (Unreadable, ArithmeticError):
        return ""
