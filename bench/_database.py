"""The benchmark's own PostgreSQL database: dropped, created and migrated on every run.

The database named by ``DATABASE_URL`` (default ``policywindow_bench`` on 127.0.0.1) is
dropped, so it must be a local PostgreSQL database whose name contains ``bench``: the
benchmark refuses anything else rather than risk the demo, test or a real database.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/policywindow_bench"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def database_url() -> str:
    """``DATABASE_URL`` or the default, refused unless it is a local *bench* PostgreSQL database."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"The benchmarks run on PostgreSQL only; DATABASE_URL is {url}")
    if parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(
            f"The benchmarks use a local database only; DATABASE_URL names {parts.hostname}"
        )
    if "bench" not in name:
        raise SystemExit(
            f"The benchmark drops and recreates its database, so the name must contain "
            f"'bench' (refusing {name!r}); e.g. {DEFAULT_URL}"
        )
    return url


def recreate(url: str) -> None:
    """Drop (closing any leftover connections) and create the database, via the ``postgres`` DB."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_django(url: str) -> Path:
    """Point this process (and the servers it starts) at the bench DB and a scratch data dir.

    Returns the data directory (secret key, uploaded files, server log), to be removed after.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="policywindow-bench-"))
    os.environ.update(
        {
            "DATABASE_URL": url,
            "POLICYWINDOW_DATA_DIR": str(data_dir),
            "POLICYWINDOW_MEDIA_DIR": str(data_dir / "uploads"),
            "POLICYWINDOW_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "policywindow.settings",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return data_dir
