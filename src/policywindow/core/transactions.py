"""The transaction of a write service: its own, or its caller's whole-request transaction.

A service called by itself (a page) opens and commits its own transaction. Called inside a
*durable* transaction — the one an idempotent API request runs in, which commits or rolls back
as a whole — it joins it without a savepoint: nothing between the two catches a failure to
carry on, so a savepoint (two statements) would only be released again. Anywhere else (a
caller's ordinary transaction, a test's) it keeps Django's savepoint, so a caller that catches
the service's refusal can go on.
"""

from __future__ import annotations

from django.db import transaction


def write_transaction() -> transaction.Atomic:
    """``transaction.atomic()``, without a savepoint inside a durable transaction."""
    return transaction.atomic(savepoint=not joins_whole_request())


def joins_whole_request() -> bool:
    """Whether the innermost transaction that can roll back on its own is a durable one."""
    for block in reversed(transaction.get_connection().atomic_blocks):
        if block.durable:
            return True
        if block.savepoint:
            return False
    return False
