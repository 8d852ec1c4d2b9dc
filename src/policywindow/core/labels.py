"""Label tables that other apps add to: the one way they add (``add_labels``).

An app names its own codes (operation-log actions, timeline steps, message kinds) from its
``ready()`` through the owning module's ``register_*`` function, which calls this. A code that
is already named otherwise is refused at start-up: two apps overwriting each other's wording
would otherwise go unnoticed until someone reads the log.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured


def add_labels(table: dict[str, str], labels: Mapping[str, str], *, what: str) -> None:
    """Add ``labels`` to ``table``; the same label again is fine, a different one is refused."""
    clashes = sorted(code for code, label in labels.items() if table.get(code, label) != label)
    if clashes:
        named = "; ".join(f"{c}: {table[c]!r} / {labels[c]!r}" for c in clashes)
        raise ImproperlyConfigured(f"{what} already named otherwise: {named}")
    table.update(labels)
