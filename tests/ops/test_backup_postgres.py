"""Backup and restore on PostgreSQL: a real pg_dump of the test database restored into a fresh one.

Cases are made through the real services (applications, a decision, uploaded files, audit
events), backed up with ``policywindow backup`` and restored with ``policywindow restore`` into a
database created here; every row, file and audit record is then read back from that database.
"""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import sql

from policywindow.applications.models import Application, Material
from policywindow.core import audit, auditmac, backup
from policywindow.core.audit import verify_chain
from policywindow.core.models import AuditChainHead, AuditEvent
from policywindow.system.models import User
from policywindow.workflow.models import TaskAttachment, WorkflowTask

from .factories import decided_case

pytestmark = [
    pytest.mark.django_db(transaction=True),  # pg_dump sees only committed rows
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="pg_dump/pg_restore need PostgreSQL (DATABASE_URL=postgres://…); CI runs it there",
    ),
]


def _url(name: str) -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    user = quote(db.get("USER") or "postgres", safe="")
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def _admin(statement: sql.Composable) -> None:
    db = {**connection.settings_dict, "NAME": "postgres"}
    with psycopg.connect(**backup._pg_kwargs(db), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def fresh_database():
    """The URL of a new, empty database; dropped at the end."""
    name = f"test_restore_{uuid.uuid4().hex[:10]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _url(name)
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def cases(department, make_user):
    clerk = make_user("bk_clerk", "window_clerk")
    return [
        decided_case(
            department,
            make_user(f"bk_ent{n}", "enterprise", kind=User.Kind.ENTERPRISE),
            clerk,
            str(n),
        )
        for n in (1, 2)
    ]


def _backup(tmp_path: Path) -> Path:
    out = io.StringIO()
    call_command("backup", output=str(tmp_path / "backups"), stdout=out)
    assert "备份完成" in out.getvalue()
    (archive,) = (tmp_path / "backups").glob("policywindow-backup-*.tar")
    return archive


def _originals() -> dict[str, list]:
    return {
        "applications": list(
            Application.objects.order_by("pk").values_list("pk", "number", "status")
        ),
        "decisions": list(
            WorkflowTask.objects.order_by("pk").values_list(
                "pk", "application_id", "status", "opinion"
            )
        ),
        "materials": list(Material.objects.order_by("pk").values_list("pk", "file", "sha256")),
        "attachments": list(
            TaskAttachment.objects.order_by("pk").values_list("pk", "file", "sha256")
        ),
        "audit": list(AuditEvent.objects.order_by("id").values_list(*AUDIT_COLUMNS)),
    }


AUDIT_COLUMNS = ("id", "seq", "action", "entry_mac", "hash")


def test_a_backup_restores_into_a_fresh_database_with_every_row_file_and_audit_record(
    cases, tmp_path, fresh_database
):
    audit.seal_pending()
    audit.record("test.after_seal")  # the archive holds sealed and unsealed events
    originals = _originals()
    assert len(originals["materials"]) == 2 and len(originals["attachments"]) == 2
    assert any(row[2].startswith("application.") for row in originals["audit"])
    archive = _backup(tmp_path)
    restored_media = tmp_path / "restored-media"

    out = io.StringIO()
    call_command(
        "restore",
        str(archive),
        database_url=fresh_database,
        media_dir=str(restored_media),
        stdout=out,
    )
    printed = out.getvalue()
    assert "恢复完成" in printed and "操作日志哈希链完整" in printed
    assert "申报 applications: 2" in printed

    with backup._django_connection(backup.target_database(fresh_database)) as alias:
        restored = {
            "applications": list(
                Application.objects.using(alias)
                .order_by("pk")
                .values_list("pk", "number", "status")
            ),
            "decisions": list(
                WorkflowTask.objects.using(alias)
                .order_by("pk")
                .values_list("pk", "application_id", "status", "opinion")
            ),
            "materials": list(
                Material.objects.using(alias).order_by("pk").values_list("pk", "file", "sha256")
            ),
            "attachments": list(
                TaskAttachment.objects.using(alias)
                .order_by("pk")
                .values_list("pk", "file", "sha256")
            ),
            "audit": list(
                AuditEvent.objects.using(alias).order_by("id").values_list(*AUDIT_COLUMNS)
            ),
        }
        chain = verify_chain(using=alias)
        chain_id = AuditChainHead.objects.using(alias).get().chain_id
    assert restored == originals
    assert chain.ok and chain.checked == len(originals["audit"]) and chain.pending == 1
    marks, bad = auditmac.read_checkpoints(chain_id)
    assert not bad and marks[-1].kind == "restore"
    media_root = Path(settings.MEDIA_ROOT)
    for _, name, _ in originals["materials"] + originals["attachments"]:
        assert (restored_media / name).read_bytes() == (media_root / name).read_bytes()


def test_restoring_a_backup_older_than_the_last_checkpoint_warns_and_rebases_the_chain(
    cases, tmp_path, fresh_database, settings
):
    settings.POLICYWINDOW_AUDIT_CHECKPOINT_SECONDS = 0
    audit.seal_pending()
    archive = _backup(tmp_path)
    audit.record("test.after_backup")
    newest = audit.seal_pending().checkpoint  # the checkpoint file now runs past the backup

    out = io.StringIO()
    call_command(
        "restore",
        str(archive),
        database_url=fresh_database,
        media_dir=str(tmp_path / "restored-media"),
        stdout=out,
    )
    printed = out.getvalue()
    assert (
        f"记到序号 {newest.seq}" in printed
        and "备份之后的操作日志随备份之后的数据一起丢失" in printed
    )
    with backup._django_connection(backup.target_database(fresh_database)) as alias:
        chain = verify_chain(using=alias)
    assert chain.ok and chain.superseded == 1, chain.lines()


def test_restore_refuses_a_database_that_is_not_empty(cases, tmp_path):
    archive = _backup(tmp_path)
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="不是空库") as refused:
        call_command("restore", str(archive), media_dir=str(tmp_path / "m"))
    assert refused.value.returncode == 1
    assert AuditEvent.objects.count() == before and not (tmp_path / "m").exists()


def test_a_damaged_archive_is_refused_before_the_database_is_touched(
    cases, tmp_path, fresh_database
):
    archive = _backup(tmp_path)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source:
            data = source.extractfile(member).read()
            if member.name.startswith("media/materials/"):
                data = data.replace(b"license", b"LICENSE")
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(CommandError, match="SHA-256 与清单不符") as refused:
        call_command(
            "restore", str(damaged), database_url=fresh_database, media_dir=str(tmp_path / "m")
        )
    assert refused.value.returncode == 1
    assert backup._pg_relations(backup.target_database(fresh_database)) == 0
