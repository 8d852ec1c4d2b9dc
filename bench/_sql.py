"""Counting SQL statements: in this process, and in the benchmark server's answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

HEADER = "X-Bench-SQL"


@dataclass
class Statements:
    count: int = 0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting() -> Iterator[Statements]:
    """Statements run on this thread's default connection inside the block.

    Django's public ``execute_wrapper`` hook: unlike ``CaptureQueriesContext`` it keeps no
    SQL text, so it costs next to nothing and can stay on under load.
    """
    from django.db import connection

    statements = Statements()
    with connection.execute_wrapper(statements):
        yield statements


class SqlCountHeaderMiddleware:
    """Puts the number of statements the request ran in the ``X-Bench-SQL`` header."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        with counting() as statements:
            response = self.get_response(request)
        response[HEADER] = str(statements.count)
        return response
