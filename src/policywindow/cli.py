"""The ``policywindow`` console script.

policywindow demo          check the port, migrate, load demo data, print accounts, serve with the worker
policywindow serve         production WSGI server (gunicorn) on 127.0.0.1:8000
policywindow worker        background task worker (Django Tasks, database backend)
policywindow migrate       apply database migrations
policywindow verify-audit  verify the operation log (keyed chain, checkpoints; --seal seals first)
policywindow rotate-data-key [--resume | --status | --retire KEY_ID]
                           rotate the personal-data encryption key (docs/operations.md)
policywindow backup [--output DIR]          database + uploads + manifest into one archive
policywindow restore ARCHIVE [--database-url URL] [--media-dir DIR] [--force]
                           restore into an empty database, then check migrations, counts, audit chain
policywindow <any manage.py command> ...
"""

from __future__ import annotations

import os
import sys


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policywindow.settings")
    import django

    django.setup()


def _manage(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "policywindow.settings")
    execute_from_command_line(["policywindow", *argv])


ALIASES = {
    "demo": ["demo"],
    "serve": ["serve"],
    "worker": ["worker"],
    "migrate": ["migrate"],
    "verify-audit": ["verify_audit"],
    "rotate-data-key": ["rotate_data_key"],
    "create-admins": ["create_admins"],
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    _manage([*ALIASES.get(command, [command]), *rest])


if __name__ == "__main__":
    main()
