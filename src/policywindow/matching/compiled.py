"""Rules compiled once per run and evaluated over a whole chunk of enterprises at a time.

A batch run needs, for each rule, only the enterprises that meet it now: every condition line
true (``engine.ELIGIBLE``). A line naming an attribute whose value is unknown, a false line
and a line zen cannot decide all leave the enterprise out, so a rule's eligible rows are the
intersection of its lines' true rows, taken in any order: the most selective line first, each
next one over the rows left. A line ``A and B`` is true exactly when ``A`` and ``B`` are
(zen's ``and``, whatever the types), so such a line is taken as its parts when every part is
one of the comparisons below.

The verdicts are the engine's (``check_eligibility`` hands zen the facts, numbers as float):

- ``operand op number``, the operand an attribute or arithmetic over attributes
  (``rd_spend``, ``rd_spend / revenue``): zen computes the operand for the whole chunk in one
  call — once per chunk, however many rules compare it — and Python compares **zen's own
  decimal** of it with the number as zen reads it (zen turns a float into a decimal of its
  own: ``4273.7358405`` becomes ``4273.735840500001``). The rows are sorted by that decimal
  once, so a comparison is a binary search. A row whose operand is no number (a text, null)
  is left to zen; a row zen rejects (a division by a text) is never eligible, as in the engine.
- ``attr ==/!= true/false`` over a yes/no: Python; any other value: zen.
- Any other line: zen over all the rows left in one call — the line's attributes handed as
  columns and the line mapped over the row numbers — when every attribute in it is a plain
  reference (no closure, function call, template or object literal); else row by row with the
  row's whole context, as the engine does. A row zen rejects inside a batch is found by halving
  the batch.

``tests/matching`` checks the batch against ``engine.check_eligibility`` on a grid of lines
and boundary values and on random enterprises and lines (hypothesis).
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import zen

from policywindow.policies import engine
from policywindow.policies.models import RuleVersion

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
# The row numbers a batched line is mapped over (never a fact's name: facts are snake_case).
ROWS = "__rows"
# Characters after which an attribute may be no plain reference: closures (#), the root ($),
# templates (`) and object literals ({).
NOT_PLAIN = re.compile(r"[#$`{]")
CONJUNCTION = re.compile(r"\s+and\s+")
COMPARED = re.compile(r"^(.+?)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)$")
# Arithmetic binds tighter than a comparison: ``a / b >= 3`` is ``(a / b) >= 3``.
ARITHMETIC = re.compile(r"^[\w\s.+\-*/%^()]+$")
BOOLEAN_COMPARISON = re.compile(r"^([A-Za-z_]\w*)\s*(==|!=)\s*(true|false)$")
# Values zen takes as they are (``engine._zen_value``); a Decimal is handed over as a float.
AS_IS = frozenset({bool, int, float, str, type(None)})


class Other:
    """A known value that is neither a number nor a yes/no: zen decides the row."""


OTHER = Other()


# ---------------------------------------------------------------- zen over many rows


def _map(expression: Any, columns: Mapping[str, list[Any]], count: int) -> list[Any]:
    """``expression`` (``map(__rows, …)``) over ``count`` rows of ``columns``; a row that zen
    rejects gives ``None``, found by halving (the others keep their batch)."""
    if count == 0:
        return []
    try:
        return expression.evaluate({**columns, ROWS: list(range(count))})
    except Exception:  # RuntimeError, or a value zen cannot take (a NaN)
        if count == 1:
            return [None]
    half = count // 2
    head = {name: column[:half] for name, column in columns.items()}
    tail = {name: column[half:] for name, column in columns.items()}
    return _map(expression, head, half) + _map(expression, tail, count - half)


def _by_row(source: str) -> str | None:
    """``source`` with every attribute read from its column at row ``#`` (``a / b`` becomes
    ``a[#] / b[#]``), or ``None`` when an attribute may be read otherwise."""
    mask = engine._code_mask(source)
    if NOT_PLAIN.search(mask):
        return None
    parts, last = [], 0
    for match in engine.IDENTIFIER.finditer(mask):
        if match.group() in engine.KEYWORDS:
            continue
        if match.group() == ROWS or mask[match.end() :].lstrip().startswith("("):
            return None  # a function call: its arguments may be closures
        parts += [source[last : match.end()], "[#]"]
        last = match.end()
    return "".join(parts) + source[last:]


def _compile(text: str) -> Any:
    try:
        return zen.compile_expression(text)
    except RuntimeError:
        return None


def _as_decimal(text: Any) -> Decimal | Other:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return OTHER


def zen_literal(text: str) -> Decimal | None:
    """A number literal as zen reads it (``None`` if zen does not read it as a number)."""
    try:
        return Decimal(zen.evaluate_expression(f"string({text})", {}))
    except (RuntimeError, InvalidOperation, TypeError):
        return None


def to_zen(column: list[Any]) -> list[Any]:
    """``engine._zen_value`` of each value, without a call for the common types."""
    return [
        float(v) if type(v) is Decimal else v if type(v) in AS_IS else engine._zen_value(v)
        for v in column
    ]


# ---------------------------------------------------------------- a chunk of enterprises


@dataclass(frozen=True)
class Operand:
    """What a comparison compares: an attribute or arithmetic over attributes; ``compiled``
    gives, for each row, zen's decimal of it as text, or ``false`` when it is no number."""

    source: str
    names: tuple[str, ...]
    compiled: Any

    @classmethod
    def of(cls, source: str) -> Operand | None:
        mask = engine._code_mask(source)
        names = engine.attribute_names(source)
        by_row = _by_row(source)
        if mask != source or not ARITHMETIC.match(mask) or ".." in mask or by_row is None:
            return None  # a text literal, a range, or something else than arithmetic
        if any(match.group() in engine.KEYWORDS for match in engine.IDENTIFIER.finditer(mask)):
            return None
        as_text = f"map(map({ROWS}, {by_row}), type(#) == 'number' ? string(#) : false)"
        compiled = _compile(as_text)
        return cls(source, names, compiled) if compiled is not None else None


@dataclass(frozen=True, slots=True)
class Numbers:
    """An operand over a chunk as zen computes it: ``values`` per row (a decimal, ``OTHER``
    when it is no number, ``None`` when unknown or rejected by zen), and the rows holding a
    decimal sorted by it."""

    values: list[Decimal | Other | None]
    keys: list[Decimal]
    rows: list[int]
    others: list[int]

    @classmethod
    def of(cls, table: FactTable, operand: Operand) -> Numbers:
        rows = table.known(operand.names)
        texts = _map(operand.compiled, table.zen_columns(operand.names, rows), len(rows))
        values: list[Decimal | Other | None] = [None] * table.size
        for row, text in zip(rows, texts, strict=True):
            if text is not None:
                values[row] = OTHER if text is False else _as_decimal(text)
        ordered = sorted((v, row) for row, v in enumerate(values) if isinstance(v, Decimal))
        others = [row for row, v in enumerate(values) if v is OTHER]
        return cls(values, [v for v, _ in ordered], [row for _, row in ordered], others)


class FactTable:
    """The facts of a chunk of enterprises, column by column; what the lines need (zen's view
    of a column, an operand's sorted numbers, a yes/no's rows) is built once per chunk."""

    def __init__(self, facts: Sequence[Mapping[str, Any]]) -> None:
        self.facts = facts
        self.size = len(facts)
        self._columns: dict[str, list[Any]] = {}
        self._zen: dict[str, list[Any]] = {}
        self._numbers: dict[str, Numbers] = {}
        self._flags: dict[str, dict[Any, list[int]]] = {}
        self._known: dict[tuple[str, ...], list[int]] = {}

    def column(self, name: str) -> list[Any]:
        """The values of ``name`` (``None`` when unknown or not a fact), row by row."""
        if name not in self._columns:
            self._columns[name] = [facts.get(name) for facts in self.facts]
        return self._columns[name]

    def zen_columns(self, names: Iterable[str], rows: list[int]) -> dict[str, list[Any]]:
        """zen's view of ``names`` at ``rows``, one list a name."""
        columns = {}
        for name in names:
            if name not in self._zen:
                self._zen[name] = to_zen(self.column(name))
            column = self._zen[name]
            columns[name] = [column[row] for row in rows]
        return columns

    def numbers(self, operand: Operand) -> Numbers:
        if operand.source not in self._numbers:
            self._numbers[operand.source] = Numbers.of(self, operand)
        return self._numbers[operand.source]

    def flags(self, name: str) -> dict[Any, list[int]]:
        """Rows by value: ``True``, ``False`` and ``OTHER`` (known, but no yes/no)."""
        if name not in self._flags:
            rows: dict[Any, list[int]] = {True: [], False: [], OTHER: []}
            for row, value in enumerate(self.column(name)):
                if value is not None:
                    rows[value if isinstance(value, bool) else OTHER].append(row)
            self._flags[name] = rows
        return self._flags[name]

    def known(self, names: tuple[str, ...], rows: Iterable[int] | None = None) -> list[int]:
        """Rows (of ``rows``, or of the whole table) where every one of ``names`` is known."""
        if rows is not None:
            return self._known_of(names, rows)
        if names not in self._known:
            self._known[names] = self._known_of(names, range(self.size))
        return self._known[names]

    def _known_of(self, names: tuple[str, ...], rows: Iterable[int]) -> list[int]:
        kept = list(rows)
        for name in names:
            column = self.column(name)
            kept = [row for row in kept if column[row] is not None]
        return kept


# ---------------------------------------------------------------- condition lines


class Line(Protocol):
    def estimate(self, table: FactTable) -> int:
        """At most how many of the table's rows the line can be true for."""

    def select(self, table: FactTable, rows: list[int] | None) -> list[int]:
        """The rows (of ``rows``, or of the whole table) for which the line is true."""


@dataclass(frozen=True)
class ZenLine:
    """Any line, evaluated by zen: over the rows left in one call when its attributes are
    plain references, else row by row with each row's whole context (as the engine does)."""

    source: str
    names: tuple[str, ...]
    compiled: Any
    batched: Any = None

    @classmethod
    def of(cls, source: str, compiled: Any = None) -> ZenLine | None:
        compiled = compiled or _compile(source)
        if compiled is None:
            return None
        by_row = _by_row(source)
        batched = _compile(f"map({ROWS}, {by_row})") if by_row is not None else None
        return cls(source, engine.attribute_names(source), compiled, batched)

    def estimate(self, table: FactTable) -> int:
        return table.size  # unknown before zen has run: taken after the lines Python decides

    def select(self, table: FactTable, rows: list[int] | None) -> list[int]:
        rows = table.known(self.names, rows)
        results = self._results(table, rows)
        return [row for row, result in zip(rows, results, strict=True) if result is True]

    def _results(self, table: FactTable, rows: list[int]) -> list[Any]:
        if self.batched is not None:
            return _map(self.batched, table.zen_columns(self.names, rows), len(rows))
        return [self._one(engine._context(table.facts[row])) for row in rows]

    def _one(self, context: Mapping[str, Any]) -> Any:
        try:
            return self.compiled.evaluate(context)
        except Exception:  # RuntimeError, or a value zen cannot take: never a pass
            return None


@dataclass(frozen=True)
class NumberLine:
    """``operand op number``: rows whose operand is a number compared in Python with zen's
    decimals, the others (a text, null) by zen."""

    operand: Operand
    op: str
    threshold: Decimal
    by_zen: ZenLine

    def _range(self, numbers: Numbers) -> list[int]:
        """The rows whose number makes the line true, by binary search."""
        keys, rows, op = numbers.keys, numbers.rows, self.op
        if op in (">", "<="):
            cut = bisect_right(keys, self.threshold)
            return rows[cut:] if op == ">" else rows[:cut]
        low = bisect_left(keys, self.threshold)
        if op in (">=", "<"):
            return rows[low:] if op == ">=" else rows[:low]
        high = bisect_right(keys, self.threshold, low)
        return rows[low:high] if op == "==" else rows[:low] + rows[high:]

    def estimate(self, table: FactTable) -> int:
        numbers = table.numbers(self.operand)
        return len(self._range(numbers)) + len(numbers.others)

    def select(self, table: FactTable, rows: list[int] | None) -> list[int]:
        numbers = table.numbers(self.operand)
        if rows is None:
            decided, undecided = self._range(numbers), numbers.others
        else:
            values, compare, threshold = numbers.values, OPERATORS[self.op], self.threshold
            decided = [
                row
                for row in rows
                if isinstance(value := values[row], Decimal) and compare(value, threshold)
            ]
            undecided = [row for row in rows if values[row] is OTHER]
        return decided + self.by_zen.select(table, undecided) if undecided else decided


@dataclass(frozen=True)
class FlagLine:
    """``attr ==/!= true/false``: a yes/no value decided in Python, any other value by zen."""

    name: str
    wanted: bool  # the yes/no value that makes the line true
    by_zen: ZenLine

    def estimate(self, table: FactTable) -> int:
        flags = table.flags(self.name)
        return len(flags[self.wanted]) + len(flags[OTHER])

    def select(self, table: FactTable, rows: list[int] | None) -> list[int]:
        if rows is None:
            flags = table.flags(self.name)
            decided, undecided = flags[self.wanted], flags[OTHER]
        else:
            column, wanted = table.column(self.name), self.wanted
            decided = [row for row in rows if column[row] is wanted]
            undecided = [
                row for row in rows if column[row] is not None and not isinstance(column[row], bool)
            ]
        return decided + self.by_zen.select(table, undecided) if undecided else decided


def decided_line(source: str) -> NumberLine | FlagLine | None:
    """The comparison ``source`` is, decided in Python where it can be; ``None`` when it is
    no comparison of a number or a yes/no."""
    by_zen = ZenLine.of(source)
    if by_zen is None:
        return None
    compared = COMPARED.match(source)
    if compared is not None:
        operand = Operand.of(compared.group(1))
        threshold = zen_literal(compared.group(3))
        if operand is not None and threshold is not None:
            return NumberLine(operand, compared.group(2), threshold, by_zen)
    flag = BOOLEAN_COMPARISON.match(source)
    if flag is not None and flag.group(1) not in engine.KEYWORDS:
        name, op, literal = flag.groups()
        return FlagLine(name, (literal == "true") == (op == "=="), by_zen)
    return None


def compile_condition(condition: engine.Condition) -> tuple[Line, ...]:
    """The line as its parts decided in Python (``a > 0 and b / a >= 3``: two comparisons),
    or else as one zen line."""
    parts = [decided_line(part) for part in CONJUNCTION.split(condition.source)]
    if all(parts):
        return tuple(parts)
    return (ZenLine.of(condition.source, condition.compiled),)


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class CompiledRule:
    version: RuleVersion
    lines: tuple[Line, ...]
    broken: bool = False  # the expression does not parse: never eligible

    @property
    def rule_id(self) -> int:
        return self.version.rule_id

    def eligible_rows(self, table: FactTable) -> list[int]:
        """The table's rows that meet the rule (``engine.ELIGIBLE``), in row order."""
        if self.broken:
            return []
        if not self.lines:
            return list(range(table.size))
        rows = None
        # The most selective line first; zen's after those Python decides.
        for line in sorted(self.lines, key=lambda line: _cost(line, table)):
            rows = line.select(table, rows)
            if not rows:
                return []
        return sorted(rows)


def _cost(line: Line, table: FactTable) -> tuple[int, bool]:
    return line.estimate(table), isinstance(line, ZenLine)


def compile_rule(version: RuleVersion) -> CompiledRule:
    try:
        conditions = engine.parse_conditions(version.eligibility_expression or "")
    except engine.ExpressionError:
        return CompiledRule(version, (), broken=True)
    return CompiledRule(version, tuple(line for c in conditions for line in compile_condition(c)))


def compile_rules(versions: Iterable[RuleVersion]) -> list[CompiledRule]:
    return [compile_rule(version) for version in versions]
