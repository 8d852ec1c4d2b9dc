"""Statuses are referenced by their enum, never by strings (issue 17).

The test reads the product's source with ``ast`` and fails when a string equal to a value of a
model status enum (every ``status`` field with choices) is passed to a ``status`` lookup
(``status=``, ``status__in=``, ``instance__status=`` …) or compared with an attribute named
``status``. A typo in such a string silently matches nothing; an enum member fails at import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.apps import apps

import policywindow

PACKAGE = Path(policywindow.__file__).parent

# (file pattern relative to the package, reason): files the rule cannot hold, and why.
EXCEPTIONS: tuple[tuple[str, str], ...] = (
    ("workflow/engine.py", "the pure engine keeps its own plain-string statuses, no models"),
    (
        "workflow/models.py",
        "constraint conditions in Meta cannot name the nested Status enum of the model being defined",
    ),
)


def status_values() -> frozenset[str]:
    values: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("policywindow."):
            continue
        field = next((f for f in model._meta.get_fields() if f.name == "status"), None)
        if field is not None and getattr(field, "choices", None):
            values.update(str(value) for value, _ in field.choices)
    return frozenset(values)


def excepted(relative: str) -> bool:
    return any(fnmatch(relative, pattern) for pattern, _ in EXCEPTIONS)


def sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if "/migrations/" not in relative:
            yield relative, path


def _literals(node: ast.AST, values: frozenset[str]) -> list[str]:
    """The status strings ``node`` spells: a string, or strings in a list, tuple or set."""
    items = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else [node]
    return [
        item.value
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value in values
    ]


def _is_status_lookup(name: str | None) -> bool:
    return name is not None and "status" in name.split("__")


def _is_status_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "status"


def offences(source: str, values: frozenset[str]) -> list[tuple[int, str]]:
    """(line, what) for every status spelled as a string in a lookup or a comparison."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if _is_status_lookup(keyword.arg):
                    found += [
                        (keyword.lineno, f'{keyword.arg}="{value}"')
                        for value in _literals(keyword.value, values)
                    ]
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_status_attribute(operand) for operand in operands):
                found += [
                    (node.lineno, f'.status compared with "{value}"')
                    for operand in operands
                    for value in _literals(operand, values)
                ]
    return found


def test_the_enums_are_collected():
    values = status_values()
    # One value from each family, so an empty or partial collection cannot pass silently.
    assert {"open", "published", "approved", "enabled", "pending", "queued"} <= values


def test_the_scan_reads_the_product_and_spares_only_the_exceptions():
    relatives = {relative for relative, _ in sources()}
    assert "workflow/services/sla.py" in relatives
    assert not excepted("workflow/services/sla.py")
    assert not any("/migrations/" in relative for relative in relatives)
    assert excepted("workflow/models.py")


@pytest.mark.parametrize(
    "source",
    [
        'Task.objects.filter(status="open")',
        'Q(status__in=["approved", "x"])',
        'qs.update(instance__status="running")',
        'task.status == "open"',
        '"published" != rule.status',
        'app.status in ("approved", "rejected")',
    ],
)
def test_the_scanner_catches_string_statuses(source):
    assert offences(source, status_values())


@pytest.mark.parametrize(
    "source",
    [
        "Task.objects.filter(status=TaskStatus.OPEN)",
        'Task.objects.filter(title="open")',
        'task.status == "no-such-status"',
        'payload["status"] == "open"',  # a JSON key, not a model attribute
    ],
)
def test_the_scanner_leaves_enums_and_other_strings_alone(source):
    assert offences(source, status_values()) == []


def test_statuses_are_referenced_by_their_enum():
    values = status_values()
    found = [
        f"{relative}:{line}: {what}"
        for relative, path in sources()
        if not excepted(relative)
        for line, what in offences(path.read_text(encoding="utf-8"), values)
    ]
    assert found == [], (
        "状态请用模型的枚举成员（如 TaskStatus.OPEN），不要写字符串：\n" + "\n".join(found)
    )
