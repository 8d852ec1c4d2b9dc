"""Input no field can hold, refused where it enters with a message naming the field.

PostgreSQL text cannot store NUL; a lone UTF-16 surrogate (JSON ``"\\ud800"``) cannot be
encoded as UTF-8 by a database driver or a response; JSON's ``NaN``/``Infinity`` literals and
numbers that overflow to infinity are no value at all; an integer beyond 64 bits fits no column
(and no rule engine). Each would surface as a server error deep in a query, a rule evaluation
or a response, so they are refused at the boundary: JSON bodies, paths and query strings by
``middleware.RejectUnsafeInputMiddleware``, form fields by ``RefuseUnsafeTextMixin``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.backends.base.operations import BaseDatabaseOperations

NUL_MESSAGE = "不能含有空字符（\\u0000），请删除后重试"
SURROGATE_MESSAGE = "含有无效字符（不成对的 Unicode 代理项），请删除后重试"
NON_FINITE_MESSAGE = "须为有效的数值，不能是 NaN 或 Infinity"
INT_RANGE_MESSAGE = "数值超出范围（整数须在 ±9223372036854775807 之内）"
INVALID_INPUT_MESSAGE = "提交的内容有误，请按提示修改"
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint, SQLite INTEGER: the widest integer column


def column_range(internal_type: str) -> tuple[int, int]:
    """The range of an integer column type (``"PositiveIntegerField"``) as PostgreSQL has it:
    SQLite's is wider, and a value must fit wherever the product runs."""
    return BaseDatabaseOperations.integer_field_ranges[internal_type]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or sent back, or ``None``."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


class _Refused:
    """A JSON number parsed to something no field can take; carries the reason."""

    def __init__(self, message: str) -> None:
        self.message = message


def _constant(name: str) -> _Refused:
    return _Refused(NON_FINITE_MESSAGE)  # NaN, Infinity, -Infinity: not JSON, Python accepts them


def _float(text: str) -> float | _Refused:
    number = float(text)
    return number if math.isfinite(number) else _Refused(NON_FINITE_MESSAGE)  # 1e400


def _int(text: str) -> int | _Refused:
    # Compare lengths first: int() of a 5000-digit string raises before it could be compared.
    if len(text.lstrip("-")) > len(str(BIGINT_MAX)) or abs(int(text)) > BIGINT_MAX:
        return _Refused(INT_RANGE_MESSAGE)
    return int(text)


def parse_json(raw: str | bytes) -> tuple[Any, dict[str, list[str]]]:
    """JSON text as data, and the fields it cannot be stored under (``{"a.b.0": [reason]}``).

    Raises ``ValueError`` (or ``RecursionError``) for text that is not JSON at all.
    """
    data = json.loads(raw, parse_constant=_constant, parse_float=_float, parse_int=_int)
    return data, problems_in(data)


def problems_in(data: Any) -> dict[str, list[str]]:
    """Every string (key or value) and refused number in nested JSON data, by dotted path."""
    problems: dict[str, list[str]] = {}
    for path, message in _walk(data):
        problems.setdefault(".".join(path) or "body", []).append(message)
    return problems


def _walk(data: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]  # iterative: nesting is the client's
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if message := text_problem(value):
                yield path, message
        elif isinstance(value, _Refused):
            yield path, value.message
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if message := text_problem(key):
                    yield (*path, key.encode("utf-8", "backslashreplace").decode()), message
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, str(index)), item) for index, item in enumerate(value))


def loads_checked(raw: str) -> Any:
    """JSON text posted inside a form field, refused (``ValueError``) when it holds such input."""
    data, problems = parse_json(raw)
    if problems:
        path, messages = next(iter(problems.items()))
        raise ValueError(f"{path}：{messages[0]}")
    return data


# ---------------------------------------------------------------- forms


class RefuseUnsafeTextMixin:
    """A form whose fields refuse NUL and lone surrogates with their own message, before any
    field cleans (a choice looked up by a text code would take the NUL to PostgreSQL).

    The offending values are blanked, so the form is re-rendered without echoing them.
    """

    def full_clean(self) -> None:
        refused = self._unsafe_fields() if self.is_bound else {}
        if refused:
            self.data = _blanked(self.data)
        super().full_clean()
        for name, message in refused.items():
            self._errors.pop(name, None)
            self.add_error(name, ValidationError(message, code="unsafe_text"))

    def _unsafe_fields(self) -> dict[str, str]:
        refused = {}
        for name, field in self.fields.items():
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            for text in _texts(raw):
                if message := text_problem(text):
                    refused[name] = f"{field.label or ''}{message}"
                    break
        return refused


def _texts(raw: Any) -> Iterator[str]:
    if isinstance(raw, str):
        yield raw
    elif isinstance(raw, list | tuple):
        for item in raw:
            yield from _texts(item)


def _blanked(data: Any) -> Any:
    """A copy of form data with every unsafe value replaced by an empty string."""
    clean = data.copy()
    if hasattr(clean, "setlist"):  # QueryDict / MultiValueDict
        for key, values in data.lists():
            clean.setlist(key, [_blank(value) for value in values])
        return clean
    for key, value in data.items():
        clean[key] = [_blank(v) for v in value] if isinstance(value, list) else _blank(value)
    return clean


def _blank(value: Any) -> Any:
    return "" if isinstance(value, str) and text_problem(value) else value
