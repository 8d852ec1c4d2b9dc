"""What ``post_migrate`` hooks need to know about the schema they run on."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def schema_is_current(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when every migration is applied. ``migrate app 0005`` (a partial migrate, or a
    step back) also sends ``post_migrate``, and hooks written against today's models must
    not run on yesterday's tables; the next full ``migrate`` runs them."""
    executor = MigrationExecutor(connections[using])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())
